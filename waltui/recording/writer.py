"""Writing a recording from the collector's batches, in a thread of its own: the dashboard
never waits on the recording's disk, and a disk that fills stops the recording (said once,
through on_failure) while everything else goes on."""

from __future__ import annotations

import math
import os
import queue
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import apsw

from waltui import __version__
from waltui.collector.changes import Batch, Change
from waltui.evidence import RoleEvidence
from waltui.history import CheckpointResult
from waltui.model import Reading
from waltui.recording.codec import compress, pack, to_json
from waltui.recording.schema import (
    DDL,
    HEARTBEAT_POLLS,
    KEYFRAME_EVERY,
    KIND,
    SCHEMA_VERSION,
    RecordingError,
)
from waltui.support.deadline import within_deadline
from waltui.units import visible


@dataclass(frozen=True)
class _Describe:
    """A finding was raised: what its named holders are doing, taken in the recorder's
    thread (py-spy's deadline included), so a replay shows what was seen at the time."""

    at: float
    path: str
    reading: Reading


@dataclass(frozen=True)
class _Event:
    at: float
    path: str
    kind: str
    text: str
    checkpoint: CheckpointResult | None = None


_CLOSE = object()
# Holders described at most this often per database: a finding that comes and goes does not
# run py-spy at every raise
DESCRIBE_EVERY_SECONDS = 30.0
Describer = Callable[[Reading], Sequence[RoleEvidence]]
MAX_BACKLOG = 600  # items queued for a disk that stopped answering: then the recording stops
CLOSE_WAIT_SECONDS = 10.0  # quit always quits: a disk that hangs keeps only this thread


