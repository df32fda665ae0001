"""Which processes stopped a checkpoint: exactly those, derived from SQLite's own logic.

What `sqlite3WalCheckpoint` and `walCheckpoint` in SQLite's wal.c do (3.54), step by step,
and what each step lets us conclude from a result row (busy, log, checkpointed) and the locks
seen right after it:

1. FULL, RESTART and TRUNCATE first take the WAL write lock (-shm byte 120), waiting through
   the busy handler. If a writer keeps it past the timeout, the call goes on as a PASSIVE
   checkpoint and returns busy=1. So a busy FULL/RESTART/TRUNCATE with a writer holding the
   lock was stopped by that writer; no reader can be blamed for the write lock.
2. It may copy frames only up to mxSafeFrame: the smallest read mark (slots 1-4) below mxFrame
   whose slot lock it cannot take, that is, whose reader is live. `checkpointed` comes back
   equal to that mark. So when checkpointed < log, the live readers whose mark equals
   `checkpointed` bounded it; a reader at a later frame did not.
3. Copying needs read slot 0 exclusively: a live reader on slot 0 (it began when the WAL was
   fully copied and reads the database file only) stops every frame from being copied.
4. RESTART and TRUNCATE, once everything is copied, wait for every reader of slots 1-4 to end
   so the next writer starts the WAL from its beginning; busy=1 with checkpointed == log
   means a reader of slots 1-4 was still live. A slot-0 reader does not stop this step.
5. Another connection running a checkpoint (-shm byte 121) or a WAL recovery (byte 122) makes
   the call fail with SQLITE_BUSY before any of this.

The locks are read after the call returns, so a cause that ended in between is not seen;
the message then says so instead of blaming whoever is there now.
"""

from __future__ import annotations

from waltui.model import Reader, Reading
from waltui.naming import named_process, reader_place

CheckpointRow = tuple[int, int, int]


def checkpoint_blockers(mode: str, row: CheckpointRow | None, reading: Reading
                        ) -> tuple[str, ...]:
    """The processes that stopped this checkpoint, each named with what it held."""
    theirs = reading.theirs
    if row is None:  # step 5: SQLITE_BUSY before the checkpoint began
        return tuple(f"{named_process(reading, h.lock.pid)} (held the {h.lock.lock} lock)"
                     for h in theirs if h.lock.file == "shm" and not h.lock.waiting
                     and h.lock.lock in ("checkpoint", "recover", "write")
                     and h.lock.mode == "exclusive")
    busy, log, checkpointed = row
    blamed: list[str] = []
    writer = reading.writer
    if busy and mode != "PASSIVE" and writer is not None:  # step 1
        blamed.append(f"{named_process(reading, writer.lock.pid)} (held the write lock)")
    live = [r for r in reading.readers if not r.ours]
    if checkpointed < log:  # steps 2 and 3
        blamed += [_reader(reading, r) for r in live
                   if r.slot == 0 or r.read_mark == checkpointed]
    elif busy and mode in ("RESTART", "TRUNCATE"):  # step 4
        blamed += [_reader(reading, r) + " (the WAL could not restart)" for r in live
                   if r.slot > 0]
    return tuple(dict.fromkeys(blamed))


def checkpoint_outlook(reading: Reading) -> str:
    """What would stop a checkpoint started now, by the same steps: for the dialog that
    asks which mode to run."""
    parts = []
    if (writer := reading.writer) is not None:
        parts.append(f"{named_process(reading, writer.lock.pid)} holds the write lock: FULL, "
                     "RESTART and TRUNCATE wait for it first.")
    for reader in (r for r in reading.readers if not r.ours):
        if reader.slot == 0 and (reading.frames_pending or 0):
            parts.append(f"{_reader(reading, reader)} stops every mode from copying anything "
                         "while it lives.")
        elif reader.pins:
            parts.append(f"{_reader(reading, reader)}: PASSIVE stops at frame "
                         f"{reader.read_mark}; RESTART and TRUNCATE wait for it to end.")
        elif reader.slot > 0:
            parts.append(f"{_reader(reading, reader)}: RESTART and TRUNCATE wait for it to end.")
    if not parts:
        return "Nothing stands in the way now: every mode should finish at once."
    return " ".join(parts) + " While FULL, RESTART or TRUNCATE wait, writers wait behind them."


def _reader(reading: Reading, reader: Reader) -> str:
    return f"{named_process(reading, reader.pid)} ({reader_place(reader.slot, reader.read_mark)})"
