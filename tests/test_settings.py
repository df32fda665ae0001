"""Choices that last across runs (the XDG state file) and keys remapped in the config,
through the real app on a real database."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from textual.widgets import TabbedContent

from tests.narrow import some
from tests.test_ui import open_screen, wait_for
from waltui.config import Config, ConfigError, load
from waltui.ui.app import WaltuiApp
from waltui.ui.saved_state import state_path
from waltui.ui.screens.detail import DetailScreen
from waltui.ui.screens.dialogs import CheckpointScreen
from waltui.ui.screens.help import HelpScreen


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "agent.db"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=wal")
        conn.execute("CREATE TABLE t(x)")
    return path


async def test_theme_sort_interval_and_pane_last_across_runs(db, own_state_directory):
    app = WaltuiApp([str(db)], Config())
    async with app.run_test(size=(100, 24)) as pilot:
        await wait_for(pilot, lambda: str(db) in app.latest)
        app.theme = "nord"
        await pilot.press("o", "o", "O")  # health, reversed
        await pilot.press("plus")  # 1 s -> 2 s
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
        app.screen.query_one("#tabs", TabbedContent).active = "tab-wal"
        await pilot.pause(0.2)
    saved = json.loads(state_path().read_text())
    assert state_path().is_relative_to(own_state_directory)
    assert (saved["theme"], saved["sort_key"], saved["sort_descending"], saved["interval"],
            saved["detail_pane"]) == ("nord", "health", False, 2.0, "tab-wal")

    again = WaltuiApp([str(db)], Config())
    async with again.run_test(size=(100, 24)) as pilot:
        await wait_for(pilot, lambda: str(db) in again.latest)
        await pilot.pause(0.1)
        assert again.theme == "nord"
        assert again.collector.interval == 2.0
        table = some(again.overview_table)
        assert (table.sort_key, table.sort_descending) == ("health", False)
        await wait_for(pilot, lambda: "by health ▲" in str(
            again.screen.query_one("#status").render()))  # after the restored sort's message
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(again.screen, DetailScreen))
        assert again.screen.query_one("#tabs", TabbedContent).active == "tab-wal"


async def test_an_interval_given_on_the_command_line_beats_the_saved_one(db):
    state_path().parent.mkdir(parents=True)
    state_path().write_text(json.dumps({"version": 1, "interval": 5.0}))
    chosen = load(None, interval=0.5)
    app = WaltuiApp([str(db)], chosen)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.1)
        assert app.collector.interval == 0.5
    unchosen = WaltuiApp([str(db)], load(None))
    async with unchosen.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.1)
        assert unchosen.collector.interval == 5.0


@pytest.mark.parametrize("content", ["{not json", '{"version": 99, "theme": "nord"}',
                                     '{"version": 1, "theme": 7, "interval": -1}', "[]"])
async def test_a_bad_state_file_is_ignored(db, content):
    state_path().parent.mkdir(parents=True)
    state_path().write_text(content)
    app = WaltuiApp([str(db)], Config())
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: str(db) in app.latest)
        assert app.theme == "textual-dark"
        assert app.collector.interval == 1.0


async def test_an_unwritable_state_directory_is_said_once(db, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    monkeypatch.setenv("XDG_STATE_HOME", str(blocker))
    app = WaltuiApp([str(db)], Config())
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: str(db) in app.latest)
        await pilot.press("plus", "plus")
        notes = [e.text for e in app.events if "settings not saved" in e.text]
        assert len(notes) == 1 and str(blocker) in notes[0]
        assert app.collector.interval == 5.0  # the dashboard goes on


def write_config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "waltui.toml"
    path.write_text(text)
    return str(path)


async def test_keys_remapped_in_the_config(db, tmp_path):
    config = load(write_config(tmp_path, '[keys]\ncheckpoint = "C"\nhelp = "f1"\n'))
    app = WaltuiApp([str(db)], config)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: str(db) in app.latest)
        await pilot.press("c")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, CheckpointScreen)  # c no longer checkpoints
        await open_screen(pilot, "C", CheckpointScreen)
        await pilot.press("escape")
        await open_screen(pilot, "f1", HelpScreen)
        keys = str(app.screen.query_one("#help-keys").render())
        assert "  C " in keys and "  f1 " in keys
        assert "[checkpoint]" in keys and "[kill]" in keys  # the names [keys] takes
        palette = {c.title: c.help for c in app.get_system_commands(app.screen)}
        assert palette["Checkpoint (PASSIVE, FULL, RESTART, TRUNCATE)"] == \
            "key: C · [keys] checkpoint"  # the key as remapped, not the default c


@pytest.mark.parametrize("table, says", [
    ('checkpoint = "q"', "'q' would be both checkpoint and quit"),
    ('chekpoint = "C"', "keys.chekpoint: no such action; did you mean checkpoint? known:"),
    ('zzz = "C"', "keys.zzz: no such action; known: "),
    ('checkpoint = ""', "keys.checkpoint: got ''"),
    ('help = "/"', "'slash' would be both filter and help"),
])
def test_a_bad_remap_is_refused_when_the_config_is_read(tmp_path, table, says):
    with pytest.raises(ConfigError) as caught:
        load(write_config(tmp_path, f"[keys]\n{table}\n"))
    assert says in str(caught.value)


def test_xdg_variables_that_are_empty_or_relative_are_ignored(tmp_path, monkeypatch):
    """The XDG spec: empty means unset, and a relative path is invalid. An empty
    XDG_CONFIG_HOME read ./waltui/config.toml from wherever waltui was started."""
    import subprocess
    import sys

    from waltui.support.state_dir import config_dir, state_dir

    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    for value in ("", "relative/dir", "."):
        monkeypatch.setenv("XDG_CONFIG_HOME", value)
        monkeypatch.setenv("XDG_STATE_HOME", value)
        assert config_dir() == str(home / ".config" / "waltui")
        assert state_dir() == str(home / ".local" / "state" / "waltui")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert config_dir() == str(tmp_path / "xdg" / "waltui")
    here = tmp_path / "cwd"
    (here / "waltui").mkdir(parents=True)
    (here / "waltui" / "config.toml").write_text("interval = 7\n")
    out = subprocess.run([sys.executable, "-m", "waltui", "config", "check"], cwd=here,
                         env={**os.environ, "XDG_CONFIG_HOME": "", "HOME": str(home),
                              "PYTHONPATH": str(Path(__file__).parent.parent)},
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    interval = next(line for line in out.stdout.splitlines() if line.startswith("interval"))
    assert "7" not in interval and "default" in interval


def test_under_sudo_each_operator_keeps_their_own_dashboard_choices(monkeypatch, tmp_path):
    """root's home is every sudoer's: the saved theme and sort are kept per SUDO_USER."""
    from waltui.ui.saved_state import state_path

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    monkeypatch.delenv("SUDO_USER", raising=False)
    assert state_path() == tmp_path / "waltui" / "ui.json"
    if os.geteuid() != 0:
        pytest.fail("the suite runs as root (CI does): this is sudo's case")
    monkeypatch.setenv("SUDO_USER", "alice")
    assert state_path() == tmp_path / "waltui" / "sudo" / "alice" / "ui.json"
    monkeypatch.setenv("SUDO_USER", "../../etc")  # a name is a name, never a path
    assert state_path() == tmp_path / "waltui" / "ui.json"


@pytest.mark.parametrize("sql, says", [
    ("DELETE FROM queue", "queues.pending: it is DELETE; a queue query is one SELECT"),
    ("SELECT 1; DELETE FROM queue", "queues.pending: it is 2 statements; a queue query is one"),
    ("WITH done AS (SELECT 1) DELETE FROM queue", "queues.pending: it is DELETE"),
    ("PRAGMA wal_checkpoint", "queues.pending: it is PRAGMA"),
    ("-- only a comment", "queues.pending: it is empty"),
])
def test_a_queue_query_that_would_not_read_is_refused_when_the_config_is_read(tmp_path, sql,
                                                                               says):
    """Every poll would refuse it (the authorizer); the config says so first, with the
    reason, before any database is opened."""
    with pytest.raises(ConfigError) as caught:
        load(write_config(tmp_path, f"[queues]\npending = {json.dumps(sql)}\n"))
    assert says in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        load(None, queue_specs=[f"pending={sql}"])
    assert str(caught.value).startswith("--queue pending: it is")


@pytest.mark.parametrize("sql", [
    "SELECT count(*) FROM queue WHERE state = 'new; DELETE'",
    "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n LIMIT 5) SELECT sum(x) FROM n",
    "VALUES (3)",
    "/* depth; */ SELECT count(*) FROM \"delete\";",
])
def test_a_queue_query_that_reads_is_taken_as_written(tmp_path, sql):
    [query] = load(write_config(tmp_path, f"[queues]\npending = {json.dumps(sql)}\n")).queries
    assert query.sql == sql


@pytest.mark.parametrize("sql, clock", [
    ("SELECT count(*) FROM queue WHERE state = 'pending'", False),
    ("SELECT count(*) FROM jobs WHERE run_at <= unixepoch()", True),
    ("SELECT count(*) FROM jobs WHERE due < datetime('now')", True),
    ("SELECT count(*) FROM jobs WHERE due < CURRENT_TIMESTAMP", True),
    ("SELECT count(*) FROM jobs WHERE abs(random()) % 2", True),
    ("SELECT count(*) FROM jobs WHERE note = 'datetime(now)'", False),  # a string, not a call
])
def test_a_query_that_reads_the_clock_is_told_from_one_that_does_not(sql, clock):
    from waltui.support.sql_words import reads_the_clock

    assert reads_the_clock(sql) is clock
