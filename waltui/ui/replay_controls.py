"""The dashboard as a recorder and as a player: batches go to a Recorder as they arrive,
and under `waltui replay` the keys of the Replay group move a ReplayClient. Nothing here
draws; the status line says where the replay is."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, cast

from waltui.collector import Batch
from waltui.ui.app_base import AppBase

if TYPE_CHECKING:  # imported where `replay` or --record uses them: not at every start
    from waltui.recording.reader import RecordedEvent
    from waltui.recording.replay import ReplayClient
    from waltui.recording.writer import Recorder


class ReplayControls(AppBase):
    recorder: Recorder | None = None

    @property
    def replay(self) -> ReplayClient | None:
        return cast("ReplayClient", self.collector) if self.collector.plays_a_recording else None

    # The replay's items, applied by the intake (ui/batch_intake.py) in the order the replay
    # made them, among its batches.
    def replayed_event(self, event: RecordedEvent) -> None:
        """An action's result or a notice, at the time it was recorded."""
        if event.checkpoint is not None:
            self.collector.record_checkpoint(event.path, event.checkpoint)
            if (update := self.state.record_checkpoint(event.path, event.checkpoint)):
                self.show_updates([update])
        self.state.record(event.path, event.kind, event.text, at=event.at)

    def replay_reset(self) -> None:
        """A jump: nothing shown stays; the polls that follow rebuild it."""
        table = self.overview_table
        for path in self.state.forget_shown():
            if table is not None:
                table.forget(path)

    def replay_attach(self, batch: Batch) -> None:
        """A database appears when the recording first has it, not from the first poll
        (one attached later was shown from the start, "waiting for the first poll")."""
        table = self.overview_table
        for change in batch.changes:
            if self.state.attach(change.path, at=batch.taken_at):
                if table is not None:
                    table.show_pending(change.path)

    def _move(self, kind: Literal["step", "finding", "speed", "to"], direction: int) -> None:
        if (replay := self.replay) is not None:
            replay.move(kind, direction)
            self.call_later(self.refresh_status)

    def action_replay_back(self) -> None:
        self._move("step", -1)

    def action_replay_forward(self) -> None:
        self._move("step", +1)

    def action_replay_step_back(self) -> None:
        self._move("step", -1)

    def action_replay_step_forward(self) -> None:
        self._move("step", +1)

    def action_replay_goto(self) -> None:
        from waltui.recording.replay import jump_target
        from waltui.ui.screens.dialogs import AskScreen

        replay = self.replay
        if replay is None:
            return

        def chosen(text: str | None) -> None:
            if not text:
                return
            try:
                index = jump_target(text, replay.recording.polls, replay.index)
            except ValueError as exc:
                self.notify(str(exc), severity="warning")
                return
            replay.move("to", index)
            self.call_later(self.refresh_status)

        self.push_screen(AskScreen("Go to", "HH:MM[:SS], YYYY-MM-DD HH:MM, +30s, -5m or #SEQ"),
                         chosen)

    def action_replay_previous_finding(self) -> None:
        self._move("finding", -1)

    def action_replay_next_finding(self) -> None:
        self._move("finding", +1)

    def action_replay_slower(self) -> None:
        self._move("speed", -1)

    def action_replay_faster(self) -> None:
        self._move("speed", +1)
