"""How every message names a process, a lock and a reader: one wording for findings,
dialogs, the Locks pane, `check` and JSON-free text. Plain functions of a reading."""

from __future__ import annotations

from waltui.model import Lock, Reader, Reading, WalIndex
from waltui.units import human_hold, visible, who


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


NAME_WIDTH = 24


def cut_middle(text: str, width: int = NAME_WIDTH) -> str:
    """Too long: keep the start and, longer, the end (where agent-0001 and agent-0002, or
    .sqlite3 and .db, differ), with an ellipsis between."""
    if len(text) <= width:
        return text
    tail = (width - 1) * 2 // 3
    return text[:width - 1 - tail] + "…" + text[-tail:]


def unique_names(paths: list[str]) -> dict[str, str]:
    """Each path's shortest suffix of whole components that no other path shares
    (x/state.db and y/state.db, not state.db twice), safe to show (units.visible). A
    narrow column cuts it to fit with cut_middle."""
    parts = {path: path.rstrip("/").split("/") for path in paths}
    depth = dict.fromkeys(paths, 1)
    while True:
        by_suffix: dict[str, list[str]] = {}
        for path in paths:
            by_suffix.setdefault("/".join(parts[path][-depth[path]:]), []).append(path)
        clashes = [p for group in by_suffix.values() if len(group) > 1 for p in group
                   if depth[p] < len(parts[p])]
        if not clashes:
            break
        for path in clashes:
            depth[path] += 1
    return {path: visible("/".join(parts[path][-depth[path]:])) for path in paths}


class DatabaseNames:
    """The one name each database goes by on every surface of a session (table, event log,
    dialogs, the status line, titles): its shortest path suffix no other attached database shares.
    Worked out again, lazily, when the attached set changes; a detached database keeps
    the name it had, so the lines it left in the log still say which one it was."""

    def __init__(self) -> None:
        self._paths: dict[str, None] = {}  # attached, in order
        self._names: dict[str, str] | None = {}
        self._gone: dict[str, str] = {}

    def add(self, path: str) -> None:
        if path not in self._paths:
            self._paths[path] = None
            self._gone.pop(path, None)
            self._names = None

    def remove(self, path: str) -> None:
        if path in self._paths:
            self._gone[path] = self.of(path)
            del self._paths[path]
            self._names = None

    def of(self, path: str) -> str:
        name = self.all().get(path) or self._gone.get(path)
        return name if name is not None else unique_names([path])[path]

    def all(self) -> dict[str, str]:
        """Every attached database's name (the table renames its rows from these)."""
        if self._names is None:
            self._names = unique_names(list(self._paths))
        return self._names
