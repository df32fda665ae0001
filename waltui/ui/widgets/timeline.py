"""A replay's timeline: one line from the recording's first poll to its last, the polls that
raised a finding marked, and where the replay is. Shown only under `waltui replay`."""

from __future__ import annotations

import time

from rich.text import Text

from waltui.ui.palette import Palette, ThemedStatic

POSITION, FINDING, QUIET = "●", "▲", "─"


def timeline_text(times: list[float], findings: list[int], shown: int, width: int,
                  palette: Palette) -> Text:
    """``times``: each poll's time; ``findings``: the indexes of polls that raised one;
    ``shown``: the poll on screen. Each cell of the bar covers an equal share of polls."""
    text = Text()
    if not times:
        return Text("an empty recording", style=palette.muted)
    start = time.strftime("%H:%M:%S", time.localtime(times[0]))
    end = time.strftime("%H:%M:%S", time.localtime(times[-1]))
    cells = max(width - len(start) - len(end) - 2, 1)
    per_cell = len(times) / cells

    def cell(index: int) -> int:
        return min(int(index / per_cell), cells - 1)

    marked = {cell(i) for i in findings}
    here = cell(max(shown, 0))
    text.append(start + " ", style=palette.muted)
    for column in range(cells):
        if column == here:
            text.append(POSITION, style=palette.strong)
        elif column in marked:
            text.append(FINDING, style=palette.warning)
        else:
            text.append(QUIET, style=palette.muted)
    text.append(" " + end, style=palette.muted)
    return text


class ReplayTimeline(ThemedStatic):
    """Drawn again with the status line (refresh_status), which a replay's moves refresh."""
