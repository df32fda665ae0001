"""The registry of what an operator can do to a database (Harlequin's actions registry, for
waltui): each operation's name, whether it writes, and how many times it is confirmed.
Keys, help, the command palette and the one read-only gate all read it. Plain data: the
runners live with the UI that gathers their parameters (waltui/ui/perform.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Operation:
    name: str
    label: str  # in sentences: "checkpoint refused: ..."
    writes: bool  # refused under --read-only, before any dialog asks for anything
    confirmations: int = 0  # yes/no questions before it runs (SIGKILL asks twice)
    does: str = "written"  # what a "no" spares: "nothing is written" / "nothing is sent"

    @property
    def hint(self) -> str:
        """The confirmation dialog's last line."""
        return f"y: go ahead    n / Esc: cancel (nothing is {self.does})"


OPERATIONS: dict[str, Operation] = {op.name: op for op in (
    Operation("checkpoint", "checkpoint", writes=True, confirmations=0),  # the mode dialog
    Operation("pragma", "PRAGMA change", writes=True, confirmations=1),
    Operation("optimize", "PRAGMA optimize", writes=True, confirmations=1),
    Operation("recover", "guided recovery", writes=True, confirmations=1),
    Operation("terminate", "SIGTERM", writes=True, confirmations=1, does="sent"),
    Operation("kill", "SIGKILL", writes=True, confirmations=2, does="sent"),
    Operation("integrity", "integrity check", writes=False),
    Operation("pragmas", "pragma view", writes=False),
)}

READ_ONLY_REFUSAL = "refused: waltui runs with --read-only (nothing was written)"


def refusal(name: str, read_only: bool, why: str = "") -> str | None:
    """The one read-only gate: why this operation may not run now, or None. ``why`` says
    what made it read-only when it was not --read-only (a replayed recording: then every
    operation is refused, reading ones too)."""
    operation = OPERATIONS[name]
    if why:  # a recording: what it shows may not even be on this host, nor those pids alive
        return f"{operation.label} refused: {why}; nothing was done"
    if operation.writes and read_only:
        return f"{operation.label} {READ_ONLY_REFUSAL}"
    return None


def writes(action: str) -> bool:
    return action in OPERATIONS and OPERATIONS[action].writes
