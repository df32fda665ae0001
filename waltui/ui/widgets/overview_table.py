"""All attached databases, one row each: sortable, filterable, cells updated in place.

Each poll stores the newest update of every database, but only the rows on screen are
formatted and written into the table; a row is brought up to date when it scrolls into view.
With 1,000 databases a poll then costs the UI thread the same as with twenty.
"""

from __future__ import annotations

import time
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

from waltui.collector.consumer import Update
from waltui.naming import NAME_WIDTH, DatabaseNames, cut_middle
from waltui.ui.columns import COLUMNS, QUEUE_RANK, WRITER_RANK, Column, fitting
from waltui.ui.messages import SortChanged
from waltui.ui.palette import Themed
from waltui.ui.widgets.cell_cache import CellCachingTable

Cells = tuple[object, ...]
RESORT_SECONDS = 2.0
REFIT_SECONDS = 1.0  # columns are fitted to what the rows on screen show, this often at most


class OverviewTable(Themed, CellCachingTable[object]):
    # One column of databases: Home and End go to the first and last row, not sideways.
    BINDINGS = [Binding("home", "scroll_top", show=False),
                Binding("end", "scroll_bottom", show=False)]

    def __init__(self, names: DatabaseNames, **kwargs: Any) -> None:
        # The name column stays put when the table scrolls sideways.
        super().__init__(cursor_type="row", zebra_stripes=True, fixed_columns=1, **kwargs)
        self.names = names  # the session's: the log and the dialogs say the same
        self._latest: dict[str, Update | None] = {}  # every attached path, in attach order
        self._shown: dict[str, Cells] = {}  # what the table holds for each row now
        self._shown_from: dict[str, Update] = {}
        self._names: dict[str, str] = {}  # each row's name as last written
        self._rename_pending = False
        self.filter_text = ""
        self.sort_key: str | None = None  # None: attach order
        self.sort_descending = False
        self._sorted_at = 0.0
        # Columns from the start, not on mount: a poll can land between the two. Every
        # column until the first resize says how wide the table really is.
        self.shown_columns: tuple[Column, ...] = ()
        self._set_columns(COLUMNS)
        # No row until the first resize: it chooses the columns, and 1,000 rows added
        # before it were added twice (at mount, then again with the columns that fit).
        self._fitted = False
        self._fitted_at = 0.0
        self._fit_widths: dict[str, int] = {}  # what the last fit measured each column at

    @property
    def selected_path(self) -> str | None:
        if not self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value

    def _matches(self, path: str) -> bool:
        return self.filter_text.lower() in path.lower()

    def show_pending(self, path: str) -> None:
        """A row for a database attached but not yet polled."""
        if path not in self._latest:
            self._latest[path] = None
            self._rename_soon()
            if self._matches(path):
                self._add(path)

    def apply(self, updates: list[Update]) -> None:
        if any(update.path not in self._latest for update in updates):
            for update in updates:
                self._latest.setdefault(update.path, None)
            self._rename()
        for update in updates:
            self._latest[update.path] = update
            if update.path not in self.rows and self._matches(update.path):
                self._add(update.path)
        self.keep_sorted()
        self.sync_visible()
        if self._fitted and (self._outgrown() or
                             time.monotonic() - self._fitted_at >= REFIT_SECONDS):
            self._fit_columns()

    def forget(self, path: str) -> None:
        for cache in (self._latest, self._shown, self._shown_from):
            cache.pop(path, None)
        if path in self.rows:
            self.remove_row(path)
        self._rename_soon()

    def name_of(self, path: str) -> str:
        """The session's name for it, cut in the middle to the column's width."""
        return self._names.get(path) or cut_middle(self.names.of(path))

    def _rename_soon(self) -> None:
        """Attaching 1,000 databases renames once, not 1,000 times."""
        if not self._rename_pending:
            self._rename_pending = True
            self.call_later(self._rename)

    def _rename(self) -> None:
        """Names depend on every attached path (a second state.db makes both longer): redo
        them when the set changes, and rewrite the rows whose name changed."""
        self._rename_pending = False
        names = {path: cut_middle(name) for path, name in self.names.all().items()}
        changed = [p for p, name in names.items() if self._names.get(p) != name]
        self._names = names
        for path in changed:
            if path in self._shown and str(self._shown[path][0]) != names[path]:
                self._shown[path] = (Text(names[path]),) + self._shown[path][1:]
                if path in self.rows:
                    self.update_cell(path, "name", Text(names[path]), update_width=True)

    def set_filter(self, text: str) -> None:
        self.filter_text = text
        self._rebuild()

    def sort_next(self) -> str:
        """Sort by the next column on screen, in its natural direction (names A-Z, numbers
        biggest first); the order is kept as polls come in."""
        keys = [c.key for c in self.shown_columns]
        at = keys.index(self.sort_key) if self.sort_key in keys else -1
        self.sort_by(keys[(at + 1) % len(keys)])
        return self.sort_label

    def sort_reverse(self) -> None:
        if self.sort_key is not None:
            self.sort_descending = not self.sort_descending
            self._sort_changed()

    def sort_by(self, key: str, descending: bool | None = None) -> None:
        """By a column, in its natural direction unless told (a saved sort)."""
        column = next((c for c in COLUMNS if c.key == key), None)
        if column is None:  # a saved sort from a version with other columns
            return
        self.sort_key = key
        self.sort_descending = column.descending if descending is None else descending
        self._sort_changed()

    def _sort_changed(self) -> None:
        self._show_sort()
        self._rebuild()
        self.post_message(SortChanged(self.sort_key, self.sort_descending))

    @property
    def sort_label(self) -> str:
        if self.sort_key is None:
            return ""
        label = next(c.label for c in COLUMNS if c.key == self.sort_key)
        return f"{label} {'▼' if self.sort_descending else '▲'}"

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        """A click on a header sorts by it; a second click reverses (htop, k9s)."""
        event.stop()
        key = str(event.column_key.value)
        if key == self.sort_key:
            self.sort_reverse()
        else:
            self.sort_by(key)

    def _show_sort(self) -> None:
        for column in self.shown_columns:
            arrow = (" ▼" if self.sort_descending else " ▲") if column.key == self.sort_key \
                else ""
            self.columns[ColumnKey(column.key)].label = Text(column.label + arrow)
        self._require_update_dimensions = True
        self.refresh()

    def _sorted_paths(self) -> list[str]:
        paths = [p for p in self._latest if self._matches(p)]
        if self.sort_key is None:
            return paths
        column = next(c for c in COLUMNS if c.key == self.sort_key)

        def key(path: str) -> Any:  # each column's own comparable values
            update = self._latest[path]
            if column.key == "name":
                return self.name_of(path)
            return (update is not None, column.sort_key(update) if update else 0)

        paths.sort(key=key, reverse=self.sort_descending)
        return paths

    def _set_columns(self, columns: tuple[Column, ...]) -> None:
        """Show these columns: rows are re-added, their cells formatted again when seen."""
        self.shown_columns = columns
        self.clear(columns=True)
        for column in columns:
            self.add_column(column.label, key=column.key)
        self._shown.clear()
        self._shown_from.clear()
        self._show_sort()

    def _fit_columns(self) -> None:
        """Most important columns first, as many as the width holds at the widths their
        cells have now (the detail view's header has the rest)."""
        self._fitted_at = time.monotonic()
        widths, ranks = self._measured()
        self._fit_widths = widths
        wanted = fitting(self.size.width, widths, ranks, self.sort_key)
        if wanted != self.shown_columns or not self._fitted:
            self._fitted = True
            if wanted != self.shown_columns:
                self._set_columns(wanted)
            self._rebuild()

    def _measured(self) -> tuple[dict[str, int], dict[str, float]]:
        """Each column's width for the rows on screen (a shown column no narrower than the
        table has made it: a column comes and goes with what it shows, not every poll),
        and the columns that rank high now."""
        top = int(self.scroll_y)
        if self.row_count:
            paths = [str(self.coordinate_to_cell_key(Coordinate(i, 0)).row_key.value)
                     for i in range(top, min(self.row_count, top + self.size.height))]
        else:
            paths = list(self._latest)[:max(self.size.height, 1)]
        updates = [u for u in (self._latest.get(p) for p in paths) if u is not None]
        shown = {c.key for c in self.shown_columns}
        widths: dict[str, int] = {}
        for column in COLUMNS:
            label = cell_len(column.label) + (2 if column.key == self.sort_key else 0)
            if column.key == "name":
                cells = max((min(cell_len(n), NAME_WIDTH) for n in self.names.all().values()),
                            default=0)
            else:
                cells = max((_width(column.cell(u, "", self.palette)) for u in updates),
                            default=1)
            had = self.columns[ColumnKey(column.key)].content_width \
                if column.key in shown and self._fitted else 0
            widths[column.key] = max(label, cells, had)
        ranks: dict[str, float] = {}
        if any(u is not None and u.reading.queues for u in self._latest.values()):
            ranks["queue"] = QUEUE_RANK  # a queue configured (or found by a preset)
        if any(u.reading.writer_pid for u in updates):
            ranks["writer"] = WRITER_RANK
        return widths, ranks

    def _outgrown(self) -> bool:
        """A shown column now wider than the fit allowed for: the table would scroll
        sideways until fitted again, so that is at once."""
        return any(self.columns[ColumnKey(c.key)].content_width > self._fit_widths.get(c.key, 0)
                   for c in self.shown_columns if c.key != "name")

    def keep_sorted(self) -> None:
        """After a poll: rebuild only when the order really changed, at most every two
        seconds (a rebuild of 1,000 rows is not free)."""
        if self.sort_key is None or time.monotonic() - self._sorted_at < RESORT_SECONDS:
            return
        order = self._sorted_paths()
        shown = [self.coordinate_to_cell_key(Coordinate(i, 0)).row_key.value
                 for i in range(self.row_count)]
        if order != shown:
            self._rebuild()
        self._sorted_at = time.monotonic()

    # --- keeping the rows on screen current --------------------------------------------
    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self.sync_visible()

    def on_resize(self) -> None:
        self._fit_columns()
        self.sync_visible()

    def restyle(self) -> None:
        # Rich's Text equality ignores a whole-text style: mark every cell as changed
        self._shown_from.clear()
        blank = (None,) * len(self.shown_columns)
        self._shown = dict.fromkeys(self._shown, blank)
        self.sync_visible()

    def sync_visible(self) -> None:
        top = int(self.scroll_y)
        for index in range(top, min(self.row_count, top + self.size.height)):
            path = self.coordinate_to_cell_key(Coordinate(index, 0)).row_key.value
            if path is not None:
                self._sync_row(path)

    def _sync_row(self, path: str) -> None:
        update = self._latest.get(path)
        if update is None or self._shown_from.get(path) is update:
            return
        name = self.name_of(path)
        cells = tuple(column.cell(update, name, self.palette) for column in self.shown_columns)
        for column, new, before in zip(self.shown_columns, cells, self._shown[path], strict=False):
            if new != before:
                self.update_cell(path, column.key, new,
                                 update_width=self._widens(column.key, new))
        self._shown[path], self._shown_from[path] = cells, update

    def _widens(self, column: str, value: object) -> bool:
        """Columns only grow. Asking DataTable to re-fit a cell that got narrower makes it
        measure the whole column: at 1,000 rows that was minutes of CPU per poll. A wider
        cell widens its column here and now: DataTable would do it only when the table
        next goes idle, and a quiet database may send it nothing after its first poll."""
        width = value.cell_len if isinstance(value, Text) else cell_len(str(value))
        table_column = self.columns[ColumnKey(column)]
        if width <= table_column.content_width:
            return False
        table_column.content_width = width
        return True

    def _add(self, path: str) -> None:
        if not self._fitted:
            return  # the first resize adds every row
        if path not in self._shown:
            self._shown[path] = (Text(self.name_of(path)),) + ("…",) * (
                len(self.shown_columns) - 1)
        self.add_row(*self._shown[path], key=path)

    def _rebuild(self) -> None:
        selected = self.selected_path
        paths = self._sorted_paths()
        self._sorted_at = time.monotonic()
        self.clear()
        for path in paths:
            self._add(path)
        if selected in paths:
            self.move_cursor(row=paths.index(selected))
        self.sync_visible()


def _width(value: object) -> int:
    return value.cell_len if isinstance(value, Text) else cell_len(str(value))
