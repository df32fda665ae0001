"""A plot of one database's history against "seconds ago", redrawn only on a new sample."""

from __future__ import annotations

import math
from typing import Any

from textual_plotext import PlotextPlot

from waltui.history import ChartHistory


def finite(xs: list[float], ys: list[float]) -> tuple[list[float], list[float]]:
    """Drops the polls where the value could not be read (NaN), keeping x and y aligned."""
    pairs = [(x, y) for x, y in zip(xs[-len(ys):] if ys else [], ys, strict=False)
             if not math.isnan(y)]
    return [p[0] for p in pairs], [p[1] for p in pairs]


class HistoryChart(PlotextPlot):
    """Replots only when a new sample arrived: a replot costs real CPU (wal-facts.md)."""

    x_label = "seconds ago"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._drawn_polls = -1

    def on_mount(self) -> None:
        # line colours are the theme's: a new theme draws them again at the next poll
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)

    def _theme_changed(self, _theme: object) -> None:
        self._drawn_polls = -1

    def show(self, history: ChartHistory) -> None:
        if history.polls == self._drawn_polls:
            return
        self._drawn_polls = history.polls
        self.plt.clear_data()
        self.plt.clear_figure()
        times = history.times.values()
        self.draw(history, [t - times[-1] for t in times] if times else [])
        self.plt.xlabel(self.x_label)
        self.refresh()

    def draw(self, history: ChartHistory, seconds_ago: list[float]) -> None:
        raise NotImplementedError
