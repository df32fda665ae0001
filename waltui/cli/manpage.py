"""waltui(1), generated from the same parsers as --help and the completions, so the man page
cannot disagree with the program. `python -m waltui.cli.manpage` writes docs/waltui.1; a
test keeps that file equal to this and checks it with `groff -man -ww`."""

from __future__ import annotations

import argparse
from pathlib import Path

from waltui import __version__
from waltui.cli.args import COMMANDS, COMMON, build_parser
from waltui.config import DEFAULT_CONFIG
from waltui.support import exits

MAN_FILE = Path(__file__).resolve().parent.parent.parent / "docs" / "waltui.1"


def roff(text: str) -> str:
    """Text as roff reads it literally: backslashes and hyphens escaped, no line starting
    with a control character."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\\&" + text if text.startswith((".", "'")) else text


def _option(action: argparse.Action) -> list[str]:
    names = ", ".join(f"\\fB{roff(name)}\\fR" for name in action.option_strings)
    metavar = action.metavar or ("{" + ",".join(action.choices) + "}"
                                 if action.choices else action.dest.upper())
    takes = "" if action.nargs == 0 else f" \\fI{roff(str(metavar))}\\fR"
    return [".TP", names + takes, roff(action.help or "")]


def _options(command: str, *, common: bool) -> list[str]:
    lines: list[str] = []
    for action in build_parser(command)._actions:
        if not action.option_strings or action.dest in ("help", "version"):
            continue
        if (action.option_strings[0] in COMMON) == common:
            lines += _option(action)
    return lines


def manpage() -> str:
    out = [f'.TH WALTUI 1 "" "waltui {__version__}" "User Commands"',
           ".SH NAME", "waltui \\- a live dashboard for SQLite databases in WAL mode",
           ".SH SYNOPSIS",
           ".B waltui", "[\\fIOPTIONS\\fR] \\fIPATH\\fR...", ".br",
           ".B waltui", "\\fICOMMAND\\fR [\\fIOPTIONS\\fR] ...",
           ".SH DESCRIPTION",
           roff("waltui polls SQLite databases in WAL mode for -wal and -shm size and growth, "
                "frames not yet checkpointed, lock holders and the readers that pin the WAL, "
                "queue depth and health findings, without writing to them or pinning their "
                "WAL. Anything that writes happens only on an explicit key press."),
           ".SH COMMANDS"]
    for command, summary in COMMANDS.items():
        out += [".TP", f"\\fBwaltui {roff(command)}\\fR" if command else
                "\\fBwaltui\\fR \\fIPATH\\fR...", roff(summary)]
    out += [".SH OPTIONS", roff("Of every command but config, completion and examples:"),
            *_options("", common=True),
            ".TP", "\\fB\\-V\\fR, \\fB\\-\\-version\\fR", "print the version and exit"]
    for command in COMMANDS:
        if own := _options(command, common=False):
            out += [".SS " + (f"waltui {roff(command)}" if command else "waltui PATH..."), *own]
    out += [".SH EXIT STATUS"]
    for code, text in exits.DESCRIPTIONS.items():
        out += [".TP", f"\\fB{code}\\fR", roff(text)]
    out += [".SH FILES", ".TP", f"\\fI{roff(DEFAULT_CONFIG)}\\fR",
            roff("the config file (TOML); waltui config check validates it, waltui config "
                 "schema prints its JSON Schema"),
            ".SH ENVIRONMENT", ".TP", "\\fBWALTUI_LOG\\fR=debug", roff("log more, as --debug"),
            ".TP", "\\fBXDG_CONFIG_HOME\\fR, \\fBXDG_STATE_HOME\\fR",
            roff("where the config file and the dashboard's saved choices live (empty or "
                 "relative values are ignored; under sudo, the invoking user's)"),
            ".SH SEE ALSO", "\\fBsqlite3\\fR(1)"]
    # The path in FILES is this user's default; the page says the portable one.
    return "\n".join(out).replace(roff(DEFAULT_CONFIG), "~/.config/waltui/config.toml") + "\n"


if __name__ == "__main__":
    MAN_FILE.write_text(manpage())
    print(MAN_FILE)
