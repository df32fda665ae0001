"""Guided recovery in a dialog: each step as it happens, the integrity check's progress,
the time so far, and a cancel. Its events are stamped when each step ends, and its
TRUNCATE reaches the Checkpoints pane like any checkpoint."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.timer import Timer
from textual.widgets import Static

from waltui.actions.recovery import STEPS, RecoveryRun, RecoveryStep
from waltui.history import CheckpointResult, describe_checkpoint
from waltui.ui.messages import ActionFinished, ActionProgress
from waltui.ui.palette import ThemedStatic
from waltui.ui.perform import Outcome, Progress
from waltui.ui.screens.dialogs import WorkerDialog
from waltui.units import visible

WHAT = {"holders": "who holds the database (stops here if anyone does)",
        "checkpoint": "TRUNCATE checkpoint (writes: copies the WAL in, empties the -wal)",
        "integrity_check": "integrity_check (reads every page)"}


class RecoveryScreen(WorkerDialog):
    BINDINGS: ClassVar[list[BindingType]] = [("escape", "close", "Cancel / close"),
                                             ("x", "cancel_run", "Cancel")]
    operation = "recover"

    def __init__(self, path: str, read_only: bool, deadline: float) -> None:
        super().__init__(path)
        self.run_state = RecoveryRun(path, read_only, deadline)
        self.steps: list[RecoveryStep] = []
        self.done = False
        self._started = time.monotonic()
        self._ticker: Timer | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(f"Guided recovery of {self.db_name}"), classes="dialog-title")
            yield ThemedStatic(id="recovery-steps")
            yield Static("x: cancel (between steps, or inside the integrity check)    "
                         "Esc: cancel and close", classes="hint", id="recovery-hint")

    def on_mount(self) -> None:
        self._ticker = self.set_interval(0.25, self._draw)
        self._draw()
        self.owner.perform_steps("recover", self.path, self._run)

    def _run(self, cancelled: Callable[[], bool], progress: Progress) -> Outcome:
        """In perform's worker: each step and the checkpoint's result posted as they
        happen (stamped then, in the log and in this dialog's progressed())."""
        def step_done(step: RecoveryStep) -> None:
            ran_checkpoint = step.name == "checkpoint" and step.outcome in ("ok", "failed")
            # a checkpoint that ran is reported with its result, not twice
            progress(Outcome("" if ran_checkpoint else
                             f"recovery {step.name}: {step.outcome}: {step.detail}",
                             "information" if step.outcome == "ok" else "warning",
                             detail=step))

        def checkpointed(result: CheckpointResult) -> None:  # history, pane and event log
            progress(Outcome(describe_checkpoint(result),
                             "information" if result.outcome == "done" else "warning",
                             result))

        steps = self.run_state.run(step_done, checkpointed)
        last = steps[-1]
        return Outcome(f"guided recovery ended: {last.name} {last.outcome}",
                       "information" if all(s.outcome == "ok" for s in steps) else "warning")

    def progressed(self, message: ActionProgress) -> None:
        if isinstance(message.detail, RecoveryStep):
            self.steps.append(message.detail)
            self._draw()

    def finished(self, message: ActionFinished) -> None:
        if message.operation == "recover":
            self._finished()

    def _finished(self) -> None:
        self.done = True
        if self._ticker is not None:
            self._ticker.stop()
        self._draw()
        if self.is_attached:
            self.query_one("#recovery-hint", Static).update("Esc or Enter: close")

    def _draw(self) -> None:
        if not self.is_attached:
            return
        box = self.query_one("#recovery-steps", ThemedStatic)
        palette = box.palette
        ended = {s.name: s for s in self.steps}
        text = Text()
        for name in STEPS:
            step = ended.get(name)
            if step is not None:
                style = palette.ok if step.outcome == "ok" else palette.warning \
                    if step.outcome in ("stopped", "cancelled") else palette.critical
                text.append(f"{step.outcome:<9}", style=style)
                text.append(f" {WHAT[name]}\n          {visible(step.detail)}\n")
            elif name == self.run_state.current and not self.done:
                progress = ""
                if name == "integrity_check" and self.run_state.integrity is not None:
                    progress = f" ({self.run_state.integrity.progress_steps * 1000:,} steps)"
                text.append("running… ", style=palette.info)
                text.append(f" {WHAT[name]}{progress}\n")
            else:
                text.append("-        ", style=palette.muted)
                text.append(f" {WHAT[name]}\n", style=palette.muted)
        took = time.monotonic() - self._started
        text.append(f"\n{'took' if self.done else 'running for'} {took:.1f} s",
                    style=palette.muted)
        box.update(text)

    def action_cancel_run(self) -> None:
        if not self.done:
            self.run_state.cancel()

    def action_close(self) -> None:
        self.run_state.cancel()
        self.dismiss(None)

    def key_enter(self) -> None:
        if self.done:
            self.dismiss(None)
