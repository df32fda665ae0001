"""Acting on the process that is the cause: who it is, what it holds, what a signal does.

A signal goes only to the process the operator saw. Its identity is the one in the reading
on screen (pid and start time, /proc/PID/stat), never looked up afresh. At the moment of
sending, waltui checks the pid is still that process, opens a pidfd on it, checks again
(so a pid reused between the check and the open is caught: the pidfd then refers to the
ended process and the second check fails), checks it still holds or waits on the lock it
was shown with, and only then sends, through the pidfd (pidfd_send_signal), so the
signal cannot reach any other process. Never pid <= 1, never waltui's own processes,
never a pid the reading does not name.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass

from waltui.evidence import ProcessEvidence
from waltui.model import HeldLock, Lock, Reading
from waltui.naming import lock_words, named_process
from waltui.probes.culprit import process_evidence, seen_in_state
from waltui.probes.holders import held_by
from waltui.probes.lock_source import proc_speaks_our_pids
from waltui.probes.locks import FileId, LockTable
from waltui.probes.processes import own_pids, start_ticks
from waltui.units import visible

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
    """The process as the reading showed it, and the locks that make it the target."""

    pid: int
    start_ticks: int  # /proc/PID/stat's start time when the reading was taken
    label: str  # pid 4121 `python agent.py`
    holds: str  # "the write lock, read slot 1 at frame 36"
    locks: tuple[Lock, ...]  # checked again at the moment of sending
    locks_words: str  # those locks, named: "the write lock"
    files: tuple[tuple[str, FileId], ...]  # ("db" | "shm", (dev, ino)) as the reading saw them
    sharers: tuple[int, ...] = ()  # other holders of the same OFD lock: it outlives this one
    # What it is doing as the dialog opens (state, system call, parents, unit): read from
    # /proc for this process only, and only if it is still the one the reading named
    evidence: ProcessEvidence | None = None


def culprit(reading: Reading) -> HeldLock | None:
    """The lock behind the worst trouble: the write lock, else the read lock of the reader
    that stops checkpoints, else of any pinning reader. Only a lock a process visible here
    holds: an OFD lock with no owner found, or one held outside our pid namespace, has no
    process to signal."""
    if (writer := reading.writer) is not None and writer.lock.owner_known:
        return writer
    for reader in reading.stopping or reading.pins:
        for held in reading.theirs:
            lock = held.lock
            if lock.pid == reader.pid and lock.lock == "read" and lock.slot == reader.slot \
                    and lock.owner_known:
                return held
    return None


def describe(reading: Reading, chosen: HeldLock) -> Target | str:
    """What the operator is asked about, or why nothing can be: checked against the
    reading that showed the lock, and against the process as it is now."""
    pid, lock = chosen.lock.pid, chosen.lock
    if not lock.owner_known or pid <= 1:
        return f"no process to signal: {lock_words(reading, lock)} is held by " \
               f"{named_process(reading, pid)}"
    if pid in own_pids():
        return "no process to signal: that lock is waltui's own (waltui never signals itself)"
    if not any(h.lock.pid == pid for h in reading.theirs):
        return f"no process to signal: pid {pid} is not among this database's lock holders"
    info = reading.process(pid)
    if info is None or not info.start_ticks:
        return f"not offered: who pid {pid} is could not be read from /proc, so a signal " \
               "could not be checked against it"
    if not proc_speaks_our_pids():
        return "not offered: /proc here belongs to another pid namespace, so its pids are " \
               "not the ones a signal would reach"
    if start_ticks(pid) != info.start_ticks:
        return f"not offered: {named_process(reading, pid)} has ended since this reading"
    mine = [h.lock for h in reading.theirs if h.lock.pid == pid]
    held = [lock_words(reading, m) for m in mine if m.lock not in ("dms", "shared")]
    holds = ", ".join(dict.fromkeys(held)) or "the database open, no lock that blocks others"
    files = tuple((name, ident) for name, ident in (
        ("db", reading.files.db_inode if reading.files else None),
        ("shm", reading.files.shm_inode if reading.files else None)) if ident is not None)
    sharers = tuple(sorted({h.lock.pid for h in reading.theirs if lock.ofd and h.lock.ofd
                            and h.lock.pid != pid and _same_bytes(h.lock, lock)}))
    evidence = process_evidence(pid, info.start_ticks, tuple(ident for _, ident in files))
    if evidence is not None:
        evidence = seen_in_state(evidence, info)
    return Target(pid, info.start_ticks, named_process(reading, pid), holds, (lock,),
                  lock_words(reading, lock), files, sharers, evidence)


def _same_bytes(a: Lock, b: Lock) -> bool:
    return (a.file, a.lock, a.slot, a.mode) == (b.file, b.lock, b.slot, b.mode)


def still_the_one(target: Target) -> str | None:
    """Why the target may no longer be signalled, or None: asked when the operator says
    yes, and again at the moment of sending."""
    if target.pid <= 1 or target.pid in own_pids():
        return f"not sent: pid {target.pid} is never signalled"
    now = start_ticks(target.pid)
    if now is None:
        return f"not sent: {target.label} has already ended"
    if now != target.start_ticks:
        return f"not sent: pid {target.pid} is now another process (the one shown ended)"
    if not _holds_still(target):
        return f"not sent: {target.label} no longer holds {target.locks_words}"
    return None


def _holds_still(target: Target) -> bool:
    """Whether it still holds (its own fdinfo, exact for one process) or waits on (only
    /proc/locks lists waiters) one of the locks it was shown with."""
    ids = dict(target.files)
    for lock in target.locks:
        file_id = ids.get(lock.file)
        if file_id is None:
            continue
        if lock.waiting:
            table = LockTable.parse(_proc_locks(), frozenset({file_id[1]}))
            if any(w.pid == target.pid and _same_bytes(w, lock) and w.waiting
                   for w in table.locks_for([file_id] if lock.file == "db" else [],
                                            [file_id] if lock.file == "shm" else [])):
                return True
        elif any(_same_bytes(h, lock) for h in held_by(target.pid, lock.file, [file_id])):
            return True
    return False


def _proc_locks() -> bytes:
    from waltui.probes.early_locks import read_whole
    try:
        return read_whole("/proc/locks")
    except OSError:
        return b""


def send(target: Target, sig: signal.Signals) -> str:
    """Signal the target if it is still the very process shown, holding what it was shown
    holding; say what happened."""
    if (why := still_the_one(target)) is not None:
        return why
    try:
        pidfd = os.pidfd_open(target.pid)
    except ProcessLookupError:
        return f"not sent: {target.label} has already ended"
    except OSError as exc:
        return f"not sent: cannot open a pidfd for {target.label}: {exc.strerror}"
    try:
        # The pidfd names the process that had the pid when it was opened: if that is
        # still the one shown, it is the one signalled, whatever the pid means later.
        if (why := still_the_one(target)) is not None:
            return why
        signal.pidfd_send_signal(pidfd, sig)
    except ProcessLookupError:
        return f"not sent: {target.label} has already ended"
    except PermissionError:
        return f"not sent: no permission to signal {target.label}"
    finally:
        os.close(pidfd)
    said = f"sent {sig.name} to {target.label}, which held {target.holds}"
    if target.sharers:
        said += (f"; pids {', '.join(map(str, target.sharers))} share that open file "
                 "description, so its lock stays until they close it too")
    return said


def code_lines(target: Target) -> list[str]:
    """Where in its code a Python target is (py-spy, under a deadline), for the dialog; only
    while the pid is still the process the reading named. Outside text, made visible."""
    if start_ticks(target.pid) != target.start_ticks:
        return []
    from waltui.probes.stacks import python_stack  # py-spy's subprocess: only on k

    stack = python_stack(target.pid)
    return [] if stack is None else [visible(line) for line in stack.lines()]
