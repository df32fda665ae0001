"""What a consumer may ask of the collector (what it sends back is in changes.py): plain,
frozen, picklable values, the same over a thread's queue and a process's pipe."""

from __future__ import annotations

from dataclasses import dataclass

from waltui.history import CheckpointResult


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
