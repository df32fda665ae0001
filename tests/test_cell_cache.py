"""The overview's table keeps a rendered cell until that cell changes: what is drawn must
still be what the table holds after an update, a re-sort, a removed row and a theme change.
A real DataTable in a real app, read back from the lines it renders."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult
from textual.strip import Strip

from waltui.ui.widgets.cell_cache import CellCachingTable


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        table: CellCachingTable[object] = CellCachingTable(cursor_type="row")
        table.add_column("name", key="name")
        table.add_column("wal", key="wal")
        for name in ("alpha", "beta", "gamma"):
            table.add_row(Text(name), f"{name}-0", key=name)
        yield table


def drawn(table: CellCachingTable[object]) -> list[str]:
    """The body lines as the screen gets them (the header is line 0)."""
    return [Strip.join([table.render_line(y)]).text.strip()
            for y in range(1, table.row_count + 1)]


def styles(table: CellCachingTable[object], y: int) -> set[str]:
    return {str(segment.style) for segment in table.render_line(y) if segment.text.strip()}


async def test_a_changed_cell_is_drawn_and_the_others_come_from_the_cache() -> None:
    async with TableApp().run_test(size=(40, 8)) as pilot:
        table = pilot.app.query_one(CellCachingTable)
        await pilot.pause()
        assert drawn(table) == ["alpha  alpha-0", "beta   beta-0", "gamma  gamma-0"]
        kept_before = len(table._cells_rendered)
        table.update_cell("beta", "wal", "beta-1")
        await pilot.pause()
        assert drawn(table) == ["alpha  alpha-0", "beta   beta-1", "gamma  gamma-0"]
        # one new cell rendered; the five unchanged were served, not rendered again
        assert len(table._cells_rendered) == kept_before + 1


async def test_a_resort_a_removed_row_and_a_readded_row_are_drawn_as_they_are_now() -> None:
    async with TableApp().run_test(size=(40, 8)) as pilot:
        table = pilot.app.query_one(CellCachingTable)
        await pilot.pause()
        table.sort("wal", reverse=True)
        await pilot.pause()
        assert drawn(table) == ["gamma  gamma-0", "beta   beta-0", "alpha  alpha-0"]
        table.remove_row("alpha")  # the last row, re-added at the same place
        table.add_row(Text("alpha"), "alpha-9", key="alpha")  # same key and width, new content
        await pilot.pause()
        assert drawn(table) == ["gamma  gamma-0", "beta   beta-0", "alpha  alpha-9"]


async def test_a_theme_change_draws_cells_in_the_new_theme() -> None:
    async with TableApp().run_test(size=(40, 8)) as pilot:
        table = pilot.app.query_one(CellCachingTable)
        pilot.app.theme = "textual-dark"
        await pilot.pause()
        dark = styles(table, 1), styles(table, 2)  # the cursor's row and another
        pilot.app.theme = "textual-light"
        await pilot.pause()
        assert styles(table, 1) != dark[0] and styles(table, 2) != dark[1]
        assert drawn(table)[1] == "beta   beta-0"


async def test_new_rows_widen_their_columns_as_datatable_measures_them() -> None:
    """One-line cells measured by their length; markup and several lines go DataTable's
    own way: both tables end with the same column widths."""
    from textual.widgets import DataTable

    rows = [(Text("agent-ü-名前"), "12.5 KiB"), (Text("b"), "[b]bold[/b] markup"),
            (Text("two\nlines here"), "-"), ("plain str", Text("a longer text cell"))]

    class Both(App[None]):
        def compose(self) -> ComposeResult:
            tables: tuple[DataTable[object], ...] = (CellCachingTable(id="ours"),
                                                     DataTable(id="theirs"))
            for table in tables:
                table.add_column("name", key="name")
                table.add_column("wal", key="wal")
                for i, row in enumerate(rows):
                    table.add_row(*row, key=str(i))
                yield table

    async with Both().run_test(size=(80, 20)) as pilot:
        await pilot.pause()
        ours = pilot.app.query_one("#ours", DataTable)
        theirs = pilot.app.query_one("#theirs", DataTable)
        widths = [{k.value: c.content_width for k, c in t.columns.items()}
                  for t in (ours, theirs)]
        assert widths[0] == widths[1] and widths[0]["name"] == len("agent-ü-名前") + 2
