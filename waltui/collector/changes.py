"""What the collector sends back, cycle by cycle: plain, frozen, picklable values, the
same over a thread's queue and a process's pipe. Apart from the commands (commands.py):
`snapshot` and `check` need these, and not the commands' classes."""

from __future__ import annotations

from dataclasses import dataclass

from waltui.model import Finding, Reading


@dataclass(frozen=True)
class Change:
    """One database whose reading or findings changed in a cycle (values only: no history,
    nothing the collector goes on mutating)."""

    path: str
    reading: Reading
    findings: tuple[Finding, ...]
    raised: tuple[Finding, ...]  # new since the previous poll
    cleared: tuple[Finding, ...]


@dataclass(frozen=True)
class Batch:
    """One cycle: the changed databases only; an unchanged one costs nothing to send."""

    changes: tuple[Change, ...]
    polled: int  # databases polled in the cycle (changed or not)
    cycle_seconds: float
    taken_at: float
    detached: tuple[str, ...] = ()
    final: bool = True  # False: more parts of this cycle follow (see child.py)
