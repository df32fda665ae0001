"""The overview's status line: what is watched, how often, how far behind, and (replaying)
which recorded poll is on screen. Built from the app's state; it quotes the filter the
operator typed, so it is Text, never markup."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rich.style import StyleType
from rich.text import Text

from waltui.ui.palette import PLAIN, Palette
from waltui.ui.state import RESULT_SECONDS
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


HELP = "? help"
SEP = " · "


def fit(parts: list[tuple[str, int]], width: int, style: StyleType = "",
        said: Text | None = None) -> Text:
    """The parts that fit ``width`` with "? help" at the end, those of the largest rank
    dropped first (0: never dropped), in their order. ``said`` (the latest result) keeps
    only the rank-0 parts beside it and is cut to what is left; the rank-0 parts alone are
    cut with an ellipsis only when they do not fit."""
    room = max(width - len(HELP) - 3, 1)
    kept = [p for p in parts if p[1] == 0] if said is not None else list(parts)
    while len(SEP.join(p for p, _ in kept)) > room and any(r for _, r in kept):
        drop = max(range(len(kept)), key=lambda i: (kept[i][1], i))
        del kept[drop]
    line = SEP.join(p for p, _ in kept)
    if len(line) > room:
        line = line[:room - 1] + "…"
    text = Text(line, style=style)
    if said is not None and len(line) + len(SEP) < room:
        left = room - len(line) - (len(SEP) if line else 0)
        text.append(SEP if line else "")
        text.append_text(said if len(said) <= left else said[:left - 1] + Text("…"))
    text.append(" " * max(3, width - len(text) - len(HELP)) + HELP)
    return text


def status_text(app: WaltuiApp, palette: Palette = PLAIN, width: int = 80) -> Text:
    """What is watched and how, fitted to ``width``: the sort, the filter, a read-only or
    recording mode and "? help" outlast the cycle time and the program's name."""
    collector, replay = app.collector, app.replay
    said = _said(app, palette)
    count = len(app.attached)
    databases = f"{count} database{'s' * (count != 1)}"
    stale = data_age(app)
    if stale is not None:
        why = collector.silence_reason()
        return fit([("waltui", 5), (databases, 3),
                    (f"STALE: data {human_seconds(stale)} old "
                     f"({why.short if why else 'no poll arrives'})", 0),
                    ("ctrl+r restarts it", 1)], width, palette.warning, said)
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
    modes: list[tuple[str, int]] = []
    if app.config.read_only and not app.config.read_only_why:
        modes.append(("READ-ONLY", 1))
    if app.recorder is not None:
        modes.append(("REC", 1) if app.recorder.failed is None else ("REC STOPPED", 0))
    table = app.overview_table
    if table is not None and table.sort_label:
        modes.append((f"by {table.sort_label}", 1))
    if table is not None and table.filter_text:
        modes.append((f"filter {visible(table.filter_text)!r}", 0))
    if replay is not None:  # the shown poll's time first
        return fit([(polling, 0), (f"{problems} of {count} with findings", 2), *modes], width,
                   said=said)
    return fit([("waltui", 5), (databases, 3), (polling, 0),
                (f"{problems} with findings", 2),
                (f"cycle {collector.cycle_seconds * 1000:.0f} ms", 4), *modes], width,
               said=said)


def _said(app: WaltuiApp, palette: Palette) -> Text | None:
    """The latest result, for RESULT_SECONDS after it came, in its severity's colour."""
    said = app.state.said
    if said is None or time.time() - said.at >= RESULT_SECONDS:
        return None
    style = {"error": palette.critical, "warning": palette.warning}.get(said.severity,
                                                                     palette.info)
    return Text(time.strftime("%H:%M:%S ", time.localtime(said.at)) + said.text, style=style)
