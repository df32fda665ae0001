"""The pragma panel: persistent vs per-connection values, advice, and guarded changes."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Input, Static

from waltui.actions.database import (
    ADVICE,
    PERSISTENT_PRAGMAS,
    ActionFailed,
    Refused,
    check_pragma_value,
    read_pragma_panel,
    set_pragma,
)
from waltui.actions.operations import refusal
from waltui.ui.messages import ActionFinished
from waltui.ui.palette import Themed, ThemedStatic
from waltui.ui.perform import Outcome
from waltui.ui.screens.dialogs import WorkerDialog
from waltui.units import visible


def what_will_be_written(name: str, value: str) -> str:
    if name == "optimize":
        return ("Runs PRAGMA optimize on a connection of waltui's: it may ANALYZE tables and "
                "write statistics into the database file.")
    if name in PERSISTENT_PRAGMAS:
        return (f"Writes PRAGMA {name}={value} into the database file: persistent, every "
                "connection of every process sees it.")
    return (f"Sets PRAGMA {name}={value} on waltui's own connection only, which then closes: "
            "the application's connections are NOT changed. Nothing is written.")



class PragmaTable(Themed, DataTable[object]):
    """Persistent pragmas in the strong style, per-connection ones muted."""

class PragmaScreen(WorkerDialog):
    BINDINGS = [("escape", "close", "Close"), ("o", "optimize", "PRAGMA optimize")]

    def __init__(self, path: str, immutable: bool) -> None:
        super().__init__(path)
        self.immutable = immutable
        self.editing: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Static(f"Pragmas of {self.db_name}",
                         classes="dialog-title",
                         markup=False)
            yield Static("Per-connection pragmas shown are what a new connection gets; changing "
                         "one from here changes only waltui's connection. The advice is for "
                         "the application's own code.", classes="hint")
            yield PragmaTable(id="pragma-table", cursor_type="row")
            yield Input(id="pragma-value")
            yield ThemedStatic(id="pragma-result")
            yield Static("Enter: change the highlighted pragma    o: PRAGMA optimize    "
                         "Esc: close", classes="hint")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for column in ("pragma", "value", "kind", "advice"):
            table.add_column(column, key=column)
        self.query_one(Input).display = False
        table.focus()
        self._load()

    def _load(self) -> None:
        """The values, read in perform's worker; they arrive in finished() (a failure is
        said in the event log like any action's)."""
        self.owner.perform("pragmas", self.path, lambda cancelled: Outcome(
            "", detail=read_pragma_panel(self.path, immutable=self.immutable)))

    def _fill(self, values: dict[str, object]) -> None:
        if not self.is_attached:  # closed while the values were read
            return
        table = self.query_one(PragmaTable)
        row = table.cursor_row  # after a change the cursor stays on the pragma changed
        table.clear()
        for name, value in values.items():
            kind = "persistent" if name in PERSISTENT_PRAGMAS else "this connection"
            style = table.palette.strong if kind == "persistent" else table.palette.muted
            table.add_row(name, Text(visible(value)), Text(kind, style=style),
                          Text(ADVICE.get(name, "")), key=name)
        table.move_cursor(row=min(row, table.row_count - 1))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        why = refusal("pragma", self.owner.config.read_only,
                      self.owner.config.read_only_why)
        if why is not None:  # refused before a value is typed, not after
            self.owner.refuse(self.path, why)
            return
        self.editing = event.row_key.value
        box = self.query_one(Input)
        box.placeholder = f"new value for {self.editing} (Enter applies, Esc cancels)"
        box.value = ""
        box.display = True
        box.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        name, value = self.editing, event.value.strip()
        event.input.display = False
        self.query_one(DataTable).focus()
        if name and value:
            self._confirm_and_apply(name, value)

    def action_optimize(self) -> None:
        self._confirm_and_apply("optimize", "")

    def _confirm_and_apply(self, name: str, value: str) -> None:
        operation = "optimize" if name == "optimize" else "pragma"
        why = refusal(operation, self.owner.config.read_only,
                      self.owner.config.read_only_why)
        if why is not None:
            self.owner.refuse(self.path, why)
            return

        if name != "optimize":
            try:  # a value SQLite would ignore is refused before it is confirmed
                value = check_pragma_value(name, value)
            except ValueError as exc:
                self.owner.refuse(self.path, str(exc))
                self._show_result(ActionFinished(self.path, "pragma", str(exc), "warning"))
                return
        title = "Run PRAGMA optimize?" if name == "optimize" else f"Set {name} to {value}?"
        # the app's worker: closing the panel must not stop the write
        self.owner.confirm(operation, title, what_will_be_written(name, value),
                           lambda: self.owner.perform(operation, self.path,
                                                      lambda cancelled: self._apply(name, value)))

    def _apply(self, name: str, value: str) -> Outcome:
        try:
            text = set_pragma(self.path, name, value, read_only=self.owner.config.read_only)
        except (Refused, ValueError) as exc:
            return Outcome(str(exc), "warning")
        except ActionFailed as exc:  # an SQLite error: reported, never a traceback
            return Outcome(str(exc), "error")
        return Outcome(text)

    def finished(self, message: ActionFinished) -> None:
        """The values read (operation "pragmas"), or a change's outcome in the panel and
        the values read again."""
        if message.operation == "pragmas":
            if isinstance(message.detail, dict):
                self._fill(message.detail)
            else:  # the read failed: perform said why in the log
                self._show_result(message)
            return
        self._show_result(message)
        self._load()

    def _show_result(self, message: ActionFinished) -> None:
        box = self.query_one("#pragma-result", ThemedStatic)
        style = box.palette.ok if message.severity == "information" else \
            box.palette.severity("critical" if message.severity == "error" else "warning")
        box.update(Text(visible(message.text), style=style))

    def action_close(self) -> None:
        box = self.query_one(Input)
        if box.display:
            box.display = False
            self.query_one(DataTable).focus()
        else:
            self.dismiss(None)
