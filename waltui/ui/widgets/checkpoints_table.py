"""The last checkpoint results in words and numbers, and their history, newest first."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from waltui.history import CheckpointResult, History, describe_checkpoint
from waltui.ui.format import checkpoint_row
from waltui.ui.palette import Themed
from waltui.units import visible

COLUMNS = ("at", "mode", "outcome", "busy", "log", "ckpt", "tries", "took", "-wal")


class CheckpointsPane(Themed, Vertical):
    def compose(self) -> ComposeResult:
        yield Static("no checkpoint run from waltui yet: press c", id="checkpoint-last")
        yield DataTable(id="checkpoints-table", cursor_type="row")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for column in COLUMNS:
            table.add_column(column, key=column)
        self._count = -1
        self._last: CheckpointResult | None = None

    def restyle(self) -> None:
        self._count = -1  # the next poll draws it again

    def show(self, history: History) -> None:
        results = list(history.checkpoints)
        if len(results) == self._count and (not results or results[-1] is self._last):
            return
        self._count, self._last = len(results), (results[-1] if results else None)
        if results:
            # it names the blockers by their command lines: literal text, never markup
            self.query_one("#checkpoint-last", Static).update(
                Text(visible(describe_checkpoint(results[-1]))))
        table = self.query_one(DataTable)
        table.clear()
        for result in reversed(results):
            table.add_row(*checkpoint_row(result, self.palette))
