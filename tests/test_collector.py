"""The collector on its own, in a thread and in a child process: values-only batches that
hold only what changed, and a child that dies is restarted with the same databases while
the consumer's history goes on."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from tests.narrow import some
from tests.test_ui import wait_for
from waltui.collector import Batch, CollectorClient, Readings, make_client
from waltui.collector.transport import ProcessClient
from waltui.config import Config
from waltui.ui.app import WaltuiApp

pytestmark = pytest.mark.system

def child_pid(client: CollectorClient) -> int:
    """The collector's process id: these tests run it as a child process."""
    assert isinstance(client, ProcessClient) and client.process is not None
    return client.process.pid


FAST = Config(interval=0.2)


def quiet_db(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=wal")
    conn.execute("CREATE TABLE t(x)")
    conn.close()
    return path


class Received:
    def __init__(self) -> None:
        self.batches: list[Batch] = []
        self.notices: list[tuple[str, str]] = []
        self.event = threading.Event()

    def batch(self, batch: Batch) -> None:
        self.batches.append(batch)
        self.event.set()

    def notice(self, severity: str, text: str) -> None:
        self.notices.append((severity, text))

    def wait(self, condition, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, "condition not met in time"
            time.sleep(0.05)


@pytest.mark.parametrize("transport", ["thread", "process"])
def test_a_batch_holds_only_the_databases_that_changed(tmp_path, live_db, transport):
    busy, writer = live_db
    idle = quiet_db(tmp_path / "idle.db")
    got = Received()
    client = make_client(transport, FAST, got.batch, got.notice)
    client.start()
    client.attach(str(busy))
    client.attach(str(idle))
    try:
        got.wait(lambda: len(got.batches) >= 3)
        start = len(got.batches)
        for _ in range(6):  # a commit between polls: the busy database changes every cycle
            writer.do("insert 5")
            time.sleep(0.25)
        later = got.batches[start:]
        assert all(b.polled == 2 for b in later)
        changed = [{c.path for c in b.changes} for b in later]
        assert not any(str(idle) in paths for paths in changed)  # unchanged: never resent
        assert sum(str(busy) in paths for paths in changed) >= 3
        first = [c for b in got.batches[:start] for c in b.changes if c.path == str(idle)]
        assert first, "the idle database was sent once, on its first poll"
    finally:
        client.stop()
        client.join(3)
    assert not client.running


def test_a_collector_process_that_dies_is_restarted_with_the_same_databases(tmp_path):
    db = quiet_db(tmp_path / "agent.db")
    readings = Readings()
    got = Received()

    def batch(b: Batch) -> None:
        readings.apply(b)
        got.batch(b)

    client = make_client("process", FAST, batch, got.notice)
    client.start()
    client.attach(str(db))
    try:
        got.wait(lambda: str(db) in readings.latest)
        history = readings.histories[str(db)]
        polls = history.polls
        first_pid = child_pid(client)
        os.kill(first_pid, signal.SIGKILL)
        got.wait(lambda: got.notices)
        severity, text = got.notices[0]
        assert severity == "warning" and "restarted" in text and "-9" in text
        got.wait(lambda: child_pid(client) != first_pid and readings.batches > 0
                 and readings.last_batch is not None and readings.last_batch.polled == 1)
        before = readings.batches
        got.wait(lambda: readings.batches > before + 2)
        assert readings.histories[str(db)] is history  # the charts keep what they had
        assert history.polls >= polls
        assert isinstance(client, ProcessClient) and client.restarts == 1 and client.running
    finally:
        client.stop()
        client.join(3)


def test_commands_never_wait_for_a_collector_process_that_is_not_reading(tmp_path):
    """The pipe holds 64 KB, and a child still importing (here: stopped) does not read
    it. 1,500 attaches and 100 detaches (~150 KB of commands) return at once, and arrive
    in order once it reads again."""
    got = Received()
    client = make_client("process", FAST, got.batch, got.notice)
    client.start()
    child = child_pid(client)
    os.kill(child, signal.SIGSTOP)
    try:
        paths = [str(tmp_path / f"agent-{i:04d}.db") for i in range(1500)]  # none exists

        def send() -> None:
            for path in paths:
                client.attach(path)
            for path in paths[:100]:
                client.detach(path)

        sender = threading.Thread(target=send)
        sender.start()
        sender.join(10)
        assert not sender.is_alive(), "the caller waited for the stopped collector"
        os.kill(child, signal.SIGCONT)
        got.wait(lambda: got.batches and got.batches[-1].polled == 1400 and {
            path for batch in got.batches for path in batch.detached} == set(paths[:100]),
            timeout=60)
    finally:
        os.kill(child, signal.SIGCONT)
        client.stop()
        client.join(5)


async def dashboard_goes_on(tmp_path, disrupt, says: str) -> None:
    """The real app, disrupted: it logs what happened and the polls after it still apply."""
    db = quiet_db(tmp_path / "agent.db")
    app = WaltuiApp([str(db)], FAST)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: str(db) in app.latest)
        disrupt(app)
        await wait_for(pilot, lambda: any(says in e.text for e in app.events))
        seen = app.readings.batches
        await wait_for(pilot, lambda: app.readings.batches > seen + 1)
        assert str(db) in app.latest and app.is_running
        assert "ERR" not in str(some(app.overview_table).get_row_at(0)[1])


async def test_the_dashboard_says_its_collector_died_and_goes_on(tmp_path):
    await dashboard_goes_on(tmp_path, lambda app: os.kill(child_pid(app.collector),
                                                          signal.SIGKILL),
                            "collector process ended")


def test_a_consumer_with_its_own_loop_gets_the_process_batches_still_pickled(tmp_path):
    """on_frame: the pipe's thread only reads bytes; take() unpickles where the consumer
    runs, and keeps the client's cycle time as a batch would."""
    from waltui.collector import Frame

    db = quiet_db(tmp_path / "agent.db")
    frames: list[Frame] = []
    batches: list[Batch] = []
    client = make_client("process", FAST, batches.append, on_frame=frames.append)
    client.start()
    client.attach(str(db))
    try:
        Received().wait(lambda: len(frames) >= 2)
        assert not batches and all(isinstance(f, Frame) for f in frames)
        assert client.cycle_seconds == 0.0  # nothing read yet
        taken = [client.take(frame) for frame in frames]
        assert any(c.path == str(db) for batch in taken for c in batch.changes)
        assert client.cycle_seconds > 0
    finally:
        client.stop()
        client.join(3)


async def test_a_damaged_part_is_a_notice_and_the_next_ones_still_apply(tmp_path):
    from waltui.collector import Frame
    from waltui.ui.messages import BatchArrived

    await dashboard_goes_on(
        tmp_path, lambda app: app.post_message(BatchArrived(Frame(b"not a pickle"))),
        "could not be read")


def test_the_dashboard_state_logs_each_change_once_and_drops_what_was_detached(tmp_path):
    from waltui.collector import Poller
    from waltui.history import CheckpointResult
    from waltui.ui.state import DashboardState

    good = quiet_db(tmp_path / "good.db")
    junk = tmp_path / "junk.db"
    junk.write_text("not a database")
    poller = Poller(FAST)
    state = DashboardState()
    for path in (good, junk):
        poller.attach(str(path))
        assert state.attach(str(path))
    assert not state.attach(str(good))  # once
    try:
        for _ in range(3):
            state.apply(Batch(tuple(poller.poll_once()), 2, 0.0, time.time()))
        errors = [e for e in state.events if e.kind == "error"]
        assert len(errors) == 1 and errors[0].path == str(junk)  # not once a poll
        result = CheckpointResult("PASSIVE", "done", 0, 0, 0, 1, 0.0, 0, 0, time.time())
        before = len(state.events)
        assert state.record_checkpoint(str(good), result) is not None
        assert len(state.events) == before  # the pane shows it; no finding re-logged
        assert state.latest[str(good)].history.checkpoints[-1] is result
        assert state.detach(str(junk))
        updates = state.apply(Batch(tuple(poller.poll_once()), 2, 0.0, time.time()))
        assert [u.path for u in updates] == [str(good)] and str(junk) not in state.latest
    finally:
        poller.close()


async def test_hold_times_go_on_in_the_locks_pane_though_the_collector_sends_nothing_new(
        live_db, spawn):
    """A reader that holds still is not resent each poll; the pane ages its hold time from
    the collector's latest batch, so the operator still sees it grow."""
    from textual.widgets import DataTable

    from waltui.ui.screens.detail import DetailScreen

    db, _writer = live_db
    reader = spawn(db)
    reader.do("begin_read")
    app = WaltuiApp([str(db)], FAST)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: str(db) in app.latest
                       and app.latest[str(db)].reading.readers)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))

        def held() -> float:
            table = app.screen.query_one("#locks-table", DataTable)
            for row in range(table.row_count):
                cells = table.get_row_at(row)
                if str(cells[0]) == str(reader.pid) and str(cells[2]) == "read":
                    text = str(cells[6]).removeprefix(">=")
                    return float(text.rstrip("s")) if text.endswith("s") and "m" not in text \
                        else 999.0
            return -1.0

        await wait_for(pilot, lambda: held() >= 0)
        first, sent = held(), app.latest[str(db)]
        await pilot.pause(2.5)
        assert held() >= first + 2
        assert app.latest[str(db)] is sent  # nothing new came: the pane aged it


