"""Schedules polls off the UI thread and keeps each database's history and findings.

One polling thread walks every attached database per cycle, so a poll never overlaps the
previous one for the same database, and /proc/locks is read once per cycle for all of them.
Attach, detach and recorded results arrive through a queue and are applied between cycles, so
only the polling thread ever touches observers and histories.
"""

from __future__ import annotations

import queue
import resource
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from waltui.config import Config
from waltui.deadline import GuardedReads
from waltui.discovery import canonical
from waltui.health import Judge
from waltui.history import CheckpointResult, History
from waltui.model import Finding, Reading
from waltui.probes.reading import DatabaseObserver, PollContext


@dataclass
class DatabaseState:
    path: str
    observer: DatabaseObserver
    history: History = field(default_factory=History)
    judge: Judge = field(default_factory=Judge)
    reading: Reading | None = None
    findings: list[Finding] = field(default_factory=list)


@dataclass(frozen=True)
class Update:
    """What one poll of one database changed; all the UI needs to redraw it."""

    path: str
    reading: Reading
    findings: tuple[Finding, ...]
    history: History
    raised: tuple[Finding, ...]  # new since the previous poll
    cleared: tuple[Finding, ...]


def raise_fd_limit() -> None:
    """Each watched database keeps up to three fds open; 1,000 databases need more than 1,024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Poller:
    """Observers, histories and findings for a set of databases; one cycle at a time."""

    def __init__(self, config: Config, lock_source: str = "auto") -> None:
        self.config = config
        self.lock_source = lock_source
        self.states: dict[str, DatabaseState] = {}
        self.reads = GuardedReads()

    def attach(self, path: str) -> bool:
        path = canonical(path)
        if path in self.states:
            return False
        observer = DatabaseObserver(path, self.config.observe_options())
        self.states[path] = DatabaseState(path, observer)
        return True

    def detach(self, path: str) -> bool:
        state = self.states.pop(path, None)
        if state is not None and path not in self.reads.stuck:  # a stuck read keeps its fds
            state.observer.close()
        return state is not None

    def close(self) -> None:
        for path in list(self.states):
            self.detach(path)

    @property
    def unconfirmed(self) -> bool:
        """Some finding was seen once, or a database could not be read, and one more poll
        should confirm it: a -shm caught mid-creation or a -wal removed between two calls is
        gone a moment later, and must never make `check` say "unreadable"."""
        return any(state.judge.pending or (state.reading is not None
                                           and state.reading.error is not None
                                           and state.reading.error.fatal)
                   for state in self.states.values())

    def poll_once(self, should_stop: Callable[[], bool] = lambda: False) -> list[Update]:
        ctx = PollContext.capture(self.lock_source)
        updates = []
        observers = ((path, state.observer) for path, state in list(self.states.items()))
        for path, reading in self.reads.read_all(observers, ctx, should_stop):
            state = self.states.get(path)
            if state is None:
                continue
            state.history.add(reading)
            findings = state.judge.judge(reading, state.history, self.config.thresholds)
            before = {f.code for f in state.findings}
            now = {f.code for f in findings}
            updates.append(Update(
                state.path, reading, tuple(findings), state.history,
                tuple(f for f in findings if f.code not in before),
                tuple(f for f in state.findings if f.code not in now)))
            state.reading, state.findings = reading, findings
        return updates


class Monitor:
    """Runs a Poller every ``interval`` seconds in a thread until stopped; UI-agnostic."""

    def __init__(self, poller: Poller, on_updates: Callable[[list[Update]], None],
                 on_detached: Callable[[str], None] = lambda path: None) -> None:
        self.poller = poller
        self.interval = poller.config.interval
        self.paused = False
        self._on_updates = on_updates
        self._on_detached = on_detached
        self._commands: queue.SimpleQueue[tuple[str, object]] = queue.SimpleQueue()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self.cycle_seconds = 0.0
        self.running = False

    # --- called from any thread ---------------------------------------------------------
    def attach(self, path: str) -> None:
        self._commands.put(("attach", path))
        self._wake.set()

    def detach(self, path: str) -> None:
        self._commands.put(("detach", path))
        self._wake.set()

    def record_checkpoint(self, path: str, result: CheckpointResult) -> None:
        self._commands.put(("checkpoint", (path, result)))
        self._wake.set()

    def set_interval(self, seconds: float) -> None:
        self.interval = max(0.1, seconds)
        self._wake.set()

    def poll_now(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    # --- the polling thread --------------------------------------------------------------
    def run(self) -> None:
        self.running = True
        raise_fd_limit()
        try:
            while not self._stop.is_set():
                self._apply_commands()
                if not self.paused and self.poller.states:
                    started = time.monotonic()
                    updates = self.poller.poll_once(self._stop.is_set)
                    self.cycle_seconds = time.monotonic() - started
                    if updates and not self._stop.is_set():
                        self._on_updates(updates)
                    # start to start; when a cycle outlasts the interval, still rest a little
                    rest = self.interval - (time.monotonic() - started)
                    self._wake.wait(max(rest, self.interval / 10))
                else:
                    self._wake.wait(self.interval)
                self._wake.clear()
        finally:
            self.poller.close()
            self.running = False

    def _apply_commands(self) -> None:
        while True:
            try:
                command, arg = self._commands.get_nowait()
            except queue.Empty:
                return
            if command == "attach":
                self.poller.attach(arg)  # type: ignore[arg-type]
            elif command == "detach":
                if self.poller.detach(arg):  # type: ignore[arg-type]
                    self._on_detached(arg)  # type: ignore[arg-type]
            elif command == "checkpoint":
                path, result = arg  # type: ignore[misc]
                if path in self.poller.states:
                    self.poller.states[path].history.checkpoints.append(result)
