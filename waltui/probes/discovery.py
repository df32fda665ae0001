"""Turn command-line arguments (files, directories, globs) into database paths."""

from __future__ import annotations

import glob
import os
from collections import Counter
from dataclasses import dataclass
from functools import partial

from waltui.probes.files import looks_like_sqlite
from waltui.support.deadline import within_deadline

SIDECAR_SUFFIXES = ("-wal", "-shm", "-journal")
PLURALS = {"directory (not searched)": "directories (not searched)",
           "not a regular file": "not regular files"}


@dataclass(frozen=True)
class Found:
    """The databases a command line named, and what it named that was left out."""

    paths: list[str]
    skipped: list[str]  # one sentence per directory or glob that left files out, and why


def expand(arguments: list[str]) -> list[str]:
    return discover(arguments).paths


def discover(arguments: list[str]) -> Found:
    """Files are kept as given (even missing ones: their pane says so); a directory gives
    every SQLite file in it, found by its 16-byte header, not its extension, and says how
    many files it left out and why. Each argument is looked at under a deadline: one on a
    hung mount is kept as given, and its pane says it is stuck, instead of the whole command
    waiting for ever."""
    found: list[str] = []
    skipped: list[str] = []
    for arg in arguments:
        fallback: tuple[list[str], str | None] = ([arg], None)
        paths, note = within_deadline(partial(_expand_one, arg), fallback)
        found += canonical_all(paths)
        if note:
            skipped.append(note)
    return Found(list(dict.fromkeys(found)), skipped)


def _expand_one(arg: str) -> tuple[list[str], str | None]:
    if glob.has_magic(arg) and not os.path.lexists(arg):  # a real name holding [ * ?
        return _keep_databases(arg, sorted(glob.glob(arg)))
    if os.path.isdir(arg):
        try:
            names = sorted(os.listdir(arg))
        except OSError:
            return [arg], None  # its pane will say why it could not be read
        paths, note = _keep_databases(arg, [os.path.join(arg, n) for n in names])
        # A directory with no database in it stays as itself: its pane says so.
        return paths or [arg], note
    return [arg], None


def canonical(path: str) -> str:
    """The name SQLite's unix VFS works under: symlinks resolved (its -wal and -shm sit
    beside the target, not the link), so a link and its target are one database."""
    return canonical_all([path])[0]


def canonical_all(paths: list[str]) -> list[str]:
    """canonical() of one argument's paths under one deadline: a helper thread per path
    made a directory of 1,000 databases ~0.3 s slower to start."""
    return within_deadline(lambda: _realpaths(paths), [os.path.abspath(p) for p in paths])


def _realpaths(paths: list[str]) -> list[str]:
    """os.path.realpath of each, with a directory resolved once for all its files: realpath
    lstats every component of every path (3,000-6,000 calls for a directory of 1,000), and
    a file that is not itself a link resolves to its resolved directory and its name."""
    directories: dict[str, str] = {}
    resolved = []
    for path in paths:
        head, tail = os.path.split(path)
        if tail in ("", ".", "..") or os.path.islink(path):
            resolved.append(os.path.realpath(path))
            continue
        if head not in directories:
            directories[head] = os.path.realpath(head or ".")
        resolved.append(os.path.join(directories[head], tail))
    return resolved


def _keep_databases(where: str, candidates: list[str]) -> tuple[list[str], str | None]:
    kept: list[str] = []
    reasons: Counter[str] = Counter()
    for path in candidates:
        if path.endswith(SIDECAR_SUFFIXES):
            continue  # a database's -wal, -shm or -journal: part of it, not skipped
        if os.path.isdir(path):
            reasons["directory (not searched)"] += 1
        elif not os.path.isfile(path):
            reasons["not a regular file"] += 1
        elif not os.access(path, os.R_OK):
            reasons["unreadable (permission denied)"] += 1
        elif looks_like_sqlite(path):
            kept.append(path)
        else:
            reasons["not SQLite (no \"SQLite format 3\" header)"] += 1
    if not reasons:
        return kept, None
    total = sum(reasons.values())
    why = ", ".join(f"{count} {PLURALS.get(reason, reason) if count > 1 else reason}"
                    for reason, count in reasons.most_common())
    return kept, (f"{where}: {total} file{'s' * (total != 1)} skipped: {why}")

