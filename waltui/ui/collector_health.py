"""A collector that sends nothing must not look alive: a stopped or wedged child, one that
died too often to be restarted. The status line says STALE with the data's age (status_line
.data_age), the event log says why once, and ctrl+r starts a new collector."""

from __future__ import annotations

from waltui.ui.app_base import AppBase
from waltui.ui.status_line import data_age


class CollectorHealth(AppBase):
    _stale = False  # the status line says STALE

    def _age_status(self) -> None:
        """Paused, no poll refreshes the status line: its "data Ns old" ages here. And a
        collector that sends nothing is found here: STALE, and why, in the event log."""
        stale = data_age(self)
        if (stale is not None) != self._stale:
            self._stale = stale is not None
            why = self.collector.silence_reason()
            self.event("", "error" if self._stale else "attach",
                           f"no poll for {stale:.0f} s: "
                           f"{why.long if why else 'the collector sends nothing'}; "
                           "ctrl+r restarts it" if stale is not None else
                           "polls arrive again")
        if self.collector.paused or self._stale:
            self.refresh_status()

    def action_restart_collector(self) -> None:
        if self.collector.plays_a_recording:
            self.notify("a replay has no collector to restart", severity="warning")
            return
        self.collector.restart()
        self.event("", "action", "collector restarted (ctrl+r), with the same databases")
        self.refresh_status()


