"""`waltui serve`: the dashboard in a browser, through textual-serve (an optional extra).
Each browser tab runs its own dashboard process on pipes, with textual-serve's web driver
named in TEXTUAL_DRIVER. textual-serve has no authentication, so it listens on loopback
unless told otherwise, and an operator reaches it through an SSH tunnel."""

from __future__ import annotations

import shlex
import sys

from waltui.cli.args import COMMANDS, UsageError, build_parser
from waltui.exporters.server import ExportError, is_loopback, parse_listen
from waltui.support import exits
from waltui.units import visible

SERVED = ("", "demo", "replay")  # what a browser tab can show: the dashboard's commands


def served_command(dashboard: list[str]) -> str:
    """The shell command textual-serve runs per tab: this interpreter's waltui with the
    operator's arguments, each quoted (a path can hold anything), checked here first so a
    mistake is said once, not in every tab."""
    words = list(dashboard[1:] if dashboard[:1] == ["--"] else dashboard)
    if not words:
        raise UsageError("waltui serve: say what to show: PATH..., demo, or replay FILE",
                         "usage: waltui serve [--listen HOST:PORT] [--no-auth] PATH...|demo|"
                         "replay FILE\n")
    command = words[0] if words[0] in COMMANDS else ""
    if command not in SERVED:
        raise UsageError(f"waltui serve: {visible(words[0])} has no dashboard to serve; "
                         "serve PATH..., demo or replay FILE", "")
    build_parser(command).parse_args(words[1:] if command else words)
    return shlex.join([sys.executable, "-m", "waltui", *words])


def run_serve(dashboard: list[str], *, listen: str, no_auth: bool) -> int:
    command = served_command(dashboard)
    try:
        host, port = parse_listen(listen)
    except ExportError as exc:
        raise UsageError(f"waltui serve: {exc}", "") from None
    if not is_loopback(host) and not no_auth:
        print(f"waltui serve: {visible(host)} is not loopback, and the browser view has no "
              "authentication: anyone who reaches the port runs the dashboard (its keys "
              "checkpoint and signal processes). Reach it through an SSH tunnel (ssh -L "
              f"{port}:127.0.0.1:{port} HOST), or say --no-auth", file=sys.stderr)
        return exits.USAGE
    try:
        from textual_serve.server import Server
    except ImportError:
        print("waltui serve: needs textual-serve, an optional extra: pip install "
              "'waltui[serve]'", file=sys.stderr)
        return exits.UNAVAILABLE
    print(f"waltui serve: http://{visible(listen)}/ runs `{visible(command)}` per browser tab; "
          "no authentication (Ctrl-C stops)", file=sys.stderr)
    try:
        Server(command, host=host, port=port, title="waltui").serve()
    except OSError as exc:
        print(f"waltui serve: cannot listen on {visible(listen)}: "
              f"{visible(exc.strerror or exc)}", file=sys.stderr)
        return exits.UNAVAILABLE
    return exits.OK
