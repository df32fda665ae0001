"""One database in depth: WAL, locks, checkpoints, queues, pragmas, findings, events."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Footer, Static, TabbedContent, TabPane

from waltui.collector.consumer import Update
from waltui.ui.format import summary_text
from waltui.ui.palette import ThemedStatic
from waltui.ui.typed import app_of
from waltui.ui.widgets.checkpoints_table import CheckpointsPane
from waltui.ui.widgets.event_log import EventLog
from waltui.ui.widgets.findings_view import FindingsView
from waltui.ui.widgets.locks_table import Choice, LocksPane
from waltui.ui.widgets.pragmas_table import PragmasTable
from waltui.ui.widgets.timeline import ReplayTimeline
from waltui.units import visible

# The charts (plotext, ~50 ms to import) load with the first detail view, not before the
# dashboard's first paint.


# The pane that shows a finding's cause: the detail view opens there for a row whose
# worst finding it is, and on the pane last chosen otherwise.
PANE_OF_FINDING = {
    "write_lock_held": "tab-locks", "checkpoint_starvation": "tab-locks",
    "d_state_holder": "tab-locks", "many_writers": "tab-locks", "leftover_shm": "tab-locks",
    "hot_journal": "tab-locks", "wal_large": "tab-wal", "wal_slack": "tab-wal",
    "wal_deleted": "tab-wal", "queue_growing": "tab-queue"}


class DetailScreen(Screen[None]):
    # Left and Right on the screen too, not only on the focused tab bar: pressed while the
    # view is still being built (the first one imports the charts), they moved nothing.
    BINDINGS = [("escape", "app.back", "back"),
                Binding("left", "pane(-1)", "previous pane", show=False),
                Binding("right", "pane(1)", "next pane", show=False)]

    PANES = ("tab-locks", "tab-wal", "tab-findings", "tab-checkpoints", "tab-queue",
             "tab-pragmas", "tab-events")

    def __init__(self, path: str, pane: str | None = None) -> None:
        """pane: the one to open on (the one the operator last chose, across runs)."""
        super().__init__()
        self.path = path
        self.first_pane = pane if pane in self.PANES else None

    def compose(self) -> ComposeResult:
        from waltui.ui.widgets.queue_chart import QueueChart
        from waltui.ui.widgets.wal_chart import PendingChart, WalChart

        yield ThemedStatic(id="status")
        yield ReplayTimeline(id="timeline")
        yield ThemedStatic(id="summary")
        with TabbedContent(id="tabs", initial=self.first_pane or ""):
            with TabPane("Locks", id="tab-locks"):
                yield LocksPane()
            with TabPane("WAL", id="tab-wal"):
                yield WalChart(app_of(self).config.thresholds.wal_bytes)
                yield PendingChart()
            with TabPane("Findings", id="tab-findings"):
                yield FindingsView()
            with TabPane("Checkpoints", id="tab-checkpoints"):
                yield CheckpointsPane()
            with TabPane("Queue", id="tab-queue"):
                yield QueueChart()
            with TabPane("Pragmas", id="tab-pragmas"):
                yield PragmasTable()
            with TabPane("Events", id="tab-events"):
                yield EventLog(app_of(self).state, path=self.path, full=True, id="detail-events")
        yield Footer(compact=True, show_command_palette=False)

    def on_resize(self) -> None:
        app_of(self).refresh_status()

    def on_mount(self) -> None:
        app_of(self).refresh_status()
        update = app_of(self).latest.get(self.path)
        if update is not None:
            self.show(update)
        else:
            self.query_one("#summary", Static).update(
                Text(f"{visible(self.path)}\nwaiting for the first poll…"))

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        app_of(self).remember(detail_pane=event.tabbed_content.active)
        update = app_of(self).latest.get(self.path)
        if update is not None:
            self.show(update)

    def action_pane(self, step: int) -> None:
        tabs = self.query_one(TabbedContent)
        at = self.PANES.index(tabs.active) if tabs.active in self.PANES else 0
        tabs.active = self.PANES[(at + step) % len(self.PANES)]

    def lock_choice(self) -> Choice | None:
        """The lock holder chosen in the Locks pane, when that pane is open."""
        if self.query_one(TabbedContent).active != "tab-locks":
            return None
        return self.query_one(LocksPane).choice

    def show(self, update: Update) -> None:
        """Only the visible pane redraws; the others catch up when their tab opens."""
        if not self.is_mounted:  # a poll landed between push and mount: on_mount shows it
            return
        try:
            self._show(update)
        except NoMatches:  # the screen is being torn down (the app is closing)
            return

    def _show(self, update: Update) -> None:
        from waltui.ui.widgets.queue_chart import QueueChart
        from waltui.ui.widgets.wal_chart import PendingChart, WalChart

        summary = self.query_one("#summary", ThemedStatic)
        collector = app_of(self).collector
        summary.update(summary_text(update, app_of(self).name_of(self.path),
                                    collector.interval, collector.paused, summary.palette))
        active = self.query_one(TabbedContent).active
        reading, history = update.reading, update.history
        if active == "tab-locks":
            batch = app_of(self).readings.last_batch
            self.query_one(LocksPane).show(reading, batch.taken_at if batch else None)
        elif active == "tab-wal":
            self.query_one(WalChart).show(history)
            self.query_one(PendingChart).show(history)
        elif active == "tab-findings":
            self.query_one(FindingsView).show(update.findings)
        elif active == "tab-checkpoints":
            self.query_one(CheckpointsPane).show(history)
        elif active == "tab-queue":
            self.query_one(QueueChart).show(history)
        elif active == "tab-pragmas":
            self.query_one(PragmasTable).show(reading)
        elif active == "tab-events":
            self.query_one(EventLog).redraw()
