"""Recordings are files from elsewhere: each crafted one ends in one line and exit 65, in
bounded time and memory, from `check --from`, `snapshot --at` and `replay` (in a real
terminal). Each starts from a real recording of a real database, then is altered the way
a hostile or damaged file would be."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from tests.test_recording import WALTUI, recorded
from tests.test_tmux import Session, needs_tmux
from waltui.collector.changes import Change
from waltui.recording.codec import compress, pack, unpack

pytestmark = pytest.mark.system

ENDLESS = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i FROM n"


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*WALTUI, *args], capture_output=True, text=True, timeout=timeout)


def refused_everywhere(out: Path, said: str) -> None:
    """check --from and snapshot --at --json: exit 65, one line naming why, no traceback,
    nothing on stdout that pretends to be JSON."""
    for command in (["check", "--from", str(out)], ["snapshot", "--json", "--at", "+0s",
                                                     str(out)]):
        started = time.monotonic()
        done = run(*command)
        assert time.monotonic() - started < 30
        assert done.returncode == 65, (command, done.returncode, done.stderr)
        assert said in done.stderr, done.stderr
        assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
        assert done.stdout.strip() == ""


def alter(out: Path, *statements: str) -> None:
    with sqlite3.connect(out) as conn:
        for statement in statements:
            conn.execute(statement)


def first_change(out: Path) -> tuple[int, int, Change]:
    with sqlite3.connect(out) as conn:
        seq, db, blob = conn.execute("SELECT seq, db, change FROM changes WHERE base IS NULL "
                                     "ORDER BY seq LIMIT 1").fetchone()
    return seq, db, unpack(Change, blob)


def test_a_view_in_place_of_a_table_never_runs(tmp_path, spawn):
    """`changes` replaced by a view over an endless recursive CTE: reading it would hang
    for ever (Ctrl-C ignored). It is refused before any value is read."""
    _, out = recorded(tmp_path, spawn)
    alter(out, "ALTER TABLE changes RENAME TO kept",
          f"CREATE VIEW changes(seq, db, base, change) AS SELECT i, 1, NULL, x'00' "
          f"FROM ({ENDLESS})")
    refused_everywhere(out, "it holds a view (changes)")


def test_a_trigger_or_a_dropped_index_or_a_missing_table_is_refused(tmp_path, spawn):
    _, out = recorded(tmp_path, spawn)
    alter(out, "CREATE TRIGGER t AFTER INSERT ON meta BEGIN SELECT 1; END")
    refused_everywhere(out, "it holds a trigger (t)")
    _, out = recorded(tmp_path / "b", spawn) if (tmp_path / "b").mkdir() is None else (0, 0)
    alter(out, "DROP INDEX changes_by_db")  # every read a scan: quadratic over a run
    refused_everywhere(out, "its index changes_by_db")
    _, out = recorded(tmp_path / "c", spawn) if (tmp_path / "c").mkdir() is None else (0, 0)
    alter(out, "DROP TABLE events")
    refused_everywhere(out, "it has no events table")


@pytest.mark.parametrize("interval", ["nan", "inf", "-1", "fast"])
def test_a_bad_interval_is_a_damaged_recording(tmp_path, spawn, interval):
    _, out = recorded(tmp_path, spawn)
    alter(out, f"UPDATE meta SET value = '{interval}' WHERE key = 'interval'")
    refused_everywhere(out, "damaged recording")


def test_nan_and_infinity_in_a_value_are_refused_not_printed(tmp_path, spawn):
    """JSON has no NaN: a value carrying one was written by hand. Refused (exit 65), never
    turned into invalid JSON on stdout (it was exit 70 and `NaN` in the output)."""
    _, out = recorded(tmp_path, spawn)
    seq, db, change = first_change(out)
    text = json.loads(json.dumps(json.loads(pack_json(change))))
    text["reading"]["taken_at"] = float("nan")
    blob = compress(json.dumps(text).encode())
    alter(out, "DELETE FROM changes", "DELETE FROM polls WHERE seq != 1")
    with sqlite3.connect(out) as conn:
        conn.execute("INSERT INTO changes(seq, db, base, change) VALUES (1, ?, NULL, ?)",
                     (db, blob))
    refused_everywhere(out, "not JSON: NaN")


def pack_json(change: Change) -> str:
    from waltui.recording.codec import to_json
    return to_json(change).decode()


def test_the_decode_cache_is_bounded_by_bytes(tmp_path, spawn):
    """200 polls, each a valid change 3.5 MB long once inflated (a few KB stored): the
    whole recording is read by check --from within a bounded heap, not 700 MB of cache."""
    _, out = recorded(tmp_path, spawn)
    _seq, db, change = first_change(out)
    big = replace(change, reading=replace(change.reading, notes=("x" * 3_500_000,)))
    blob = pack(big)
    assert len(blob) < 64 * 1024
    with sqlite3.connect(out) as conn:
        last = conn.execute("SELECT max(seq) FROM polls").fetchone()[0]
        for i in range(1, 201):
            conn.execute("INSERT INTO polls(seq, taken_at, cycle_ms, polled) VALUES (?, ?, 1, 1)",
                         (last + i, change.reading.taken_at + i))
            conn.execute("INSERT INTO changes(seq, db, base, change) VALUES (?, ?, NULL, ?)",
                         (last + i, db, blob))
    script = ("import resource, subprocess, sys\n"
              "done = subprocess.run(sys.argv[1:], capture_output=True)\n"
              "print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    measured = subprocess.run([sys.executable, "-c", script, *WALTUI, "check", "--from",
                               str(out)], capture_output=True, text=True, timeout=300)
    code, peak_kb = map(int, measured.stdout.split())
    assert code in (0, 1, 2), measured.stdout
    assert peak_kb < 300 * 1024, f"peak RSS {peak_kb // 1024} MB"


@needs_tmux
def test_replay_of_a_recording_damaged_deep_inside_says_so_and_exits_65(tmp_path, spawn):
    """The file opens fine; a value several polls in does not decode. The replay shows the
    error, ends, and the shell sees exit 65 and one line on stderr (not a traceback, exit 0)."""
    _, out = recorded(tmp_path, spawn)
    with sqlite3.connect(out) as conn:
        seqs = [s for (s,) in conn.execute("SELECT seq FROM polls ORDER BY seq")]
        assert len(seqs) >= 2
        conn.execute("UPDATE changes SET change = ?, base = NULL WHERE seq = ?",
                     (compress(b'{"path": 7}'), seqs[-1]))
    errors = tmp_path / "stderr.txt"
    waltui = Path(sys.executable).with_name("waltui")
    session = Session(f"{waltui} replay {out} 2>{errors}; echo WALTUI-EXITED-$?; sleep 30")
    try:
        session.shows("WALTUI-EXITED-65", timeout=30)
    finally:
        session.close()
    said = errors.read_text()
    assert f"damaged at poll {seqs[-1]}" in said and "Traceback" not in said
