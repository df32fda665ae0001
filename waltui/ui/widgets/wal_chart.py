"""The WAL over time: -wal file bytes and bytes in use with the high-water mark and the
threshold, and below it frames pending. Two charts, not two y-axes: while a reader starves
the checkpoint, bytes in use and frames pending grow in step and one line hides the other."""

from __future__ import annotations

from typing import Any

from waltui.history import ChartHistory
from waltui.ui.palette import theme_rgb
from waltui.ui.widgets.history_chart import HistoryChart, finite

MiB = 1024 * 1024


class WalChart(HistoryChart):
    x_label = ""  # PendingChart below it carries the shared axis label
    def __init__(self, threshold_bytes: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.threshold_bytes = threshold_bytes

    def draw(self, history: ChartHistory, seconds_ago: list[float]) -> None:
        plt = self.plt
        wal_x, wal_y = finite(seconds_ago, [v / MiB for v in history.wal_bytes.values()])
        use_x, use_y = finite(seconds_ago, [v / MiB for v in history.wal_in_use.values()])
        if use_x:  # drawn first: where the WAL is fresh both lines coincide
            plt.plot(use_x, use_y, label="in use", color=theme_rgb(self, "success"))
        if wal_x:
            plt.plot(wal_x, wal_y, label="-wal file", color=theme_rgb(self, "accent"))
        if history.wal_high_water:
            plt.hline(history.wal_high_water / MiB, color=theme_rgb(self, "warning"))
        top = max(wal_y + use_y + [history.wal_high_water / MiB, 0.001])
        if self.threshold_bytes / MiB <= top * 1.5:
            plt.hline(self.threshold_bytes / MiB, color=theme_rgb(self, "error"))
        plt.title("-wal MiB · flat lines: high-water and (when near) the threshold")


class PendingChart(HistoryChart):
    def draw(self, history: ChartHistory, seconds_ago: list[float]) -> None:
        xs, ys = finite(seconds_ago, history.frames_pending.values())
        if xs:
            self.plt.plot(xs, ys, label="frames pending (not yet checkpointed)",
                          color=theme_rgb(self, "secondary"))
            low, high = min(ys), max(ys)  # whole frames: plotext would label 3487.0
            # three: five ticks on a four-row plot shared rows, and which label won one
            # depended on the plot's size to a fraction of a row
            ticks = [low, (low + high) / 2, high] if high > low else [low]
            self.plt.yticks(ticks, [f"{round(t):,}" for t in ticks])
