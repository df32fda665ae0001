"""Acting on the process that is the cause: who it is, what it holds, what a signal does.

The signal goes only to the very process that was shown: its start time is taken when the
operator is asked and checked again just before sending, so a pid reused in between (a
short-lived process, a busy host) is never hit. waltui never signals itself.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass

from waltui.model import Reading
from waltui.probes.pins import limit_frame
from waltui.probes.processes import own_pids
from waltui.report import named_process, reader_place

CONSEQUENCES = {
    signal.SIGTERM: (
        "SIGTERM asks it to stop; most programs close their connections. An open transaction "
        "rolls back: a write in progress is lost, nothing it committed is. Its locks go with "
        "it, so waiting writers and checkpoints can go on."),
    signal.SIGKILL: (
        "SIGKILL cannot be caught: the process ends at once, without cleaning up. SQLite "
        "stays consistent (an open transaction rolls back; in rollback mode the next opener "
        "rolls the -journal back), but the program's own unsaved work is lost."),
}


@dataclass(frozen=True)
class Target:
    pid: int
    started: float  # psutil create_time when the operator was asked
    label: str  # pid 4121 `python agent.py`
    holds: str  # "the write lock, read slot 1 at frame 36"


def culprit(reading: Reading) -> int | None:
    """The process behind the worst trouble: the writer holding the write lock, else the
    reader that stops checkpoints, else any pinning reader."""
    if (writer := reading.writer) is not None:
        return writer.lock.pid
    index = reading.wal_index
    stopping = [r.pid for r in reading.pins if index is not None
                and limit_frame(r.slot, r.read_mark, index) <= index.backfilled]
    candidates = stopping or [r.pid for r in reading.pins]
    return candidates[0] if candidates else None


def describe(reading: Reading, pid: int) -> Target | None:
    """What the operator is asked about; None when the process is gone or is waltui."""
    if pid in own_pids():
        return None
    import psutil  # here, not at the top: 8 ms of the dashboard's start, for a rare key

    try:
        started = psutil.Process(pid).create_time()
    except psutil.Error:
        return None
    held = []
    for lock in (h.lock for h in reading.theirs if h.lock.pid == pid):
        if lock.lock == "read" and reading.wal_index is not None:
            mark = reading.wal_index.read_marks[lock.slot or 0] or 0
            held.append(reader_place(lock.slot or 0, mark))
        elif lock.lock not in ("dms", "shared"):
            held.append(f"the {lock.lock} lock" if lock.lock != "write" else "the write lock")
    holds = ", ".join(dict.fromkeys(held)) or "the database open, no lock that blocks others"
    return Target(pid, started, named_process(reading, pid), holds)


def send(target: Target, sig: signal.Signals) -> str:
    """Signal the target if it is still the same process; say what happened."""
    import psutil

    try:
        if psutil.Process(target.pid).create_time() != target.started:
            return f"not sent: pid {target.pid} is now another process (the one shown ended)"
    except psutil.Error:
        return f"not sent: {target.label} has already ended"
    try:
        os.kill(target.pid, sig)
    except PermissionError:
        return f"not sent: no permission to signal {target.label}"
    except ProcessLookupError:
        return f"not sent: {target.label} has already ended"
    return f"sent {sig.name} to {target.label}, which held {target.holds}"
