"""What the monitor remembers of one database across polls: compact numeric series.

Series are fixed-size rings of floats (8 bytes a sample), not lists of readings, so 1,000
databases with minutes of history stay within the dashboard's memory target.
"""

from __future__ import annotations

import math
from array import array
from collections import deque
from dataclasses import dataclass

from waltui.model import Reading

DEFAULT_CAPACITY = 300


class Ring:
    """A fixed-capacity ring of floats; NaN marks a poll with no value."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._data = array("d", [math.nan]) * capacity
        self._next = 0
        self._count = 0

    def append(self, value: float | None) -> None:
        self._data[self._next] = math.nan if value is None else float(value)
        self._next = (self._next + 1) % len(self._data)
        self._count = min(self._count + 1, len(self._data))

    def values(self) -> list[float]:
        if self._count < len(self._data):
            return self._data[:self._count].tolist()
        return (self._data[self._next:] + self._data[:self._next]).tolist()

    def last(self, n: int) -> list[float]:
        return self.values()[-n:]

    def __len__(self) -> int:
        return self._count


@dataclass(frozen=True)
class CheckpointResult:
    """The outcome of one checkpoint action, kept for the pane and the starvation rule."""

    mode: str
    outcome: str  # done | partial | busy | error | refused
    busy: int | None
    log: int | None
    checkpointed: int | None
    attempts: int
    elapsed: float
    wal_bytes_before: int | None
    wal_bytes_after: int | None
    finished_at: float
    message: str = ""
    blockers: tuple[str, ...] = ()  # "pid 4121 `python agent.py` (read slot 1 at frame 151)"


class History:
    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.times = Ring(capacity)
        self.wal_bytes = Ring(capacity)
        self.wal_in_use = Ring(capacity)
        self.frames_pending = Ring(capacity)
        self.max_frame = Ring(capacity)
        self.queues: dict[str, Ring] = {}
        self.writers: deque[int | None] = deque(maxlen=60)
        self.d_state_since: dict[int, float] = {}
        self.checkpoints: deque[CheckpointResult] = deque(maxlen=50)
        self.wal_high_water = 0
        self.polls = 0
        self._capacity = capacity

    def add(self, reading: Reading) -> None:
        self.polls += 1
        self.times.append(reading.taken_at)
        self.wal_bytes.append(reading.wal_bytes)
        self.wal_in_use.append(reading.wal_bytes_in_use)
        self.frames_pending.append(reading.frames_pending)
        self.max_frame.append(reading.wal_index.max_frame if reading.wal_index else None)
        self.wal_high_water = max(self.wal_high_water, reading.wal_bytes or 0)
        self.writers.append(reading.writer_pid)
        for queue in reading.queues:
            ring = self.queues.get(queue.name)
            if ring is None:
                ring = self.queues[queue.name] = Ring(self._capacity)
                for _ in range(len(self.times) - 1):
                    ring.append(None)
            ring.append(queue.depth)
        in_d = {h.lock.pid for h in reading.held_locks
                if h.process is not None and h.process.uninterruptible}
        for pid in list(self.d_state_since):
            if pid not in in_d:
                del self.d_state_since[pid]
        for pid in in_d:
            self.d_state_since.setdefault(pid, reading.taken_at)

    def rising_for(self, ring: Ring, polls: int) -> bool:
        """True when each of the last ``polls`` steps went up (a strict, sustained rise)."""
        recent = ring.last(polls + 1)
        if len(recent) < polls + 1 or any(math.isnan(v) for v in recent):
            return False
        return all(b > a for a, b in zip(recent, recent[1:]))

    def distinct_writers(self) -> set[int]:
        return {pid for pid in self.writers if pid is not None}
