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
from waltui.ui.messages import ActionFinished


@dataclass(frozen=True)
class Outcome:
    text: str
    severity: str = "information"
    result: CheckpointResult | None = None


Work = Callable[[Callable[[], bool]], Outcome]  # given "was I cancelled?", what happened


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
        why = refusal(name, self.config.read_only, self.config.read_only_why)
        if why is not None:  # a dialog left open
            self.refuse(path, why)
            return
        label = OPERATIONS[name].label

        def run() -> None:
            worker = get_current_worker()
            try:
                outcome = work(lambda: worker.is_cancelled)
            except Exception as exc:  # a bug or an OS error: said, never the app's end
                outcome = Outcome(f"{label} failed: {type(exc).__name__}: {exc}", "error")
            self.post_message(ActionFinished(path, name, outcome.text, outcome.severity,
                                             outcome.result))

        self.run_worker(run, thread=True, exit_on_error=False, group=name, name=label)
