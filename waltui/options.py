"""What to observe: plain settings shared by the config (which reads them) and the probes
(which obey them). Here, not in the probes, so the config imports nothing that reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# Where a poll's locks come from (probes/lock_source.py): auto, /proc/locks, or F_GETLK
LockSourceName = Literal["auto", "proc", "getlk"]
LOCK_SOURCES: tuple[LockSourceName, ...] = ("auto", "proc", "getlk")


@dataclass(frozen=True)
class QueueQuery:
    """A named queue-depth query: one number, or (label, count) rows."""

    name: str
    sql: str


@dataclass(frozen=True)
class ObserveOptions:
    """What an observer may ask of SQLite, and how often: the probes' part of a Config."""

    queries: tuple[QueueQuery, ...] = ()
    sql: bool = True  # False: never open SQLite; files, locks and pins only
    presets: bool = True
    query_limit_ms: float = 100.0
    recovery_limit_bytes: int = 8 * 1024 * 1024
    sql_max_age: float = 10.0  # re-read SQL values this often even when nothing changed
    # ... and not more often than this even when the database changes: each read
    # transaction may catch a writer restarting the WAL, which then appends instead
    sql_min_age: float = 1.0
