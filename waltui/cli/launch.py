"""The console script's entry: what a one-shot command can save around its work.

`snapshot` and `check` are one poll and a report, and most of their time is the interpreter
starting, importing and tearing down. The first read of /proc/locks sleeps in the kernel
(probes/early_locks.py), so it begins first, in a thread, and overlaps the imports; and
once the report is written and flushed the process ends without the teardown.
"""

from __future__ import annotations

import os
import sys
from typing import NoReturn

from waltui.support import exits

ONE_SHOT = ("snapshot", "check")


def main() -> int:
    args = sys.argv[1:]
    if reads_proc_locks_first(args):
        from waltui.probes import early_locks

        early_locks.start()
    try:
        from waltui.cli.main import main as run
    except KeyboardInterrupt:  # Ctrl-C while still importing: the same line as later
        print("waltui: interrupted", file=sys.stderr)
        return exits.INTERRUPTED
    code = run()
    if args and args[0] in ONE_SHOT:
        end_now(code)
    return code


def end_now(code: int) -> NoReturn:
    """Flush what was written and end: an interpreter's teardown frees every object of
    every module one by one, 11 ms of a 110 ms `snapshot`, and a one-shot command has
    nothing left to clean up (no file of its own open, its threads are daemons)."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:  # the reader went away after the last write
        code = exits.CLOSED_PIPE
    except (OSError, ValueError):
        pass
    try:
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    if "logging" in sys.modules:  # --debug, or a crash: its log file's last lines
        import logging

        logging.shutdown()
    os._exit(code)


def reads_proc_locks_first(args: list[str]) -> bool:
    """A one-shot command on live databases, /proc/locks not ruled out: a recording
    (--from, --at) reads no lock, and --lock-source getlk is for hosts where /proc/locks
    is too large to read at all. The options are read as argparse reads them (OPTION VALUE
    or OPTION=VALUE, nothing after --), not looked for among the paths: a database named
    getlk is a database. (argparse itself loads after the read has begun.)"""
    if not args or args[0] not in ONE_SHOT:
        return False
    options: dict[str, str] = {}
    words = iter(args[1:])
    for word in words:
        if word == "--":
            break
        name, sep, value = word.partition("=")
        if name in ("--from", "--at", "--lock-source"):
            options[name] = value if sep else next(words, "")
    return "--from" not in options and "--at" not in options and \
        options.get("--lock-source", "auto") != "getlk"
