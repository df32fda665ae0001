"""One path for every action: the gate (a database selected, its file system answering,
and the one read-only check, from waltui.actions.operations), and a worker that runs the work and
ends with exactly one ActionFinished, an exception included."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual.worker import get_current_worker

from waltui.actions.operations import OPERATIONS, refusal
from waltui.history import CheckpointResult
from waltui.ui.app_base import AppBase
from waltui.ui.messages import ActionFinished, ActionProgress


@dataclass(frozen=True)
class Outcome:
    text: str  # for the event log; empty: nothing to log (a panel's values read)
    severity: str = "information"
    result: CheckpointResult | None = None
    detail: object = None  # for the dialog that asked: values read, a check's verdict


Progress = Callable[[Outcome], None]  # a step of a running action, posted as it happens
Work = Callable[[Callable[[], bool]], Outcome]  # given "was I cancelled?", what happened
SteppedWork = Callable[[Callable[[], bool], Progress], Outcome]


class Performer(AppBase):
    def gate(self, name: str, *, answering: bool = True) -> str | None:
        """The database an operation may act on now, or None (and the operator told why)."""
        path = self._need_answering() if answering else self._need_selection()
        if path is None:
            return None
        if (why := refusal(name, self.config.read_only, self.config.read_only_why)) is not None:
            self.refuse(path, why)
            return None
        return path

    def perform(self, name: str, path: str, work: Work) -> None:
        """In a worker thread; its one ActionFinished reaches on_action_finished."""
        self.perform_steps(name, path, lambda cancelled, _progress: work(cancelled))

    def perform_steps(self, name: str, path: str, work: SteppedWork) -> None:
        """perform(), for work that reports steps as it goes: each reaches the app as an
        ActionProgress (and the dialog that asked, through progressed()). The worker only
        posts messages: it never touches a widget."""
        why = refusal(name, self.config.read_only, self.config.read_only_why)
        if why is not None:  # a dialog left open
            self.refuse(path, why)
            return
        label = OPERATIONS[name].label

        def progress(step: Outcome) -> None:
            self.post_message(ActionProgress(path, name, step.text, step.severity, step.result,
                                             step.detail))

        def run() -> None:
            worker = get_current_worker()
            try:
                outcome = work(lambda: worker.is_cancelled, progress)
            except Exception as exc:  # a bug or an OS error: said, never the app's end
                outcome = Outcome(f"{label} failed: {type(exc).__name__}: {exc}", "error")
            self.post_message(ActionFinished(path, name, outcome.text, outcome.severity,
                                             outcome.result, outcome.detail))

        self.run_worker(run, thread=True, exit_on_error=False, group=name, name=label)

    def confirm(self, name: str, title: str, body: str, go: Callable[[], None],
                hint: str = "", check: Callable[[], str | None] | None = None,
                more: Callable[[], list[str]] | None = None) -> None:
        """Ask as many times as the operation's registry entry says (SIGKILL twice), then
        go(). Any no, or Esc, and nothing is done. check: asked at each yes (the dialog
        shows why it refuses). more: lines a slow look adds to the body once found."""
        from waltui.ui.screens.dialogs import ConfirmScreen

        asks = OPERATIONS[name].confirmations

        def ask(left: int) -> None:
            if left == 0:
                go()
                return
            again = f"Really: {title}" if left < asks else title
            self.push_screen(ConfirmScreen(again, body, hint or OPERATIONS[name].hint, check,
                                           more),
                             lambda yes: ask(left - 1) if yes else None)

        ask(asks)
