"""Every lock holder, the pinning reader first and named in plain words."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from waltui.collector.consumer import aged
from waltui.model import Reading
from waltui.report import named_process, reader_sentence
from waltui.ui.palette import Palette, Themed
from waltui.units import human_seconds, short_command

COLUMNS = ("pid", "process", "file", "lock", "slot", "mark", "held", "state")


class LocksPane(Themed, Vertical):
    def compose(self) -> ComposeResult:
        yield Static(id="pin-sentence")
        yield DataTable(id="locks-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for column in COLUMNS:
            table.add_column(column, key=column)
        self._shown: tuple[object, ...] = ()

    def restyle(self) -> None:
        self._shown = ()  # the next poll draws it again

    def show(self, reading: Reading, confirmed_at: float | None = None) -> None:
        """confirmed_at: when the collector last found this database unchanged (its latest
        batch): hold times are shown as of then."""
        if confirmed_at is not None:
            reading = aged(reading, confirmed_at)
        rows = self._rows(reading, self.palette)
        sentence = self._sentence(reading, self.palette)
        if (rows, sentence.plain) == self._shown:
            return
        self._shown = (rows, sentence.plain)
        self.query_one("#pin-sentence", Static).update(sentence)
        table = self.query_one(DataTable)
        table.clear()
        for index, row in enumerate(rows):
            table.add_row(*row, key=f"{row[0]}#{index}")  # row[0] is the pid

    @property
    def selected_pid(self) -> int | None:
        """The row the operator chose: only once they have moved into the table (Tab)."""
        table = self.query_one(DataTable)
        if not table.row_count or not table.has_focus:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return int(str(key).split("#")[0]) if key else None

    @staticmethod
    def _sentence(reading: Reading, palette: Palette) -> Text:
        index = reading.wal_index
        text = Text()
        for reader in reading.pins:
            text.append(reader_sentence(reader, index) + "\n", style=palette.critical)
        if reading.writer_pid:
            text.append(f"{named_process(reading, reading.writer_pid)} holds the write lock\n",
                        style=palette.warning)
        if reading.stale_marks:
            marks = ", ".join(f"slot {m.slot} at {m.read_mark}" + (" (waltui's own query)"
                                                                  if m.ours else "")
                              for m in reading.stale_marks)
            text.append(f"stale marks (no reader holds them; harmless): {marks}", style=palette.muted)
        if not text.plain:
            text.append("no reader pins the WAL; no writer holds the write lock", style=palette.ok)
        return text

    @staticmethod
    def _rows(reading: Reading, palette: Palette) -> tuple[tuple[object, ...], ...]:
        pinning = {(r.pid, r.slot) for r in reading.pins}
        marks = reading.wal_index.read_marks if reading.wal_index else ()
        rows = []
        writer = reading.writer_pid
        for held in sorted(reading.held_locks,  # the causes first: pins, then the writer
                           key=lambda h: ((h.lock.pid, h.lock.slot) not in pinning,
                                          h.lock.pid != writer, h.lock.pid)):
            lock = held.lock
            pins = lock.lock == "read" and (lock.pid, lock.slot) in pinning
            style = palette.critical if pins else (
                palette.warning if lock.lock in ("write", "reserved", "exclusive") else "")
            mark = marks[lock.slot] if lock.slot is not None and lock.slot < len(marks) else None
            state = held.process.state if held.process else "?"
            rows.append((
                Text(str(lock.pid), style=style),
                Text("waltui (this process)" if held.ours else
                     short_command(held.process.label, 36) if held.process else "?",
                     style=palette.muted if held.ours else style),
                lock.file,
                Text(lock.lock + (" (waiting)" if lock.waiting else ""), style=style),
                "-" if lock.slot is None else str(lock.slot),
                "-" if mark is None else str(mark),
                human_seconds(held.held_seconds),
                Text(state, style=palette.critical if state == "disk-sleep" else ""),
            ))
        return tuple(rows)
