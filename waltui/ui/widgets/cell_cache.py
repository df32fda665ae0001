"""A DataTable that renders a cell again only when that cell changed, and measures a new
one-line cell by its length.

DataTable keys its rendered cells on a count of all updates, so one changed cell renders
every cell on screen again. At 1,000 databases changing every poll that was 20-45 ms of the
UI thread per poll, one block that a key press waited behind, while most cells (names,
health, pins) had not changed at all. And it measures every cell of a new row through Rich's
console: 1,000 rows at start took ~0.4 s before the first paint.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import count
from typing import Any

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.cache import LRUCache
from textual.widgets import DataTable
from textual.widgets.data_table import CellType, ColumnKey, RowKey

CELLS_KEPT = 2_000  # a screen of cells, a few times over (cursor, hover, zebra variants)


class CellCachingTable(DataTable[CellType]):
    def __init__(self, **kwargs: Any) -> None:
        self._stamps = count(1)
        self._cell_stamp: dict[tuple[str, str], int] = {}  # (row, column): when last set
        self._row_stamp: dict[str, int] = {}  # when the row was (re-)added
        self._cells_rendered: LRUCache[tuple[object, ...], list[list[Segment]]] = \
            LRUCache(CELLS_KEPT)
        super().__init__(**kwargs)  # after: DataTable's own start clears the caches

    def add_row(self, *cells: CellType, height: int | None = 1, key: str | None = None,
                label: Any = None) -> RowKey:
        row_key = super().add_row(*cells, height=height, key=key, label=label)
        self._row_stamp[str(row_key.value)] = next(self._stamps)
        return row_key

    def remove_row(self, row_key: RowKey | str) -> None:
        super().remove_row(row_key)
        row = str(row_key.value if isinstance(row_key, RowKey) else row_key)
        self._row_stamp.pop(row, None)
        for column in self.columns:
            self._cell_stamp.pop((row, str(column.value)), None)

    def update_cell(self, row_key: RowKey | str, column_key: ColumnKey | str,
                    value: CellType, *, update_width: bool = False) -> None:
        super().update_cell(row_key, column_key, value, update_width=update_width)
        row = row_key.value if isinstance(row_key, RowKey) else row_key
        column = column_key.value if isinstance(column_key, ColumnKey) else column_key
        self._cell_stamp[(str(row), str(column))] = next(self._stamps)

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        """Rows of one-line text cells widen their columns by their length here; any other
        row is measured by DataTable as before (which then sets the table's size)."""
        others = []
        for row_key in new_rows:
            row, cells = self.rows.get(row_key), self._data.get(row_key)
            widths = [_one_line_width(value) for value in cells.values()] if cells else []
            if row is None or cells is None or row.label is not None or row.height != 1 \
                    or None in widths:
                others.append(row_key)
                continue
            for column_key, width in zip(cells, widths, strict=False):
                column = self.columns[column_key]
                column.content_width = max(column.content_width, width or 0)
        super()._update_dimensions(others)

    def _clear_caches(self) -> None:
        super()._clear_caches()
        self._cells_rendered.clear()

    def notify_style_update(self) -> None:
        self._cells_rendered.clear()  # the theme changed: every style may have
        super().notify_style_update()

    def _render_cell(self, row_index: int, column_index: int, base_style: Style, width: int,
                     cursor: bool = False, hover: bool = False) -> list[list[Segment]]:
        if row_index < 0 or column_index < 0:  # the header and labels: DataTable's own way
            return super()._render_cell(row_index, column_index, base_style, width, cursor,
                                        hover)
        row_key, column_key = (self._row_locations.get_key(row_index),
                               self._column_locations.get_key(column_index))
        if row_key is None or column_key is None:
            return super()._render_cell(row_index, column_index, base_style, width, cursor,
                                        hover)
        row, column = str(row_key.value), str(column_key.value)
        key = (row, column, self._row_stamp.get(row, 0), self._cell_stamp.get((row, column), 0),
               row_index, column_index, base_style, width, cursor, hover,
               self._show_hover_cursor, self._pseudo_class_state)
        lines = self._cells_rendered.get(key)
        if lines is None:
            lines = super()._render_cell(row_index, column_index, base_style, width, cursor,
                                         hover)
            self._cells_rendered[key] = lines
        return lines


def _one_line_width(value: object) -> int | None:
    """Cells on one line, as DataTable would measure them; None for anything else (markup
    in a string, several lines, a renderable)."""
    if isinstance(value, Text):
        return None if "\n" in value.plain else value.cell_len
    if isinstance(value, str):
        return None if "[" in value or "\n" in value else cell_len(value)
    return None
