"""How the collector's batches enter the UI thread: a slice per turn of the message loop.

A process collector's parts arrive still pickled (transport.Frame) and are unpickled here,
each in its own turn: unpickled in the pipe's thread they held the interpreter lock against
this thread. A slice is a part unpickled and applied to the state (~2-5 ms); the screen is
drawn once, when the cycle's last slice is in, so a key press waits for one slice at most.
"""

from __future__ import annotations

import pickle
from collections import deque
from dataclasses import replace
from typing import TYPE_CHECKING

from waltui.collector import Batch, Frame, Update
from waltui.support.heap import freeze_startup_heap
from waltui.ui.app_base import AppBase
from waltui.ui.messages import BatchArrived, CollectorNotice, ReplayItem, ReplayReset

if TYPE_CHECKING:  # --record's and replay's: imported where they are used
    from waltui.recording.reader import RecordedEvent
    from waltui.recording.writer import Recorder

APPLY_SLICE = 50  # changes applied per turn of the message loop (~2-4 ms of work)


class BatchIntake(AppBase):
    recorder: Recorder | None

    if TYPE_CHECKING:  # the replay's side (ui/replay_controls.py)
        def replay_reset(self) -> None: ...

        def replayed_event(self, event: RecordedEvent) -> None: ...

        def replay_attach(self, batch: Batch) -> None: ...

    def init_intake(self) -> None:
        self._pending: deque[Batch | Frame | ReplayItem] = deque()  # not yet applied
        self._applied: list[Update] = []  # applied to the state, not yet drawn
        self._events_grew = False
        self._cycle_complete = True
        self._heap_frozen = False
        self._draining = False

    def _batch_from_collector(self, batch: Batch) -> None:  # any thread
        if self.recorder is not None:
            self.recorder.batch(batch)
        self.post_message(BatchArrived(batch))

    def _frame_from_collector(self, frame: Frame) -> None:  # the pipe's thread
        self.post_message(BatchArrived(frame))

    def on_batch_arrived(self, message: BatchArrived) -> None:
        self._pending.append(message.batch)
        if not self._draining:
            self._draining = True
            self.call_later(self._apply_slice)

    def _next_slice(self) -> Batch | None:
        """The next part to apply: a frame unpickled (and recorded), a batch of more than
        APPLY_SLICE changes cut, the rest left at the front of the queue. A replay's event
        or reset is applied here, in its place among the batches: None."""
        part = self._pending.popleft()
        if isinstance(part, ReplayReset):
            self.replay_reset()
            return None
        if not isinstance(part, (Frame, Batch)):  # a recorded event
            self.replayed_event(part)
            return None
        if isinstance(part, Frame):
            try:
                part = self.collector.take(part)
            except (pickle.UnpicklingError, EOFError, AttributeError, TypeError) as exc:
                self.post_message(CollectorNotice(
                    "warning", f"a batch from the collector could not be read: {exc}"))
                return None
            if self.recorder is not None:
                self.recorder.batch(part)
        if len(part.changes) <= APPLY_SLICE:
            return part
        self._pending.appendleft(replace(part, changes=part.changes[APPLY_SLICE:],
                                         detached=()))
        return replace(part, changes=part.changes[:APPLY_SLICE], final=False)

    def _apply_slice(self) -> None:
        """State a slice at a time; the screen once, when no slice is left: drawing the
        rows on screen, the status line and the event log per slice cost 20 times over."""
        if not self.screen_stack:  # closing
            self._draining = False
            return
        if self._pending:
            logged = len(self.events)
            part = self._next_slice()
            if part is not None:
                if self.collector.plays_a_recording:
                    self.replay_attach(part)
                self._applied.extend(self.state.apply(part))
                self._cycle_complete = part.final
            self._events_grew |= len(self.events) != logged or part is None
            self.call_later(self._apply_slice)
            return
        self._draining = False
        if not self._cycle_complete:  # the collector's next part is on its way
            return
        updates, self._applied = self._applied, []
        self.show_updates(updates)
        if not self._heap_frozen:
            self._heap_frozen = True
            self.call_after_refresh(freeze_startup_heap)
        if self._events_grew:
            self._events_grew = False
            self._redraw_event_logs()
