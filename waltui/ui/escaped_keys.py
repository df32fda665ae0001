"""Esc and a key typed quickly after it: the terminal sends them as one Alt+key.

An xterm sends Alt+q as ESC q, so a parser that sees ESC and q arrive together cannot tell
them apart. An operator who pressed Esc (back) then q (quit) saw nothing happen, and the
next command meant for the shell was typed into the dashboard. No key of waltui's is an
Alt chord, so one that reaches the app is taken as what it most likely was: Esc, then the
key, once the screen that Esc closes has gone (a key sent at once would still reach it)."""

from __future__ import annotations

from textual import events
from textual.screen import Screen

from waltui.ui.app_base import AppBase

SETTLE_REFRESHES = 3  # Esc that closes a screen has closed it after this many


class EscapedKeys(AppBase):
    def on_key(self, event: events.Key) -> None:
        if event.key.startswith("alt+") and len(event.key) > len("alt+"):
            event.stop()
            self.simulate_key("escape")
            self.call_after_refresh(self._key_after_escape, event.key.removeprefix("alt+"),
                                    self.screen, SETTLE_REFRESHES)

    def _key_after_escape(self, key: str, before: Screen[object], refreshes: int) -> None:
        if self.screen is before and refreshes > 1:
            self.call_after_refresh(self._key_after_escape, key, before, refreshes - 1)
        else:
            self.simulate_key(key)
