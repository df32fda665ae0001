"""Readings (and their history) turned into findings an operator can act on.

registry.py holds the one list of rules and the Judge that confirms findings; wal.py and
locks.py hold the rules. Importing this package registers every rule.
"""

from waltui.health import locks, wal  # noqa: F401  (registers the rules)
from waltui.health.registry import RULES, Judge, evaluate
from waltui.health.wal import normal_wal_bytes

__all__ = ["RULES", "Judge", "evaluate", "normal_wal_bytes"]
