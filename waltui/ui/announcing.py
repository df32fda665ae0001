"""How results reach the operator: every one into the event log in full (e reads it), a
toast only when nothing on screen shows it already, so a toast never covers what it reports;
and no toast is ever read as markup."""

from __future__ import annotations

from textual.notifications import SeverityLevel
from textual.widgets import TabbedContent

from waltui.history import CheckpointResult
from waltui.ui.app_base import AppBase
from waltui.ui.screens.detail import DetailScreen
from waltui.ui.screens.dialogs import WorkerDialog
from waltui.ui.screens.overview import OverviewScreen
from waltui.ui.widgets.event_log import EventLog
from waltui.units import visible


class Announcing(AppBase):
    def announce(self, path: str, kind: str, text: str, severity: str = "information",
                 what: str = "", checkpoint: CheckpointResult | None = None) -> None:
        """A result goes into the event log in full (e reads it); a toast only when nothing
        on screen shows it already, so a toast never covers what it reports."""
        self.event(path, kind, text, checkpoint)
        if not self.shown_on_screen(path, what):
            self.notify(text, title=what, severity=severity,  # type: ignore[arg-type]
                        timeout=8)

    def shown_on_screen(self, path: str, what: str = "") -> bool:
        if not self.screen_stack:
            return True  # closing: nobody to show a toast to
        screen = self.screen
        if isinstance(screen, OverviewScreen):  # its event log, newest first
            return True
        if isinstance(screen, WorkerDialog):
            return screen.shows_results and screen.path == path
        if isinstance(screen, DetailScreen) and screen.path == path:
            pane = screen.query_one("#tabs", TabbedContent).active
            return pane == "tab-events" or (what == "checkpoint" and pane == "tab-checkpoints")
        return False

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Every toast goes through here: messages carry paths, command lines and SQLite
        errors, so they are never read as markup and their control characters are shown."""
        super().notify(visible(message, newlines=True), title=visible(title),
                       severity=severity, timeout=timeout, markup=False)

    def _redraw_event_logs(self) -> None:
        if not self.screen_stack:  # closing
            return
        for log in self.screen.query(EventLog):
            log.redraw()

    def event(self, path: str, kind: str, text: str,
              checkpoint: CheckpointResult | None = None, *, recorded: bool = True) -> None:
        """The one way the dashboard says something happened: into the event log (and on
        screen), and into the recording being made, if any (recorded=False: what a replay
        would say again by itself, such as a start-up note)."""
        self.state.record(path, kind, text)
        if recorded and self.recorder is not None:
            self.recorder.event(path, kind, text, checkpoint=checkpoint)
        self._redraw_event_logs()
