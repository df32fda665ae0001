"""What a consumer may ask of the collector, and what the collector sends back: plain,
frozen, picklable values, the same over a thread's queue and a process's pipe."""

from __future__ import annotations

from dataclasses import dataclass

from waltui.history import CheckpointResult
from waltui.model import Finding, Reading


@dataclass(frozen=True)
class Attach:
    path: str


@dataclass(frozen=True)
class Detach:
    path: str


@dataclass(frozen=True)
class SetInterval:
    seconds: float


@dataclass(frozen=True)
class Pause:
    paused: bool


@dataclass(frozen=True)
class PollNow:
    pass


@dataclass(frozen=True)
class RecordCheckpoint:
    """A checkpoint a consumer ran: into the collector's history, where the rules see it."""

    path: str
    result: CheckpointResult


@dataclass(frozen=True)
class Stop:
    pass


Command = Attach | Detach | SetInterval | Pause | PollNow | RecordCheckpoint | Stop


@dataclass(frozen=True)
class Change:
    """One database whose reading or findings changed in a cycle (values only: no history,
    nothing the collector goes on mutating)."""

    path: str
    reading: Reading
    findings: tuple[Finding, ...]
    raised: tuple[Finding, ...]  # new since the previous poll
    cleared: tuple[Finding, ...]


@dataclass(frozen=True)
class Batch:
    """One cycle: the changed databases only; an unchanged one costs nothing to send."""

    changes: tuple[Change, ...]
    polled: int  # databases polled in the cycle (changed or not)
    cycle_seconds: float
    taken_at: float
    detached: tuple[str, ...] = ()
    final: bool = True  # False: more parts of this cycle follow (see child.py)
