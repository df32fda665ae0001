"""One watchdog thread that interrupts SQLite statements at their deadlines.

A progress handler runs between virtual-machine opcodes, and one opcode can run long:
`SELECT count(*)` is a single OP_Count over a whole table (measured: 56 ms on 4 million
rows with a handler that asked to stop at every call, 935 ms cold). sqlite3_interrupt()
may be called from any thread and is seen inside such loops, so each statement that must
end in time is armed here, and disarmed when it ends. One thread serves every armed
statement: arming costs a lock and a dict entry, not a thread.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable


class Interrupter:
    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._armed: dict[int, tuple[float, Callable[[], None]]] = {}
        self._tokens = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, at: float, interrupt: Callable[[], None]) -> int:
        """Call ``interrupt`` at time.monotonic() ``at`` unless disarmed first."""
        with self._lock:
            token = next(self._tokens)
            self._armed[token] = (at, interrupt)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="waltui-interrupts",
                                                daemon=True)
                self._thread.start()
            self._lock.notify()
            return token

    def disarm(self, token: int) -> None:
        """After this returns, that interrupt is never called (it fires under the lock)."""
        with self._lock:
            self._armed.pop(token, None)

    def _run(self) -> None:
        with self._lock:
            while True:
                now = time.monotonic()
                for token, (at, interrupt) in list(self._armed.items()):
                    if at <= now:
                        del self._armed[token]
                        interrupt()
                soonest = min((at for at, _ in self._armed.values()), default=None)
                self._lock.wait(None if soonest is None else max(0.0, soonest - now))


INTERRUPTER = Interrupter()
