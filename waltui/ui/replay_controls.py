"""The dashboard as a recorder and as a player: batches go to a Recorder as they arrive,
and under `waltui replay` the keys of the Replay group move a ReplayClient. Nothing here
draws; the status line says where the replay is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, cast

from textual.message import Message

from waltui.ui.app_base import AppBase

if TYPE_CHECKING:  # imported where `replay` or --record uses them: not at every start
    from waltui.recording.reader import RecordedEvent
    from waltui.recording.replay import ReplayClient
    from waltui.recording.writer import Recorder


@dataclass
class ReplayedEvent(Message):
    """A recorded event reached while playing (an action's result, a notice)."""

    event: RecordedEvent


@dataclass
class ReplayReset(Message):
    """A replay jumped back or to a finding: readings and the event log start afresh."""


class ReplayControls(AppBase):
    recorder: Recorder | None = None

    @property
    def replay(self) -> ReplayClient | None:
        return cast("ReplayClient", self.collector) if self.collector.plays_a_recording else None

    def on_replayed_event(self, message: ReplayedEvent) -> None:
        event = message.event
        if event.checkpoint is not None:
            self.collector.record_checkpoint(event.path, event.checkpoint)
            if (update := self.state.record_checkpoint(event.path, event.checkpoint)):
                self.show_updates([update])
        self.event(event.path, event.kind, event.text, recorded=False)

    def on_replay_reset(self, message: ReplayReset) -> None:
        self.state.forget_events()

    def _move(self, kind: Literal["step", "finding", "speed"], direction: int) -> None:
        if (replay := self.replay) is not None:
            replay.move(kind, direction)
            self.call_later(self.refresh_status)

    def action_replay_back(self) -> None:
        self._move("step", -1)

    def action_replay_forward(self) -> None:
        self._move("step", +1)

    def action_replay_previous_finding(self) -> None:
        self._move("finding", -1)

    def action_replay_next_finding(self) -> None:
        self._move("finding", +1)

    def action_replay_slower(self) -> None:
        self._move("speed", -1)

    def action_replay_faster(self) -> None:
        self._move("speed", +1)
