"""The console script's entry: what a one-shot command can begin before the imports.

`snapshot` and `check` are one poll and a report, and much of their time is the
interpreter importing waltui. The first read of /proc/locks sleeps in the kernel for about
as long (probes/early_locks.py), so it begins first, in a thread, and overlaps them.
"""

from __future__ import annotations

import sys

ONE_SHOT = ("snapshot", "check")


def main() -> int:
    if reads_proc_locks_first(sys.argv[1:]):
        from waltui.probes import early_locks

        early_locks.start()
    from waltui.cli import main as run

    return run()


def reads_proc_locks_first(args: list[str]) -> bool:
    """A one-shot command on live databases, /proc/locks not ruled out: a recording
    (--from, --at) reads no lock, and --lock-source getlk is for hosts where /proc/locks
    is too large to read at all."""
    return bool(args) and args[0] in ONE_SHOT and not any(
        arg in ("--from", "--at", "getlk") or arg.startswith(("--from=", "--at="))
        or arg.endswith("=getlk") for arg in args)
