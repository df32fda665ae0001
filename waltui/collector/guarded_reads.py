"""Reads that cannot hang the poll: a database whose filesystem stops answering costs only
itself.

A stat, open or read on a hung mount (NFS, FUSE) blocks in the kernel and cannot be
interrupted. So a cycle's reads run in a daemon helper thread while the poll thread watches
the clock: a read that outlasts the deadline is abandoned (its thread stays blocked, harmless
as a daemon), its database is reported stuck and skipped until that read returns, and the
rest of the cycle goes on in a fresh helper. One thread hand-off per cycle, not per database,
to a reader thread that lives from cycle to cycle until a read it is in is abandoned.
"""

from __future__ import annotations

import queue
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator

from waltui.model import DbError, Reading
from waltui.probes.reading import DatabaseObserver, PollContext
from waltui.support.deadline import READ_DEADLINE_SECONDS

_WATCH_STEP = 0.05


def failed_reading(path: str, exc: BaseException) -> Reading:
    """A probe that raised: the database shows the error, every other one goes on."""
    import traceback  # only for a bug: ~4 ms that `snapshot` need not pay at start

    where = traceback.extract_tb(exc.__traceback__)[-1:]
    at = f" at {where[0].filename.rsplit('/', 1)[-1]}:{where[0].lineno}" if where else ""
    return Reading(path=path, taken_at=time.time(), error=DbError(
        kind="internal",
        message=f"waltui failed reading this database: {type(exc).__name__}: {exc}{at}"))


class _Batch:
    """One cycle's reads, handed to a reader thread; the poll thread watches its clock."""

    def __init__(self, items: list[tuple[str, DatabaseObserver]], ctx: PollContext) -> None:
        self.items, self.ctx = items, ctx
        self.results: list[tuple[str, Reading]] = []
        # Released once by the reader when it is done. A bare lock, not an Event: a
        # waiter woken by Event.set() then waits again for the Condition's own lock, which
        # the setter still holds, and each wake-up of a thread on another CPU costs tens
        # of us here (measured: 77 us a hand-off with an Event, 38 with a lock).
        self.finished = threading.Lock()
        self.finished.acquire()
        self.lock = threading.Lock()
        self.current: tuple[int, float] | None = None  # (index, started)
        self.abandoned = False

    def overdue(self, deadline: float) -> int | None:
        """Abandon the read in progress if it outlasted the deadline; its index, or None."""
        with self.lock:
            if self.current is None or time.monotonic() - self.current[1] < deadline:
                return None
            self.abandoned = True
            return self.current[0]

    def stop(self) -> None:
        with self.lock:
            self.abandoned = True


class _Reader(threading.Thread):
    """Reads batch after batch (one thread hand-off a cycle, no thread started a cycle:
    ~40 % of a cycle's CPU at ten databases), until a read it is in is abandoned: then it
    ends when that read returns, if it ever does, and a fresh reader serves the next."""

    def __init__(self, on_late_return: Callable[[str], object]) -> None:
        super().__init__(daemon=True, name="waltui-read")
        self.batches: queue.SimpleQueue[_Batch | None] = queue.SimpleQueue()
        self.on_late_return = on_late_return

    def run(self) -> None:
        while (batch := self.batches.get()) is not None and self._read(batch):
            pass

    def _read(self, batch: _Batch) -> bool:
        """Whether this thread may read the next batch. One lock a database: the result
        of one read and the start of the next are noted together."""
        items = batch.items
        try:
            with batch.lock:
                if batch.abandoned:
                    return False
                batch.current = (0, time.monotonic()) if items else None
            for index, (path, observer) in enumerate(items):
                try:
                    reading = observer.read(batch.ctx)
                except Exception as exc:  # a bug in a probe: this database shows it
                    reading = failed_reading(path, exc)
                with batch.lock:
                    if batch.abandoned:  # this was the stuck read, returning at last
                        self.on_late_return(path)
                        return False
                    batch.results.append((path, reading))
                    batch.current = (index + 1, time.monotonic()) \
                        if index + 1 < len(items) else None
            return True
        finally:
            batch.finished.release()


class GuardedReads:
    """Reads every observer once per cycle, each under READ_DEADLINE_SECONDS."""

    def __init__(self, deadline: float = READ_DEADLINE_SECONDS) -> None:
        self.deadline = deadline
        self.stuck: dict[str, float] = {}  # path -> when its read began (monotonic)
        self._reader: _Reader | None = None

    def close(self) -> None:
        """Lets the reader thread end (it holds nothing of this object's)."""
        if self._reader is not None:
            self._reader.batches.put(None)
            self._reader = None

    def _hand(self, batch: _Batch) -> None:
        if self._reader is None:
            stuck = self.stuck
            self._reader = _Reader(lambda path: stuck.pop(path, None))
            self._reader.start()
            weakref.finalize(self, self._reader.batches.put, None)
        self._reader.batches.put(batch)

    def read_all(self, observers: Iterable[tuple[str, DatabaseObserver]], ctx: PollContext,
                 should_stop: Callable[[], bool] = lambda: False
                 ) -> Iterator[tuple[str, Reading]]:
        pending = []
        for path, observer in observers:
            if path in self.stuck:
                yield path, self._stuck_reading(path)
            else:
                pending.append((path, observer))
        while pending:
            batch = _Batch(pending, ctx)
            self._hand(batch)
            pending = []
            while not batch.finished.acquire(timeout=_WATCH_STEP):
                if should_stop():
                    batch.stop()
                    self._reader = None  # it may be in a read: a fresh one next time
                    return
                index = batch.overdue(self.deadline)
                if index is not None:
                    self._reader = None  # left in the stuck read
                    path = batch.items[index][0]
                    self.stuck[path] = time.monotonic() - self.deadline
                    yield from batch.results
                    yield path, self._stuck_reading(path)
                    pending = batch.items[index + 1:]
                    break
            else:
                yield from batch.results

    def _stuck_reading(self, path: str) -> Reading:
        """The same words every poll while it lasts (one event, not one a second)."""
        since = time.time() - (time.monotonic() - self.stuck.get(path, time.monotonic()))
        return Reading(path=path, taken_at=time.time(), error=DbError(
            kind="stuck", message="the filesystem has not answered since "
            f"{time.strftime('%H:%M:%S', time.localtime(since))} (a hung mount?): this "
            "database is skipped until it does; the others go on"))
