"""Typed messages that workers post to the app; workers never touch widgets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

from textual.message import Message

from waltui.collector.changes import Batch
from waltui.collector.consumer import Update
from waltui.collector.transport import Frame
from waltui.history import CheckpointResult

if TYPE_CHECKING:  # a replay's: imported where `waltui replay` runs
    from waltui.recording.reader import RecordedEvent


@dataclass(frozen=True)
class ReplayReset:
    """A replay jumped back or to a finding: readings, databases shown and the event log
    start afresh, from the polls that follow."""


ReplayItem = Union["RecordedEvent", ReplayReset]


class PollResults(Message):
    def __init__(self, updates: list[Update]) -> None:
        super().__init__()
        self.updates = updates


class BatchArrived(Message):
    """A cycle's changes from the collector, or a part of them still pickled; replaying,
    also a recorded event or a jump's reset, so that all of them apply in the order the
    replay made them (any thread may post it)."""

    def __init__(self, batch: Batch | Frame | ReplayItem) -> None:
        super().__init__()
        self.batch = batch


class CollectorNotice(Message):
    """The collector process died, was restarted, or will not be."""

    def __init__(self, severity: str, text: str) -> None:
        super().__init__()
        self.severity = severity
        self.text = text


class ActionMessage(Message):
    """What an action's worker says (Textual also dispatches a message to the handlers of
    its bases: no handler is written for this one)."""

    def __init__(self, path: str, operation: str, text: str, severity: str = "information",
                 result: CheckpointResult | None = None, detail: object = None) -> None:
        super().__init__()
        self.path = path
        self.operation = operation
        self.text = text  # said in the event log (nothing when empty)
        self.severity = severity
        self.result = result  # a checkpoint it ran: into the history and the pane
        self.detail = detail  # what the dialog that asked for it shows (values, a step)


class ActionProgress(ActionMessage):
    """A step of a running action (guided recovery), stamped when it happened."""


class ActionFinished(ActionMessage):
    """The one message every action's worker ends with, whatever happened (an exception in
    the worker arrives as this, with severity "error"; it never ends the app)."""


class SortChanged(Message):
    """The overview's order changed (key, header click): the app shows and keeps it."""

    def __init__(self, key: str | None, descending: bool) -> None:
        super().__init__()
        self.key = key
        self.descending = descending
