"""Reads that cannot hang the poll: a database whose filesystem stops answering costs only
itself.

A stat, open or read on a hung mount (NFS, FUSE) blocks in the kernel and cannot be
interrupted. So a cycle's reads run in a daemon helper thread while the poll thread watches
the clock: a read that outlasts the deadline is abandoned (its thread stays blocked, harmless
as a daemon), its database is reported stuck and skipped until that read returns, and the
rest of the cycle goes on in a fresh helper. One thread hand-off per cycle, not per database.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from waltui.model import DbError, Reading
from waltui.probes.reading import DatabaseObserver, PollContext

READ_DEADLINE_SECONDS = 2.0
_WATCH_STEP = 0.05
T = TypeVar("T")


def within_deadline(work: Callable[[], T], fallback: T,
                    seconds: float = READ_DEADLINE_SECONDS) -> T:
    """work() if it returns within the deadline, else fallback (the call stays blocked in
    a daemon thread). For the few file system calls made outside a poll: argument
    expansion and path resolution at start-up and attach."""
    box: list[tuple[bool, object]] = []

    def run() -> None:
        try:
            box.append((True, work()))
        except BaseException as exc:  # handed to the caller's thread
            box.append((False, exc))

    helper = threading.Thread(target=run, daemon=True, name="waltui-deadline")
    helper.start()
    helper.join(seconds)
    if not box:
        return fallback
    ok, value = box[0]
    if not ok:
        raise value  # type: ignore[misc]
    return value  # type: ignore[return-value]


def failed_reading(path: str, exc: BaseException) -> Reading:
    """A probe that raised: the database shows the error, every other one goes on."""
    where = traceback.extract_tb(exc.__traceback__)[-1:]
    at = f" at {where[0].filename.rsplit('/', 1)[-1]}:{where[0].lineno}" if where else ""
    return Reading(path, time.time(), error=DbError(
        "internal", f"waltui failed reading this database: {type(exc).__name__}: {exc}{at}"))


class _Helper(threading.Thread):
    def __init__(self, items: list[tuple[str, DatabaseObserver]], ctx: PollContext,
                 on_late_return: Callable[[str], None]) -> None:
        super().__init__(daemon=True, name="waltui-read")
        self.items, self.ctx, self.on_late_return = items, ctx, on_late_return
        self.results: list[tuple[str, Reading]] = []
        self.finished = threading.Event()
        self._lock = threading.Lock()
        self._current: tuple[int, float] | None = None  # (index, started)
        self._abandoned = False

    def run(self) -> None:
        for index, (path, observer) in enumerate(self.items):
            with self._lock:
                if self._abandoned:
                    break
                self._current = (index, time.monotonic())
            try:
                reading = observer.read(self.ctx)
            except Exception as exc:  # a bug in a probe: this database shows it
                reading = failed_reading(path, exc)
            with self._lock:
                self._current = None
                if self._abandoned:  # this was the stuck read, returning at last
                    self.on_late_return(path)
                    break
            self.results.append((path, reading))
        self.finished.set()

    def overdue(self, deadline: float) -> int | None:
        """Abandon the read in progress if it outlasted the deadline; its index, or None."""
        with self._lock:
            if self._current is None or time.monotonic() - self._current[1] < deadline:
                return None
            self._abandoned = True
            return self._current[0]

    def stop(self) -> None:
        with self._lock:
            self._abandoned = True


class GuardedReads:
    """Reads every observer once per cycle, each under READ_DEADLINE_SECONDS."""

    def __init__(self, deadline: float = READ_DEADLINE_SECONDS) -> None:
        self.deadline = deadline
        self.stuck: dict[str, float] = {}  # path -> when its read began (monotonic)

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
            helper = _Helper(pending, ctx, self._returned)
            helper.start()
            pending = []
            while not helper.finished.wait(_WATCH_STEP):
                if should_stop():
                    helper.stop()
                    return
                index = helper.overdue(self.deadline)
                if index is not None:
                    path = helper.items[index][0]
                    self.stuck[path] = time.monotonic() - self.deadline
                    yield from helper.results
                    yield path, self._stuck_reading(path)
                    pending = helper.items[index + 1:]
                    break
            else:
                yield from helper.results

    def _returned(self, path: str) -> None:
        self.stuck.pop(path, None)

    def _stuck_reading(self, path: str) -> Reading:
        """The same words every poll while it lasts (one event, not one a second)."""
        since = time.time() - (time.monotonic() - self.stuck.get(path, time.monotonic()))
        return Reading(path, time.time(), error=DbError(
            "stuck", "the filesystem has not answered since "
            f"{time.strftime('%H:%M:%S', time.localtime(since))} (a hung mount?): this "
            "database is skipped until it does; the others go on"))
