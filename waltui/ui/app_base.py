"""What the app's mixins (settings, the action path, database actions) may rely on: the
attributes and helpers WaltuiApp provides, declared once so each mixin is type-checked
against them instead of against an untyped ``self``."""

from __future__ import annotations

from collections import deque

from textual.app import App

from waltui.collector import CollectorClient, Readings, Update
from waltui.config import Config
from waltui.ui.saved_state import SavedState
from waltui.ui.state import DashboardState
from waltui.ui.widgets.event_log import Event
from waltui.ui.widgets.overview_table import OverviewTable


class AppBase(App[None]):
    config: Config
    collector: CollectorClient
    saved: SavedState
    state: DashboardState
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

    @property
    def overview_table(self) -> OverviewTable | None:
        raise NotImplementedError

    def log_event(self, path: str, kind: str, text: str) -> None:
        raise NotImplementedError

    def refuse(self, path: str, text: str) -> None:
        raise NotImplementedError

    def refresh_status(self) -> None:
        raise NotImplementedError

    def show_updates(self, updates: list[Update]) -> None:
        raise NotImplementedError

    def _redraw_event_logs(self) -> None:
        raise NotImplementedError

    def _need_selection(self) -> str | None:
        raise NotImplementedError

    def _need_answering(self) -> str | None:
        raise NotImplementedError

    def _immutable(self, path: str) -> bool:
        raise NotImplementedError
