"""Rules about the WAL itself: starvation, size, slack, journals, filesystems, queues."""

from __future__ import annotations

from collections.abc import Iterator

from waltui.config import Thresholds
from waltui.health.locks import held_words, may_have_lasted
from waltui.health.registry import AUTOCHECKPOINT_FRAMES, rule, timed_rule
from waltui.history import History
from waltui.model import WAL_FRAME_HEADER_BYTES, WAL_HEADER_BYTES, Finding, Reading
from waltui.naming import named_process, reader_place
from waltui.units import human_bytes


def normal_wal_bytes(page_size: int | None) -> int:
    """A -wal of one autocheckpoint's worth of frames (4.1 MB at 4 KiB pages): the size a
    healthy database run with SQLite's defaults keeps, whatever the database's own size."""
    return WAL_HEADER_BYTES + AUTOCHECKPOINT_FRAMES * ((page_size or 4096) +
                                                       WAL_FRAME_HEADER_BYTES)


def _pin_words(reading: Reading) -> str:
    """The readers that stop checkpoints now; only when none does, every pin (a reader
    caught mid-read by the poll is no cause while another one holds the checkpoint back)."""
    index = reading.wal_index
    stopping = {r.pid for r in reading.stopping}
    parts = []
    for reader in reading.pins:
        if stopping and reader.pid not in stopping:
            continue
        where = reader_place(reader.slot, reader.read_mark) + (
            " (so nothing can be copied)" if reader.slot == 0 else "")
        parts.append(f"{named_process(reading, reader.pid)} holds {where}, seen for "
                     f"{held_words(reader)}"
                     + ("" if index is None or index.limit_frame(reader.slot, reader.read_mark)
                        <= index.backfilled else " (no checkpoint has reached it yet)"))
    return "; ".join(parts)


def _nothing_to_starve(reading: Reading, history: History, t: Thresholds) -> bool:
    """No pin, and a WAL within one autocheckpoint: what most idle databases are."""
    index = reading.wal_index
    return not reading.pins and (index is None or index.max_frame <= AUTOCHECKPOINT_FRAMES)


@timed_rule(quiet=_nothing_to_starve)
def checkpoint_starvation(reading: Reading, history: History, t: Thresholds) -> Iterator[Finding]:
    # In a healthy database each complete checkpoint lets the next writer restart the WAL, so
    # max_frame falls back below ~1,000 frames. Starvation is the WAL staying above that and
    # still growing, or more than a checkpoint's worth not copied because a live reader stops
    # the copy. A pin that stops nothing (no checkpoint has reached its mark) is not a cause.
    index = reading.wal_index
    if index is None or _nothing_to_starve(reading, history, t):
        return
    pending, max_frame = index.frames_pending, index.max_frame
    stopping = [r.pid for r in reading.stopping]
    # With no reader stopping checkpoints now, growth counts only since the last one did: the
    # WAL it made grow is not a WAL that cannot restart (CI caught that, a poll after the end)
    growth = (history.rising_over(history.max_frame, t.starvation_seconds,
                                  since=None if stopping else history.unstopped_since)
              if max_frame > AUTOCHECKPOINT_FRAMES else None)  # most polls: not even looked
    growing = growth is not None
    backlog = pending > AUTOCHECKPOINT_FRAMES and bool(stopping)
    long_pins = [r for r in reading.pins if r.pid in stopping and (
        r.held_seconds >= t.pin_seconds or may_have_lasted(r, t.pin_seconds))]
    # A long pin alone is not starvation: README's 1,000 frames (a reader pinning one frame
    # for a minute stops nothing that matters; wal_large and the pin's own words say more)
    if not (growing or backlog):
        return
    evidence = [f"{pending} frames not yet checkpointed of {max_frame} in the WAL"]
    if growing and growth is not None:
        evidence.append(f"the WAL grew from {growth[0]:.0f} to {max_frame} frames over "
                        f"{t.starvation_seconds:g} s without restarting")
    title = "Checkpoint starvation: the WAL cannot be checkpointed"
    if reading.pins:
        evidence.append(_pin_words(reading))
    if stopping:
        fix = ("End the long read transaction named here (commit, roll back or close it), "
               "then checkpoint. Readers should keep transactions short.")
    elif pending < max_frame // 10:
        # Everything copied yet still rising: readers overlap, so no writer ever finds the
        # WAL free to restart from its start (SQLite's own definition of starvation).
        title = "Checkpoint starvation: the WAL cannot restart"
        evidence.append("checkpoints keep up, but a reader is always active, so the WAL "
                        "never restarts")
        fix = ("Let the readers pause: a RESTART or TRUNCATE checkpoint waits for a moment "
               "with none and resets the WAL; journal_size_limit in the writer caps the file.")
    else:
        evidence.append("no checkpoint has copied anything since "
                        f"frame {index.backfilled} (wal_autocheckpoint 0?)")
        fix = ("Make sure some connection checkpoints: keep wal_autocheckpoint on, or run "
               "PRAGMA wal_checkpoint regularly.")
    severe = bool(long_pins) and (growing or backlog)
    yield Finding(code="checkpoint_starvation", severity="critical" if severe else "warning",
                  title=title, evidence="; ".join(evidence), fix=fix)


