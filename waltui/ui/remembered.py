"""The app's side of the saved state and the config's [keys]: choices are restored at
start and saved when they change (not at exit: a killed session keeps them too)."""

from __future__ import annotations

from typing import Any

from waltui.keys import key_name
from waltui.ui.app_base import AppBase
from waltui.ui.messages import SortChanged
from waltui.ui.saved_state import SavedState, load_state, save_state

SIXTEEN_COLOURS = ("standard", "windows")  # Rich's names for a 16-colour terminal


class RememberedSettings(AppBase):
    saved: SavedState = SavedState()
    keep_settings: bool = True

    def restore_settings(self) -> None:
        """Before the first paint: the theme, keys and interval; the sort once the overview
        table exists (restore_sort)."""
        self.saved = load_state() if self.keep_settings else SavedState()
        remap = {action: ",".join(key_name(k.strip()) for k in key.split(","))
                 for action, key in self.config.keys}
        if remap:
            self.set_keymap(remap)
        if self.saved.theme in self.available_themes:
            self.theme = self.saved.theme
        if self.console.color_system in SIXTEEN_COLOURS and not self.theme.startswith("ansi-"):
            # A theme's colours fall to the nearest of the terminal's 16, and critical came
            # out grey, warning bright yellow: the ANSI theme names red and yellow in the
            # terminal's own palette. Not saved: the next 256-colour session keeps its own.
            self.theme = "ansi-dark"
        if self.saved.interval and not self.config.interval_chosen:
            self.collector.set_interval(self.saved.interval)
        self.theme_changed_signal.subscribe(self, lambda theme: self.remember(theme=theme.name))

    def restore_sort(self) -> None:
        table = self.overview_table
        if table is not None and self.saved.sort_key is not None:
            table.sort_by(self.saved.sort_key, self.saved.sort_descending)

    def remember(self, **changes: Any) -> None:
        new = self.saved.but(**changes)
        if new == self.saved:
            return
        self.saved = new
        if self.keep_settings and (problem := save_state(new)) is not None:
            self.keep_settings = False  # said once, not at every change
            self.event("", "warning", problem)

    def on_sort_changed(self, message: SortChanged) -> None:
        self.remember(sort_key=message.key, sort_descending=message.descending)
        self.refresh_status()
