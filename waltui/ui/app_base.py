"""What the app's mixins (settings, the action path, database actions) may rely on: the
attributes and helpers WaltuiApp provides, declared once so each mixin is type-checked
against them instead of against an untyped ``self``."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from textual.app import App

from waltui.collector import CollectorClient, Readings, Update
from waltui.config import Config
from waltui.history import CheckpointResult
from waltui.ui.saved_state import SavedState
from waltui.ui.state import DashboardState, Event
from waltui.ui.widgets.overview_table import OverviewTable

if TYPE_CHECKING:
    from waltui.recording.writer import Recorder


class AppBase(App[None]):
    config: Config
    collector: CollectorClient
    saved: SavedState
    state: DashboardState
    recorder: Recorder | None  # --record: batches and events also go to this file
    poll_enabled: bool
    started_at: float  # time.time() when the dashboard was made

    # Views of the one UI state (ui/state.py), never copies of it
    @property
    def readings(self) -> Readings:
        return self.state.readings

    @property
    def latest(self) -> dict[str, Update]:
        return self.state.latest

    @property
    def attached(self) -> dict[str, None]:
        return self.state.attached

    @property
    def events(self) -> deque[Event]:
        return self.state.events

    def name_of(self, path: str) -> str:
        """What every surface calls this database (naming.DatabaseNames)."""
        return self.state.names.of(path)

    # What WaltuiApp and its other mixins provide, declared for the type checker only:
    # no stand-in runs, so a method a mixin expects and nobody provides is an
    # AttributeError at once, not a silent default.
    if TYPE_CHECKING:
        @property
        def overview_table(self) -> OverviewTable | None:
            ...

        def event(self, path: str, kind: str, text: str,
                  checkpoint: CheckpointResult | None = None, *, recorded: bool = True) -> None:
            ...

        def refuse(self, path: str, text: str) -> None:
            ...

        def refresh_status(self) -> None:
            ...

        def show_updates(self, updates: list[Update]) -> None:
            ...

        def _redraw_event_logs(self) -> None:
            ...

        def _need_selection(self) -> str | None:
            ...

        def _need_answering(self) -> str | None:
            ...

        def _immutable(self, path: str) -> bool:
            ...