# Timed for its words only (how long a pin has been seen); whether it fires depends on sizes
# and the high-water mark, which a repeated reading cannot raise.
@timed_rule(quiet=lambda reading, history, t: True)
def wal_large(reading: Reading, history: History, t: Thresholds) -> Iterator[Finding]:
    # The ratio test starts at four autocheckpoints' worth: a 4 MB -wal beside a 300 KB
    # database is how SQLite's defaults run a small queue (simplebroker), not a problem.
    if reading.files is None:
        return
    wal, db = reading.wal_bytes or 0, reading.files.db_bytes
    over_size = wal > t.wal_bytes
    over_ratio = wal > 4 * normal_wal_bytes(reading.page_size) and wal > t.wal_db_ratio * max(db, 1)
    if not (over_size or over_ratio):
        return
    stopping = [r.pid for r in reading.stopping]
    if stopping:
        cause = ("checkpoints are stopped by " + _pin_words(reading) + ". End that "
                 "transaction, then a TRUNCATE checkpoint gives the disk back.")
    else:
        cause = ("A TRUNCATE checkpoint gives the disk back; PRAGMA journal_size_limit in the "
                 "writer keeps it from growing this large again.")
    yield Finding(
        code="wal_large", severity="critical" if wal > 16 * t.wal_bytes else "warning",
        title=f"Large -wal: {human_bytes(wal)}",
        evidence=f"-wal {human_bytes(wal)} vs database {human_bytes(db)} (thresholds: "
        f"{human_bytes(t.wal_bytes)}, or {t.wal_db_ratio:g}x the database above "
        f"{human_bytes(4 * normal_wal_bytes(reading.page_size))}); "
        f"high-water {human_bytes(history.wal_high_water)}",
        fix=cause)


@rule
def wal_slack(reading: Reading, history: History, t: Thresholds) -> Iterator[Finding]:
    wal, used = reading.wal_bytes or 0, reading.wal_bytes_in_use or 0
    wasted = wal - used
    if reading.wal_index is None:
        return  # without the -shm nobody knows how much of the file is in use
    if wasted >= t.wal_slack_min_bytes and wal > t.wal_slack_ratio * max(used, 1):
        yield Finding(
            code="wal_slack", severity="warning" if wasted >= t.wal_bytes else "info",
            title="-wal file far larger than its content",
            evidence=f"-wal file {human_bytes(wal)}, in use {human_bytes(used)}: "
            f"{human_bytes(wasted)} of disk held by old frames",
            fix="SQLite reuses the -wal but never shrinks it. A TRUNCATE checkpoint gives the disk "
            "back now; PRAGMA journal_size_limit in the writer shrinks it after each reset.")


@rule
def not_wal(reading: Reading, history: History, t: Thresholds) -> Iterator[Finding]:
    files = reading.files
    if reading.journal_mode != "rollback" or files is None:
        return
    version = files.db_header.write_version if files.db_header else "?"
    yield Finding(
        code="not_wal", severity="warning", title="Not in WAL mode (rollback journal)",
        evidence=f"header file format {version}: rollback journal",
        fix="In rollback mode readers block writers and writers block readers. "
        "PRAGMA journal_mode=WAL switches it, persistently.")
    if files.journal_hot:
        yield Finding(
            code="hot_journal", severity="critical",
            title="Hot journal: an interrupted transaction",
            evidence=f"-journal of {human_bytes(files.journal_bytes)} with a live header and "
            "no process holding RESERVED on the database",
            fix="The next connection that opens the database rolls it back. Never delete the "
            "-journal: it holds the only copy of the pages being rewritten.")


@rule
def network_filesystem(reading: Reading, history: History, t: Thresholds) -> Iterator[Finding]:
    fs = reading.filesystem
    if fs is None or not (fs.network or fs.fuse):
        return
    wal = reading.journal_mode == "wal"
    yield Finding(
        code="network_filesystem", severity="critical" if wal and fs.network else "warning",
        title=f"Database on a {'network' if fs.network else 'FUSE'} filesystem ({fs.type})",
        evidence=f"{fs.type} mounted at {fs.mount_point}",
        fix="WAL needs shared memory between every process using the database, which processes "
        "on different hosts cannot have, and network locks are unreliable. Keep the "
        "database on a local disk.")


@rule
def wal_deleted(reading: Reading, history: History, t: Thresholds) -> Iterator[Finding]:
    files = reading.files
    if files is None:
        return
    if reading.journal_mode == "wal" and files.wal_bytes is None and reading.open_by \
            and (reading.frames_pending or 0) > 0:
        yield Finding(
            code="wal_deleted", severity="critical",
            title="-wal deleted while the database is open",
            evidence=f"no -wal file, but the wal-index says {reading.frames_pending} frames are "
            f"not yet checkpointed and {len(reading.open_by)} process(es) hold the database",
            fix="Committed transactions live only in the deleted file now. Do not delete the -shm; "
            "stop the writers gracefully (their handle still reaches the file) and restore "
            "from backup if data is missing.")


def _no_queue_moved(reading: Reading, history: History, t: Thresholds) -> bool:
    """No queue, or none moved for the rule's whole window: growth needs a sample at least
    queue_growth_seconds back that is below the last one, and every sample since the last
    move equals it. Repeats keep it true: they move nothing."""
    still = history.queues_still_since
    return not reading.queues or (still is not None and
                                  history.times.back(0) - still >= t.queue_growth_seconds)


@timed_rule(quiet=_no_queue_moved)
def queue_growing(reading: Reading, history: History, t: Thresholds) -> Iterator[Finding]:
    consumers = len(reading.open_by) if reading.queues else 0
    if not consumers:
        return
    for queue in reading.queues:
        ring = history.queues.get(queue.name)
        growth = None if ring is None else history.rising_over(
            ring, t.queue_growth_seconds, rising_share=0.5)
        if growth is not None:
            yield Finding(
                code="queue_growing", severity="warning", title=f"Queue {queue.name} keeps growing",
                evidence=f"{queue.name}: {growth[0]:.0f} -> {growth[1]:.0f} over "
                f"{t.queue_growth_seconds:g} s, never falling, while {consumers} process(es) "
                "have the database open",
                fix="Consumers are not keeping up or are stuck: look for a consumer pinning "
                "the WAL or waiting on the write lock.")

