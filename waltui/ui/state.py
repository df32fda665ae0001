"""The dashboard's one state: the attached databases, their latest readings and history,
and the event log. Attach, detach, batches and recorded results all go through here, so
"attached" has one meaning and each change is logged once. No Textual: tested directly."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace

from waltui.collector import Batch, Readings, Update
from waltui.history import CheckpointResult
from waltui.model import DbError
from waltui.naming import DatabaseNames

EVENTS_KEPT = 500


@dataclass(frozen=True)
class Event:
    """One line of the event log: what happened to which database, and when."""

    at: float
    path: str
    kind: str
    text: str
    cycle: int = 0  # the collector's cycle it came with (0: not from a poll)


@dataclass(frozen=True)
class Said:
    """The latest result or notice, shown on the status line for RESULT_SECONDS (the event
    log keeps every one)."""

    at: float
    text: str
    severity: str  # information, warning, error


RESULT_SECONDS = 15.0


class DashboardState:
    def __init__(self) -> None:
        self.attached: dict[str, None] = {}  # ordered, O(1) membership for 1,000 databases
        self.names = DatabaseNames()  # what every surface calls each attached database
        self.readings = Readings()  # latest and the charts' history, per database
        self.events: deque[Event] = deque(maxlen=EVENTS_KEPT)
        self._last_error: dict[str, DbError | None] = {}  # an error is logged once, not a poll
        self.clock: Callable[[], float] = time.time  # a replay's: the shown poll's time
        self.said: Said | None = None  # the status line's latest result (not the replay's)

    @property
    def latest(self) -> dict[str, Update]:
        return self.readings.latest

    def record(self, path: str, kind: str, text: str, cycle: int = 0,
               at: float | None = None) -> None:
        """at: when it happened, if not now (a poll's time: the same however the replay
        reached it)."""
        self.events.append(Event(self.clock() if at is None else at, path, kind, text, cycle))

    def forget_events(self) -> None:
        """A replay jumped: the log is rebuilt from the polls before the shown one."""
        self.events.clear()
        self._last_error.clear()

    def attach(self, path: str, logged: bool = True, at: float | None = None) -> bool:
        """False when it already was. logged=False: the caller says it once for many."""
        if path in self.attached:
            return False
        self.attached[path] = None
        self.names.add(path)
        if logged:
            self.record(path, "attach", "attached", at=at)
        return True

    def forget_shown(self) -> list[str]:
        """A replay jumped: every database and event goes, unlogged (the polls that follow
        bring back what was there then); the paths that went."""
        gone = list(self.attached)
        for path in gone:
            self.names.remove(path)
            self.readings.forget(path)
        self.attached.clear()
        self.forget_events()
        return gone

    def detach(self, path: str) -> bool:
        if self.attached.pop(path, None) is None and path not in self.latest:
            return False
        self.names.remove(path)
        self.readings.forget(path)
        self._last_error.pop(path, None)
        self.record(path, "detach", "detached")
        return True

    def apply(self, batch: Batch) -> list[Update]:
        """A batch's changes to attached databases (one detached meanwhile is dropped),
        each error, finding raised and finding cleared logged once."""
        changes = tuple(c for c in batch.changes if c.path in self.attached)
        updates = self.readings.apply(replace(batch, changes=changes))
        cycle = self.readings.batches + (not batch.final)  # a part: its cycle is not counted yet
        for update in updates:
            self._log_changes(update, cycle, batch.taken_at)
        return updates

    def put(self, updates: list[Update]) -> list[Update]:
        """Updates made elsewhere (frozen snapshots' data, a recording)."""
        fresh = [u for u in updates if u.path in self.attached]
        for update in fresh:
            self.latest[update.path] = update
            self._log_changes(update)
        return fresh

    def record_checkpoint(self, path: str, result: CheckpointResult) -> Update | None:
        return self.readings.record_checkpoint(path, result)

    def _log_changes(self, update: Update, cycle: int = 0, at: float | None = None) -> None:
        error, old = update.reading.error, self._last_error.get(update.path)
        self._last_error[update.path] = error
        if error is not None and (old is None or old.message != error.message):
            self.record(update.path, "error" if error.fatal else "warning", error.message,
                        cycle, at)
        elif error is None and old is not None:
            self.record(update.path, "cleared", "readable again", cycle, at)
        for finding in update.raised:
            self.record(update.path, finding.severity, f"{finding.title}: {finding.evidence}",
                        cycle, at)
        for finding in update.cleared:
            self.record(update.path, "cleared", f"cleared: {finding.title}", cycle, at)
