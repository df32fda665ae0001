"""Rules about who holds what: the write lock, stuck holders, recovery, odd ways of opening."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from waltui.config import Thresholds
from waltui.health.registry import rule, timed_rule
from waltui.history import History
from waltui.model import (
    WAL_FRAME_HEADER_BYTES,
    WAL_HEADER_BYTES,
    Finding,
    HeldLock,
    Reader,
    Reading,
)
from waltui.naming import named_process
from waltui.units import human_bytes, human_hold, human_seconds

SPAN_SECONDS = 1.0  # two samples this far apart with no commit between: one hold (check)


def _names(reading: Reading, pids: Iterable[int]) -> str:
    return ", ".join(named_process(reading, pid) for pid in sorted(pids))


def held_words(held: HeldLock | Reader) -> str:
    """How long a hold lasted, as far as can be proven: "5s", or ">=1s (already held when
    waltui started watching; its process started 4m ago, so at most that)"."""
    words = human_hold(held.held_seconds, held.held_at_least)
    if held.held_at_least:
        words += " (already held when waltui started watching"
        if held.held_at_most is not None:
            words += f"; its process has run {human_seconds(held.held_at_most)}, at most that"
        words += ")"
    return words


def may_have_lasted(held: HeldLock | Reader, seconds: float) -> bool:
    """A hold watched for at least SPAN_SECONDS that began before waltui looked and whose
    process is old enough that it may have lasted ``seconds``: severity is judged on what
    it may be, never lowered for lack of watching."""
    return held.held_at_least and held.held_seconds >= SPAN_SECONDS and \
        held.held_at_most is not None and held.held_at_most >= seconds


@timed_rule(quiet=lambda reading, history, t: reading.writer is None)
def write_lock_held(reading: Reading, history: History, t: Thresholds) -> Iterator[Finding]:
    # The hold is timed per transaction: the probe restarts the clock whenever a commit moves
    # the -shm's counter (or the header's), so a busy writer that commits and locks again
    # between two polls is never mistaken for one long hold. One sample cannot time a hold
    # at all, so a one-shot check names the writer in its reading, not as a finding.
    # A hold that was already there when waltui first looked, and spans two samples
    # SPAN_SECONDS apart with no commit between them (a one-shot check), is raised too: it
    # cannot be told from a long one.
    writer = reading.writer
    if writer is None or reading.exclusive_mode or writer.lock.pid == history.exclusive_mode_pid:
        return  # locking_mode=EXCLUSIVE keeps the lock between commits: not a transaction
    spans = writer.held_at_least and writer.held_seconds >= SPAN_SECONDS
    if writer.held_seconds < t.write_hold_seconds and not spans:
        return
    pid, lock = writer.lock.pid, writer.lock
    which = ("the WAL write lock (-shm byte 120)" if lock.file == "shm" else
             f"{lock.lock.upper()} on the database file (rollback mode)")
    if lock.lock == "exclusive" and lock.file == "db":
        which += (", a write being committed, or a connection in PRAGMA "
                  "locking_mode=EXCLUSIVE, which keeps it between commits")
    evidence = [f"{named_process(reading, pid)} has held {which} for "
                f"{held_words(writer)} without committing"]
    state = writer.process.state if writer.process else None
    if state == "stopped":
        evidence.append("the process is stopped (SIGSTOP or a debugger): it cannot commit")
    elif state == "disk-sleep":
        evidence.append("the process is in uninterruptible sleep (waiting on I/O)")
    waiting = {h.lock.pid for h in reading.waiters} - {pid}
    if waiting:
        evidence.append("blocked in the kernel waiting for it: " + _names(reading, waiting))
    elif not reading.waiters_seen:
        evidence.append("processes blocked waiting for it cannot be seen with this lock "
                        "source (only /proc/locks lists them)")
    others = reading.open_by - {pid} - waiting
    if others:
        evidence.append("also have the database open (each write of theirs waits, then "
                        "fails with SQLITE_BUSY when its busy_timeout runs out): "
                        + _names(reading, others))
    critical = writer.held_seconds >= t.write_hold_critical_seconds or (
        writer.held_seconds >= t.write_hold_seconds
        and may_have_lasted(writer, t.write_hold_critical_seconds))
    yield Finding(
        code="write_lock_held", severity="critical" if critical else "warning",
        title=f"Write lock held {human_hold(writer.held_seconds, writer.held_at_least)} by "
        f"{named_process(reading, pid) if pid <= 0 else f'pid {pid}'}",
        evidence="; ".join(evidence),
        fix="Every other writer waits, then gets 'database is locked'. End that transaction: "
        "commit or roll back in the application, or stop the process (its transaction rolls "
        "back; nothing it committed is lost). A lock held by an idle process is usually a "
        "BEGIN IMMEDIATE left open on an error path.")


@timed_rule(quiet=lambda reading, history, t: not history.d_state_since)
def holder_in_d_state(reading: Reading, history: History, t: Thresholds) -> Iterator[Finding]:
    if not history.d_state_since:
        return
    for pid, since in sorted(history.d_state_since.items()):
        stuck = reading.taken_at - since
        # A writer briefly in fsync on a busy disk is in D at every sample yet commits in
        # between; stuck means in D *and* holding the same lock (the same transaction) all along.
        held = max((h.held_seconds for h in reading.theirs if h.lock.pid == pid), default=0.0)
        if stuck < t.d_state_seconds or held < t.d_state_seconds:
            continue
        locks = sorted({h.lock.lock + (f" {h.lock.slot}" if h.lock.slot is not None else "")
                        for h in reading.theirs if h.lock.pid == pid})
        yield Finding(
            code="d_state_holder", severity="critical",
            title=f"Lock holder pid {pid} stuck in D state",
            evidence=f"{named_process(reading, pid)} in uninterruptible sleep for "
            f"{human_seconds(stuck)} holding {', '.join(locks)}",
            fix="The process waits on the kernel (disk, NFS, FUSE) and cannot be killed until that "
            "I/O returns. Look at the device under the database; its locks stay until then.")