def test_same_reading_ignores_only_the_times_and_sees_every_other_field(reader_change):
    """What decides whether a database is resent: a real reading with a reader and held
    locks, equal to itself aged, different when anything else differs."""
    from dataclasses import fields, replace

    from waltui.collector.consumer import aged
    from waltui.collector.core import same_reading
    from waltui.model import HeldLock, Reader

    # A new field in either must be compared (or named here as a time: held_seconds,
    # held_at_least, held_at_most): fail loudly.
    assert {f.name for f in fields(HeldLock)} == {"lock", "process", "held_seconds", "ours",
                                                  "held_at_least", "held_at_most"}
    assert {f.name for f in fields(Reader)} == {"pid", "slot", "read_mark", "process",
                                                "held_seconds", "pins", "ours",
                                                "held_at_least", "held_at_most"}
    reading = reader_change.reading
    assert same_reading(aged(reading, reading.taken_at + 30), reading)
    assert same_reading(replace(reading, poll_ms=99.0), reading)
    held = reading.held_locks[0]
    reader = reading.readers[0]
    for different in (replace(reading, journal_mode="delete"),
                      replace(reading, held_locks=reading.held_locks[1:]),
                      replace(reading, held_locks=(replace(held, ours=not held.ours),
                                                   *reading.held_locks[1:])),
                      replace(reading, readers=(replace(reader, read_mark=reader.read_mark + 1),
                                                *reading.readers[1:])),
                      replace(reading, pragmas={**reading.pragmas, "x": 1})):
        assert not same_reading(different, reading)


