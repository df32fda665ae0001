"""SVG snapshots of the main views, rendered by the real app from frozen data.

Update after an intended visual change: pytest tests/test_snapshots.py --snapshot-update
"""

from __future__ import annotations

import time

import pytest

from tests.frozen import frozen_events, frozen_updates
from waltui.config import Config
from waltui.ui.app import WaltuiApp
from waltui.ui.messages import PollResults

PATHS = ["/srv/agents/alpha.db", "/srv/agents/gamma.db", "/srv/agents/notes.db"]


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    """The same picture every run: UTC times, and no animation caught half-way (the tab
    bar's underline slides to the pane chosen)."""
    import textual.constants

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    monkeypatch.setattr(textual.constants, "TEXTUAL_ANIMATIONS", "none")


def frozen_app() -> WaltuiApp:
    return WaltuiApp(PATHS, Config(), poll=False)


async def load_frozen(pilot) -> None:
    app = pilot.app
    app.post_message(PollResults(frozen_updates()))
    await pilot.pause()
    app.events.clear()
    app.events.extend(frozen_events())
    for log in app.screen.query("EventLog"):
        log.redraw()
    await settled(pilot)


async def settled(pilot) -> None:
    """The footer fills in from a bindings signal a few frames after mount: wait for it,
    so the snapshot shows the keys an operator sees."""
    for _ in range(50):
        await pilot.pause(0.02)
        if pilot.app.screen.query("FooterKey"):
            return
    raise AssertionError("the footer never showed its keys")


def test_overview_snapshot(snap_compare):
    assert snap_compare(frozen_app(), terminal_size=(80, 24), run_before=load_frozen)


def test_detail_with_pinned_reader_snapshot(snap_compare):
    async def open_gamma(pilot):
        await load_frozen(pilot)
        await pilot.press("down", "enter")
        await settled(pilot)

    assert snap_compare(frozen_app(), terminal_size=(80, 24), run_before=open_gamma)


def test_help_snapshot(snap_compare):
    async def open_help(pilot):
        await load_frozen(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(frozen_app(), terminal_size=(80, 24), run_before=open_help)


def test_wal_pane_snapshot(snap_compare):
    async def open_wal(pilot):
        await load_frozen(pilot)
        await pilot.press("down", "enter")
        await settled(pilot)
        pilot.app.screen.query_one("#tabs").active = "tab-wal"
        await pilot.pause()

    assert snap_compare(frozen_app(), terminal_size=(80, 24), run_before=open_wal)


def test_detail_under_no_color_snapshot(snap_compare, monkeypatch):
    """NO_COLOR: the pinning reader stands out by reverse video, not by a grey."""
    monkeypatch.setenv("NO_COLOR", "1")

    async def open_gamma(pilot):
        await load_frozen(pilot)
        await pilot.press("down", "enter")
        await settled(pilot)

    assert snap_compare(frozen_app(), terminal_size=(80, 24), run_before=open_gamma)


def test_overview_in_ansi_theme_snapshot(snap_compare):
    """The terminal's own 16 colours (ansi-dark)."""
    async def ansi(pilot):
        pilot.app.theme = "ansi-dark"
        await load_frozen(pilot)

    assert snap_compare(frozen_app(), terminal_size=(80, 24), run_before=ansi)
