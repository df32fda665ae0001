"""Every event in full, newest first: the overview's log cuts each to one line."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from waltui.ui.typed import app_of
from waltui.ui.widgets.event_log import EventLog


class EventsScreen(ModalScreen[None]):
    BINDINGS = [("escape", "dismiss", "Close"), ("e", "dismiss", "Close"),
                ("q", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="events-box", classes="dialog wide"):
            yield Static("Events, newest first, in full (Esc closes)", classes="dialog-title")
            yield EventLog(app_of(self).state, full=True, limit=500, id="all-events")
