"""How long a lock has been held, as far as it can be proven, and what `check` makes of a
hold it did not see begin: a real sqlite3 shell in BEGIN IMMEDIATE, real waiting writers."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import waltui_json
from tests.narrow import some
from waltui.probes.locks import LockTable
from waltui.probes.processes import age_seconds, start_ticks

pytestmark = pytest.mark.system


def wait_until(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def holds_write_lock(db: Path, pid: int) -> bool:
    shm = Path(f"{db}-shm")
    if not shm.exists():
        return False
    st = shm.stat()
    table = LockTable.capture(inodes=frozenset({st.st_ino}))
    return table is not None and any(
        lock.pid == pid and lock.lock == "write"
        for lock in table.locks_for([], [(st.st_dev, st.st_ino)]))


@pytest.fixture
def shell_in_begin_immediate(live_db, spawn):
    """The sqlite3 shell holding the write lock (BEGIN IMMEDIATE, nothing committed) and a
    worker waiting to write behind it (busy_timeout 60 s: SQLite's handler sleeps, so the
    kernel lists no waiter)."""
    if shutil.which("sqlite3") is None:
        pytest.fail("the sqlite3 shell is one of the real clients (Debian: sqlite3)")
    db, _app = live_db
    shell = subprocess.Popen(["sqlite3", str(db)], stdin=subprocess.PIPE, text=True)
    some(shell.stdin).write("BEGIN IMMEDIATE;\nINSERT INTO queue(payload) VALUES ('held');\n")
    some(shell.stdin).flush()
    wait_until(lambda: holds_write_lock(db, shell.pid))
    worker = spawn(db, busy_ms=60_000)
    worker.proc.stdin.write("write_row\n")  # blocks in SQLite's busy handler
    worker.proc.stdin.flush()
    yield db, shell, worker
    shell.kill()
    shell.wait()


def run_check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "waltui", "check", *args],
                          capture_output=True, text=True, timeout=120)


def test_a_one_shot_check_raises_a_write_lock_held_across_its_samples(shell_in_begin_immediate):
    """Two samples a second apart, no commit between: one hold, raised and named; its time
    is a lower bound, since it began before check looked."""
    db, shell, _worker = shell_in_begin_immediate
    out = run_check("--json", str(db))
    doc = waltui_json(out.stdout)
    assert out.returncode == 1, out.stdout
    [finding] = [f for f in doc["databases"][0]["findings"] if f["code"] == "write_lock_held"]
    assert f"pid {shell.pid} `sqlite3" in finding["evidence"]
    assert ">=1s" in finding["title"] and "already held when waltui started" in finding["evidence"]
    text = run_check(str(db))
    assert text.returncode == 1 and "WARNING write_lock_held: Write lock held >=" in text.stdout


def test_a_hold_that_may_have_lasted_past_critical_is_never_lowered(live_db, spawn):
    """The holder has held its lock since before check started, and has lived longer than
    the critical threshold: check cannot tell a 2 s hold from a 40 s one, so it does not
    call it a warning."""
    db, _app = live_db
    holder = spawn(db)
    holder.do("begin_write")
    ticks = some(start_ticks(holder.pid))
    wait_until(lambda: age_seconds(ticks) >= 3.5)
    out = run_check("--json", "--threshold", "write_hold_seconds=1",
                    "--threshold", "write_hold_critical_seconds=3", str(db))
    doc = waltui_json(out.stdout)
    [finding] = [f for f in doc["databases"][0]["findings"] if f["code"] == "write_lock_held"]
    assert finding["severity"] == "critical" and out.returncode == 2
    assert "at most that" in finding["evidence"]


def test_snapshot_exports_a_hold_seen_at_the_first_look_as_a_lower_bound(live_db, spawn):
    db, _app = live_db
    holder = spawn(db)
    holder.do("begin_write")
    out = subprocess.run([sys.executable, "-m", "waltui", "snapshot", "--json", str(db)],
                         capture_output=True, text=True, timeout=60)
    doc = waltui_json(out.stdout)["databases"][0]
    [write] = [lock for lock in doc["locks"] if lock["lock"] == "write"]
    assert write["pid"] == holder.pid and write["held_at_least"] is True
    assert write["held_at_most"] is not None and write["held_at_most"] >= write["held_seconds"]
    assert write["owner"] == "process" and write["ofd"] is False
    assert doc["waiters_seen"] is True
