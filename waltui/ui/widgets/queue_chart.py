"""Queue depth per named query over time."""

from __future__ import annotations

import math

from textual_plotext import PlotextPlot

from waltui.history import History

COLOURS = ("cyan", "magenta", "green", "yellow", "blue", "red")


class QueueChart(PlotextPlot):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._drawn_polls = -1

    def show(self, history: History) -> None:
        if history.polls == self._drawn_polls:
            return
        self._drawn_polls = history.polls
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        times = history.times.values()
        xs = [t - times[-1] for t in times] if times else []
        for colour, (name, ring) in zip(COLOURS * 10, sorted(history.queues.items())):
            values = ring.values()
            pairs = [(x, y) for x, y in zip(xs[-len(values):], values) if not math.isnan(y)]
            if pairs:
                plt.plot([p[0] for p in pairs], [p[1] for p in pairs], label=name, color=colour)
        plt.title("queue depth" if history.queues else "queue depth: no queue query "
                  "(--queue NAME=SQL or a known queue table)")
        plt.xlabel("seconds ago")
        self.refresh()
