"""Integrity check with progress and cancel: it holds a read transaction, and says so."""

from __future__ import annotations

import time

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

from waltui.actions.database import IntegrityRun
from waltui.ui.palette import ThemedStatic
from waltui.ui.screens.dialogs import WorkerDialog
from waltui.units import visible


class IntegrityScreen(WorkerDialog):
    shows_results = True  # in its progress line
    operation = "integrity"
    BINDINGS = [("escape", "close", "Cancel / close"), ("x", "cancel_check", "Cancel check")]

    def __init__(self, path: str, immutable: bool, pinned_frame: int | None) -> None:
        super().__init__(path)
        self.immutable, self.pinned_frame = immutable, pinned_frame
        self.check: IntegrityRun | None = None
        self.outcome: str | None = None
        self.closed = False
        self._started = 0.0
        self._ticker: object | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            name = visible(self.path.rsplit("/", 1)[-1])
            yield Static(f"Integrity check of {name} (reads only)", markup=False,
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
        self.check = IntegrityRun(self.path, full=event.option.id == "full",
                                  immutable=self.immutable)
        self.outcome, self._started = None, time.monotonic()
        self.query_one(OptionList).display = False
        self._ticker = self.set_interval(0.2, self._show_progress)
        self._show_progress()
        self.run_worker(self._run, thread=True, exit_on_error=False, exclusive=True,
                        group="integrity")

    @property
    def kind(self) -> str:
        return "integrity_check" if self.check and self.check.full else "quick_check"

    def _run(self) -> None:
        worker = get_current_worker()
        assert self.check is not None  # set before the worker starts
        outcome, messages = self.check.run()
        if worker.is_cancelled or self.closed:
            self.report(f"{self.kind}: {outcome} (dialog closed)")
        else:
            self.owner.call_from_thread(self._finished, outcome, messages)

    def _show_progress(self) -> None:
        if self.check is None or self.outcome is not None:
            return
        pin = f" at frame {self.pinned_frame}" if self.pinned_frame is not None else ""
        progress = self.query_one("#progress", ThemedStatic)
        progress.update(Text(
            f"running… {self.check.progress_steps * 1000:,} steps. This check holds a read "
            f"transaction: it pins the WAL{pin} while it runs.", style=progress.palette.warning))

    def _finished(self, outcome: str, messages: list[str]) -> None:
        if self.closed:  # closed between the check's end and this call
            self.report(f"{self.kind}: {outcome} (dialog closed)")
            return
        self.outcome = outcome
        took = time.monotonic() - self._started
        progress = self.query_one("#progress", ThemedStatic)
        palette = progress.palette
        style = {"ok": palette.ok, "problems": palette.critical, "cancelled": palette.warning,
                 "error": palette.critical}[outcome]
        headline = {"ok": f"{self.kind}: ok, no problem found ({took:.1f} s)",
                    "problems": f"{self.kind}: {len(messages)} problem(s) found ({took:.1f} s)",
                    "cancelled": f"{self.kind}: cancelled after {took:.1f} s",
                    "error": f"{self.kind}: failed after {took:.1f} s"}[outcome]
        body = Text(headline + "\n", style=style)
        for line in messages[:20] if outcome in ("problems", "error") else ():
            body.append(visible(line) + "\n")
        body.append("Enter runs the highlighted check again; Esc closes.", style=palette.muted)
        progress.update(body)
        details = messages[:3] if outcome in ("problems", "error") else []
        self.report("; ".join([headline, *details]),
                    "information" if outcome == "ok" else "warning")
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
