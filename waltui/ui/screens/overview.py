"""The first screen: every attached database in one table, the event log beneath."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Input

from waltui.ui.palette import ThemedStatic
from waltui.ui.typed import app_of
from waltui.ui.widgets.event_log import EventLog
from waltui.ui.widgets.overview_table import OverviewTable
from waltui.ui.widgets.timeline import ReplayTimeline


class OverviewScreen(Screen[None]):
    def compose(self) -> ComposeResult:
        yield ThemedStatic(id="status")
        yield ReplayTimeline(id="timeline")
        yield OverviewTable(app_of(self).state.names, id="overview")
        yield Input(placeholder="filter by name (Enter keeps it, Esc clears)", id="filter")
        yield EventLog(app_of(self).state, id="events", limit=20)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        table = self.query_one(OverviewTable)
        for path in app_of(self).attached:
            table.show_pending(path)
        latest = app_of(self).latest
        table.apply([latest[p] for p in app_of(self).attached if p in latest])
        table.focus()
        app_of(self).refresh_status()

    def open_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    def on_resize(self) -> None:
        app_of(self).refresh_status()  # fitted to the width: what gives way changes

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            self.query_one(OverviewTable).set_filter(event.value)
            app_of(self).refresh_status()  # the status line says a filter is on

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            event.input.display = bool(event.value)
            self.query_one(OverviewTable).focus()

    def key_escape(self) -> None:
        box = self.query_one("#filter", Input)
        if box.display:
            box.value = ""
            box.display = False
            self.query_one(OverviewTable).focus()

    def on_data_table_row_selected(self, event: OverviewTable.RowSelected) -> None:
        app_of(self).action_open_detail()
