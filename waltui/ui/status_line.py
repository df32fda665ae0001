"""The overview's status line: what is watched, how often, how far behind, and (replaying)
which recorded poll is on screen. Built from the app's state; it quotes the filter the
operator typed, so it is Text, never markup."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rich.text import Text

from waltui.ui.palette import PLAIN, Palette
from waltui.units import human_seconds, visible

if TYPE_CHECKING:
    from waltui.ui.app import WaltuiApp
    from waltui.ui.app_base import AppBase


def data_age(app: AppBase) -> float | None:
    """How old the newest poll on screen is, when that is older than two intervals (or
    two cycles, when polls fall behind) while polling: the collector sends nothing."""
    collector = app.collector
    if collector.plays_a_recording or collector.paused or not app.poll_enabled:
        return None
    batch = app.readings.last_batch
    since = batch.taken_at if batch is not None else app.started_at
    age = time.time() - since
    return age if age > 2 * max(collector.interval, collector.cycle_seconds, 0.5) else None


def status_text(app: WaltuiApp, palette: Palette = PLAIN) -> Text:
    collector, replay = app.collector, app.replay
    count = len(app.attached)
    stale = data_age(app)
    if stale is not None:
        why = collector.silence_reason()
        text = Text(f"waltui · {count} database{'s' * (count != 1)} · ")
        text.append(f"STALE: data {human_seconds(stale)} old ("
                    f"{why.short if why else 'no poll arrives'}) · ctrl+r restarts it",
                    style=palette.warning)
        text.append("   ? help")
        return text
    if replay is not None:
        polling = replay.position_text()
    else:
        polling = "PAUSED" if collector.paused else f"every {collector.interval:g}s"
        if collector.paused and (batch := app.readings.last_batch) is not None:
            polling += f" (data {human_seconds(time.time() - batch.taken_at)} old)"
        if not collector.paused and collector.cycle_seconds > collector.interval:
            # The promise in "every 1s" is broken: say by how much, not only the cycle time.
            polling += f" (behind: a poll takes {collector.cycle_seconds:.1f}s)"
    problems = sum(1 for u in app.latest.values() if u.findings or
                   (u.reading.error is not None and u.reading.error.fatal))
    mode = " · READ-ONLY" if app.config.read_only and not app.config.read_only_why else ""
    if app.recorder is not None:
        mode += " · REC" if app.recorder.failed is None else " · REC STOPPED"
    table = app.overview_table
    if table is not None and table.sort_label:
        mode += f" · by {table.sort_label}"
    if table is not None and table.filter_text:
        mode += f" · filter {visible(table.filter_text)!r}"
    if replay is not None:  # the shown poll's time first: 80 columns
        return Text(f"{polling} · {problems} of {count} with findings{mode}   ? help")
    return Text(f"waltui · {count} database{'s' * (count != 1)} · {polling} · "
                f"{problems} with findings · cycle {collector.cycle_seconds * 1000:.0f} ms"
                f"{mode}   ? help")
