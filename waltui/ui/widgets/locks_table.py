"""Every lock holder, the pinning reader first and named in plain words.

The row the operator chooses (Tab into the table, then Up/Down) is kept by the lock's
identity (pid, the process's start time, file, lock, slot), not by its place: a poll that
redraws the table puts the cursor back on it, and if that lock is gone, the choice stays
what it was until the operator moves, so `k` says the chosen holder is gone instead of
offering whoever took its row."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from waltui.collector.consumer import aged
from waltui.model import HeldLock, Reading
from waltui.naming import named_process, reader_sentence
from waltui.ui.palette import Palette, Themed
from waltui.units import human_hold, short_command, who

# The command last: at 80 columns it is what gets cut, never the state (D is the one that
# matters) or the hold time.
COLUMNS = ("pid", "state", "lock", "file", "slot", "mark", "held", "process")
PROCESS_MIN = 16  # the command gets what the other columns leave, at least this
# A process state in a word or two, with ps's letter where it is the one people know.
STATE_WORDS = {"disk-sleep": "D (disk)", "sleeping": "sleep", "running": "run",
               "tracing-stop": "traced", "wake-kill": "D (kill)"}
# A lock released this recently by a process that still has the database open keeps its row,
# marked "released": a busy writer takes and drops its locks between polls, and rows that
# came and went each poll moved every row below them, and the cursor with them.
RELEASED_SHOWN_SECONDS = 2.0


def identity(held: HeldLock) -> str:
    """A lock holder's row, the same from poll to poll while the same process holds the
    same lock: its key in the table, and what a choice is kept by."""
    lock = held.lock
    ticks = held.process.start_ticks if held.process is not None else 0
    return f"{lock.pid}:{ticks}:{lock.file}:{lock.lock}:{lock.slot}:{lock.mode}:{lock.waiting:d}"


@dataclass(frozen=True)
class Choice:
    """The row the operator chose: as it was when chosen, and whether it is still shown."""

    held: HeldLock
    key: str
    present: bool


class LocksPane(Themed, Vertical):
    def compose(self) -> ComposeResult:
        yield Static(id="pin-sentence")
        yield DataTable(id="locks-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for column in COLUMNS:
            table.add_column(column, key=column)
        self._shown: tuple[object, ...] = ()
        self._held: dict[str, HeldLock] = {}  # the rows shown, by identity
        self._last_seen: dict[str, tuple[HeldLock, float]] = {}  # identity -> (lock, when)
        self._chosen: Choice | None = None  # the operator's choice, kept across redraws
        self._parked: str | None = None  # the row the cursor was left on when it vanished

    def restyle(self) -> None:
        self._shown = ()  # the next poll draws it again

    def show(self, reading: Reading, confirmed_at: float | None = None) -> None:
        """confirmed_at: when the collector last found this database unchanged (its latest
        batch): hold times are shown as of then."""
        if confirmed_at is not None:
            reading = aged(reading, confirmed_at)
        released = self._released(reading, confirmed_at or reading.taken_at)
        held = self._ordered(reading, released)
        rows = _fitted(self._rows(reading, held, self.palette, set(map(identity, released))),
                       self.size.width or 80)
        sentence = self._sentence(reading, self.palette)
        if (rows, sentence.plain) == self._shown:
            return
        self._chosen = self._choice_now()
        self._shown = (rows, sentence.plain)
        self.query_one("#pin-sentence", Static).update(sentence)
        table = self.query_one(DataTable)
        table.clear()
        self._held = {identity(h): h for h in held}
        for row, one in zip(rows, held, strict=True):
            table.add_row(*row, key=identity(one))
        keys = list(self._held)
        self._parked = None
        if self._chosen is not None and self._chosen.key in self._held:
            table.move_cursor(row=keys.index(self._chosen.key), animate=False)
        elif self._chosen is not None and keys:
            self._parked = self._cursor_key()

    def _released(self, reading: Reading, now: float) -> list[HeldLock]:
        """Locks held at an earlier poll, within RELEASED_SHOWN_SECONDS, by a process that
        still holds something here (the same process: identity has its start time)."""
        holding = {(h.lock.pid, h.process.start_ticks if h.process else 0)
                   for h in reading.held_locks}
        for held in reading.held_locks:
            self._last_seen[identity(held)] = (held, now)
        released = []
        for key, (held, seen) in list(self._last_seen.items()):
            if seen == now:
                continue
            ticks = held.process.start_ticks if held.process else 0
            if now - seen > RELEASED_SHOWN_SECONDS or (held.lock.pid, ticks) not in holding:
                del self._last_seen[key]
            else:
                released.append(held)
        return released

    def _cursor_key(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return str(key) if key is not None else None

    def _choice_now(self) -> Choice | None:
        """The row chosen now: where the cursor is, unless it was only left there when the
        chosen lock went (then the choice is still that lock, gone)."""
        key = self._cursor_key()
        if self._chosen is not None and (key is None or key == self._parked):
            chosen = self._chosen
            return Choice(chosen.held, chosen.key, chosen.key in self._held)
        if key is None or key not in self._held:
            return None
        return Choice(self._held[key], key, True)

    @property
    def choice(self) -> Choice | None:
        """The row the operator chose: only once they have moved into the table (Tab)."""
        if not self.query_one(DataTable).has_focus:
            return None
        return self._choice_now()

    @staticmethod
    def _sentence(reading: Reading, palette: Palette) -> Text:
        index = reading.wal_index
        text = Text()
        for reader in reading.pins:
            text.append(reader_sentence(reader, index) + "\n", style=palette.critical)
        if reading.writer_pid:
            text.append(f"{named_process(reading, reading.writer_pid)} holds the write lock\n",
                        style=palette.warning)
        for held in reading.theirs:
            lock = held.lock
            if lock.file == "shm" and lock.lock == "read" and lock.mode == "exclusive" \
                    and not lock.waiting:
                text.append(f"{named_process(reading, lock.pid)} holds read slot {lock.slot} "
                            "alone: it is setting that slot's mark (a reader starting, or a "
                            "checkpoint or writer moving marks)\n", style=palette.muted)
        if reading.stale_marks:
            marks = ", ".join(f"slot {m.slot} at {m.read_mark}" + (" (waltui's own query)"
                                                                  if m.ours else "")
                              for m in reading.stale_marks)
            text.append(f"stale marks (no reader holds them; harmless): {marks}",
                        style=palette.muted)
        if not text.plain:
            text.append("no reader pins the WAL; no writer holds the write lock", style=palette.ok)
        return text

    @staticmethod
    def _ordered(reading: Reading, released: list[HeldLock]) -> list[HeldLock]:
        """The causes first: pins, then the writer; a released lock where it was held."""
        pinning = {(r.pid, r.slot) for r in reading.pins}
        writer = reading.writer_pid
        return sorted((*reading.held_locks, *released), key=lambda h: (
            (h.lock.pid, h.lock.slot) not in pinning, h.lock.pid != writer, h.lock.pid))

    @staticmethod
    def _rows(reading: Reading, ordered: list[HeldLock], palette: Palette,
              released: set[str], process_width: int = 96) -> tuple[tuple[object, ...], ...]:
        pinning = {(r.pid, r.slot) for r in reading.pins}
        marks = reading.wal_index.read_marks if reading.wal_index else ()
        rows = []
        for held in ordered:
            lock = held.lock
            gone = identity(held) in released
            pins = lock.lock == "read" and (lock.pid, lock.slot) in pinning
            style = palette.muted if gone else palette.critical if pins else (
                palette.warning if lock.lock in ("write", "reserved", "exclusive") else "")
            mark = marks[lock.slot] if lock.slot is not None and lock.slot < len(marks) else None
            state = held.process.state if held.process else "?"
            rows.append((
                Text(str(lock.pid) if lock.owner_known else "-", style=style),
                Text(STATE_WORDS.get(state, state),
                     style=palette.critical if state in ("disk-sleep", "wake-kill") else ""),
                Text(lock.lock + (" excl" if lock.lock == "read" and lock.mode == "exclusive"
                                  else "") + (" (OFD)" if lock.ofd else "")
                     + (" (waiting)" if lock.waiting else ""), style=style),
                lock.file,
                "-" if lock.slot is None else str(lock.slot),
                "-" if mark is None else str(mark),
                "released" if gone else human_hold(held.held_seconds, held.held_at_least),
                Text("waltui (this process)" if held.ours else
                     short_command(held.process.label, process_width) if held.process else
                     "?" if lock.owner_known else who(lock.pid, None),
                     style=palette.muted if held.ours else style),
            ))
        return tuple(rows)


def _fitted(rows: tuple[tuple[object, ...], ...], width: int) -> tuple[tuple[object, ...], ...]:
    """The command (the last cell) cut to what the other columns leave of ``width``: the
    table never scrolls sideways, and what is cut is the end of a command line."""
    if not rows:
        return rows
    others = sum(max(len(label), *(len(str(row[i])) for row in rows)) + 2
                 for i, label in enumerate(COLUMNS[:-1]))
    room = max(PROCESS_MIN, width - others - 3)  # its padding and the scrollbar's gutter
    fitted = []
    for row in rows:
        command = row[-1]
        if isinstance(command, Text) and len(command) > room:
            command = command[:room - 1] + Text("…", style=command.style)
        fitted.append((*row[:-1], command))
    return tuple(fitted)
