"""The rule registry, evaluation, and the two-poll confirmation every finding goes through.

Each rule is a function of (reading, history, thresholds) returning findings with the numbers
that triggered them and the fix. RULES is the one list the dashboard, `check` and the docs use.

Three promises every rule keeps:
- It judges the current state (and the history's recent window), never a stale result: a
  finding clears within two polls of its cause ending.
- Growth is judged over seconds of poll time, never over a count of polls.
- waltui's own locks (a checkpoint, an integrity check) are never evidence: rules read
  ``reading.theirs``, ``writer``, ``pins`` and ``open_by``, which leave them out.
Findings speak of processes, files and SQL, never of the dashboard's panes or keys, so the
same text serves `check`, JSON and the dashboard.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from waltui.config import Thresholds
from waltui.history import History
from waltui.model import Finding, Reading

Rule = Callable[[Reading, History, Thresholds], Iterator[Finding]]
RULES: list[Rule] = []
AUTOCHECKPOINT_FRAMES = 1000  # SQLite's default wal_autocheckpoint: below it, growth is normal


def rule(func: Rule) -> Rule:
    RULES.append(func)
    return func


def evaluate(reading: Reading, history: History, thresholds: Thresholds) -> list[Finding]:
    """Every rule's verdict on one poll, unconfirmed (see Judge), most severe first."""
    if reading.files is None or reading.files.db_header is None:
        return []
    found: list[Finding] = []
    for check in RULES:
        try:
            found += check(reading, history, thresholds)
        except Exception as exc:  # a bug in one rule must not silence the others
            found.append(Finding(
                "rule_failed", "warning", f"waltui's rule {check.__name__} failed",
                f"{type(exc).__name__}: {exc}",
                "A bug in waltui, not in the database: the other rules still ran. Please "
                "report it with `waltui snapshot --json` of this database."))
    return sorted(found, key=lambda f: -f.rank)


class Judge:
    """Raises a finding only when two polls in a row agree, so a state caught between two
    reads (a -journal seen before its writer's lock, a -shm mid-creation) never alarms.
    A finding clears as soon as one poll no longer finds it."""

    def __init__(self) -> None:
        self._candidates: set[str] = set()

    def judge(self, reading: Reading, history: History, thresholds: Thresholds
              ) -> list[Finding]:
        found = evaluate(reading, history, thresholds)
        confirmed = [f for f in found if f.code in self._candidates]
        self._candidates = {f.code for f in found}
        return confirmed

    @property
    def pending(self) -> bool:
        """Something was found once and waits for a second poll to confirm it."""
        return bool(self._candidates)
