"""Readings (and their history) turned into findings an operator can act on.

Each rule is a function of (reading, history, thresholds) returning findings with the numbers
that triggered them and the fix. RULES is the one list the dashboard, `check` and the docs use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from waltui.config import Thresholds
from waltui.history import History
from waltui.model import Finding, Reading
from waltui.report import named_process
from waltui.units import human_bytes, human_seconds

Rule = Callable[[Reading, History, Thresholds], Iterator[Finding]]
RULES: list[Rule] = []
STARVATION_MIN_FRAMES = 1000  # SQLite's default wal_autocheckpoint: below it, growth is normal


def rule(func: Rule) -> Rule:
    RULES.append(func)
    return func


def evaluate(reading: Reading, history: History, thresholds: Thresholds) -> list[Finding]:
    if reading.files is None or reading.files.db_header is None:
        return []
    found = [f for check in RULES for f in check(reading, history, thresholds)]
    return sorted(found, key=lambda f: -f.rank)


@rule
def checkpoint_starvation(reading: Reading, history: History, t: Thresholds) -> Iterator[Finding]:
    # In a healthy database the WAL restarts after each complete checkpoint, so max_frame
    # falls back; when a reader pins it, max_frame climbs past the autocheckpoint size and
    # keeps climbing, even while checkpoints copy what they can (pending may stay small).
    pending = reading.frames_pending or 0
    max_frame = reading.wal_index.max_frame if reading.wal_index else 0
    growing = (history.rising_for(history.max_frame, t.starvation_polls)
               and max_frame > STARVATION_MIN_FRAMES)
    long_pins = [r for r in reading.pins if r.held_seconds >= t.pin_seconds]
    last = history.checkpoints[-1] if history.checkpoints else None
    partial = last is not None and last.outcome in ("partial", "busy")
    if not (growing or long_pins or partial):
        return
    pins = "; ".join(
        f"{named_process(reading, r.pid)} holds read slot {r.slot} at frame {r.read_mark} "
        f"(seen {human_seconds(r.held_seconds)})" for r in reading.pins)
    evidence = [f"{pending} frames pending of {max_frame}"]
    if growing:
        evidence.append(f"WAL rising for {t.starvation_polls} polls without restarting")
    if partial:
        evidence.append(f"last {last.mode} checkpoint {last.outcome}: "
                        f"{last.checkpointed} of {last.log} frames")
    title = "Checkpoint starvation: the WAL cannot be checkpointed"
    if pins:
        evidence.append(pins)
        fix = ("End the long read transaction named here (commit or close it), then run a "
               "checkpoint (c). Readers should keep transactions short.")
    elif growing and pending < max_frame // 10:
        # Everything copied yet still rising: readers overlap, so no writer ever finds the
        # WAL free to restart from its start (SQLite's own definition of starvation).
        title = "Checkpoint starvation: the WAL cannot restart"
        evidence.append("checkpoints keep up, but a reader is always active, so the WAL "
                        "never restarts")
        fix = ("Let the readers pause: a RESTART or TRUNCATE checkpoint (c) waits for a moment "
               "with none and resets the WAL; journal_size_limit in the writer caps the file.")
    else:
        if growing:
            evidence.append("no reader pins it: no checkpoint seems to run "
                            "(wal_autocheckpoint 0?)")
        fix = ("Make sure some connection checkpoints: keep wal_autocheckpoint on, or run "
               "PRAGMA wal_checkpoint regularly.")
    yield Finding("checkpoint_starvation", "critical" if long_pins and growing else "warning",
                  title, "; ".join(evidence), fix)


@rule
def wal_large(reading: Reading, history: History, t: Thresholds) -> Iterator[Finding]:
    wal, db = reading.wal_bytes or 0, reading.files.db_bytes
    over_size = wal > t.wal_bytes
    over_ratio = wal > 4 * 1024 * 1024 and wal > t.wal_db_ratio * max(db, 1)
    if over_size or over_ratio:
        yield Finding(
            "wal_large", "critical" if wal > 16 * t.wal_bytes else "warning",
            f"Large -wal: {human_bytes(wal)}",
            f"-wal {human_bytes(wal)} vs database {human_bytes(db)} (thresholds: "
            f"{human_bytes(t.wal_bytes)}, {t.wal_db_ratio:g}x the database); "
            f"high-water {human_bytes(history.wal_high_water)}",
            "Find what stops checkpoints (the Locks pane), then a TRUNCATE checkpoint gives "
            "the disk back.")


@rule
def wal_slack(reading: Reading, history: History, t: Thresholds) -> Iterator[Finding]:
    wal, used = reading.wal_bytes or 0, reading.wal_bytes_in_use or 0
    wasted = wal - used
    if wasted >= t.wal_slack_min_bytes and wal > t.wal_slack_ratio * max(used, 1):
        yield Finding(
            "wal_slack", "warning" if wasted >= t.wal_bytes else "info",
            "-wal file far larger than its content",
            f"-wal file {human_bytes(wal)}, in use {human_bytes(used)}: "
            f"{human_bytes(wasted)} of disk held by old frames",
            "SQLite reuses the -wal but never shrinks it. A TRUNCATE checkpoint gives the disk "
            "back now; PRAGMA journal_size_limit in the writer keeps it small.")


@rule
def not_wal(reading: Reading, history: History, t: Thresholds) -> Iterator[Finding]:
    if reading.journal_mode != "rollback":
        return
    yield Finding(
        "not_wal", "warning", "Not in WAL mode (rollback journal)",
        f"header file format {reading.files.db_header.write_version}: rollback journal",
        "In rollback mode readers block writers and writers block readers. "
        "PRAGMA journal_mode=WAL (p) switches it, persistently.")
    if reading.files.journal_bytes and not any(l.file == "db" and l.lock != "shared"
                                               for l in reading.locks):
        yield Finding(
            "hot_journal", "critical", "Hot journal: an interrupted transaction",
            f"-journal of {human_bytes(reading.files.journal_bytes)} with no writer holding "
            "the database",
            "The next connection that opens the database rolls it back. Never delete the "
            "-journal: it holds the only copy of the pages being rewritten.")


@rule
def network_filesystem(reading: Reading, history: History, t: Thresholds) -> Iterator[Finding]:
    fs = reading.filesystem
    if fs is None or not (fs.network or fs.fuse):
        return
    wal = reading.journal_mode == "wal"
    yield Finding(
        "network_filesystem", "critical" if wal and fs.network else "warning",
        f"Database on a {'network' if fs.network else 'FUSE'} filesystem ({fs.type})",
        f"{fs.type} mounted at {fs.mount_point}",
        "WAL needs shared memory between every process using the database, which processes "
        "on different hosts cannot have, and network locks are unreliable. Keep the "
        "database on a local disk.")


@rule
def holder_in_d_state(reading: Reading, history: History, t: Thresholds) -> Iterator[Finding]:
    for pid, since in sorted(history.d_state_since.items()):
        stuck = reading.taken_at - since
        if stuck < t.d_state_seconds:
            continue
        locks = sorted({f"{h.lock.lock}" + (f" {h.lock.slot}" if h.lock.slot is not None else "")
                        for h in reading.held_locks if h.lock.pid == pid})
        yield Finding(
            "d_state_holder", "critical", f"Lock holder pid {pid} stuck in D state",
            f"{named_process(reading, pid)} in uninterruptible sleep for {human_seconds(stuck)} "
            f"holding {', '.join(locks)}",
            "The process waits on the kernel (disk, NFS, FUSE) and cannot be killed until that "
            "I/O returns. Look at the device under the database; its locks stay until then.")


@rule
def writers_take_turns(reading: Reading, history: History, t: Thresholds) -> Iterator[Finding]:
    writers = history.distinct_writers()
    if len(writers) >= t.writer_rotation:
        yield Finding(
            "many_writers", "info", f"{len(writers)} processes take the write lock in turn",
            f"writer pids seen in the last {len(history.writers)} polls: "
            + ", ".join(str(p) for p in sorted(writers)),
            "SQLite allows one writer at a time: they serialise and wait on busy_timeout. "
            "One writer process (others send it work) avoids SQLITE_BUSY.")


@rule
def recovery_running(reading: Reading, history: History, t: Thresholds) -> Iterator[Finding]:
    holders = sorted({l.pid for l in reading.locks if l.lock == "recover" and not l.waiting})
    if holders:
        yield Finding(
            "recovering", "warning", "WAL recovery in progress",
            "recover lock (-shm byte 122) held by " + ", ".join(named_process(reading, p) for p in holders),
            "A process is rebuilding the wal-index from the -wal; other connections wait. "
            "It takes longer the larger the -wal is. Let it finish.")


@rule
def leftover_files(reading: Reading, history: History, t: Thresholds) -> Iterator[Finding]:
    files = reading.files
    if reading.journal_mode != "wal" or reading.open_by:
        return
    pending = reading.frames_pending or 0
    if files.shm_bytes is not None:
        yield Finding(
            "leftover_shm", "info", "-shm with no process holding the database",
            f"-shm {human_bytes(files.shm_bytes)}, -wal "
            f"{human_bytes(files.wal_bytes)}, {pending} frames not yet checkpointed",
            "Harmless: the next opener rebuilds the -shm and checkpoints. Do not delete the "
            "-wal: it may hold committed transactions.")


@rule
def wal_deleted(reading: Reading, history: History, t: Thresholds) -> Iterator[Finding]:
    files = reading.files
    if reading.journal_mode == "wal" and files.wal_bytes is None and reading.open_by \
            and (reading.frames_pending or 0) > 0:
        yield Finding(
            "wal_deleted", "critical", "-wal deleted while the database is open",
            f"no -wal file, but the wal-index says {reading.frames_pending} frames are not yet "
            f"checkpointed and {len(reading.open_by)} process(es) hold the database",
            "Committed transactions live only in the deleted file now. Do not delete the -shm; "
            "stop the writers gracefully (their handle still reaches the file) and restore "
            "from backup if data is missing.")


@rule
def queue_growing(reading: Reading, history: History, t: Thresholds) -> Iterator[Finding]:
    consumers = len(reading.open_by)
    if not consumers:
        return
    for queue in reading.queues:
        ring = history.queues.get(queue.name)
        if ring is not None and history.rising_for(ring, t.queue_growth_polls):
            start = ring.last(t.queue_growth_polls + 1)[0]
            yield Finding(
                "queue_growing", "warning", f"Queue {queue.name} keeps growing",
                f"{queue.name}: {start:.0f} -> {queue.depth} over {t.queue_growth_polls} polls "
                f"while {consumers} process(es) have the database open",
                "Consumers are not keeping up or are stuck: look for a consumer pinning the WAL "
                "or waiting on the write lock (Locks pane).")
