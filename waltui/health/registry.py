"""The rule registry, evaluation, and the two-poll confirmation every finding goes through.

Each rule is a function of (reading, history, thresholds) returning findings with the numbers
that triggered them and the fix. RULES is the one list the dashboard, `check` and the docs use.

Three promises every rule keeps:
- It judges the current state (and the history's recent window), never a stale result: a
  finding clears within two polls of its cause ending.
- Growth is judged over seconds of poll time, never over a count of polls.
- waltui's own locks (a checkpoint, an integrity check) are never evidence: rules read
  ``reading.theirs``, ``writer``, ``pins`` and ``open_by``, which leave them out.
A rule that reads a hold time or the history is a ``timed_rule``: asked every poll unless
its ``quiet`` says it cannot find anything new. Any other is asked only when the reading
changes: an idle database's poll repeats its last reading (Reading.later).
Findings speak of processes, files and SQL, never of the dashboard's panes or keys, so the
same text serves `check`, JSON and the dashboard.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import lru_cache

from waltui.config import Thresholds
from waltui.history import History
from waltui.model import Finding, Reading

Rule = Callable[[Reading, History, Thresholds], Iterator[Finding]]
Quiet = Callable[[Reading, History, Thresholds], bool]
RULES: list[Rule] = []
# Rules whose verdict can change while the reading does not: they read how long a lock or
# pin has been held, or the history. The others are asked again only when the reading changes.
TIMED: dict[Rule, Quiet] = {}
AUTOCHECKPOINT_FRAMES = 1000  # SQLite's default wal_autocheckpoint: below it, growth is normal


def rule(func: Rule) -> Rule:
    RULES.append(func)
    return func


def timed_rule(quiet: Quiet) -> Callable[[Rule], Rule]:
    """quiet(reading, history, thresholds): true where the rule, having found nothing on
    this reading a poll ago, cannot find anything on it now (no writer to time, no pin, no
    queue that moved within its window): then it is not asked. At 1,000 idle databases
    that is most of their polls. It may read the reading, and of the history only what a
    repeated reading leaves as it is (d_state_since, wal_high_water, queues_still_since):
    the Judge asks it once for a run of repeats, so what it says must stay true while the
    reading repeats."""
    def register(func: Rule) -> Rule:
        TIMED[func] = quiet
        return rule(func)
    return register


def verdicts(reading: Reading, history: History, thresholds: Thresholds,
             last: list[list[Finding]] | None = None) -> list[list[Finding]]:
    """Each rule's findings, in RULES order. last: the verdicts on the same reading a poll
    ago (Reading.later), of which only the timed rules' are asked again."""
    if reading.files is None or reading.files.db_header is None:
        return []
    if last is None:
        return [_ask(check, reading, history, thresholds) for check in RULES]
    found = last.copy()
    for index in _timed_indexes(len(RULES)):
        check = RULES[index]
        if last[index] or not TIMED[check](reading, history, thresholds):
            found[index] = _ask(check, reading, history, thresholds)
    return found


@lru_cache(maxsize=4)
def _timed_indexes(count: int) -> tuple[int, ...]:
    return tuple(i for i, check in enumerate(RULES[:count]) if check in TIMED)


def _ask(check: Rule, reading: Reading, history: History, thresholds: Thresholds
         ) -> list[Finding]:
    try:
        return list(check(reading, history, thresholds))
    except Exception as exc:  # a bug in one rule must not silence the others
        return [Finding(
            code="rule_failed", severity="warning", title=f"waltui's rule {check.__name__} failed",
            evidence=f"{type(exc).__name__}: {exc}",
            fix="A bug in waltui, not in the database: the other rules still ran. Please "
            "report it with `waltui snapshot --json` of this database.")]


def evaluate(reading: Reading, history: History, thresholds: Thresholds) -> list[Finding]:
    """Every rule's verdict on one poll, unconfirmed (see Judge), most severe first."""
    return _ranked(verdicts(reading, history, thresholds))


def _ranked(found: list[list[Finding]]) -> list[Finding]:
    return sorted((f for findings in found for f in findings), key=lambda f: -f.rank)


class Judge:
    """Raises a finding only when two polls in a row agree, so a state caught between two
    reads (a -journal seen before its writer's lock, a -shm mid-creation) never alarms.
    A finding clears as soon as one poll no longer finds it."""

    def __init__(self) -> None:
        self._candidates: set[str] = set()
        self._verdicts: list[list[Finding]] = []
        self._resting = False  # nothing found, and every timed rule quiet: see timed_rule

    def judge(self, reading: Reading, history: History, thresholds: Thresholds,
              same_reading: bool = False) -> list[Finding]:
        """same_reading: the observer handed out the last reading again, held longer."""
        if same_reading and self._resting:
            return []
        last = self._verdicts if same_reading and self._verdicts else None
        self._verdicts = verdicts(reading, history, thresholds, last)
        found = _ranked(self._verdicts) if any(self._verdicts) else []
        confirmed = [f for f in found if f.code in self._candidates]
        self._candidates = {f.code for f in found}
        self._resting = not found and bool(self._verdicts) and all(
            TIMED[RULES[index]](reading, history, thresholds)
            for index in _timed_indexes(len(RULES)))
        return confirmed

    @property
    def pending(self) -> bool:
        """Something was found once and waits for a second poll to confirm it."""
        return bool(self._candidates)
