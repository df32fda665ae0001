"""Attach: a path typed with completion like a shell's (to the longest common prefix, the
other matches listed), checked before the dialog closes. File system calls run off the UI
thread under a deadline: a hung mount leaves the dialog usable."""

from __future__ import annotations

import asyncio
import glob
import os
from collections.abc import Callable
from typing import ClassVar, TypeVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Input, Static

from waltui.probes.discovery import SIDECAR_SUFFIXES, Found, discover
from waltui.ui.palette import ThemedStatic
from waltui.units import visible

T = TypeVar("T")
F = TypeVar("F")
LOOK_SECONDS = 2.0
LISTED = 6


def matches_of(value: str) -> list[str]:
    """What the path typed so far could become; directories end in a slash; a database's
    -wal, -shm and -journal are not offered (attaching the database watches them)."""
    if not value:
        return []
    names = [n for n in sorted(glob.glob(glob.escape(os.path.expanduser(value)) + "*"))
             if not n.endswith(SIDECAR_SUFFIXES)]
    return [n + "/" if os.path.isdir(n) and not n.endswith("/") else n for n in names]


def completion(value: str, matches: list[str]) -> str | None:
    """One match: it. Several: as far as they agree (bash's Tab), if that adds anything."""
    if not matches:
        return None
    common = os.path.commonprefix(matches)
    expanded = os.path.expanduser(value)
    return common if len(common) > len(expanded) else None


async def _off_thread(work: Callable[[], T], fallback: F) -> T | F:
    try:
        return await asyncio.wait_for(asyncio.to_thread(work), LOOK_SECONDS)
    except (asyncio.TimeoutError, OSError):
        return fallback


class PathSuggester(Suggester):
    def __init__(self, screen: AttachScreen) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.screen = screen

    async def get_suggestion(self, value: str) -> str | None:
        none: list[str] = []
        matches = await _off_thread(lambda: matches_of(value), none)
        self.screen.show_matches(value, matches)
        return completion(value, matches)


class AttachScreen(ModalScreen["Found | None"]):
    BINDINGS: ClassVar[list[BindingType]] = [("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("Attach: a database file, a directory or a glob "
                         "(→ completes, Enter attaches, Esc cancels)")
            yield Input(placeholder="/path/to/agent.db", suggester=PathSuggester(self),
                        id="path")
            yield ThemedStatic(id="attach-matches")

    def show_matches(self, value: str, matches: list[str]) -> None:
        box = self.query_one("#attach-matches", ThemedStatic)
        if len(matches) < 2:
            box.update("")
            return
        shown = [visible(os.path.basename(m.rstrip("/")) + ("/" if m.endswith("/") else ""))
                 for m in matches[:LISTED]]
        more = f"  (+{len(matches) - LISTED} more)" if len(matches) > LISTED else ""
        box.update(Text(f"{len(matches)} matches: " + "  ".join(shown) + more,
                        style=box.palette.muted))

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        if not value:
            self.dismiss(None)
            return
        box = self.query_one("#attach-matches", ThemedStatic)
        found: Found | None
        exists = await _off_thread(lambda: os.path.lexists(os.path.expanduser(value)), None)
        if exists is None:
            found = Found([os.path.expanduser(value)], [])  # stuck: its pane will say so
        elif not exists and not glob.has_magic(value):
            box.update(Text(f"no such file or directory: {visible(value)}",
                            style=box.palette.warning))
            return
        else:
            found = await _off_thread(lambda: discover([os.path.expanduser(value)]), None)
            if found is None or not found.paths:
                box.update(Text(f"no SQLite file matches {visible(value)}",
                                style=box.palette.warning))
                return
        self.dismiss(found)

    def action_cancel(self) -> None:
        self.dismiss(None)
