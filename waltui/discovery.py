"""Turn command-line arguments (files, directories, globs) into database paths."""

from __future__ import annotations

import glob
import os

from waltui.deadline import within_deadline
from waltui.probes.files import looks_like_sqlite

SIDECAR_SUFFIXES = ("-wal", "-shm", "-journal")


def expand(arguments: list[str]) -> list[str]:
    """Files are kept as given (even missing ones: their pane says so); a directory gives
    every SQLite file in it, found by its 16-byte header, not its extension. Each argument
    is looked at under a deadline: one on a hung mount is kept as given, and its pane says
    it is stuck, instead of the whole command waiting for ever."""
    found: list[str] = []
    for arg in arguments:
        found += within_deadline(lambda arg=arg: _expand_one(arg), [arg])
    unique: dict[str, None] = {}
    for path in found:
        unique.setdefault(canonical(path), None)
    return list(unique)


def _expand_one(arg: str) -> list[str]:
    if glob.has_magic(arg) and not os.path.lexists(arg):  # a real name holding [ * ?
        matches = sorted(glob.glob(arg))
        return [m for m in matches if os.path.isfile(m) and _is_database(m)]
    if os.path.isdir(arg):
        # A directory with no database in it stays as itself: its pane says so.
        return scan_directory(arg) or [arg]
    return [arg]


def canonical(path: str) -> str:
    """The name SQLite's unix VFS works under: symlinks resolved (its -wal and -shm sit
    beside the target, not the link), so a link and its target are one database."""
    return within_deadline(lambda: os.path.realpath(path), os.path.abspath(path))


def scan_directory(directory: str) -> list[str]:
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return [directory]  # its pane will say why it could not be read
    return [os.path.join(directory, n) for n in names
            if os.path.isfile(os.path.join(directory, n)) and _is_database(os.path.join(directory, n))]


def _is_database(path: str) -> bool:
    return not path.endswith(SIDECAR_SUFFIXES) and looks_like_sqlite(path)