class Recorder:
    def __init__(self, path: str, *, interval: float,
                 on_failure: Callable[[str], None] = lambda text: None,
                 describe: Describer | None = None) -> None:
        if os.path.lexists(path):
            raise RecordingError(f"{visible(path)} exists: a recording never writes over a "
                                 "file; choose a new name")
        self.path = path
        self.on_failure = on_failure
        self.failed: str | None = None
        self.polls_written = 0
        self.cycles = 0
        try:
            self._conn = apsw.Connection(path)
            self._conn.execute("PRAGMA journal_mode=wal").fetchall()
            self._conn.execute("PRAGMA synchronous=NORMAL")
            with self._conn:
                self._conn.execute(DDL)
                self._conn.executemany("INSERT INTO meta VALUES (?, ?)", [
                    ("kind", KIND), ("schema_version", str(SCHEMA_VERSION)),
                    ("waltui_version", __version__), ("sqlite_version", apsw.sqlite_lib_version()),
                    ("host", socket.gethostname()), ("started_at", repr(time.time())),
                    ("interval", repr(interval))])
        except (apsw.Error, OSError) as exc:
            raise RecordingError(f"cannot create the recording {visible(path)}: "
                                 f"{visible(exc)}") from exc
        self._describe = describe
        self._described_at: dict[str, float] = {}  # path -> when its holders last were
        self._ids: dict[str, int] = {}
        self._previous: dict[int, tuple[int, bytes, int]] = {}  # db: (seq, JSON, since key)
        self._parts: list[Batch] = []
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="waltui-recorder", daemon=True)
        self._thread.start()

    # --- from any thread ------------------------------------------------------------------
    def batch(self, batch: Batch) -> None:
        if self.failed is None:
            if self._queue.qsize() > MAX_BACKLOG:  # the writer is stuck in the kernel
                self._stop(f"its disk has not taken a write for {MAX_BACKLOG} polls")
                return
            self._queue.put(batch)
            if self._describe is not None:
                self._queue_descriptions(batch)

    def _queue_descriptions(self, batch: Batch) -> None:
        for change in batch.changes:
            reading = change.reading
            if not change.raised or (reading.writer is None and not reading.pins):
                continue
            if batch.taken_at - self._described_at.get(change.path, -math.inf) \
                    >= DESCRIBE_EVERY_SECONDS:
                self._described_at[change.path] = batch.taken_at
                self._queue.put(_Describe(batch.taken_at, change.path, reading))

    def event(self, path: str, kind: str, text: str, at: float | None = None,
              checkpoint: CheckpointResult | None = None) -> None:
        if self.failed is None:
            self._queue.put(_Event(time.time() if at is None else at, path, kind, text,
                                   checkpoint))

    def close(self) -> None:
        """Everything queued is written, then the file is made whole: one file, no -wal;
        waited for at most CLOSE_WAIT_SECONDS (a hung disk keeps the thread, not the app)."""
        self._queue.put(_CLOSE)
        self._thread.join(CLOSE_WAIT_SECONDS)

    # --- the recorder's thread ------------------------------------------------------------
    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _CLOSE:
                break
            if self.failed is not None:
                continue
            try:
                if isinstance(item, Batch):
                    self._parts.append(item)
                    if item.final:
                        self._write_cycle(self._parts)
                        self._parts = []
                elif isinstance(item, _Event):
                    self._write_event(item)
                elif isinstance(item, _Describe) and self._describe is not None:
                    for role in self._describe(item.reading):
                        self._write_event(_Event(
                            item.at, item.path, "evidence", visible(
                                f"{role.role} pid {role.evidence.pid}: "
                                + " ".join(role.lines()))))
            except (apsw.Error, OSError) as exc:
                self._fail(exc)
        self._finish()

    def _write_event(self, item: _Event) -> None:
        with self._conn:
            self._conn.execute(
                "INSERT INTO events(at, path, kind, text, checkpoint) VALUES (?, ?, ?, ?, ?)",
                (item.at, item.path, item.kind, item.text,
                 pack(item.checkpoint) if item.checkpoint else None))

    def _db_id(self, path: str) -> int:
        if (known := self._ids.get(path)) is not None:
            return known
        self._conn.execute("INSERT OR IGNORE INTO databases(path) VALUES (?)", (path,))
        row = self._conn.execute("SELECT id FROM databases WHERE path = ?", (path,)).fetchone()
        assert row is not None
        self._ids[path] = int(row[0])
        return self._ids[path]

    def _write_cycle(self, parts: list[Batch]) -> None:
        """One transaction per cycle: a recorder killed mid-write loses at most this poll."""
        self.cycles += 1
        changes: list[Change] = [c for part in parts for c in part.changes]
        detached = [p for part in parts for p in part.detached]
        if not (changes or detached or self.cycles % HEARTBEAT_POLLS == 1):
            return
        last = parts[-1]
        with self._conn:
            self._conn.execute("INSERT INTO polls VALUES (?, ?, ?, ?, ?)", (
                self.cycles, last.taken_at, round(last.cycle_seconds * 1000), last.polled,
                sum(len(c.raised) for c in changes)))
            self._conn.executemany("INSERT INTO changes VALUES (?, ?, ?, ?)",
                                   [self._row(c) for c in changes])
            self._conn.executemany("INSERT INTO detaches VALUES (?, ?)", [
                (self.cycles, self._db_id(p)) for p in detached])
        self.polls_written += 1

    def _row(self, change: Change) -> tuple[int, int, int | None, bytes]:
        db, data = self._db_id(change.path), to_json(change)
        previous = self._previous.get(db)
        if previous is None or previous[2] >= KEYFRAME_EVERY:
            self._previous[db] = (self.cycles, data, 0)
            return self.cycles, db, None, compress(data)
        self._previous[db] = (self.cycles, data, previous[2] + 1)
        return self.cycles, db, previous[0], compress(data, previous[1])

    def _fail(self, exc: BaseException) -> None:
        full = isinstance(exc, apsw.FullError) or getattr(exc, "errno", None) == 28
        self._parts = []  # its transaction was rolled back by `with self._conn`
        self._stop("the disk is full" if full else visible(exc))

    def _stop(self, why: str) -> None:
        self.failed = (f"recording stopped: {why} ({visible(self.path)}); {self.polls_written} "
                       "polls were written and stay readable")
        self.on_failure(self.failed)

    def _finish(self) -> None:
        try:
            with self._conn:  # how long it watched, quiet polls included
                self._conn.execute("INSERT OR REPLACE INTO meta VALUES ('ended_at', ?)",
                                   (repr(time.time()),))
        except apsw.Error:
            pass
        try:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            self._conn.execute("PRAGMA journal_mode=DELETE").fetchall()
        except apsw.Error:
            pass  # a full disk: the -wal stays beside the file and is read from there
        self._conn.close()


def create_recorder(path: str, *, interval: float, describe: Describer | None = None
                    ) -> Recorder:
    """A Recorder made under a deadline: a recording asked for on a hung mount is refused
    with a line, instead of the dashboard never starting. describe: what a raised finding's
    holders are doing (the caller passes probes.culprit's, which this layer may not import)."""
    recorder = within_deadline(lambda: Recorder(path, interval=interval, describe=describe),
                               None)
    if recorder is None:
        raise RecordingError(f"cannot create the recording {visible(path)}: its filesystem "
                             "does not answer")
    return recorder
