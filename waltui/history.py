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
from waltui.units import human_bytes

DEFAULT_CAPACITY = 300
MAX_QUEUE_SERIES = 64  # labels from SQL are outside data: a query could invent one a poll


class Ring:
    """A fixed-capacity ring of floats; NaN marks a poll with no value."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._data = array("d", [math.nan]) * capacity
        self._capacity = capacity
        self._next = 0
        self._count = 0

    def append(self, value: float | None) -> None:
        self._data[self._next] = math.nan if value is None else value  # the array: a float
        self._advance()

    def repeat(self) -> None:
        """The last value again (NaN on an empty ring)."""
        self._data[self._next] = self._data[self._next - 1] if self._count else math.nan
        self._advance()

    def _advance(self) -> None:
        self._next = (self._next + 1) % self._capacity
        if self._count < self._capacity:
            self._count += 1

    def values(self) -> list[float]:
        if self._count < len(self._data):
            return self._data[:self._count].tolist()
        return (self._data[self._next:] + self._data[:self._next]).tolist()

    def last(self, n: int) -> list[float]:
        return self.values()[-n:]

    def back(self, k: int) -> float:
        """The k-th most recent value (0 = the latest), without copying the ring."""
        return self._data[(self._next - 1 - k) % len(self._data)]

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


def describe_checkpoint(result: CheckpointResult) -> str:
    """One line an operator can trust: the outcome in words and all the numbers."""
    numbers = (f"busy={result.busy} log={result.log} checkpointed={result.checkpointed}"
               if result.log is not None else "no result row")
    words = {"done": "done: every frame copied", "partial": "partial: readers stopped it",
             "busy": "busy: could not finish", "error": "error", "refused": "refused"}
    text = (f"{result.mode} checkpoint {words[result.outcome]}; {numbers}; "
            f"{result.attempts} attempt(s) in {result.elapsed:.2f} s; -wal "
            f"{human_bytes(result.wal_bytes_before)} -> {human_bytes(result.wal_bytes_after)}")
    if result.message:
        text += f"; {result.message}"
    if result.blockers:
        text += "; stopped by " + ", ".join(result.blockers)
    return text


class History:
    """What the health rules judge from. ChartHistory adds what the dashboard's charts draw,
    which the collector, that only judges, does not keep."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.times = Ring(capacity)
        self.max_frame = Ring(capacity)
        self.queues: dict[str, Ring] = {}
        self._queue_seen: dict[str, int] = {}
        # When the queue depths took the values they have now (None: never seen any)
        self.queues_still_since: float | None = None
        self._last_depths: dict[str, int | None] | None = None
        self.writers: deque[int | None] = deque(maxlen=60)
        self._writer_counts: dict[int, int] = {}  # pid -> polls in the window it wrote in
        self.d_state_since: dict[int, float] = {}
        self.checkpoints: deque[CheckpointResult] = deque(maxlen=50)
        self.wal_high_water = 0
        # Since when no reader has stopped checkpoints (None: one stops them now). A WAL that
        # grew while one did is that reader's doing, not a sign that it cannot restart.
        self.unstopped_since: float | None = None
        self.polls = 0
        self._capacity = capacity
        # Rollback mode: a process seen holding EXCLUSIVE at two polls with a commit between
        # them is in locking_mode=EXCLUSIVE (it keeps the lock), not in one long transaction
        self.exclusive_mode_pid: int | None = None
        self._exclusive_seen: tuple[int, object] | None = None

    def add(self, reading: Reading, again: bool = False) -> None:
        """again: ``reading`` is the last one handed out again (Reading.later), so each
        series repeats its last value; what the reading would give, without asking it."""
        repeat = again and self.polls > 0
        self.polls += 1
        self.times.append(reading.taken_at)
        if repeat:
            self._repeat_samples()
            self._note_writer(self.writers[-1] if self.writers else None)
            self._step_queues(None)
            return
        self._add_samples(reading)
        self.wal_high_water = max(self.wal_high_water, reading.wal_bytes or 0)
        if reading.stopping:
            self.unstopped_since = None
        elif self.unstopped_since is None:
            self.unstopped_since = reading.taken_at
        self._note_writer(reading.writer_pid)
        self._note_exclusive(reading)
        depths = {queue.name: queue.depth for queue in reading.queues}
        if depths != self._last_depths:
            self.queues_still_since, self._last_depths = reading.taken_at, depths
        self._step_queues(depths)
        in_d = {h.lock.pid for h in reading.theirs
                if h.process is not None and h.process.uninterruptible}
        for pid in list(self.d_state_since):
            if pid not in in_d:
                del self.d_state_since[pid]
        for pid in in_d:
            self.d_state_since.setdefault(pid, reading.taken_at)

    def _note_exclusive(self, reading: Reading) -> None:
        files, writer = reading.files, reading.writer
        holder = writer.lock.pid if writer is not None and reading.journal_mode == "rollback" \
            and writer.lock.lock == "exclusive" else None
        if holder is None or files is None or files.db_header is None:
            self.exclusive_mode_pid, self._exclusive_seen = None, None
            return
        commits = (files.db_header.change_counter, files.db_mtime_ns, files.db_bytes)
        last = self._exclusive_seen
        if last is None or last[0] != holder:
            self.exclusive_mode_pid = None
        elif last[1] != commits:
            self.exclusive_mode_pid = holder
        self._exclusive_seen = (holder, commits)

    def _add_samples(self, reading: Reading) -> None:
        self.max_frame.append(reading.wal_index.max_frame if reading.wal_index else None)

    def _repeat_samples(self) -> None:
        self.max_frame.repeat()

    def _step_queues(self, depths: dict[str, int | None] | None) -> None:
        """One sample for every queue's ring; depths None: each repeats its last."""
        for name in depths or ():
            if name not in self.queues and len(self.queues) < MAX_QUEUE_SERIES:
                ring = self.queues[name] = Ring(self._capacity)
                for _ in range(len(self.times) - 1):
                    ring.append(None)
        for name, ring in list(self.queues.items()):
            seen_now = name in depths if depths is not None else \
                self._queue_seen.get(name) == self.polls - 1  # seen the poll it repeats
            if seen_now:
                self._queue_seen[name] = self.polls
            elif self.polls - self._queue_seen.get(name, 0) >= self._capacity:
                del self.queues[name]  # not seen for a whole window: forget it
                continue
            if depths is None:
                ring.repeat()
            else:
                ring.append(depths.get(name))  # None keeps every ring in step with times

    @property
    def span_seconds(self) -> float:
        """Poll time the history covers: what a rule that judges growth has to go on."""
        if len(self.times) < 2:
            return 0.0
        return self.times.back(0) - self.times.back(len(self.times) - 1)

    def rising_over(self, ring: Ring, seconds: float, *, rising_share: float = 0.0,
                    since: float | None = None) -> tuple[float, float] | None:
        """(first, last) when ``ring`` never fell over the last ``seconds`` of poll time and
        ended higher, with at least three samples and ``rising_share`` of the steps up;
        else None. In seconds, not polls: a slow poll must not hide growth (check --for 25
        made 9 polls on a loaded host and a 10-poll rule never fired). ``since``: only
        samples taken then or later count (growth with another cause before is not this)."""
        count = min(len(ring), len(self.times))
        if count < 3 or math.isnan(last := ring.back(0)):
            return None
        now, later, steps, rises = self.times.back(0), last, 0, 0
        for k in range(1, count):
            value = ring.back(k)
            if math.isnan(value) or value > later or (since is not None
                                                      and self.times.back(k) < since):
                return None  # a gap, a fall, or a sample from before ``since``
            steps, rises, later = steps + 1, rises + (value < later), value
            if steps >= 2 and now - self.times.back(k) >= seconds:
                ok = value < last and rises >= rising_share * steps
                return (value, last) if ok else None
        return None

    def _note_writer(self, pid: int | None) -> None:
        """The window's writers counted as it slides: asked every poll of every database."""
        if len(self.writers) == self.writers.maxlen and (gone := self.writers[0]) is not None:
            if self._writer_counts[gone] == 1:
                del self._writer_counts[gone]
            else:
                self._writer_counts[gone] -= 1
        self.writers.append(pid)
        if pid is not None:
            self._writer_counts[pid] = self._writer_counts.get(pid, 0) + 1

    def distinct_writers(self) -> set[int]:
        return set(self._writer_counts)

    @property
    def writer_count(self) -> int:
        """How many distinct processes wrote in the window (asked every poll)."""
        return len(self._writer_counts)


class ChartHistory(History):
    """A consumer's history: also what the WAL charts draw."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        super().__init__(capacity)
        self.wal_bytes = Ring(capacity)
        self.wal_in_use = Ring(capacity)
        self.frames_pending = Ring(capacity)

    def _add_samples(self, reading: Reading) -> None:
        super()._add_samples(reading)
        self.wal_bytes.append(reading.wal_bytes)
        self.wal_in_use.append(reading.wal_bytes_in_use)
        self.frames_pending.append(reading.frames_pending)

    def _repeat_samples(self) -> None:
        super()._repeat_samples()
        for ring in (self.wal_bytes, self.wal_in_use, self.frames_pending):
            ring.repeat()
