"""The command line's shape, defined once: the parsers, and the main help, the typo check
and the shell completions that are generated from them, so none can disagree."""

from __future__ import annotations

import argparse
import os
import sys
from typing import NoReturn

from waltui import __version__
from waltui.config import DEFAULT_CONFIG
from waltui.options import LOCK_SOURCES
from waltui.support import exits

# The formats each command writes, as their writers name them (outputs/report.py,
# outputs/check.py; a test keeps the lists equal, so the parsers stay light to import)
SNAPSHOT_FORMATS = ("text", "json", "ndjson", "prometheus")
CHECK_FORMATS = ("text", "json", "nagios")

COMMANDS: dict[str, str] = {
    "": "the live dashboard (needs a terminal)",
    "demo": "the dashboard on a built-in demo workload in separate processes",
    "snapshot": "one reading per database, as text, JSON or NDJSON (--watch streams)",
    "check": "findings for cron, CI and monitoring, with exit codes",
    "export": "serve Prometheus metrics over HTTP from a headless collector",
    "record": "record the databases' polls to a file, headless (--out FILE [--for 10m])",
    "replay": "replay FILE: the dashboard on a recording, with a timeline",
    "config": "config check [FILE]: validate a config, print every setting; config schema",
    "completion": "completion bash|zsh|fish: print a shell completion script",
    "examples": "list the shipped systemd, Prometheus and Grafana files (--write DIR copies)",
    "serve": "serve PATH...|demo|replay FILE: the dashboard in a browser (textual-serve)",
}
SHELLS = ("bash", "zsh", "fish")


class UsageError(Exception):
    """A bad command line: main says it (64, EX_USAGE; a Nagios check's UNKNOWN, 3)."""

    def __init__(self, message: str, usage: str) -> None:
        super().__init__(message)
        self.usage = usage


class Parser(argparse.ArgumentParser):
    """Usage errors exit with 64 (EX_USAGE): check's 0-3 stay verdicts about databases."""

    def _get_formatter(self) -> argparse.HelpFormatter:
        """argparse asks for a formatter at every add_argument, and the first one imports
        shutil (with what it imports) to learn the terminal's width: 4 ms of every start."""
        return argparse.HelpFormatter(prog=self.prog, width=_terminal_columns() - 2)

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: error: {message}", self.format_usage())


