"""The overview's columns, defined once: what each shows, how it sorts, and how soon it
gives way on a narrow terminal. The table, the sort and the tests all read COLUMNS."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rich.text import Text

from waltui.collector.consumer import Update
from waltui.ui.format import health_cell, queue_total, worst
from waltui.ui.palette import Palette
from waltui.units import human_bytes, short_command


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    priority: int  # 0 is always shown; the larger, the sooner it gives way when narrow
    width: int  # the cells it needs for what it usually shows (for fitting, not drawing)
    cell: Callable[[Update, str, Palette], object]  # (update, its display name, palette)
    sort_key: Callable[[Update], object]
    descending: bool = True  # its natural order: names A-Z, numbers biggest first


def _health_rank(update: Update) -> int:
    error = update.reading.error
    top = worst(update.findings)
    return 3 if (error is not None and error.fatal) else (top.rank if top else -1)


def _pin_cell(update: Update, name: str, palette: Palette) -> object:
    pin = update.reading.pins[0] if update.reading.pins else None
    if pin is None:
        return "-"
    return Text(f"{pin.pid} {short_command(pin.process, 14, program_first=True)}",
                style=palette.critical)


def _ckpt_cell(update: Update, name: str, palette: Palette) -> object:
    last = update.history.checkpoints[-1] if update.history.checkpoints else None
    return Text(last.outcome, style=palette.outcome(last.outcome)) if last else "-"


def _or_dash(value: object) -> str:
    return "-" if value is None else str(value)


COLUMNS: tuple[Column, ...] = (
    Column("name", "database", 0, 16, lambda u, name, p: Text(name),
           lambda u: u.path, descending=False),
    Column("health", "health", 1, 16, lambda u, n, p: health_cell(u.reading, u.findings, p),
           _health_rank),
    Column("wal", "-wal", 4, 9, lambda u, n, p: human_bytes(u.reading.wal_bytes)
           if u.reading.wal_bytes is not None else "-", lambda u: u.reading.wal_bytes or 0),
    Column("pending", "pending", 2, 7, lambda u, n, p: _or_dash(u.reading.frames_pending),
           lambda u: u.reading.frames_pending or 0),
    Column("pin", "pinned by", 3, 20, _pin_cell,
           lambda u: u.reading.pins[0].held_seconds if u.reading.pins else -1),
    Column("writer", "writer", 5, 6, lambda u, n, p: _or_dash(u.reading.writer_pid),
           lambda u: u.reading.writer_pid or 0),
    Column("readers", "rd", 7, 3, lambda u, n, p: str(len(u.reading.readers)),
           lambda u: len(u.reading.readers)),
    Column("hwm", "high", 9, 9, lambda u, n, p: human_bytes(u.history.wal_high_water)
           if u.history.wal_high_water else "-", lambda u: u.history.wal_high_water),
    Column("ckpt", "ckpt", 8, 7, _ckpt_cell,
           lambda u: u.history.checkpoints[-1].outcome if u.history.checkpoints else ""),
    Column("queue", "queue", 6, 6, lambda u, n, p: _or_dash(queue_total(u.reading)),
           lambda u: queue_total(u.reading) or 0),
)
CELL_PADDING = 2  # a DataTable cell's padding, one each side


QUEUE_RANK = 2.5  # a queue the user configured: right after pending
WRITER_RANK = 3.5  # the writer, while one holds the lock: right after "pinned by"


def fitting(width: int, widths: dict[str, int], ranks: dict[str, float] | None = None,
            sort_key: str | None = None) -> tuple[Column, ...]:
    """The columns that fit ``width`` cells at their measured ``widths``, chosen most
    important first, then every smaller one that still fits; in display order. The sort
    column comes right after the name (the status line says "by" it); ``ranks`` raise a
    column for now (QUEUE_RANK, WRITER_RANK) above its usual priority."""
    raised = ranks or {}

    def rank(column: Column) -> float:
        if column.priority == 0 or column.key == sort_key:
            return 0.5 * (column.priority != 0)
        return min(column.priority, raised.get(column.key, column.priority))

    chosen: set[str] = set()
    used = 1  # the scrollbar gutter
    for column in sorted(COLUMNS, key=rank):
        need = widths.get(column.key, column.width) + CELL_PADDING
        if column.priority == 0 or used + need <= width:
            chosen.add(column.key)
            used += need
    return tuple(c for c in COLUMNS if c.key in chosen)
