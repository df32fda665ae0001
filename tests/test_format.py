"""How readings are worded in the narrow cells of an 80-column overview."""

from __future__ import annotations

import pytest

from waltui.units import short_command, who


@pytest.mark.parametrize(("cmdline", "short"), [
    ("/usr/bin/python3 -m waltui.cli.demo_agent hog /tmp/d/agent.db", "demo_agent hog agent.db"),
    ("python3.11 -u -m app.worker q.db", "worker q.db"),
    ("node /srv/app/server.js", "server.js"),
    ("/usr/bin/sqlite3 /srv/q.db", "sqlite3 q.db"),  # not an interpreter: kept
    ("python", "python"),  # nothing after the interpreter: kept
])
def test_program_first_drops_the_interpreter_and_its_flags(cmdline: str, short: str) -> None:
    assert short_command(cmdline, program_first=True) == short


def test_commands_are_cut_to_width_with_an_ellipsis() -> None:
    assert short_command("/usr/bin/python3 -m waltui.cli.demo_agent hog a.db", 14,
                         program_first=True) == "demo_agent ho…"
    assert short_command("/usr/bin/python3 agent.py") == "python3 agent.py"


def test_every_message_names_a_process_the_same_way() -> None:
    """The program without its directory; its arguments as given: the database path is what
    tells sqlite3 agents/alpha/state.db from sqlite3 agents/beta/state.db."""
    assert who(4121, "/usr/bin/python3 agent.py /srv/q.db") == \
        "pid 4121 `python3 agent.py /srv/q.db`"
    assert who(7, "sqlite3 agents/alpha/state.db") == "pid 7 `sqlite3 agents/alpha/state.db`"
    assert who(4121, None) == "pid 4121"  # gone before its details were read


def test_a_long_command_keeps_the_tails_of_its_paths_before_it_is_cut() -> None:
    long = "/usr/bin/python3 /srv/agents/alpha/worker.py --db=/srv/agents/alpha/state.db -v"
    assert short_command(long, 52) == "python3 …/alpha/worker.py --db=…/alpha/state.db -v"
    assert short_command(long, 38) == "python3 …/worker.py --db=…/state.db -v"  # then one part
    assert short_command(long, 30) == "python3 …/worker.py --db=…/st…"  # then cut
    assert short_command("") == ""


def test_same_named_databases_are_told_apart_by_the_same_name_everywhere() -> None:
    """naming.DatabaseNames gives the table, the log, dialogs and toasts one name per
    database; a detached one keeps the name its log lines were written with."""
    from waltui.naming import DatabaseNames

    names = DatabaseNames()
    names.add("/srv/agents/alpha/state.db")
    assert names.of("/srv/agents/alpha/state.db") == "state.db"
    names.add("/srv/agents/beta/state.db")
    assert names.all() == {"/srv/agents/alpha/state.db": "alpha/state.db",
                           "/srv/agents/beta/state.db": "beta/state.db"}
    names.remove("/srv/agents/beta/state.db")
    assert names.of("/srv/agents/alpha/state.db") == "state.db"
    assert names.of("/srv/agents/beta/state.db") == "beta/state.db"
    assert names.of("/elsewhere/q\x1b[31m.db") == "q\\x1b[31m.db"  # never attached: visible


def test_text_that_is_printable_needs_no_escape_so_visible_may_skip_its_search():
    """visible() returns printable text as it is, without its search: that holds only while
    no character it escapes is printable, which every code point here checks."""
    import re

    from waltui import units

    for newlines in (False, True):
        escaped = re.compile(units._PATTERNS[newlines])
        assert not [c for c in map(chr, range(0x110000)) if c.isprintable() and escaped.match(c)]
    assert units.visible("agent\u202e.db\x1b[2J") == "agent\\u202e.db\\x1b[2J"
    assert units.visible("q\u200b.db") == "q\u200b.db"  # not printable, not in the set
