"""The real Textual app driven by its Pilot, polling real databases held by real processes."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import pytest
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Input, OptionList, Static, TabbedContent

from waltui.collector import Poller, Readings
from waltui.config import Config
from waltui.ui.app import WaltuiApp
from waltui.ui.keymap import KEYS
from waltui.ui.messages import PollResults
from waltui.ui.screens.detail import DetailScreen
from waltui.ui.screens.dialogs import CheckpointScreen, ConfirmScreen
from waltui.ui.screens.integrity import IntegrityScreen
from waltui.ui.screens.overview import OverviewScreen
from waltui.ui.screens.pragmas import PragmaScreen
from waltui.ui.widgets.event_log import EventLog
from waltui.ui.widgets.overview_table import OverviewTable

pytestmark = pytest.mark.system

FAST = Config(interval=0.2)
ScreenT = TypeVar("ScreenT", bound=Screen[Any])


async def wait_for(pilot, condition: Callable[[], object], timeout: float = 8.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await pilot.pause(0.05)


async def wait_screen(pilot, kind: type[ScreenT]) -> ScreenT:
    """The screen on top once it is a ``kind``."""
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, kind))
    screen = pilot.app.screen
    assert isinstance(screen, kind)
    return screen


async def open_screen(pilot, key: str, kind: type[ScreenT]) -> ScreenT:
    """Press the key that opens a screen; return it once mounted (its focus and highlight set)."""
    await pilot.press(key)
    screen = await wait_screen(pilot, kind)
    await pilot.pause()
    return screen


def cell(app: WaltuiApp, path: Path, column: str) -> str:
    """A cell as the table shows it; a column that gave way on this width, as its one
    definition in waltui.ui.columns would show it."""
    from waltui.ui.columns import COLUMNS
    from waltui.ui.palette import PLAIN

    table = app.screen_stack[0].query_one(OverviewTable)
    if column in [c.key for c in table.shown_columns]:
        return str(table.get_cell(str(path), column))
    definition = next(c for c in COLUMNS if c.key == column)
    return str(definition.cell(app.latest[str(path)], table.name_of(str(path)), PLAIN))


async def test_attach_and_detach_while_running(live_db):
    db, _app = live_db
    app = WaltuiApp([], FAST)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        await pilot.pause()
        await pilot.press(*str(db), "enter")
        await wait_for(pilot, lambda: str(db) in app.latest)
        table = app.screen.query_one(OverviewTable)
        assert table.row_count == 1 and cell(app, db, "health") == "ok"
        await pilot.press("d")
        await pilot.pause()
        assert table.row_count == 0 and not app.attached
        # Only this database's comings and goings: on a busy machine the log may also say
        # that polls were late and arrive again.
        assert [e.text for e in app.events if e.text in ("attached", "detached")][-2:] == [
            "attached", "detached"]
        assert "u attaches it again" in str(app.screen.query_one("#status", Static).render())
        await pilot.press("u")  # a detach by mistake: undone
        await wait_for(pilot, lambda: str(db) in app.latest and table.row_count == 1)
        assert list(app.attached) == [str(db)]


def test_a_poll_that_lands_during_start_up_is_shown(live_db):
    """The first poll can arrive before the overview table has mounted; it once killed the
    message loop (the table had no columns yet). An auto-pilot runs as early as start-up
    allows, earlier than run_test hands over, so it posts the poll there."""
    db, _app = live_db
    poller = Poller(FAST)
    poller.attach(str(db))
    updates = Readings().apply_changes(poller.poll_once())
    poller.close()
    app = WaltuiApp([str(db)], FAST, poll=False)
    seen: list[str] = []

    async def early_poll(pilot) -> None:
        app.post_message(PollResults(updates))
        await wait_for(pilot, lambda: app.screen.query("FooterKey"), timeout=3)
        seen.extend((cell(app, db, "health"), cell(app, db, "pending")))
        app.exit()

    app.run(headless=True, size=(80, 24), auto_pilot=early_poll)
    assert seen == ["ok", str(updates[0].reading.frames_pending)]


@pytest.fixture
def pinned_reader(live_db, spawn):
    """A live database, and a reader whose transaction pins it while the writer goes on."""
    db, app_helper = live_db
    reader = spawn(db)
    reader.do("begin_read")
    app_helper.do("insert 40")
    return db, app_helper, reader


async def test_pinned_reader_is_named_in_the_locks_pane(pinned_reader):
    db, app_helper, reader = pinned_reader
    app = WaltuiApp([str(db)], FAST)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: str(db) in app.latest)
        assert cell(app, db, "pin").startswith(str(reader.pid))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
        sentence = app.screen.query_one("#pin-sentence", Static)
        await wait_for(pilot, lambda: f"pid {reader.pid}" in str(sentence.render()))
        text = str(sentence.render())
        mark = app.latest[str(db)].reading.pins[0].read_mark
        assert f"the checkpoint cannot pass frame {mark}" in text
        tabs = app.screen.query_one(TabbedContent)
        await pilot.press("right", "right", "right")  # the tab bar has the focus on entry
        assert tabs.active == "tab-checkpoints"
        await pilot.press("escape")
        assert not isinstance(app.screen, DetailScreen)


async def test_bad_file_gets_an_error_row_beside_healthy_ones(live_db, tmp_path):
    db, _app = live_db
    junk = tmp_path / "junk.db"
    junk.write_text("this is not a database")
    missing = tmp_path / "missing.db"
    app = WaltuiApp([str(db), str(junk), str(missing)], FAST)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: len(app.latest) == 3)
        first = app.readings.batches  # the others go on being polled
        await wait_for(pilot, lambda: app.readings.batches > first + 1
                       and app.readings.last_batch is not None
                       and app.readings.last_batch.polled == 3)
        assert cell(app, junk, "health") == "ERR not_sqlite"
        assert cell(app, missing, "health") == "ERR missing"
        assert cell(app, db, "health") == "ok"
        assert any("not an SQLite database" in e.text for e in app.events)


async def test_many_databases_rows_scrolled_into_view_are_current(live_db, spawn, tmp_path):
    """Only rows on screen are redrawn per poll; one scrolled to must show the newest reading."""
    db, app_helper = live_db
    quiet = []
    for i in range(40):
        path = tmp_path / f"quiet-{i:02d}.db"
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("CREATE TABLE t(x)")
        quiet.append(str(path))
    reader = spawn(db)
    reader.do("begin_read")
    app_helper.do("insert 40")
    app = WaltuiApp([*quiet, str(db)], FAST)  # the pinned database is the last of 41 rows
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: len(app.latest) == 41)
        await pilot.press("space")  # paused: no later poll may be what brings the row up to date
        await pilot.pause(0.6)
        assert cell(app, db, "pin") == "…"  # off screen: not formatted yet
        await pilot.press("end")
        await pilot.pause()
        assert cell(app, db, "pin").startswith(str(reader.pid))
        table = app.screen.query_one(OverviewTable)
        assert table.selected_path == str(db)
        await pilot.press("slash", *"agent", "enter")
        assert table.row_count == 1 and table.selected_path == str(db)
        assert cell(app, db, "pin").startswith(str(reader.pid))


async def test_interval_and_pause_keys(live_db):
    db, _app = live_db
    app = WaltuiApp([str(db)], Config(interval=1.0))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: str(db) in app.latest)
        await pilot.press("minus", "minus", "minus")
        assert app.collector.interval == 0.25
        await pilot.press("plus")
        assert app.collector.interval == 0.5
        await pilot.press("space")
        assert app.collector.paused
        await pilot.pause(0.6)  # let a poll already under way land
        frozen = app.readings.batches
        await pilot.pause(1.2)
        assert app.readings.batches == frozen
        assert "PAUSED" in str(app.screen.query_one("#status", Static).render())
        await pilot.press("space")
        await wait_for(pilot, lambda: app.readings.batches > frozen)


async def test_help_and_palette_list_every_binding():
    app = WaltuiApp([], FAST, poll=False)
    async with app.run_test(size=(80, 40)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        shown = str(app.screen.query_one("#help-keys", Static).render())
        for key in KEYS:
            assert key.description in shown and key.label in shown
        palette = {c.title for c in app.get_system_commands(app.screen)}
        assert {k.description for k in KEYS
                if k.action not in ("open_detail", "back") and not k.replay} <= palette
        assert not {k.description for k in KEYS if k.replay} & palette  # live: no replay keys
        bound = {b.key for b in app.BINDINGS}
        assert bound == {k.key for k in KEYS}


async def test_checkpoint_from_the_keyboard(live_db):
    db, _app = live_db
    app = WaltuiApp([str(db)], FAST)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: str(db) in app.latest)
        await open_screen(pilot, "c", CheckpointScreen)
        await pilot.press("down", "down", "down", "enter")  # TRUNCATE
        await wait_for(pilot, lambda: any("TRUNCATE checkpoint done" in e.text
                                          for e in app.events))
        await wait_for(pilot, lambda: cell(app, db, "ckpt") == "done")
        assert Path(f"{db}-wal").stat().st_size == 0


async def test_integrity_check_says_what_it_pins_and_can_be_cancelled(live_db):
    db, app_helper = live_db
    # enough rows and an index that a full check runs for seconds, not milliseconds
    app_helper.do("sql CREATE INDEX payload_index ON queue(payload)")
    app_helper.do("sql WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n "
                  "WHERE k < 300000) INSERT INTO queue(payload) SELECT hex(randomblob(60)) FROM n")
    app = WaltuiApp([str(db)], FAST)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: str(db) in app.latest)
        index = app.latest[str(db)].reading.wal_index
        assert index is not None
        max_frame = index.max_frame

        async def start_full_check() -> IntegrityScreen:
            screen = await open_screen(pilot, "i", IntegrityScreen)
            await pilot.press("down")
            # Enter's own handler, called directly: pilot.press waits while the process is
            # busy (up to 1 s, and the check is), and the check must still run when x lands
            screen.query_one(OptionList).action_select()
            await wait_for(pilot, lambda: screen.check is not None
                           and screen.check.progress_steps > 0)
            return screen

        screen = await start_full_check()
        assert f"pins the WAL at frame {max_frame}" in str(
            screen.query_one("#progress", Static).render())
        await pilot.press("x")
        await wait_for(pilot, lambda: screen.outcome == "cancelled", timeout=3)
        await wait_for(pilot, lambda: any(e.text.startswith("integrity_check: cancelled after")
                                          for e in app.events))
        assert screen.query_one(OptionList).display  # the checks come back: run again
        screen.query_one(OptionList).action_select()
        await wait_for(pilot, lambda: screen.check is not None)
        await pilot.press("x")
        await wait_for(pilot, lambda: screen.outcome == "cancelled" and screen.check is None,
                       timeout=3)
        await pilot.press("escape")
        screen = await open_screen(pilot, "i", IntegrityScreen)
        await pilot.press("enter")  # quick_check, left to finish
        await wait_for(pilot, lambda: screen.outcome is not None, timeout=30)
        assert screen.outcome == "ok"
        shown = str(screen.query_one("#progress", Static).render())
        assert shown.startswith("quick_check: ok, no problem found (") and "ok\nok" not in shown
        assert any(e.text.startswith("quick_check: ok, no problem found (") for e in app.events)
        await pilot.press("escape")
        await start_full_check()
        await pilot.press("escape")  # closing the dialog stops the check, and the log says so
        await wait_for(pilot, lambda: any(
            e.text == "integrity_check: cancelled (dialog closed)" for e in app.events))


async def test_pragma_panel_changes_only_waltuis_connection_and_cancel_writes_nothing(
        live_db):
    db, app_helper = live_db
    app = WaltuiApp([str(db)], FAST)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: str(db) in app.latest)
        panel = await open_screen(pilot, "p", PragmaScreen)
        table = panel.query_one("#pragma-table", DataTable)
        await wait_for(pilot, lambda: table.row_count > 0)

        async def change(name: str, value: str) -> ConfirmScreen:
            table.move_cursor(row=table.get_row_index(name))
            await pilot.press("enter", *value, "enter")
            return await wait_screen(pilot, ConfirmScreen)

        dialog = await change("journal_mode", "delete")
        assert "into the database file" in str(dialog.body)
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is panel)
        await pilot.pause(0.3)
        assert Path(db).read_bytes()[18:20] == b"\x02\x02"  # still WAL: nothing written
        assert not any("journal_mode" in e.text for e in app.events)

        dialog = await change("busy_timeout", "4321")
        assert "waltui's own connection only" in str(dialog.body)
        await pilot.press("y")
        await wait_for(pilot, lambda: any("busy_timeout" in e.text for e in app.events))
    assert app_helper.do("sql PRAGMA busy_timeout") == [[0]]  # the application's is untouched


async def test_read_only_refuses_checkpoint_and_recovery_keys(live_db):
    db, _app = live_db
    size = Path(f"{db}-wal").stat().st_size
    app = WaltuiApp([str(db)], Config(interval=0.2, read_only=True))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: str(db) in app.latest)
        await pilot.press("c")
        await pilot.press("R")
        await pilot.pause()
        assert not isinstance(app.screen, CheckpointScreen)
        refusals = [e.text for e in app.events if "refused" in e.text]
        assert len(refusals) == 2 and all("--read-only" in r for r in refusals)
    assert Path(f"{db}-wal").stat().st_size == size


@pytest.mark.parametrize("transport", ["process", "thread"])
async def test_quit_stops_the_collector_and_every_worker(live_db, transport):
    db, _app = live_db
    app = WaltuiApp([str(db)], FAST, transport=transport)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: str(db) in app.latest)
        assert app.collector.running
        started = time.monotonic()
        await pilot.press("q")
    deadline = time.monotonic() + 2
    while app.collector.running and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert not app.collector.running and time.monotonic() - started < 2
    if transport == "thread":
        assert app.collector.collector.poller.states == {}  # every observer closed its fds
    else:
        assert app.collector.process.returncode == 0  # it stopped, it was not killed
    assert all(w.is_finished for w in app.workers)


async def test_a_rule_that_raises_for_one_database_ends_nothing(live_db, tmp_path, spawn):
    """A bug in one rule, hit by one database: that database shows it, the dashboard and the
    other databases go on (the app used to exit with WorkerFailed)."""
    from waltui.health import RULES

    db, _app = live_db
    other = tmp_path / "other.db"
    spawn(other).do("wal")

    def broken(reading, history, thresholds):
        if reading.path == str(db):
            raise ZeroDivisionError("a bug in a rule")
        return iter(())

    RULES.append(broken)
    try:
        # in this process: the rule is patched in here, not in a collector child
        app = WaltuiApp([str(db), str(other)], FAST, transport="thread")
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: app.readings.batches >= 3 and all(
                p in app.latest for p in (str(db), str(other))))
            assert [f.code for f in app.latest[str(db)].findings] == ["rule_failed"]
            assert "ZeroDivisionError: a bug in a rule" in app.latest[str(db)].findings[0].evidence
            assert app.latest[str(other)].findings == ()
            assert app.is_running
    finally:
        RULES.remove(broken)


async def test_databases_with_one_name_are_told_apart(tmp_path):
    """x/state.db and y/state.db, and two long names that differ only at the end: each row
    shows the shortest path suffix that is unique, cut in the middle when too long."""
    paths = []
    for name in ("x/state.db", "y/state.db", "q/agent-queue-worker-0001.sqlite3",
                 "q/agent-queue-worker-0002.sqlite3"):
        path = tmp_path / name
        path.parent.mkdir(exist_ok=True)
        sqlite3.connect(path).execute("PRAGMA journal_mode=wal").fetchall()
        paths.append(path)
    app = WaltuiApp([str(p) for p in paths], FAST)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: len(app.latest) == 4)
        await pilot.pause(0.3)
        names = [cell(app, p, "name") for p in paths]
    assert names[:2] == ["x/state.db", "y/state.db"]
    assert names[2] != names[3] and all(len(n) <= 24 for n in names)
    assert names[2].endswith("0001.sqlite3") and "…" in names[2]


def row_order(app: WaltuiApp) -> list[str]:
    table = app.screen_stack[0].query_one(OverviewTable)
    from textual.coordinate import Coordinate
    return [str(table.coordinate_to_cell_key(Coordinate(i, 0)).row_key.value)
            for i in range(table.row_count)]


async def test_sort_is_kept_as_polls_come_in_shown_and_reversible(tmp_path, spawn):
    helpers = {}
    for name, rows in (("small", 10), ("middle", 200), ("large", 600)):
        db = tmp_path / f"{name}.db"
        helper = spawn(db)
        helper.do("wal")
        helper.do("setup")
        helper.do(f"insert {rows}")
        helpers[name] = (db, helper)
    app = WaltuiApp([str(db) for db, _ in helpers.values()], FAST)
    async with app.run_test(size=(100, 24)) as pilot:
        await wait_for(pilot, lambda: len(app.latest) == 3)
        for _ in range(3):  # name, health, -wal
            await pilot.press("o")
        status = app.screen_stack[0].query_one("#status", Static)
        assert "by -wal ▼" in str(status.render())
        by_size = [str(helpers[n][0]) for n in ("large", "middle", "small")]
        assert row_order(app) == by_size
        helpers["small"][1].do("insert 2000")  # small becomes the largest -wal
        await wait_for(pilot, lambda: row_order(app)[0] == str(helpers["small"][0]),
                       timeout=10)  # re-sorted by the polls, no key pressed
        await pilot.press("O")
        assert "by -wal ▲" in str(status.render())
        assert row_order(app)[-1] == str(helpers["small"][0])
        await pilot.click(OverviewTable, offset=(2, 0))  # the "database" header
        await pilot.pause(0.2)
        assert "by database ▲" in str(status.render())
        assert row_order(app) == sorted(row_order(app), key=lambda p: p.rsplit("/", 1)[1])


@pytest.fixture
def held_write_lock(live_db, spawn):
    """A live database, and a second process holding its write lock (BEGIN IMMEDIATE)."""
    db, app_helper = live_db
    holder = spawn(db)
    holder.do("begin_write")
    return db, app_helper, holder


def sees_writer(app: WaltuiApp, db: Path, pid: int) -> Callable[[], bool]:
    return lambda: str(db) in app.latest and app.latest[str(db)].reading.writer_pid == pid


async def test_the_culprit_is_signalled_after_confirmation_and_its_locks_go(held_write_lock):
    db, app_helper, holder = held_write_lock
    app = WaltuiApp([str(db)], FAST)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, sees_writer(app, db, holder.pid))
        confirm = await open_screen(pilot, "k", ConfirmScreen)
        assert f"Send SIGTERM to pid {holder.pid}" in confirm.title_text
        assert "the write lock" in confirm.body and "nothing it committed is" in confirm.body
        assert confirm.hint.endswith("(nothing is sent)")  # a signal is sent, not written
        await pilot.press("y")
        await wait_for(pilot, lambda: holder.proc.poll() is not None)
        await wait_for(pilot, lambda: app.latest[str(db)].reading.writer_pid is None)
        assert holder.pid not in app.latest[str(db)].reading.open_by  # its locks went
        assert any(f"sent SIGTERM to pid {holder.pid}" in e.text for e in app.events)


async def test_sigkill_asks_twice_and_a_no_sends_nothing(pinned_reader):
    db, _app, reader = pinned_reader
    app = WaltuiApp([str(db)], FAST)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: str(db) in app.latest and app.latest[str(db)].reading.pins)
        await open_screen(pilot, "K", ConfirmScreen)
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen)
                       and app.screen.title_text.startswith("Really: Send SIGKILL"))
        await pilot.press("n")  # the second answer is no: nothing is sent
        await pilot.pause(0.3)
        assert reader.proc.poll() is None
        await open_screen(pilot, "K", ConfirmScreen)
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen)
                       and app.screen.title_text.startswith("Really: Send SIGKILL"))
        await pilot.press("y")
        await wait_for(pilot, lambda: reader.proc.poll() is not None)
        assert reader.proc.returncode == -9


async def test_signals_are_refused_under_read_only(held_write_lock):
    db, _app, holder = held_write_lock
    app = WaltuiApp([str(db)], Config(interval=0.2, read_only=True))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: str(db) in app.latest)
        await pilot.press("k")
        await pilot.pause(0.3)
        assert not isinstance(app.screen, ConfirmScreen)
        assert holder.proc.poll() is None
        assert any("SIGTERM refused" in e.text for e in app.events)


async def test_a_holder_chosen_in_the_locks_pane_is_the_one_asked_about(held_write_lock):
    db, app_helper, holder = held_write_lock
    app = WaltuiApp([str(db)], FAST)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, sees_writer(app, db, holder.pid))
        await pilot.press("enter")
        detail = await wait_screen(pilot, DetailScreen)
        await pilot.press("tab")  # into the Locks table: the writer's row comes first
        await pilot.pause(0.3)

        def chosen_pid() -> int:
            choice = detail.lock_choice()
            assert choice is not None
            return choice.held.lock.pid

        while chosen_pid() == holder.pid:  # down to another process
            await pilot.press("down")
        chosen = chosen_pid()
        assert chosen == app_helper.pid
        confirm = await open_screen(pilot, "k", ConfirmScreen)
        assert f"pid {app_helper.pid}" in confirm.title_text
        await pilot.press("n")
        assert app_helper.proc.poll() is None and holder.proc.poll() is None


async def test_the_status_line_says_when_polls_fall_behind_the_interval(live_db):
    """A queue query that runs its whole 300 ms limit every poll, at a 0.1 s interval: the
    promise 'every 0.1s' is broken, and the status line says by how much."""
    from waltui.options import QueueQuery

    db, _app = live_db
    slow = QueueQuery("slow", "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) "
                              "SELECT count(*) FROM n")
    config = Config(interval=0.1, queries=(slow,), query_limit_ms=300, sql_min_age=0,
                    sql_max_age=0)
    app = WaltuiApp([str(db)], config)
    async with app.run_test(size=(100, 24)) as pilot:
        status = app.screen_stack[0].query_one("#status", Static)
        await wait_for(pilot, lambda: "behind: a poll takes" in str(status.render()))
        assert app.collector.cycle_seconds > 0.25


async def test_pragma_panel_keeps_its_cursor_and_refuses_values_sqlite_would_ignore(tmp_path):
    db = tmp_path / "p.db"
    sqlite3.connect(db).execute("PRAGMA journal_mode=wal").fetchall()
    app = WaltuiApp([str(db)], FAST)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: str(db) in app.latest)
        panel = await open_screen(pilot, "p", PragmaScreen)
        table = panel.query_one("#pragma-table", DataTable)
        await wait_for(pilot, lambda: table.row_count > 0)
        table.move_cursor(row=table.get_row_index("user_version"))
        await pilot.press("enter", *"7", "enter")
        assert (await wait_screen(pilot, ConfirmScreen)).title_text == "Set user_version to 7?"
        await pilot.press("y")
        await wait_for(pilot, lambda: any("user_version is now 7" in e.text for e in app.events))
        await pilot.pause(0.5)
        assert table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value == \
            "user_version"  # not back on row 1
        table.move_cursor(row=table.get_row_index("journal_mode"))
        await pilot.press("enter", *"7", "enter")  # refused at once: nothing to confirm
        await wait_for(pilot, lambda: any("journal_mode takes one of" in e.text
                                          for e in app.events))
        assert isinstance(app.screen, PragmaScreen)  # no confirmation was asked
        assert Path(db).read_bytes()[18:20] == b"\x02\x02"  # still WAL
        await pilot.press("o")
        assert (await wait_screen(pilot, ConfirmScreen)).title_text == "Run PRAGMA optimize?"


async def test_read_only_refuses_a_pragma_before_a_value_is_typed(tmp_path):
    db = tmp_path / "p.db"
    sqlite3.connect(db).execute("PRAGMA journal_mode=wal").fetchall()
    app = WaltuiApp([str(db)], Config(interval=0.2, read_only=True))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: str(db) in app.latest)
        panel = await open_screen(pilot, "p", PragmaScreen)
        table = panel.query_one("#pragma-table", DataTable)
        await wait_for(pilot, lambda: table.row_count > 0)
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert not panel.query_one("Input").display  # no box to type into
        assert any("refused" in e.text for e in app.events)


async def test_help_lists_widget_keys_and_the_status_says_filter_and_data_age(live_db):
    from waltui.ui.keymap import MOVES
    from waltui.ui.screens.help import HelpScreen

    db, _app = live_db
    app = WaltuiApp([str(db)], FAST)
    async with app.run_test(size=(100, 40)) as pilot:
        await wait_for(pilot, lambda: str(db) in app.latest)
        help_screen = await open_screen(pilot, "question_mark", HelpScreen)
        text = str(help_screen.query_one("#help-keys", Static).render())
        assert all(label in text for label, _ in MOVES)
        await pilot.press("escape")
        await pilot.press("slash", *"agent")
        status = app.screen_stack[0].query_one("#status", Static)
        await wait_for(pilot, lambda: "filter 'agent'" in str(status.render()))
        await pilot.press("escape")
        app.screen_stack[0].query_one(OverviewTable).focus()
        await pilot.press("space")
        await wait_for(pilot, lambda: "PAUSED (data 2s old)" in str(status.render()),
                       timeout=6)


async def test_help_is_made_once_and_shown_again_in_the_theme_of_the_moment(live_db):
    """Help is installed, not rebuilt at each `?`; a theme changed while it is hidden still
    reaches it."""
    from waltui.ui.screens.help import HelpScreen

    db, _app = live_db
    app = WaltuiApp([str(db)], FAST)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: str(db) in app.latest)
        app.theme = "textual-dark"
        first = await open_screen(pilot, "question_mark", HelpScreen)
        dark = first.query_one("#help-keys", Static).render()
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen))
        app.theme = "textual-light"
        await pilot.pause(0.2)
        again = await open_screen(pilot, "question_mark", HelpScreen)
        assert again is first
        light = again.query_one("#help-keys", Static).render()
        assert isinstance(light, Content) and isinstance(dark, Content)
        assert str(light) == str(dark)  # the same keys
        assert [span.style for span in light.spans] != [span.style for span in dark.spans]


async def test_every_event_opens_in_full_and_y_copies_over_osc52(live_db, spawn):
    from waltui.ui.screens.events import EventsScreen

    db, app_helper = live_db
    app = WaltuiApp([str(db)], FAST)
    long_text = "checkpoint result " + "with a long tail of numbers " * 8 + "THE-END"
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: str(db) in app.latest)
        app.event(str(db), "action", long_text)
        await pilot.pause(0.2)
        assert "THE-END" not in app.export_screenshot()  # one line in the overview's log
        screen = await open_screen(pilot, "e", EventsScreen)
        assert screen.query_one("#all-events", EventLog).full
        assert "THE-END" in app.export_screenshot()  # wrapped in full on the events screen
        await pilot.press("escape")
        await pilot.press("y")
        assert app.clipboard == str(db)
        table = app.screen_stack[0].query_one(OverviewTable)
        table.scroll_to(x=200, animate=False)
        await pilot.pause(0.2)
        assert "agent.db" in app.export_screenshot()  # the name column stays put


async def test_the_checkpoint_dialog_names_what_would_stop_it_now(live_db, spawn):
    db, app_helper = live_db
    reader, writer = spawn(db), spawn(db)
    reader.do("begin_read")
    app_helper.do("insert 20")
    writer.do("begin_write")
    app = WaltuiApp([str(db)], FAST)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: sees_writer(app, db, writer.pid)()
                       and app.latest[str(db)].reading.pins)
        dialog = await open_screen(pilot, "c", CheckpointScreen)
        outlook = str(dialog.query_one("#outlook", Static).render())
        assert f"pid {writer.pid}" in outlook and "holds the write lock" in outlook
        assert f"pid {reader.pid}" in outlook and "PASSIVE stops at frame" in outlook
        assert "writers wait behind them" in outlook
        await pilot.press("escape")


async def test_overview_columns_give_way_by_priority_and_never_half_show(live_db):
    from waltui.ui.columns import COLUMNS

    db, _app = live_db
    for width, expect_all in ((80, False), (200, True)):
        app = WaltuiApp([str(db)], FAST)
        async with app.run_test(size=(width, 24)) as pilot:
            await wait_for(pilot, lambda: str(db) in app.latest)  # noqa: B023 (awaited here)
            await pilot.pause(0.3)
            table = app.screen_stack[0].query_one(OverviewTable)
            shown = [c.key for c in table.shown_columns]
            assert (shown == [c.key for c in COLUMNS]) is expect_all
            assert table.max_scroll_x == 0  # every shown column whole, nothing off-screen
            dropped = [c for c in COLUMNS if c.key not in shown]
            kept = [c for c in COLUMNS if c.key in shown]
            assert all(d.priority > k.priority for d in dropped for k in kept)
            assert shown[:4] == ["name", "health", "wal", "pending"]


async def test_a_result_goes_to_the_log_and_the_status_line_and_no_toast_covers_it(live_db):
    """No toast: one laid over the screen covered the log and dialog borders it reported
    on. A checkpoint's result is on the status line at once, on the detail view and back
    on the overview, and in the overview's log as soon as it is back (not when the next
    event comes)."""
    db, _app = live_db
    app = WaltuiApp([str(db)], FAST)

    def status() -> str:
        return str(app.screen.query_one("#status", Static).render())

    def logged() -> str:
        return str(app.screen_stack[0].query_one("#events", EventLog).render())

    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: str(db) in app.latest)
        await pilot.press("enter")
        await wait_screen(pilot, DetailScreen)
        await open_screen(pilot, "c", CheckpointScreen)
        await pilot.press("enter")  # PASSIVE
        await wait_for(pilot, lambda: "PASSIVE checkpoint" in status())
        assert "agent.db: PASSIVE checkpoint" in status() and "? help" in status()
        assert not app._notifications  # no toast
        await pilot.press("escape")
        await wait_screen(pilot, OverviewScreen)
        assert "PASSIVE checkpoint" in status()
        assert "agent.db PASSIVE checkpoint" in logged()  # drawn while the detail was up


async def test_attach_refuses_a_missing_path_completes_and_counts_what_it_skips(tmp_path):
    from waltui.ui.screens.attach import AttachScreen

    fleet = tmp_path / "fleet"
    fleet.mkdir()
    for name in ("agent-01.db", "agent-02.db"):
        with sqlite3.connect(fleet / name) as conn:
            conn.execute("PRAGMA journal_mode=wal")
            conn.execute("CREATE TABLE t(x)")
    (fleet / "notes.txt").write_text("not a database")
    (fleet / "agent.log").write_text("log")
    (fleet / "sub").mkdir()
    app = WaltuiApp([], FAST)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_screen(pilot, "a", AttachScreen)
        await pilot.press(*str(tmp_path / "nowhere.db"), "enter")
        await pilot.pause(0.3)
        assert isinstance(app.screen, AttachScreen)  # refused, not attached
        said = str(app.screen.query_one("#attach-matches").render())
        assert "no such file or directory" in said and not app.attached
        box = app.screen.query_one("#path", Input)
        box.value = ""
        await pilot.press(*str(fleet / "ag"))
        await wait_for(pilot, lambda: "3 matches" in str(
            app.screen.query_one("#attach-matches").render()))
        await pilot.press("right")  # to the longest common prefix, as a shell does
        assert box.value == str(fleet / "agent")
        box.value = str(fleet)
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(app.attached) == 2)
        notes = [e.text for e in app.events if "skipped" in e.text]
        assert notes == [f"{fleet}: 3 files skipped: 2 not SQLite (no \"SQLite format 3\" "
                         "header), 1 directory (not searched)"]


def _closed_wal_database(path: Path, rows: int, indexes: int = 1) -> None:
    """A WAL database nobody holds, with frames left in its -wal (as a crashed writer
    leaves them): SQLite's last close would checkpoint, so the file is copied mid-life.
    Each index makes integrity_check longer (it checks every index against the table)."""
    import shutil
    work = path.with_name("live-" + path.name)
    conn = sqlite3.connect(work)
    conn.execute("PRAGMA journal_mode=wal")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)")
    conn.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE "
                 "i < ?) INSERT INTO t(v) SELECT randomblob(100) FROM n", (rows,))
    for i in range(indexes):  # built after the rows: sorted once, not inserted at random
        conn.execute(f"CREATE INDEX t_v{i} ON t(v, id * {i + 1})")
    conn.commit()
    # The bulk goes into the database file; the last commits stay in the -wal, as a crash
    # leaves them (a huge -wal only made the recovery's checkpoint step slow).
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("INSERT INTO t(v) SELECT randomblob(100) FROM t LIMIT 200")
    conn.commit()
    for suffix in ("", "-wal"):
        shutil.copyfile(f"{work}{suffix}", f"{path}{suffix}")
    conn.close()


async def start_recovery(pilot, db: Path):
    """Shift+R, yes: the recovery dialog, running."""
    from waltui.ui.screens.recovery import RecoveryScreen

    app = pilot.app
    await wait_for(pilot, lambda: str(db) in app.latest)
    await open_screen(pilot, "R", ConfirmScreen)
    await pilot.press("y")
    await wait_for(pilot, lambda: isinstance(app.screen, RecoveryScreen))
    return app.screen


async def test_guided_recovery_shows_each_step_as_it_happens(tmp_path):
    from waltui.ui.screens.recovery import RecoveryScreen

    db = tmp_path / "crashed.db"
    _closed_wal_database(db, 2000)
    assert Path(f"{db}-wal").stat().st_size > 0
    app = WaltuiApp([str(db)], FAST)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await start_recovery(pilot, db)
        await wait_for(pilot, lambda: screen.done, timeout=30)
        assert [(s.name, s.outcome) for s in screen.steps] == [
            ("holders", "ok"), ("checkpoint", "ok"), ("integrity_check", "ok")]
        shown = str(screen.query_one("#recovery-steps").render())
        assert "TRUNCATE checkpoint" in shown and "took" in shown
        texts = [e.text for e in app.events]
        assert texts.index("recovery holders: ok: no process holds the database") < \
            next(i for i, t in enumerate(texts) if t.startswith("TRUNCATE checkpoint done"))
        await wait_for(pilot, lambda: any(r.mode == "TRUNCATE" for r in
                                          app.latest[str(db)].history.checkpoints))
        assert Path(f"{db}-wal").stat().st_size == 0
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, RecoveryScreen))


async def test_guided_recovery_cancels_inside_the_integrity_check(tmp_path):
    """x while integrity_check runs: cancelled inside it. The check must outlast the
    moment between its first progress and the key: four indexes on 400,000 rows (a
    check of several seconds, here); the yes is given by its binding's action, since the
    Pilot's press waits for an idle app, which a running recovery keeps busy."""
    from waltui.ui.screens.recovery import RecoveryScreen

    db = tmp_path / "big.db"
    _closed_wal_database(db, 400_000, indexes=4)
    app = WaltuiApp([str(db)], FAST)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: str(db) in app.latest)
        confirm = await open_screen(pilot, "R", ConfirmScreen)
        confirm.action_answer(True)  # what y does
        screen = await wait_screen(pilot, RecoveryScreen)
        await wait_for(pilot, lambda: screen.run_state.integrity is not None
                       and screen.run_state.integrity.progress_steps > 0, timeout=60)
        await pilot.press("x")
        await wait_for(pilot, lambda: screen.done, timeout=30)
        assert screen.steps[-1].name == "integrity_check"
        assert screen.steps[-1].outcome == "cancelled"
        assert any(e.text.startswith("recovery integrity_check: cancelled") for e in app.events)


