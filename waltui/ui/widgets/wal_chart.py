"""-wal file bytes and bytes in use over time, with the high-water mark and the threshold."""

from __future__ import annotations

import math

from textual_plotext import PlotextPlot

from waltui.history import History

MiB = 1024 * 1024


def _seconds_ago(history: History) -> list[float]:
    times = history.times.values()
    return [t - times[-1] for t in times] if times else []


def _finite(xs: list[float], ys: list[float]) -> tuple[list[float], list[float]]:
    pairs = [(x, y) for x, y in zip(xs, ys) if not math.isnan(y)]
    return [p[0] for p in pairs], [p[1] for p in pairs]


class WalChart(PlotextPlot):
    """Replots only when a new sample arrived: a replot costs real CPU (wal-facts.md)."""

    def __init__(self, threshold_bytes: int, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.threshold_bytes = threshold_bytes
        self._drawn_polls = -1

    def show(self, history: History) -> None:
        if history.polls == self._drawn_polls:
            return
        self._drawn_polls = history.polls
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        xs = _seconds_ago(history)
        wal_x, wal_y = _finite(xs, [v / MiB for v in history.wal_bytes.values()])
        use_x, use_y = _finite(xs, [v / MiB for v in history.wal_in_use.values()])
        if use_x:  # drawn first: where the WAL is fresh both lines coincide
            plt.plot(use_x, use_y, label="in use", color="green")
        if wal_x:
            plt.plot(wal_x, wal_y, label="-wal file", color="cyan")
        if history.wal_high_water:
            plt.hline(history.wal_high_water / MiB, color="yellow")
        top = max(wal_y + use_y + [history.wal_high_water / MiB, 0.001])
        if self.threshold_bytes / MiB <= top * 1.5:
            plt.hline(self.threshold_bytes / MiB, color="red")
        plt.title("-wal MiB · flat lines: high-water and (when near) the threshold")
        plt.xlabel("seconds ago")
        self.refresh()
