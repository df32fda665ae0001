"""The consumer's side of a batch: the latest of each database and the history its charts
draw, kept here (not in the collector) so a collector can die and restart without the
dashboard losing its charts, and nothing it sends is shared and mutated."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from waltui.collector.changes import Batch, Change
from waltui.history import ChartHistory, CheckpointResult
from waltui.model import Finding, Reading


@dataclass(frozen=True)
class Update:
    """One database as a consumer shows it: its newest reading and findings, what the last
    change raised and cleared, and the consumer's own history of it."""

    path: str
    reading: Reading
    findings: tuple[Finding, ...]
    history: ChartHistory
    raised: tuple[Finding, ...]
    cleared: tuple[Finding, ...]


class Readings:
    """Batches in, Updates out; the one place a consumer keeps per-database history."""

    def __init__(self) -> None:
        self.histories: dict[str, ChartHistory] = {}
        self.latest: dict[str, Update] = {}
        self.last_batch: Batch | None = None
        self.batches = 0  # cycles seen, changed or not

    def apply(self, batch: Batch) -> list[Update]:
        self.last_batch = batch
        self.batches += batch.final  # cycles, not the parts a pipe splits them into
        for path in batch.detached:
            self.forget(path)
        return self.apply_changes(batch.changes)

    def apply_changes(self, changes: Iterable[Change]) -> list[Update]:
        """Also for a caller that polls in its own thread (check, snapshot)."""
        updates = []
        for change in changes:
            history = self.histories.get(change.path)
            if history is None:  # not setdefault(path, ChartHistory()): rings at every call
                history = self.histories[change.path] = ChartHistory()
            history.add(change.reading)
            update = Update(change.path, change.reading, change.findings, history,
                            change.raised, change.cleared)
            self.latest[change.path] = update
            updates.append(update)
        return updates

    def record_checkpoint(self, path: str, result: CheckpointResult) -> Update | None:
        """Into the history now (the pane shows it without waiting for the collector); a new
        Update, so a view that redraws on a new one shows it even if the poll finds no
        change in the database (a busy checkpoint changes nothing)."""
        history = self.histories.get(path)
        if history is None:
            return None
        history.checkpoints.append(result)
        update = self.latest.get(path)
        if update is not None:
            update = self.latest[path] = replace(update)
        return update

    def forget(self, path: str) -> None:
        self.histories.pop(path, None)
        self.latest.pop(path, None)


def aged(reading: Reading, now: float) -> Reading:
    """Hold times as of ``now``: the collector does not resend a database whose only change
    is that its locks are a second older."""
    age = max(0.0, now - reading.taken_at)
    if age < 0.5 or not (reading.held_locks or reading.readers):
        return reading
    return reading.later(age, now)
