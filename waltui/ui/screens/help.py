"""Every key, read from the same registry as the bindings and the command palette."""

from __future__ import annotations

from itertools import groupby

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from waltui.keys import effective_key
from waltui.ui.keymap import KEYS, MOVES
from waltui.ui.palette import Palette, ThemedStatic
from waltui.ui.typed import app_of


def help_text(read_only: bool, palette: Palette, remap: dict[str, str] | None = None) -> Text:
    text = Text()
    for group, keys in groupby(KEYS, key=lambda k: k.group):
        text.append(f"{group}\n", style=palette.heading)
        for key in keys:
            text.append(f"  {effective_key(key.action, remap or {}):<9}", style=palette.key)
            text.append(key.description)
            if key.writes:
                text.append("  (writes" + (": refused, --read-only)" if read_only else ")"),
                            style=palette.refused)
            text.append(f"  [{key.action}]\n", style=palette.muted)
    text.append("Moving around\n", style=palette.heading)
    for label, description in MOVES:
        text.append(f"  {label:<11}", style=palette.key)
        text.append(description + "\n")
    text.append("\nCommand palette: ctrl+p lists the same actions. The name in [brackets] is "
                "the action's in the config file's [keys] table: checkpoint = \"C\".\n",
                style=palette.muted)
    return text


class HelpKeys(ThemedStatic):
    def on_mount(self) -> None:
        self.restyle()

    def restyle(self) -> None:
        config = app_of(self).config
        self.update(help_text(config.read_only, self.palette, config.key_remap))


class HelpScreen(Screen[None]):
    """A whole screen, made once and shown again (the app installs it): as a modal it was
    built anew at every `?`, and the overview under it tinted, 50-60 ms before it showed
    on a quiet host, more than the key-to-repaint budget of the issue it serves."""

    BINDINGS = [("escape", "dismiss", "Close"), ("question_mark", "dismiss", "Close"),
                ("q", "dismiss", "Close")]

    _shown_in: str | None = None  # the theme it was last shown in

    def on_screen_resume(self) -> None:
        """A theme chosen while help was hidden reaches its CSS only now."""
        if self._shown_in not in (None, self.app.theme):
            self.query_one(HelpKeys).redraw_in_theme()
        self._shown_in = self.app.theme

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(Text("waltui keys"), classes="dialog-title")
            yield HelpKeys(id="help-keys")
