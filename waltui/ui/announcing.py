"""How results reach the operator: every one into the event log in full (e reads it) at
once, on every screen's log, and onto the status line for RESULT_SECONDS. No toast: one laid
over the screen covered the log lines and dialog borders it was reporting on."""

from __future__ import annotations

import time

from textual.notifications import SeverityLevel

from waltui.history import CheckpointResult
from waltui.ui.app_base import AppBase
from waltui.ui.state import RESULT_SECONDS, Said
from waltui.ui.widgets.event_log import EventLog


class Announcing(AppBase):
    def announce(self, path: str, kind: str, text: str, severity: str = "information",
                 checkpoint: CheckpointResult | None = None) -> None:
        """A result: into the event log in full and onto the status line, named as the
        table names its database."""
        self.event(path, kind, text, checkpoint)
        self.notify(f"{self.name_of(path)}: {text}" if path else text,
                    severity=severity)  # type: ignore[arg-type]

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Every notice goes through here, Textual's own too, onto the status line instead
        of a toast. Messages carry paths, command lines and SQLite errors: never markup,
        and their control characters shown (the status line is Text)."""
        self.state.said = Said(time.time(), " ".join(message.split("\n")), severity)
        self.refresh_status()
        self.set_timer(RESULT_SECONDS + 0.1, self.refresh_status)

    def _redraw_event_logs(self) -> None:
        """Every screen's log, the ones beneath a detail view or a dialog too: back on the
        overview, a result is there at once, not when the next event comes."""
        for screen in self.screen_stack:
            for log in screen.query(EventLog):
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
