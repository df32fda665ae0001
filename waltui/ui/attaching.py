"""Databases come and go while the dashboard runs: attach (a dialog), detach (d), and
undo (u) for a detach made by mistake, which stops watching a database with no question
asked: nothing is written, and u attaches it again."""

from __future__ import annotations

from typing import TYPE_CHECKING

from waltui.ui.app_base import AppBase
from waltui.ui.screens.detail import DetailScreen

if TYPE_CHECKING:
    from waltui.probes.discovery import Found


class Attaching(AppBase):
    _detached: list[str]  # the latest last: what u attaches again

    def _attach_paths(self, paths: list[str], logged: bool = True) -> None:
        table = self.overview_table  # once: before the screen composes, a failed query each
        for path in paths:
            if self.state.attach(path, logged):
                if table is not None:
                    table.show_pending(path)
                self.collector.attach(path)

    def action_attach(self) -> None:
        from waltui.ui.screens.attach import AttachScreen

        def chosen(found: Found | None) -> None:
            if found is None:
                return
            self._attach_paths(found.paths)
            for note in found.skipped:
                self.event("", "attach", note, recorded=False)
            self._redraw_event_logs()
            self.refresh_status()

        self.push_screen(AttachScreen(), chosen)

    def action_detach(self) -> None:
        path = self._need_selection()
        if path is None:
            return
        if isinstance(self.screen, DetailScreen):
            self.pop_screen()
        name = self.name_of(path)
        self.state.detach(path)
        self.collector.detach(path)
        if (table := self.overview_table) is not None:
            table.forget(path)
        self._detached.append(path)
        self._redraw_event_logs()
        self.notify(f"{name} detached: u attaches it again")

    def action_undo_detach(self) -> None:
        if not self._detached:
            self.notify("nothing was detached: nothing to attach again")
            return
        path = self._detached.pop()
        self._attach_paths([path])
        self._redraw_event_logs()
        self.notify(f"{self.name_of(path)} attached again")
