"""Attach, detach, errors, actions and findings raised or cleared: newest first."""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from rich.text import Text
from textual.widgets import Static

from waltui.ui.palette import Themed
from waltui.ui.state import DashboardState, Event
from waltui.units import visible


class EventLog(Themed, Static):
    """Renders the last events of the app's log, optionally of one database only."""

    def __init__(self, state: DashboardState, path: str | None = None, limit: int = 200,
                 full: bool = False, **kwargs: Any) -> None:
        """full: every event wrapped in full (the Events pane, the `e` screen); else one
        line an event, cut with an ellipsis (the overview's summary)."""
        super().__init__(**kwargs)
        self.events: deque[Event] = state.events
        self.names = state.names
        self.path = path
        self.limit = limit
        self.full = full

    def on_mount(self) -> None:
        self.redraw()

    def restyle(self) -> None:
        self.redraw()

    def redraw(self) -> None:
        palette = self.palette
        text = Text() if self.full else Text(no_wrap=True, overflow="ellipsis")
        shown = 0
        for event in reversed(self.events):
            if self.path is not None and event.path != self.path:
                continue
            if shown:
                text.append("\n")
            text.append(time.strftime("%H:%M:%S ", time.localtime(event.at)), style=palette.muted)
            if self.path is None:
                text.append(self.names.of(event.path) + " ", style=palette.strong)
            text.append(visible(event.text), style=palette.event(event.kind))
            shown += 1
            if shown >= self.limit:
                break
        self.update(text if shown else Text("no events yet", style=palette.muted))
