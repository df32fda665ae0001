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

from tests.test_hostile import CORPUS
from tests.test_recording import WALTUI, recorded
from tests.test_tmux import Session, needs_tmux
from waltui.collector.changes import Change
from waltui.recording.codec import compress, pack, unpack

pytestmark = pytest.mark.system

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


@pytest.mark.parametrize("statements, said", CORPUS["recordings"])
def test_an_altered_recording_is_refused_in_one_line(tmp_path, spawn, statements, said):
    """A real recording altered as a hostile or damaged file would be: a view over an
    endless recursive CTE in place of a table (reading it hung for ever, Ctrl-C ignored),
    a trigger, a dropped index (every read a scan: quadratic), a missing table, an extra
    column, NaN or text where numbers belong. Each is refused before it can hurt."""
    _, out = recorded(tmp_path, spawn)
    alter(out, *statements)
    refused_everywhere(out, said)


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
    with sqlite3.connect(out) as conn:  # a poll after the good ones, whose value is junk
        last, at = conn.execute("SELECT max(seq), max(taken_at) FROM polls").fetchone()
        db = conn.execute("SELECT min(db) FROM changes").fetchone()[0]
        conn.execute("INSERT INTO polls(seq, taken_at, cycle_ms, polled) VALUES (?, ?, 1, 1)",
                     (last + 1, at + 0.5))
        conn.execute("INSERT INTO changes(seq, db, base, change) VALUES (?, ?, NULL, ?)",
                     (last + 1, db, compress(b'{"path": 7}')))
    seqs = [last + 1]
    errors = tmp_path / "stderr.txt"
    waltui = Path(sys.executable).with_name("waltui")
    session = Session(f"{waltui} replay {out} 2>{errors}; echo WALTUI-EXITED-$?; sleep 30")
    try:
        session.shows("WALTUI-EXITED-65", timeout=30)
    finally:
        session.close()
    said = errors.read_text()
    assert f"damaged at poll {seqs[-1]}" in said and "Traceback" not in said