def _terminal_columns() -> int:
    """shutil.get_terminal_size's answer for help text: $COLUMNS, else stdout's, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns > 0:
        return columns
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns or 80  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 80


def _sources(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE",
                        help=f"TOML config (default {DEFAULT_CONFIG} when present)")
    parser.add_argument("--queue", action="append", default=[], metavar="NAME=SQL",
                        help="a named queue-depth query (repeatable)")
    parser.add_argument("--threshold", action="append", default=[], metavar="KEY=VALUE",
                        help="override a health threshold (repeatable)")
    parser.add_argument("--no-sql", action="store_true",
                        help="never open the databases: files, locks and pins only")
    parser.add_argument("--debug", action="store_true",
                        help="log more (also WALTUI_LOG=debug)")
    parser.add_argument("--log-file", metavar="FILE",
                        help="append the log to FILE; without it snapshot, check, export "
                             "and record log to stderr (journald under systemd), the "
                             "dashboard to waltui.log in the state directory")


def _lock_source(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lock-source", choices=LOCK_SOURCES, default=None,
                        help="auto (default): /proc/locks while reading it is cheap, "
                             "fcntl(F_GETLK) and the holders' fdinfo per byte while it is "
                             "not (waiters then unseen); or always one of them")


def build_parser(command: str) -> Parser:
    parser = Parser(prog=f"waltui {command}".strip(), description=COMMANDS.get(command))
    parser.add_argument("-V", "--version", action="version", version=f"waltui {__version__}")
    if command == "completion":
        parser.add_argument("shell", choices=SHELLS)
        return parser
    if command == "replay":
        parser.add_argument("file", metavar="FILE", help="a recording (waltui record, --record)")
        _sources(parser)
        return parser
    if command == "serve":
        parser.add_argument("--listen", default="127.0.0.1:9852", metavar="HOST:PORT",
                            help="where to serve the browser view (default 127.0.0.1:9852, "
                                 "loopback: it has no authentication)")
        parser.add_argument("--no-auth", action="store_true",
                            help="serve a non-loopback address, unauthenticated")
        parser.add_argument("dashboard", nargs=argparse.REMAINDER, metavar="ARGS",
                            help="what each tab shows: PATH... with the dashboard's options, "
                                 "demo, or replay FILE")
        return parser
    if command == "examples":
        parser.add_argument("--write", metavar="DIR",
                            help="copy every example into DIR, keeping its folder (never "
                                 "writes over a file)")
        return parser
    if command == "config":
        parser.add_argument("action", choices=("check", "schema"),
                            help="check: validate FILE and print every effective setting; "
                                 "schema: print the config file's JSON Schema")
        parser.add_argument("file", nargs="?", metavar="FILE",
                            help=f"the config to check (default {DEFAULT_CONFIG})")
        return parser
    if command != "demo":
        parser.add_argument("paths", nargs="*", metavar="PATH",
                            help="database files, directories or globs")
    _sources(parser)
    if command in ("", "demo", "check", "export", "record"):
        parser.add_argument("--interval", type=float, metavar="SECONDS",
                            help="seconds between polls (default 1)")
    if command in ("", "demo"):
        parser.add_argument("--read-only", action="store_true",
                            help="refuse every action that writes (checkpoints, pragmas)")
        parser.add_argument("--collector", choices=("process", "thread"), default="process",
                            help="where polls run: a child process (default; the UI never "
                                 "waits on them) or a thread of the dashboard")
    if command in ("", "demo"):
        parser.add_argument("--record", metavar="FILE",
                            help="also record every poll and action to FILE (waltui replay FILE)")
    if command == "record":
        parser.add_argument("--out", required=True, metavar="FILE",
                            help="the recording to create (never written over)")
        parser.add_argument("--for", dest="duration", metavar="DURATION",
                            help="stop after this long (90, 30s, 10m, 1h30m); default: Ctrl-C")
        _lock_source(parser)
    if command == "demo":
        parser.add_argument("--seed", type=int, default=7, help="the demo's random seed")
        parser.add_argument("--dir", help="where to create the demo databases")
    if command == "snapshot":
        parser.add_argument("--json", action="store_true", help="print JSON (--format json)")
        parser.add_argument("--format", choices=SNAPSHOT_FORMATS,
                            default=None, help="text (default), json, ndjson (one line per "
                                               "database) or prometheus")
        parser.add_argument("--textfile", metavar="DIR",
                            help="write DIR/waltui.prom for node_exporter's textfile collector "
                                 "(atomic rename)")
        parser.add_argument("--watch", action="store_true",
                            help="poll again and again, printing each poll (ndjson)")
        parser.add_argument("--interval", type=float, metavar="SECONDS",
                            help="with --watch: seconds between polls (default 1)")
        parser.add_argument("--count", type=int, metavar="N",
                            help="with --watch: stop after N polls")
        parser.add_argument("--at", metavar="TIME",
                            help="PATH is a recording: the databases as they were at TIME "
                                 "(ISO time, Unix time, or +90s from its start)")
        _lock_source(parser)
    if command == "check":
        parser.add_argument("--json", action="store_true", help="print JSON (--format json)")
        parser.add_argument("--format", choices=CHECK_FORMATS, default=None,
                            help="text (default), json, or nagios: one plugin line with "
                                 "perfdata")
        parser.add_argument("--for", dest="watch_seconds", type=float, default=0.0,
                            metavar="SECONDS",
                            help="watch this long to judge growth (without it, check still "
                                 "takes two samples 1 s apart, to tell a lock held all along "
                                 "from a moment's transaction, and one more to confirm what "
                                 "they found)")
        parser.add_argument("--from", dest="recording", metavar="FILE",
                            help="judge a recording instead: every finding any poll raised")
        parser.add_argument("-w", "--warning", metavar="RANGE",
                            help="also WARNING when the largest -wal in bytes is outside this "
                                 "Nagios range (10, 10:, ~:10, 10:20, @10:20; K M G T for "
                                 "powers of 1024: -w 64M)")
        parser.add_argument("-c", "--critical", metavar="RANGE",
                            help="also CRITICAL when the largest -wal is outside this range "
                                 "(-c 1G)")
        parser.add_argument("-t", "--timeout", type=float, metavar="SECONDS",
                            help="give up after this long: UNKNOWN (exit 3), as a plugin "
                                 "must end before its monitor kills it")
        _lock_source(parser)
    if command == "export":
        parser.add_argument("--listen", default="127.0.0.1:9851", metavar="HOST:PORT",
                            help="where to serve /metrics (default 127.0.0.1:9851, loopback)")
        parser.add_argument("--bearer-token-file", metavar="FILE",
                            help="require `Authorization: Bearer` with the token in FILE")
        parser.add_argument("--basic-auth-file", metavar="FILE",
                            help="require basic auth with the user:password in FILE")
        parser.add_argument("--no-auth", action="store_true",
                            help="serve a non-loopback address without authentication")
        parser.add_argument("--web-config-file", metavar="FILE",
                            help="TLS and basic auth (bcrypt basic_auth_users) in the format "
                                 "of Prometheus's exporter-toolkit, as node_exporter reads it")
        parser.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                            help="also answer requests for this Host name (IP addresses, "
                                 "localhost and this host's names always are)")
        parser.add_argument("--rescan", type=float, default=30.0, metavar="SECONDS",
                            help="look at directory and glob arguments again this often: new "
                                 "databases attached, deleted ones dropped (0: never)")
        _lock_source(parser)
    return parser


COMMON = ("--config", "--queue", "--threshold", "--no-sql", "--debug", "--log-file")


def option_lines(command: str, *, common: bool) -> list[str]:
    """The options of a command: only the shared ones, or only its own."""
    lines = []
    for action in build_parser(command)._actions:
        if not action.option_strings or action.dest in ("help", "version"):
            continue
        if (action.option_strings[0] in COMMON) != common:
            continue
        metavar = action.metavar or ("{" + ",".join(action.choices) + "}"
                                     if action.choices else "")
        takes = "" if action.nargs == 0 else f" {metavar or action.dest.upper()}"
        lines.append(f"  {', '.join(action.option_strings) + takes:<24} {action.help}")
    return lines


def main_help() -> str:
    out = [f"waltui {__version__}: a live dashboard for SQLite databases in WAL mode", "",
           "usage: waltui [OPTIONS] PATH...        " + COMMANDS[""],
           "       waltui COMMAND [OPTIONS] ...", "", "commands:"]
    for command, summary in COMMANDS.items():
        if command:
            out.append(f"  {command:<12} {summary}")
    out += ["", "options of every command but config, completion and examples:",
            *option_lines("", common=True),
            f"  {'-V, --version':<24} print the version and exit (a Nagios plugin's -V too)"]
    for command in COMMANDS:
        if lines := option_lines(command, common=False):
            out += ["", f"options of waltui {command or 'PATH...'} also:", *lines]
    out += ["", "exit codes:"]
    out += [f"  {code:<4} {text}" for code, text in exits.DESCRIPTIONS.items()]
    out += ["", f"config: {DEFAULT_CONFIG} (or --config FILE); waltui config check",
            "keys: press ? in the dashboard; every key is also in the command palette (ctrl+p)",
            "completion: eval \"$(waltui completion bash)\" (also zsh, fish)"]
    return "\n".join(out) + "\n"


def near_command(word: str) -> str | None:
    """A first argument that is no command and no file but looks like a command's name."""
    names = [c for c in COMMANDS if c]
    import difflib  # only for a mistyped command

    near = difflib.get_close_matches(word, names, n=1, cutoff=0.6)
    return near[0] if near else None


