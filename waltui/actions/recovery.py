"""Guided recovery: evidence first (who holds the database), and only if nobody does a
TRUNCATE checkpoint and then integrity_check. Never deletes a -wal or -shm file.

Each step is handed to the caller as it happens (the dashboard stamps and shows it then,
not at the end), the checkpoint's result as a CheckpointResult like any other checkpoint,
and the run can be cancelled between steps and inside the integrity check."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from waltui.actions.database import (
    IntegrityRun,
    checkpoint,
    locks_now,
)
from waltui.actions.operations import READ_ONLY_REFUSAL
from waltui.history import CheckpointResult, describe_checkpoint
from waltui.model import Reading
from waltui.naming import named_process

STEPS = ("holders", "checkpoint", "integrity_check")


@dataclass(frozen=True)
class RecoveryStep:
    name: str
    outcome: str  # ok | stopped | failed | cancelled
    detail: str


@dataclass
class RecoveryRun:
    path: str
    read_only: bool
    deadline: float = 10.0
    current: str = ""  # the step running now
    integrity: IntegrityRun | None = None  # while integrity_check runs: its progress
    _cancelled: threading.Event = field(default_factory=threading.Event, repr=False)

    def cancel(self) -> None:
        self._cancelled.set()
        if self.integrity is not None:
            self.integrity.cancel()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def run(self, on_step: Callable[[RecoveryStep], None] = lambda step: None,
            on_checkpoint: Callable[[CheckpointResult], None] = lambda result: None,
            ) -> list[RecoveryStep]:
        steps: list[RecoveryStep] = []

        def done(step: RecoveryStep) -> list[RecoveryStep]:
            steps.append(step)
            on_step(step)
            return steps

        self.current = "holders"
        reading = locks_now(self.path)
        if reading.files is None:
            return done(RecoveryStep("holders", "failed",
                                     reading.error.message if reading.error else "?"))
        if (held := held_by(reading)) is not None:
            return done(RecoveryStep("holders", "stopped", held))
        done(RecoveryStep("holders", "ok", "no process holds the database"))
        if self.read_only:
            return done(RecoveryStep("checkpoint", "stopped", READ_ONLY_REFUSAL))
        if self.cancelled:
            return done(RecoveryStep("checkpoint", "cancelled", "cancelled before it began"))
        self.current = "checkpoint"
        result = checkpoint(self.path, "TRUNCATE", deadline=self.deadline,
                            cancelled=self._cancelled.is_set)
        on_checkpoint(result)
        done(RecoveryStep("checkpoint", "ok" if result.outcome == "done" else "failed",
                          describe_checkpoint(result)))
        if self.cancelled:
            return done(RecoveryStep("integrity_check", "cancelled",
                                     "cancelled before it began"))
        self.current = "integrity_check"
        self.integrity = IntegrityRun(self.path, full=True)
        if self.cancelled:  # cancel() came between the check above and the line before
            self.integrity.cancel()
        outcome, messages = self.integrity.run()
        self.current = ""
        return done(RecoveryStep("integrity_check", {"ok": "ok", "cancelled": "cancelled"}
                                 .get(outcome, "failed"), "; ".join(messages[:5]) or outcome))


def held_by(reading: Reading) -> str | None:
    """Why recovery cannot begin: the processes that hold the database (the dashboard asks
    this of its latest reading before it asks to go ahead, and the run again at step 1)."""
    holders = sorted(reading.open_by)
    if not holders:
        return None
    names = ", ".join(named_process(reading, p) for p in holders)
    return (f"held by {names}: stop them gracefully first (recovery goes no further while "
            "anything holds the database)")


def guided_recovery(path: str, *, read_only: bool, deadline: float = 10.0
                    ) -> list[RecoveryStep]:
    """The whole run at once (the CLI and tests)."""
    return RecoveryRun(path, read_only, deadline).run()
