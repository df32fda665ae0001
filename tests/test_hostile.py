"""Hostile text from files, processes and SQL (tests/data/hostile.json) shown as literal text.

Every name, argument and SQL label of the corpus goes through the CLI, the real app under its
Pilot and a real terminal: no markup is interpreted, no control character reaches the
terminal raw, nothing crashes or freezes, and the visible escape of each is what is shown.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import apsw
import pytest
from textual.widgets import TabbedContent

from tests.conftest import waltui_json
from tests.narrow import some
from tests.test_tmux import WALTUI, Session, needs_tmux, tmux
from tests.test_ui import FAST, open_screen, wait_for
from waltui.ui.app import WaltuiApp
from waltui.ui.screens.detail import DetailScreen
from waltui.ui.screens.dialogs import CheckpointScreen
from waltui.units import visible

pytestmark = pytest.mark.system

CORPUS = json.loads((Path(__file__).parent / "data" / "hostile.json").read_text())
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\ud800-\udfff]")
HOSTILE_NAME = "x\x1b]0;pwned\x07[bold red]y.db"
HOSTILE_ARGV_READER = (
    "import apsw, sys\n"
    "c = apsw.Connection(sys.argv[-1])\n"
    "c.execute('BEGIN'); c.execute('SELECT count(*) FROM t').fetchall()\n"
    "print('ready', flush=True); sys.stdin.read()\n")


def make_database(path: Path, rows: int = 3) -> None:
    """A WAL database under any name the filesystem takes, made under a plain one first
    (SQLite takes its file name as UTF-8 text, so a non-UTF-8 name is given by rename)."""
    os.makedirs(os.fsencode(str(path.parent)), exist_ok=True)
    plain = Path(os.path.dirname(os.fsdecode(os.fsencode(str(path))))) / \
        f"plain-{abs(hash(str(path)))}.db"
    conn = apsw.Connection(str(plain))
    conn.execute("PRAGMA journal_mode=wal").fetchall()
    conn.execute("CREATE TABLE t(x)")
    conn.execute("INSERT INTO t VALUES (1)")
    conn.close()
    os.rename(plain, os.fsencode(str(path)))


def assert_literal(text: str) -> None:
    bad = sorted({f"U+{ord(c):04X}" for c in RAW_CONTROL.findall(text)})
    assert not bad, f"raw control characters reached the output: {bad}"


def test_every_hostile_name_is_shown_literally_by_snapshot_and_check(tmp_path):
    paths = [tmp_path / name for name in CORPUS["names"]]
    for path in paths:
        make_database(path)
    argv = [os.fsencode(str(path)) for path in paths]  # as a shell passes them: bytes
    for command in (["snapshot"], ["check"], ["snapshot", "--json"], ["check", "--json"]):
        out = subprocess.run([sys.executable, "-m", "waltui", *command, *argv],
                             capture_output=True, timeout=60)
        text = out.stdout.decode("utf-8")  # strict: a raw undecodable byte fails here
        assert out.returncode == 0, (command, out.stderr.decode(errors="replace"))
        assert "Traceback" not in out.stderr.decode(errors="replace")
        assert_literal(text)
        if "--json" in command:
            shown = {d["path"] for d in waltui_json(text)["databases"]}
            assert shown == {str(path) for path in paths}  # exact names survive in JSON
        else:
            for name in CORPUS["names"]:
                assert visible(name) in text


def test_a_literal_path_with_glob_characters_is_not_taken_as_a_glob(tmp_path):
    db = tmp_path / "a[b]*?c.db"
    make_database(db)
    make_database(tmp_path / "abc.db")  # what the glob would match instead
    out = subprocess.run([sys.executable, "-m", "waltui", "snapshot", "--json", str(db)],
                         capture_output=True, text=True, timeout=60)
    assert [d["path"] for d in waltui_json(out.stdout)["databases"]] == [str(db)]


@pytest.fixture
def hostile_reader(tmp_path):
    """A live WAL database pinned by a reader whose argv carries every hostile argument."""
    db = tmp_path / "[" / "]" / HOSTILE_NAME
    db.parent.mkdir(parents=True)
    script = tmp_path / "r.py"  # short, so the hostile arguments fit the shown command
    script.write_text(HOSTILE_ARGV_READER)
    writer = apsw.Connection(str(db))
    writer.execute("PRAGMA journal_mode=wal").fetchall()
    writer.execute("PRAGMA wal_autocheckpoint=0").fetchall()
    writer.execute("CREATE TABLE t(x)")
    reader = subprocess.Popen([sys.executable, str(script), *CORPUS["argv"], str(db)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    assert some(reader.stdout).readline().strip() == "ready"
    for i in range(20):
        writer.execute("INSERT INTO t VALUES (?)", (i,))
    yield db, reader
    some(reader.stdin).close()
    reader.wait()
    writer.close()


def test_a_hostile_command_line_is_shown_literally_in_text_output(hostile_reader):
    db, reader = hostile_reader
    out = subprocess.run([sys.executable, "-m", "waltui", "snapshot", str(db)],
                         capture_output=True, timeout=60)
    text = out.stdout.decode("utf-8")
    assert_literal(text)
    assert f"pid {reader.pid}" in text and "\\x1b]0;PWNED\\x07" in text
    assert visible(HOSTILE_NAME) in text


async def test_the_app_shows_hostile_names_and_argv_as_text(tmp_path, hostile_reader):
    db, reader = hostile_reader
    app = WaltuiApp([str(db), str(tmp_path / "[/][bold]missing.db")], FAST)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: len(app.latest) == 2)
        await open_screen(pilot, "c", CheckpointScreen)
        await pilot.press("enter")  # PASSIVE: partial, and its result names the reader
        await wait_for(pilot, lambda: any("PASSIVE checkpoint" in e.text for e in app.events))
        await pilot.press("a")
        await pilot.pause()
        for key in "[/]":
            await pilot.press(key)
        await pilot.press("enter")  # nothing matches: said in the dialog, quoting the text
        await wait_for(pilot, lambda: "no SQLite file matches [/]" in str(
            app.screen.query_one("#attach-matches").render()))
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
        await pilot.press("right", "right", "right")  # the Checkpoints pane: names the reader
        await pilot.pause(0.5)
        assert app.screen.query_one(TabbedContent).active == "tab-checkpoints"
        last = str(app.screen.query_one("#checkpoint-last").render())
        screen = app.export_screenshot()
    assert app.return_code in (None, 0)  # no MarkupError, no crash
    assert "\x1b" not in screen and "\x07" not in screen
    assert "\\x1b]0;PWNED\\x07" in last and f"pid {reader.pid}" in last


@needs_tmux
def test_a_hostile_name_cannot_retitle_a_real_terminal(tmp_path, hostile_reader):
    db, _reader = hostile_reader
    session = Session(f"env TERM=xterm-256color {WALTUI} '{db.parent}'/x*.db; sleep 30")
    try:
        tmux("set-option", "-t", session.name, "allow-rename", "on")
        session.shows("x\\x1b]0;pwned")
        time.sleep(1)
        title = tmux("display", "-p", "-t", session.name, "#{pane_title}")
        assert "pwned" not in title
    finally:
        session.close()


async def test_markup_typed_into_the_filter_is_shown_literally(tmp_path, hostile_reader):
    db, _reader = hostile_reader
    app = WaltuiApp([str(db)], FAST)
    async with app.run_test(size=(100, 24)) as pilot:
        await wait_for(pilot, lambda: str(db) in app.latest)
        await pilot.press("slash", *"[/]")
        await pilot.pause(0.3)
        status = app.screen_stack[0].query_one("#status")
        assert "filter '[/]'" in str(status.render())
        assert app.is_running


def test_y_copies_the_escaped_text_the_screen_shows_not_raw_bytes(tmp_path):
    """A database whose name holds ESC, BEL, a newline and the bracketed-paste end marker:
    `y` in a real tmux (set-clipboard on, so OSC 52 lands in tmux's buffer) copies the name
    as the screen shows it. Pasted into a shell, nothing runs and nothing ends the paste."""
    name = "a\x1b]0;x\x07b\nrm -rf ~\x1b[201~.db"
    db = tmp_path / name
    sqlite3.connect(db).execute("PRAGMA journal_mode=wal").fetchall()
    session = Session(f"env TERM=xterm-256color {WALTUI} {shlex.quote(str(tmp_path))}; "
                      "sleep 30")
    try:
        tmux("set-option", "-g", "set-clipboard", "on")  # the server exists now
        tmux("delete-buffer")
        session.shows("a\\x1b]0;x")
        session.shows(" ok ")
        tmux("send-keys", "-t", session.name, "y")
        deadline = time.monotonic() + 10
        while "rm -rf" not in (copied := tmux("show-buffer")) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        session.close()
    assert copied == visible(str(db)), repr(copied)
    assert not any(c in copied for c in "\x1b\x07\n")