async def test_a_stopped_collector_is_stale_says_why_and_ctrl_r_restarts_it(tmp_path):
    """SIGSTOP the collector: its last rows must not look live. The status line says
    STALE with the data's age in the warning role, the event log says the process is
    stopped, and ctrl+r kills it and starts a new one that polls again."""
    from textual.widgets import Static

    db = quiet_db(tmp_path / "agent.db")
    app = WaltuiApp([str(db)], FAST)
    async with app.run_test(size=(100, 24)) as pilot:
        await wait_for(pilot, lambda: str(db) in app.latest)
        child = child_pid(app.collector)
        status = app.screen_stack[0].query_one("#status", Static)
        os.kill(child, signal.SIGSTOP)
        try:
            await wait_for(pilot, lambda: "STALE" in str(status.render()), timeout=20)
            assert "collector stopped" in str(status.render())
            await wait_for(pilot, lambda: any(f"(pid {child}) is stopped" in e.text
                                              for e in app.events))
            await pilot.press("ctrl+r")
            await wait_for(pilot, lambda: child_pid(app.collector) != child)
            seen = app.readings.batches
            await wait_for(pilot, lambda: app.readings.batches > seen + 2, timeout=20)
            await wait_for(pilot, lambda: "STALE" not in str(status.render()))
            assert any("collector restarted" in e.text for e in app.events)
        finally:
            try:
                os.kill(child, signal.SIGCONT)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + 10  # the stopped child was killed, and is reaped
    while os.path.exists(f"/proc/{child}") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not os.path.exists(f"/proc/{child}")
