"""Typed messages that workers post to the app; workers never touch widgets."""

from __future__ import annotations

from textual.message import Message

from waltui.collector.commands import Batch
from waltui.collector.consumer import Update
from waltui.history import CheckpointResult


class PollResults(Message):
    def __init__(self, updates: list[Update]) -> None:
        super().__init__()
        self.updates = updates


class BatchArrived(Message):
    """A cycle's changes from the collector (any thread may post it)."""

    def __init__(self, batch: Batch) -> None:
        super().__init__()
        self.batch = batch


class CollectorNotice(Message):
    """The collector process died, was restarted, or will not be."""

    def __init__(self, severity: str, text: str) -> None:
        super().__init__()
        self.severity = severity
        self.text = text


class CheckpointDone(Message):
    def __init__(self, path: str, result: CheckpointResult) -> None:
        super().__init__()
        self.path = path
        self.result = result


class SortChanged(Message):
    """The overview's order changed (key, header click): the app shows and keeps it."""

    def __init__(self, key: str | None, descending: bool) -> None:
        super().__init__()
        self.key = key
        self.descending = descending


class ActionReport(Message):
    """Any other action's outcome, in words, for the event log and a notification."""

    def __init__(self, path: str, kind: str, text: str, severity: str = "information") -> None:
        super().__init__()
        self.path = path
        self.kind = kind
        self.text = text
        self.severity = severity
