"""Typed messages that workers post to the app; workers never touch widgets."""

from __future__ import annotations

from textual.message import Message

from waltui.history import CheckpointResult
from waltui.monitor import Update


class PollResults(Message):
    def __init__(self, updates: list[Update]) -> None:
        super().__init__()
        self.updates = updates


class Detached(Message):
    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path


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