async def test_every_action_ends_in_one_message_even_when_its_work_raises(live_db):
    """perform() is the one worker shape: an exception in the work is said on its database
    (ActionFinished, severity error), the app goes on, and the next action runs."""
    db, _app = live_db
    app = WaltuiApp([str(db)], FAST)

    def broken(cancelled):
        raise OSError(5, "Input/output error")

    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: str(db) in app.latest)
        app.perform("checkpoint", str(db), broken)
        await wait_for(pilot, lambda: any("checkpoint failed: OSError" in e.text
                                          for e in app.events))
        assert app.is_running
        await open_screen(pilot, "c", CheckpointScreen)
        await pilot.press("enter")
        await wait_for(pilot, lambda: any("PASSIVE checkpoint done" in e.text
                                          for e in app.events))


async def test_read_only_refuses_every_writing_key_in_the_same_words(live_db):
    """Every key whose action the operations registry says writes, found in the key
    registry (not listed here by hand): refused before any dialog, in the same words."""
    from waltui.actions.operations import OPERATIONS

    db, _app = live_db
    writing = [k for k in KEYS if k.writes and not k.replay]
    assert {k.action for k in writing} >= {"checkpoint", "recover", "terminate", "kill"}
    app = WaltuiApp([str(db)], replace(FAST, read_only=True))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: str(db) in app.latest)
        for key in writing:
            await pilot.press(key.key)
            await pilot.pause(0.1)
            assert app.screen is app.screen_stack[0], key  # no dialog asked anything
        refusals = [e.text for e in app.events if "refused" in e.text]
        assert refusals == [f"{OPERATIONS[k.action].label} refused: waltui runs with "
                            "--read-only (nothing was written)" for k in writing]


