"""Each finding produced by a real situation, and none in a healthy database under load."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from waltui.config import Config, Thresholds
from waltui.health import evaluate
from waltui.history import History
from waltui.monitor import Poller
from waltui.probes.filesystem import MountTable
from waltui.probes.locks import LockTable
from waltui.probes.reading import DatabaseObserver, PollContext
from waltui.probes.sqlite import QueueQuery

HELPERS = Path(__file__).parent / "helpers"


def poller_for(db: Path, **thresholds: float) -> Poller:
    config = Config(thresholds=replace(Thresholds(), **thresholds),
                    queries=(QueueQuery("pending",
                                        "SELECT count(*) FROM queue WHERE state = 'pending'"),))
    poller = Poller(config)
    poller.attach(str(db))
    return poller


def codes(poller: Poller) -> dict[str, str]:
    [update] = poller.poll_once()
    return {f.code: f.severity for f in update.findings}


def test_starvation_names_the_pinning_reader(live_db, spawn):
    db, app = live_db
    app.do("insert 900")
    reader = spawn(db)
    reader.do("begin_read")
    poller = poller_for(db, starvation_polls=3)
    for _ in range(3):
        app.do("insert 200")
        assert "checkpoint_starvation" not in codes(poller) or _ >= 2
    app.do("insert 200")
    [update] = poller.poll_once()
    [finding] = [f for f in update.findings if f.code == "checkpoint_starvation"]
    assert f"pid {reader.pid}" in finding.evidence and "rising for 3 polls" in finding.evidence
    assert finding.severity == "warning"
    critical = poller_for(db, starvation_polls=3, pin_seconds=0)
    for _ in range(4):
        app.do("insert 50")
        found = codes(critical)
    assert found["checkpoint_starvation"] == "critical"


def test_overlapping_readers_keep_the_wal_from_restarting(live_db, spawn):
    """Every frame is checkpointed, no reader pins anything when polled, yet the WAL only
    grows: two readers take turns so one is always active and no writer can restart it."""
    db, app = live_db
    app.do("insert 900")
    readers = [spawn(db), spawn(db)]
    readers[0].do("begin_read")
    poller = poller_for(db, starvation_polls=3)
    for turn in range(5):
        app.do("insert 200")
        readers[(turn + 1) % 2].do("begin_read")  # sees every frame: its mark is max_frame
        readers[turn % 2].do("end")
        app.do("checkpoint PASSIVE")  # copies up to the live reader's mark: everything
        [update] = poller.poll_once()
    reading = update.reading
    assert reading.frames_pending == 0 and reading.pins == ()
    assert reading.wal_index.max_frame > 1000
    [finding] = [f for f in update.findings if f.code == "checkpoint_starvation"]
    assert finding.title == "Checkpoint starvation: the WAL cannot restart"
    assert "a reader is always active" in finding.evidence and "RESTART" in finding.fix


def test_healthy_database_under_steady_load_has_no_findings(live_db, spawn):
    db, app = live_db
    app.do("autocheckpoint 100")  # checkpoints run, as in a well-behaved application
    consumer = spawn(db)
    poller = poller_for(db, starvation_polls=3, queue_growth_polls=3)
    seen: set[str] = set()
    for _ in range(8):
        app.do("insert 120")
        consumer.do("sql UPDATE queue SET state = 'done' WHERE state = 'pending'")
        consumer.do("begin_read")
        consumer.do("end")
        seen |= set(codes(poller))
    assert seen == set()


def test_large_wal_and_wal_far_larger_than_content(live_db):
    db, app = live_db
    assert codes(poller_for(db)) == {}
    poller = poller_for(db, wal_bytes=100_000, wal_slack_min_bytes=100_000)
    assert codes(poller)["wal_large"] == "warning"
    app.do("checkpoint PASSIVE")
    app.do("insert 2")  # the WAL restarts from its start; the file keeps its size
    found = codes(poller)
    assert "wal_slack" in found
    update_reading = poller.states[str(db)].reading
    assert update_reading.wal_bytes > 4 * update_reading.wal_bytes_in_use


def test_rollback_mode_and_a_hot_journal(tmp_path, spawn):
    db = tmp_path / "legacy.db"
    app = spawn(db)
    app.do("rollback")
    app.do("setup")
    app.do("insert 200")
    assert codes(poller_for(db)) == {"not_wal": "warning"}
    app.do("sql PRAGMA cache_size=2")
    app.do("begin_write")
    app.do("sql UPDATE queue SET payload = payload || payload")  # spills: journal + db written
    assert (tmp_path / "legacy.db-journal").stat().st_size > 0
    os.kill(app.pid, signal.SIGKILL)
    app.proc.wait()
    assert codes(poller_for(db)) == {"not_wal": "warning", "hot_journal": "critical"}


def test_network_filesystem_from_the_mount_table(live_db):
    db, _app = live_db
    # only the type is made up: the device is the real one, so the real locks still match
    dev = os.stat(db.parent).st_dev
    mounts = MountTable.parse(f"40 1 {os.major(dev)}:{os.minor(dev)} / {db.parent} rw - "
                              "nfs4 server:/export rw\n")
    observer = DatabaseObserver(str(db))
    reading = observer.read(PollContext(LockTable.capture(), mounts))
    observer.close()
    found = {f.code: f.severity for f in evaluate(reading, History(), Thresholds())}
    assert found == {"network_filesystem": "critical"}


@pytest.fixture(scope="session")
def dstate_binary(tmp_path_factory) -> Path:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is needed to build the D-state helper")
    out = tmp_path_factory.mktemp("bin") / "dstate"
    subprocess.run(["gcc", "-O1", "-o", str(out), str(HELPERS / "dstate.c")], check=True)
    return out


def test_lock_holder_in_d_state(live_db, dstate_binary):
    db, _app = live_db
    holder = subprocess.Popen([str(dstate_binary), f"{db}-shm", "128", "4"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().startswith("ready")
        poller = poller_for(db, d_state_seconds=0.3)
        assert "d_state_holder" not in codes(poller)  # just seen: not yet for long
        import time
        time.sleep(0.5)
        [update] = poller.poll_once()
        [finding] = [f for f in update.findings if f.code == "d_state_holder"]
        assert f"pid {holder.pid}" in finding.evidence and "dms" in finding.evidence
    finally:
        holder.kill()
        holder.wait()


def test_writers_taking_turns(live_db, spawn):
    db, _app = live_db
    poller = poller_for(db)
    writers = [spawn(db) for _ in range(3)]
    for writer in writers:
        writer.do("begin_write")
        found = codes(poller)
        writer.do("end")
    assert found == {"many_writers": "info"}


def test_recovery_in_progress(live_db):
    db, _app = live_db
    script = ("import fcntl, os, sys\n"
              "fd = os.open(sys.argv[1], os.O_RDWR)\n"
              "fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 122)\n"
              "print('ready', flush=True)\n"
              "sys.stdin.read()\n")
    holder = subprocess.Popen([sys.executable, "-c", script, f"{db}-shm"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        assert codes(poller_for(db)) == {"recovering": "warning"}
    finally:
        holder.stdin.close()
        holder.wait()


def test_leftover_shm_when_nobody_holds_the_database(live_db):
    db, app = live_db
    os.kill(app.pid, signal.SIGKILL)
    app.proc.wait()
    assert codes(poller_for(db)) == {"leftover_shm": "info"}


def test_wal_deleted_under_open_database(live_db):
    db, app = live_db
    app.do("insert 10")
    os.unlink(f"{db}-wal")
    assert codes(poller_for(db))["wal_deleted"] == "critical"


def test_queue_growing_while_consumers_exist(live_db):
    db, app = live_db
    poller = poller_for(db, queue_growth_polls=3)
    for _ in range(3):
        app.do("insert 5")
        assert "queue_growing" not in codes(poller)
    app.do("insert 5")
    assert codes(poller) == {"queue_growing": "warning"}


def run_check(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "waltui", "check", *args],
                          capture_output=True, text=True, timeout=60)


def test_check_exit_codes(live_db, tmp_path, spawn):
    db, app = live_db
    assert run_check(str(db)).returncode == 0
    legacy = tmp_path / "legacy.db"
    old = spawn(legacy)
    old.do("rollback")
    old.do("setup")
    warned = run_check("--json", str(db), str(legacy))
    assert warned.returncode == 1
    assert json.loads(warned.stdout)["databases"][1]["findings"][0]["code"] == "not_wal"
    app.do("insert 10")
    os.unlink(f"{db}-wal")
    assert run_check(str(db)).returncode == 2
    missing = run_check(str(db), str(tmp_path / "gone.db"))
    assert missing.returncode == 3 and "UNREADABLE: missing" in missing.stdout


def test_check_for_seconds_sees_growth(live_db, spawn):
    db, app = live_db
    app.do("insert 1000")
    spawn(db).do("begin_read")
    writer = subprocess.Popen(
        [sys.executable, "-c",
         "import apsw, sys, time\n"
         "c = apsw.Connection(sys.argv[1]); c.set_busy_timeout(2000)\n"
         "for i in range(400):\n"
         "    c.execute(\"INSERT INTO queue(payload) VALUES ('x')\"); time.sleep(0.005)\n",
         str(db)])
    try:
        out = run_check("--json", "--for", "2", "--interval", "0.25",
                        "--threshold", "starvation_polls=3", str(db))
    finally:
        writer.wait()
    report = json.loads(out.stdout)
    assert report["databases"][0]["polls"] >= 4
    assert "checkpoint_starvation" in {f["code"] for f in report["databases"][0]["findings"]}
    assert out.returncode == 1
