"""Small modal dialogs: confirm, checkpoint mode; the base of dialogs whose workers outlive them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from waltui.ui.messages import ActionFinished, ActionProgress
from waltui.ui.perform import Performer
from waltui.ui.typed import app_of
from waltui.units import visible


class WorkerDialog(ModalScreen[None]):
    """A dialog whose thread workers can outlive it. Once dismissed, a screen no longer finds
    its app (self.app raises NoActiveAppError in the worker thread, and the worker swallows
    it), so the app is kept from construction, which runs on the UI thread."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self.owner: Performer = app_of(self)
        self.db_name = self.owner.name_of(path)  # as the table and the log call it

    operation = ""  # its name in waltui.actions.operations

    def report(self, text: str, severity: str = "information") -> None:
        """Its worker's one ActionFinished: into the event log and onto the status line;
        safe from a thread, open or closed."""
        self.owner.post_message(ActionFinished(self.path, self.operation, text, severity))

    def progressed(self, message: ActionProgress) -> None:
        """A step of an action of this dialog's database, while it is open."""

    def finished(self, message: ActionFinished) -> None:
        """An action of this dialog's database ended while it is open (perform's workers)."""


WRITES_HINT = "y: go ahead    n / Esc: cancel (nothing is done)"


SIGNAL_HINT = "y: send it    n / Esc: cancel (nothing is sent)"


class ConfirmScreen(ModalScreen[bool]):
    """States what will happen; only y confirms, anything else changes nothing. check:
    asked at y; if it gives a reason (the process shown has ended, the lock is gone), the
    dialog shows it and nothing goes ahead."""

    BINDINGS = [("y", "answer(True)", "Yes"), ("n", "answer(False)", "No"),
                ("escape", "answer(False)", "Cancel")]

    @dataclass
    class More(Message):
        """Lines for the body's first paragraph, found by a slow look (a holder's stack)
        after the dialog opened."""

        lines: list[str]

    def __init__(self, title: str, body: str, hint: str = WRITES_HINT,
                 check: Callable[[], str | None] | None = None,
                 more: Callable[[], list[str]] | None = None) -> None:
        super().__init__()
        self.title_text, self.body, self.hint, self.check = title, body, hint, check
        self.more = more  # run in a thread worker: the dialog opens without waiting for it
        self.refused: str | None = None

    def on_mount(self) -> None:
        more = self.more
        if more is not None:
            self.run_worker(lambda: self.post_message(self.More(more())), thread=True,
                            exit_on_error=False, group="confirm-more")

    def on_confirm_screen_more(self, message: ConfirmScreen.More) -> None:
        if self.refused is None and message.lines:  # at the end of the first paragraph
            head, gap, rest = self.body.partition("\n\n")
            self.body = head + "\n" + "\n".join(message.lines) + gap + rest
            self.query_one("#confirm-body", Static).update(visible(self.body, newlines=True))

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(visible(self.title_text), classes="dialog-title", markup=False)
            with VerticalScroll(id="confirm-scroll"):  # a long body scrolls; y/n stays
                yield Static(visible(self.body, newlines=True), markup=False, id="confirm-body")
            yield Static(self.hint, classes="hint", id="confirm-hint")

    def action_answer(self, yes: bool) -> None:
        if yes and self.refused is not None:
            return  # already refused: only n or Esc closes it
        if yes and self.check is not None and (why := self.check()) is not None:
            self.refused = why
            self.query_one("#confirm-body", Static).update(visible(why, newlines=True))
            self.query_one("#confirm-hint", Static).update("n / Esc: close")
            return
        self.dismiss(yes)


class AskScreen(ModalScreen[str | None]):
    """One line of text asked for: Enter gives it, Esc nothing."""

    BINDINGS = [("escape", "cancel", "Cancel")]

    def __init__(self, title: str, placeholder: str) -> None:
        super().__init__()
        self.title_text, self.placeholder = title, placeholder

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="dialog-title", markup=False)
            yield Input(placeholder=self.placeholder, id="ask")
            yield Static("Enter: go    Esc: cancel", classes="hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class CheckpointScreen(ModalScreen[str | None]):
    """Pick a mode; the text says what each does and whether it waits on readers."""

    BINDINGS = [("escape", "cancel", "Cancel")]

    def __init__(self, name: str, deadline: float, outlook: str = "") -> None:
        super().__init__()
        self.db_name, self.deadline, self.outlook = name, deadline, outlook

    def compose(self) -> ComposeResult:
        from waltui.actions.database import (
            CHECKPOINT_MODES,  # SQLite's side: when the dialog opens
        )

        with Vertical(classes="dialog"):
            yield Static(f"Checkpoint {visible(self.db_name)}: copies WAL frames into the "
                         f"database file (writes). Retries with backoff for up to "
                         f"{self.deadline:g} s.", classes="dialog-title", markup=False)
            if self.outlook:
                yield Static(visible(self.outlook), id="outlook", markup=False)
            yield OptionList(*[Option(f"{mode:<9}{text}", id=mode)
                               for mode, (_code, text) in CHECKPOINT_MODES.items()],
                             id="modes")
            yield Static("Enter: run the highlighted mode    Esc: cancel", classes="hint")

    def on_mount(self) -> None:
        modes = self.query_one(OptionList)
        modes.highlighted = 0  # PASSIVE
        modes.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
