"""Smaller truths a reading must get right, each from a real database and real processes:
an empty file, a queue label that is not UTF-8, rollback mode under locking_mode=EXCLUSIVE,
a pin of one frame."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import pytest

from tests.conftest import waltui_json
from waltui.collector import Poller
from waltui.config import Config, Thresholds

pytestmark = pytest.mark.system


def check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "waltui", "check", *args],
                          capture_output=True, text=True, timeout=120)


def test_an_empty_file_is_an_empty_database_not_an_unreadable_one(tmp_path):
    """SQLite opens a 0-byte file as a new, empty database: check says so and exits 0."""
    empty = tmp_path / "new.db"
    empty.write_bytes(b"")
    out = check(str(empty))
    assert out.returncode == 0, out.stdout
    assert "note: empty: empty file (0 bytes): SQLite opens it as a new, empty database" \
        in out.stdout
    doc = waltui_json(check("--json", str(empty)).stdout)
    assert doc["exit_code"] == 0 and doc["databases"][0]["error"]["kind"] == "empty"


def test_one_queue_label_that_is_not_utf8_fails_no_other_value(tmp_path, spawn):
    """A huey task whose queue name is not valid UTF-8 (written by another program): the
    built-in preset still counts every queue, the bad name shown with its byte escaped."""
    db = tmp_path / "huey.db"
    app = spawn(db)
    app.do("wal")
    app.do("sql CREATE TABLE task (id INTEGER PRIMARY KEY, queue TEXT, data BLOB, "
           "priority REAL, expire_time REAL)")
    app.do("sql INSERT INTO task (queue) VALUES ('default'), ('default'), "
           "(CAST(x'ff41' AS TEXT))")
    out = check("--json", str(db))
    assert out.returncode == 0, out.stdout
    snapshot = subprocess.run([sys.executable, "-m", "waltui", "snapshot", "--json", str(db)],
                              capture_output=True, text=True, timeout=60)
    found = waltui_json(snapshot.stdout)["databases"][0]
    assert found["error"] is None
    assert found["queue_depth"] == {"huey:default": 2, "huey:\\xffA": 1}


def test_a_user_query_returning_bad_utf8_fails_only_that_query(tmp_path, spawn):
    db = tmp_path / "q.db"
    app = spawn(db)
    app.do("wal")
    app.do("setup")
    app.do("sql INSERT INTO queue (payload, state) VALUES ('x', CAST(x'ff' AS TEXT))")
    out = subprocess.run(
        [sys.executable, "-m", "waltui", "snapshot", "--json",
         "--queue", "states=SELECT state, count(*) FROM queue GROUP BY state",
         "--queue", "all=SELECT count(*) FROM queue", str(db)],
        capture_output=True, text=True, timeout=60)
    found = waltui_json(out.stdout)["databases"][0]
    assert found["error"] is None and found["queue_depth"]["all"] == 1
    assert "not valid UTF-8" in found["queue_errors"]["states"]


def test_rollback_exclusive_locking_mode_is_said_as_such_not_as_an_open_transaction(
        tmp_path, spawn):
    """PRAGMA locking_mode=EXCLUSIVE in rollback mode: the process keeps EXCLUSIVE between
    commits and SQLite stops bumping the header's change counter. It commits while waltui
    watches: no "held without committing", and the mode is named."""
    db = tmp_path / "exclusive.db"
    app = spawn(db)
    app.do("rollback")
    app.do("sql PRAGMA locking_mode=EXCLUSIVE")
    app.do("setup")
    poller = Poller(Config(thresholds=replace(Thresholds(), write_hold_seconds=0.3)))
    poller.attach(str(db))
    try:
        seen: set[str] = set()
        for _ in range(12):
            app.do("insert 1")
            for change in poller.poll_once():
                seen |= {f.code for f in change.findings}
        [change] = poller.poll_once()
    finally:
        poller.close()
    assert change.reading.writer_pid == app.pid
    assert "write_lock_held" not in seen
    assert "exclusive_locking_mode" in seen
    [finding] = [f for f in change.findings if f.code == "exclusive_locking_mode"]
    assert f"pid {app.pid}" in finding.evidence and "rollback" in finding.evidence


def test_a_pin_of_a_few_frames_is_not_starvation(live_db, spawn):
    """README: starvation is over 1,000 frames, or a WAL growing past them. A reader
    pinning 3 frames for longer than pin_seconds stops nothing that matters."""
    db, app = live_db
    app.do("sql PRAGMA wal_checkpoint(TRUNCATE)")
    reader = spawn(db)
    reader.do("begin_read")
    app.do("insert 3")
    app.do("sql PRAGMA wal_checkpoint(PASSIVE)")  # copies up to the reader's mark
    poller = Poller(Config(thresholds=replace(Thresholds(), pin_seconds=0.0)))
    poller.attach(str(db))
    try:
        poller.poll_once()
        [change] = poller.poll_once()
    finally:
        poller.close()
    reading = change.reading
    assert [r.pid for r in reading.pins] == [reader.pid]
    assert 0 < (reading.frames_pending or 0) < 1000
    assert "checkpoint_starvation" not in {f.code for f in change.findings}