# quiet: a repeated reading adds its writer again, so the count of writers cannot rise
@timed_rule(quiet=lambda reading, history, t: True)
def writers_take_turns(reading: Reading, history: History, t: Thresholds) -> Iterator[Finding]:
    if history.writer_count >= t.writer_rotation:
        writers = history.distinct_writers()
        yield Finding(
            code="many_writers", severity="info",
            title=f"{len(writers)} processes take the write lock in turn",
            evidence=f"writer pids seen in the last {len(history.writers)} polls: "
            + ", ".join(str(p) for p in sorted(writers)),
            fix="SQLite allows one writer at a time: they serialise and wait on busy_timeout. "
            "One writer process (others send it work) avoids SQLITE_BUSY.")


@rule
def recovery_running(reading: Reading, history: History, t: Thresholds) -> Iterator[Finding]:
    holders = {h.lock.pid for h in reading.theirs
               if h.lock.lock == "recover" and not h.lock.waiting}
    if holders:
        yield Finding(
            code="recovering", severity="warning", title="WAL recovery in progress",
            evidence="recover lock (-shm byte 122) held by " + _names(reading, holders),
            fix="A process is rebuilding the wal-index from the -wal; other connections wait. "
            "It takes longer the larger the -wal is. Let it finish.")


@rule
def leftover_files(reading: Reading, history: History, t: Thresholds) -> Iterator[Finding]:
    files = reading.files
    if files is None or reading.journal_mode != "wal" or reading.open_by \
            or files.shm_bytes is None:
        return
    yield Finding(
        code="leftover_shm", severity="info", title="-shm with no process holding the database",
        evidence=f"-shm {human_bytes(files.shm_bytes)}, -wal {human_bytes(files.wal_bytes)}, "
        f"{reading.frames_pending or 0} frames not yet checkpointed",
        fix="Harmless: the next opener rebuilds the -shm and checkpoints. Do not delete the "
        "-wal: it may hold committed transactions.")


@rule
def exclusive_locking_mode(reading: Reading, history: History, t: Thresholds
                           ) -> Iterator[Finding]:
    if reading.journal_mode == "rollback" and history.exclusive_mode_pid is not None:
        pid = history.exclusive_mode_pid
        yield Finding(
            code="exclusive_locking_mode", severity="info",
            title=f"Exclusive locking mode: only pid {pid} can use the database",
            evidence=f"{named_process(reading, pid)} keeps the database file's EXCLUSIVE lock from "
            "one commit to the next (seen committing while holding it): PRAGMA "
            "locking_mode=EXCLUSIVE in rollback mode",
            fix="Every other process gets 'database is locked', even to read, for as long as "
            "that connection lives. If that is not intended, drop PRAGMA "
            "locking_mode=EXCLUSIVE from the application.")
        return
    if not reading.exclusive_mode:
        return
    [holder] = [h for h in reading.theirs if h.lock.file == "db" and h.lock.lock == "exclusive"
                and not h.lock.waiting][:1]
    wal = reading.wal_bytes or 0
    frame_bytes = (reading.page_size or 4096) + WAL_FRAME_HEADER_BYTES
    most = max(0, (wal - WAL_HEADER_BYTES) // frame_bytes)
    yield Finding(
        code="exclusive_locking_mode", severity="info",
        title=f"Exclusive locking mode: only pid {holder.lock.pid} can use the database",
        evidence=f"{named_process(reading, holder.lock.pid)} holds the database file's "
        f"EXCLUSIVE lock and there is no -shm: PRAGMA locking_mode=EXCLUSIVE in WAL mode. "
        f"The -wal is {human_bytes(wal)}, at most {most} frames; how many are in use or not yet "
        "checkpointed, and who reads where, live only in that process's memory, and the "
        "header's page count may be older than the -wal",
        fix="Every other process gets 'database is locked' for as long as that connection lives. "
        "If that is not intended, drop PRAGMA locking_mode=EXCLUSIVE from the application.")


@rule
def opened_by_another_name(reading: Reading, history: History, t: Thresholds
                           ) -> Iterator[Finding]:
    # In WAL mode every connection maps the -shm beside the name it opened; others holding
    # this file's locks with no -shm beside this name opened it by another (a hard link).
    files = reading.files
    holders = {h.lock.pid for h in reading.theirs if h.lock.file == "db"}
    if files is None or reading.journal_mode != "wal" or files.shm_bytes is not None \
            or not holders or reading.exclusive_mode:
        return
    names = ", ".join(reading.opened_as) or "a name waltui could not read (/proc/PID/fd)"
    yield Finding(
        code="opened_by_another_name", severity="warning",
        title="Processes use this database by another name",
        evidence=f"{_names(reading, holders)} hold this file, opened as {names}; the file has "
        f"{files.db_links} name(s) (hard links), and the -wal and -shm sit beside the name "
        "they opened, so nothing beside this name shows their WAL",
        fix="Watch the database by the name its processes opened"
        + (f": waltui {reading.opened_as[0]}" if reading.opened_as else "") + ".")
