"""Turn command-line arguments (files, directories, globs) into database paths."""

from __future__ import annotations

import glob
import os

from waltui.probes.files import looks_like_sqlite

SIDECAR_SUFFIXES = ("-wal", "-shm", "-journal")


def expand(arguments: list[str]) -> list[str]:
    """Files are kept as given (even missing ones: their pane says so); a directory gives
    every SQLite file in it, found by its 16-byte header, not its extension."""
    found: list[str] = []
    for arg in arguments:
        if glob.has_magic(arg) and not os.path.lexists(arg):  # a real name holding [ * ?
            matches = sorted(glob.glob(arg))
            found += [m for m in matches if os.path.isfile(m) and _is_database(m)]
        elif os.path.isdir(arg):
            # A directory with no database in it stays as itself: its pane says so.
            found += scan_directory(arg) or [arg]
        else:
            found.append(arg)
    unique: dict[str, None] = {}
    for path in found:
        unique.setdefault(canonical(path), None)
    return list(unique)


def canonical(path: str) -> str:
    """The name SQLite's unix VFS works under: symlinks resolved (its -wal and -shm sit
    beside the target, not the link), so a link and its target are one database."""
    return os.path.realpath(path)


def scan_directory(directory: str) -> list[str]:
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return [directory]  # its pane will say why it could not be read
    return [os.path.join(directory, n) for n in names
            if os.path.isfile(os.path.join(directory, n)) and _is_database(os.path.join(directory, n))]


def _is_database(path: str) -> bool:
    return not path.endswith(SIDECAR_SUFFIXES) and looks_like_sqlite(path)
