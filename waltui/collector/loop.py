"""The collector's loop: a Poller's cycle every interval, commands applied between cycles.
Only the thread in ``run`` ever touches observers and histories; a transport decides where
that thread runs (waltui/collector/transport.py)."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable

from waltui.collector.changes import Batch
from waltui.collector.commands import (
    Attach,
    Command,
    Detach,
    Pause,
    PollNow,
    RecordCheckpoint,
    SetInterval,
    Stop,
)
from waltui.collector.core import Poller, raise_fd_limit
from waltui.config import Config


class Collector:
    """Runs a Poller every ``interval`` seconds until stopped, applying commands between
    cycles, so only the thread in ``run`` ever touches observers and histories."""

    def __init__(self, config: Config, emit: Callable[[Batch], None],
                 ) -> None:
        self.poller = Poller(config)
        self.interval = config.interval
        self.paused = False
        self._emit = emit
        self._commands: queue.SimpleQueue[Command] = queue.SimpleQueue()
        self._wake = threading.Event()
        self._stop = threading.Event()

    def send(self, command: Command) -> None:
        """From any thread."""
        self._commands.put(command)
        if isinstance(command, Stop):
            self._stop.set()
        self._wake.set()

    def run(self) -> None:
        raise_fd_limit()
        try:
            while not self._stop.is_set():
                detached = self._apply_commands()
                if not self.paused and self.poller.states:
                    started = time.monotonic()
                    changes = self.poller.poll_once(self._stop.is_set, changed_only=True)
                    took = time.monotonic() - started
                    if not self._stop.is_set():
                        self._emit(Batch(tuple(changes), len(self.poller.states), took,
                                         time.time(), detached))
                    # start to start; when a cycle outlasts the interval, still rest a little
                    rest = self.interval - (time.monotonic() - started)
                    self._wake.wait(max(rest, self.interval / 10))
                else:
                    if detached:
                        self._emit(Batch((), len(self.poller.states), 0.0, time.time(),
                                         detached))
                    self._wake.wait(self.interval)
                self._wake.clear()
        finally:
            self.poller.close()

    def _apply_commands(self) -> tuple[str, ...]:
        detached: list[str] = []
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return tuple(detached)
            if isinstance(command, Attach):
                self.poller.attach(command.path)
            elif isinstance(command, Detach):
                if self.poller.detach(command.path):
                    detached.append(command.path)
            elif isinstance(command, SetInterval):
                self.interval = max(0.1, command.seconds)
            elif isinstance(command, Pause):
                self.paused = command.paused
            elif isinstance(command, RecordCheckpoint):
                state = self.poller.states.get(command.path)
                if state is not None:
                    state.history.checkpoints.append(command.result)
            elif isinstance(command, (PollNow, Stop)):
                pass  # the wake-up was the point