async def test_many_databases_on_the_command_line_are_one_line_of_the_log(tmp_path):
    """A directory of agents must not fill the event log (500 kept) with "attached"."""
    paths = []
    for i in range(25):
        path = tmp_path / f"agent-{i:02d}.db"
        sqlite3.connect(path).execute("PRAGMA journal_mode=wal").connection.close()
        paths.append(str(path))
    many = WaltuiApp(paths, FAST, poll=False, keep_settings=False)
    async with many.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert [e.text for e in many.events if e.kind == "attach"] == ["attached 25 databases"]
        assert len(many.attached) == 25
    few = WaltuiApp(paths[:3], FAST, poll=False, keep_settings=False)
    async with few.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert [(e.path, e.text) for e in few.events if e.kind == "attach"] == \
               [(p, "attached") for p in paths[:3]]


async def test_recovery_of_a_held_database_is_refused_before_it_is_confirmed(live_db):
    """Validate, then ask: recovery that would stop at step 1 because a process holds the
    database says so at once instead of asking to go ahead first."""
    db, app_helper = live_db
    app = WaltuiApp([str(db)], FAST)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: str(db) in app.latest
                       and app_helper.pid in app.latest[str(db)].reading.open_by)
        await pilot.press("R")
        await wait_for(pilot, lambda: any("guided recovery not begun" in e.text
                                          for e in app.events))
        assert isinstance(app.screen, OverviewScreen)  # no confirmation
        said = next(e.text for e in app.events if "guided recovery not begun" in e.text)
        assert f"pid {app_helper.pid}" in said
