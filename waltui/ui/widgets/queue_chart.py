"""Queue depth per named query over time."""

from __future__ import annotations

from waltui.history import ChartHistory
from waltui.ui.palette import theme_rgb
from waltui.ui.widgets.history_chart import HistoryChart, finite
from waltui.units import visible

# theme variables, one per queue in turn
LINE_VARIABLES = ("accent", "secondary", "success", "warning", "primary", "error")


class QueueChart(HistoryChart):
    def draw(self, history: ChartHistory, seconds_ago: list[float]) -> None:
        plt = self.plt
        for variable, (name, ring) in zip(LINE_VARIABLES * 10, sorted(history.queues.items()),
                                            strict=False):
            xs, ys = finite(seconds_ago, ring.values())
            if xs:
                plt.plot(xs, ys, label=visible(name), color=theme_rgb(self, variable))
        plt.title("queue depth" if history.queues else "queue depth: no queue query "
                  "(--queue NAME=SQL or a known queue table)")
