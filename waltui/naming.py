"""How every message names a process, a lock and a reader: one wording for findings,
dialogs, the Locks pane, `check` and JSON-free text. Plain functions of a reading."""

from __future__ import annotations

from waltui.model import Lock, Reader, Reading, WalIndex
from waltui.units import human_hold, who


def reader_place(slot: int, mark: int) -> str:
    """Where a reader reads, in every message's words: slot 0 means the database file."""
    return "read slot 0, on the database file itself" if slot == 0 else \
        f"read slot {slot} at frame {mark}"


def lock_words(reading: Reading, lock: Lock) -> str:
    """A lock as every message names it: "the write lock", "read slot 1 at frame 36"."""
    if lock.lock == "read" and lock.file == "shm":
        index = reading.wal_index
        mark = index.read_marks[lock.slot or 0] if index is not None and \
            (lock.slot or 0) < len(index.read_marks) else None
        words = reader_place(lock.slot or 0, mark or 0) if mark is not None else \
            f"read slot {lock.slot}"
    elif lock.file == "shm":
        words = f"the {lock.lock} lock" if lock.lock != "dms" else "the database open"
    else:
        words = f"the {lock.lock.upper()} lock on the database file"
    return ("a wait for " if lock.waiting else "") + words


def named_process(reading: Reading, pid: int) -> str:
    """A pid seen holding a lock in this reading, named the way every message names it."""
    info = reading.process(pid)
    return who(pid, info.label if info else None)


def reader_sentence(reader: Reader, index: WalIndex | None) -> str:
    """The plain-words line an operator needs: who, which slot, which frame, for how long."""
    named = who(reader.pid, reader.process)
    held = human_hold(reader.held_seconds, reader.held_at_least)
    if not reader.pins:
        return f"{named} reads slot {reader.slot} at frame {reader.read_mark} (seen {held}); " \
               "it does not hold a checkpoint back"
    if reader.slot == 0:
        stop = index.backfilled if index else 0
        return (f"{named} has held read slot 0 for {held}: it reads the database file itself, "
                f"so no checkpoint can copy anything past frame {stop}")
    return (f"{named} has held read slot {reader.slot} at frame {reader.read_mark} for {held}: "
            f"the checkpoint cannot pass frame {reader.read_mark}")
