"""The pragmas the last poll read, with what was deliberately not read."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from waltui.model import Reading
from waltui.units import visible


class PragmasTable(DataTable[object]):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", **kwargs)
        self._shown: tuple[object, ...] = ()

    def on_mount(self) -> None:
        self.add_column("pragma", key="name")
        self.add_column("value", key="value")

    def show(self, reading: Reading) -> None:
        rows = tuple((k, Text(visible(v))) for k, v in reading.pragmas.items())
        rows += (("journal_mode", Text(str(reading.journal_mode))),
                 ("page_size", Text(str(reading.page_size))))
        rows += tuple(("note", Text(visible(n))) for n in reading.notes)
        if rows == self._shown:
            return
        self._shown = rows
        self.clear()
        for row in rows:
            self.add_row(*row)
