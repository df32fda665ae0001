"""Queue depth per named query over time."""

from __future__ import annotations

from waltui.history import History
from waltui.ui.widgets.history_chart import HistoryChart, finite
from waltui.units import visible

COLOURS = ("cyan", "magenta", "green", "yellow", "blue", "red")


class QueueChart(HistoryChart):
    def draw(self, history: History, seconds_ago: list[float]) -> None:
        plt = self.plt
        for colour, (name, ring) in zip(COLOURS * 10, sorted(history.queues.items())):
            xs, ys = finite(seconds_ago, ring.values())
            if xs:
                plt.plot(xs, ys, label=visible(name), color=colour)
        plt.title("queue depth" if history.queues else "queue depth: no queue query "
                  "(--queue NAME=SQL or a known queue table)")
