"""Entry points: `waltui PATH...`, `waltui snapshot`, `waltui check`, `waltui demo`.

Argument parsing only; the work lives in the layers. Textual is imported only for the
dashboard, so `snapshot` and `check` start fast and run where no terminal is.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Sequence

from waltui import __version__
from waltui.config import Config, ConfigError, load
from waltui.discovery import expand
from waltui.units import visible

USAGE = """\
usage: waltui PATH...                 live dashboard (files, directories, globs)
       waltui demo                    dashboard on a built-in demo workload
       waltui snapshot [--json] PATH...
       waltui check [--json] [--for SECONDS] PATH...
       waltui SUBCOMMAND --help       options of one command
"""
SUBCOMMANDS = ("snapshot", "check", "demo")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="TOML config (default "
                        "~/.config/waltui/config.toml when present)")
    parser.add_argument("--queue", action="append", default=[], metavar="NAME=SQL",
                        help="a named queue-depth query (repeatable)")
    parser.add_argument("--threshold", action="append", default=[], metavar="KEY=VALUE",
                        help="override a health threshold (repeatable)")
    parser.add_argument("--interval", type=float, metavar="SECONDS",
                        help="seconds between polls (default 1)")
    parser.add_argument("--read-only", action="store_true",
                        help="refuse every action that writes (checkpoints, pragma changes)")
    parser.add_argument("--no-sql", action="store_true",
                        help="never open the databases: files, locks and pins only")


def build_parser(command: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"waltui {command}".strip())
    parser.add_argument("--version", action="version", version=f"waltui {__version__}")
    if command != "demo":
        parser.add_argument("paths", nargs="*", metavar="PATH")
    _common(parser)
    if command in ("snapshot", "check"):
        parser.add_argument("--json", action="store_true", help="print JSON")
        parser.add_argument("--lock-source", choices=("auto", "proc", "getlk"), default="auto",
                            help="read locks from /proc/locks or ask fcntl(F_GETLK)")
    if command == "check":
        parser.add_argument("--for", dest="watch_seconds", type=float, default=0.0,
                            metavar="SECONDS", help="watch this long to see growth")
    if command == "demo":
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--dir", help="where to create the demo databases")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        # The reader went away (`waltui snapshot --json | head`): stop quietly, as cat does.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    except KeyboardInterrupt:  # Ctrl-C during `check --for`: nothing was written
        print("waltui: interrupted", file=sys.stderr)
        return 128 + signal.SIGINT


def _main(argv: Sequence[str] | None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE, end="")
        return 0 if args else 2
    command = args.pop(0) if args[0] in SUBCOMMANDS else ""
    options = build_parser(command).parse_args(args)
    try:
        config = load(options.config, queue_specs=options.queue,
                      threshold_specs=options.threshold, interval=options.interval,
                      read_only=options.read_only, sql=not options.no_sql)
    except ConfigError as exc:
        print(f"waltui: {visible(exc)}", file=sys.stderr)
        return 2
    if command == "demo":
        from waltui.demo import run_demo
        return run_demo(config, seed=options.seed, directory=options.dir)
    paths = expand(options.paths)
    if not paths:
        print("waltui: no database paths given (or no SQLite file matched)\n" + USAGE,
              end="", file=sys.stderr)
        return 2
    if command == "snapshot":
        return snapshot(paths, config, as_json=options.json, lock_source=options.lock_source)
    if command == "check":
        from waltui.checking import run_check
        return run_check(paths, config, as_json=options.json, watch_seconds=options.watch_seconds,
                         lock_source=options.lock_source)
    from waltui.ui.app import run_dashboard
    return run_dashboard(paths, config)


def snapshot(paths: list[str], config: Config, *, as_json: bool, lock_source: str) -> int:
    """One poll through the same Poller as check and the dashboard: every read under its
    deadline, so a hung mount or a FIFO costs only its own database."""
    from waltui.monitor import Poller
    from waltui.report import reading_json, reading_text
    from waltui.units import literal_lines

    poller = Poller(config, lock_source)
    for path in paths:
        poller.attach(path)
    try:
        readings = [update.reading for update in poller.poll_once()]
    finally:
        poller.close()
    if as_json:
        json.dump({"databases": [reading_json(r) for r in readings]}, sys.stdout, indent=2)
        print()
    else:
        print(literal_lines("\n\n".join(reading_text(r) for r in readings)))
    return 0
