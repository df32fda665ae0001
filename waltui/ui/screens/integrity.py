"""Integrity check with progress and cancel: it holds a read transaction, and says so."""

from __future__ import annotations

import time

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from waltui.actions.database import IntegrityRun
from waltui.ui.messages import ActionFinished
from waltui.ui.palette import ThemedStatic
from waltui.ui.perform import Outcome
from waltui.ui.screens.dialogs import WorkerDialog
from waltui.units import visible


class IntegrityScreen(WorkerDialog):
    operation = "integrity"
    BINDINGS = [("escape", "close", "Cancel / close"), ("x", "cancel_check", "Cancel check")]

    def __init__(self, path: str, immutable: bool, pinned_frame: int | None) -> None:
        super().__init__(path)
        self.immutable, self.pinned_frame = immutable, pinned_frame
        self.check: IntegrityRun | None = None
        self.outcome: str | None = None
        self.closed = False  # Esc while a check ran: it is cancelled, and the log says why
        self._started = 0.0
        self._ticker: object | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(f"Integrity check of {self.db_name} (reads only)", markup=False,
                         classes="dialog-title")
            yield OptionList(Option("quick_check: fast, skips index cross-checks", id="quick"),
                             Option("integrity_check: full, slower", id="full"), id="kinds")
            yield ThemedStatic(id="progress")
            yield Static("Enter: start    x: cancel a running check    Esc: close",
                         classes="hint")

    def on_mount(self) -> None:
        self.query_one(OptionList).highlighted = 0
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if self.check is not None:
            return
        check = self.check = IntegrityRun(self.path, full=event.option.id == "full",
                                          immutable=self.immutable)
        self.outcome, self._started = None, time.monotonic()
        self.query_one(OptionList).display = False
        self._ticker = self.set_interval(0.2, self._show_progress)
        self._show_progress()
        self.owner.perform("integrity", self.path, lambda cancelled: self._run(check))

    @property
    def kind(self) -> str:
        return "integrity_check" if self.check and self.check.full else "quick_check"

    def _run(self, check: IntegrityRun) -> Outcome:
        """In perform's worker: the check, and its verdict for the log and for this dialog
        (finished(), when its ActionFinished arrives)."""
        kind = "integrity_check" if check.full else "quick_check"
        started = time.monotonic()
        outcome, messages = check.run()
        took = time.monotonic() - started
        headline = {"ok": f"{kind}: ok, no problem found ({took:.1f} s)",
                    "problems": f"{kind}: {len(messages)} problem(s) found ({took:.1f} s)",
                    "cancelled": f"{kind}: cancelled after {took:.1f} s",
                    "error": f"{kind}: failed after {took:.1f} s"}[outcome]
        details = messages[:3] if outcome in ("problems", "error") else []
        if self.closed:
            headline = f"{kind}: {outcome} (dialog closed)"
        return Outcome("; ".join([headline, *details]),
                       "information" if outcome == "ok" else "warning",
                       detail=(outcome, headline, messages))

    def _show_progress(self) -> None:
        if self.check is None or self.outcome is not None:
            return
        pin = f" at frame {self.pinned_frame}" if self.pinned_frame is not None else ""
        progress = self.query_one("#progress", ThemedStatic)
        progress.update(Text(
            f"running… {self.check.progress_steps * 1000:,} steps. This check holds a read "
            f"transaction: it pins the WAL{pin} while it runs.", style=progress.palette.warning))

    def finished(self, message: ActionFinished) -> None:
        if message.operation != "integrity" or not isinstance(message.detail, tuple):
            return
        outcome, headline, messages = message.detail
        self.outcome = outcome
        progress = self.query_one("#progress", ThemedStatic)
        palette = progress.palette
        style = {"ok": palette.ok, "problems": palette.critical, "cancelled": palette.warning,
                 "error": palette.critical}[outcome]
        body = Text(headline + "\n", style=style)
        for line in messages[:20] if outcome in ("problems", "error") else ():
            body.append(visible(line) + "\n")
        body.append("Enter runs the highlighted check again; Esc closes.", style=palette.muted)
        progress.update(body)
        # The choice of checks comes back, ready for another run.
        self.check = None
        if self._ticker is not None:
            self._ticker.stop()  # type: ignore[attr-defined]
        options = self.query_one(OptionList)
        options.display = True
        options.focus()

    def action_cancel_check(self) -> None:
        if self.check is not None:
            self.check.cancel()

    def action_close(self) -> None:
        self.closed = True
        self.action_cancel_check()
        self.dismiss(None)
