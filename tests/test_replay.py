"""Replay you can steer: steps land in order with no poll shown on the way, a timeline marks
the findings and the position, g jumps to a time, and the recording decides what is shown
(a database attached later appears later). Recordings here are real polls of real
databases, written by the real Recorder."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual.widgets import Static, TabbedContent

from tests.narrow import some
from tests.test_ui import wait_for, wait_screen
from waltui.collector import Batch, Poller
from waltui.config import Config, Thresholds
from waltui.recording.reader import Recording
from waltui.recording.replay import ReplayClient, jump_target
from waltui.recording.writer import Recorder
from waltui.ui.app import WaltuiApp
from waltui.ui.screens.detail import DetailScreen
from waltui.ui.widgets.timeline import FINDING, POSITION

pytestmark = pytest.mark.system

POLLS = 260
LATE_FROM = 100  # the second database is attached at this poll
HOLD = range(180, 200)  # the first database's write lock is held over these polls


def record(tmp_path: Path, spawn) -> tuple[Path, Path, Path, list[float]]:
    """POLLS real polls, each a commit apart, of one database from the start and a second
    one from LATE_FROM; a write lock held over HOLD raises write_lock_held."""
    first, late, out = tmp_path / "first.db", tmp_path / "late.db", tmp_path / "run.waltui"
    writers = []
    for db in (first, late):
        app = spawn(db)
        app.do("wal")
        app.do("setup")
        writers.append(app)
    holder = spawn(first)
    poller = Poller(Config(thresholds=Thresholds(write_hold_seconds=0.1)))
    poller.attach(str(first))
    recorder = Recorder(str(out), interval=0.02)
    times = []
    try:
        for i in range(POLLS):
            if i == LATE_FROM:
                poller.attach(str(late))
            if i == HOLD.start:
                holder.do("begin_write")
            if i == HOLD.stop:
                holder.do("end")
            if i not in HOLD:
                writers[0].do("insert 1")  # each poll has something new to store
            if i >= LATE_FROM:
                writers[1].do("insert 1")
            if i in HOLD:
                time.sleep(0.02)  # the hold lasts past its threshold
            changes = poller.poll_once()
            times.append(time.time())
            recorder.batch(Batch(tuple(changes), len(poller.states), 0.001, times[-1]))
    finally:
        poller.close()
        recorder.close()
    return first, late, out, times


@pytest.fixture
def recording(tmp_path, spawn):
    return record(tmp_path, spawn)


def status(app: WaltuiApp) -> str:
    return str(app.screen.query_one("#status", Static).render())


def replay_of(app: WaltuiApp) -> ReplayClient:
    client = app.collector
    assert isinstance(client, ReplayClient)
    return client


async def test_steps_and_jumps_land_in_order_with_nothing_shown_on_the_way(recording):
    """A jump rebuilds what was shown from up to 120 polls before its target: those polls
    must not be drawn (] from poll 81 showed 19 on the way to 139). Every poll the screen
    shows after a key is where that key, applied in order, put the replay."""
    first, _late, out, _times = recording
    app = WaltuiApp([], Config(), replay=Recording(str(out)), keep_settings=False)
    shown: list[int] = []
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("space")  # paused: only keys move it
        client = replay_of(app)
        await pilot.pause(0.5)  # a poll played before the pause has been drawn
        original = app.show_updates

        def noting(updates):  # every poll the screen is drawn with
            shown.append(client.index)
            original(updates)

        app.show_updates = noting  # type: ignore[method-assign]
        await pilot.press("right_square_bracket")  # to the write lock's finding
        raised = client.recording.finding_indexes()
        await wait_for(pilot, lambda: client.index in raised)
        at_finding = client.index
        await pilot.pause(0.5)
        assert all(index == at_finding for index in shown), shown  # none of its rebuild
        shown.clear()
        for _ in range(3):
            await pilot.press("left")
        await wait_for(pilot, lambda: client.index == at_finding - 3)
        await pilot.pause(0.5)
        assert shown == sorted(shown, reverse=True) and set(shown) <= {
            at_finding - 1, at_finding - 2, at_finding - 3}, shown  # in order, never beyond
        assert any(e.text.startswith("Write lock held") for e in app.events) is False
        assert str(first) in app.latest


async def test_a_database_attached_later_appears_when_the_recording_has_it(recording):
    first, late, out, times = recording
    app = WaltuiApp([], Config(), replay=Recording(str(out)), keep_settings=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("space")
        await wait_for(pilot, lambda: str(first) in app.attached)
        assert str(late) not in app.attached  # not from the first poll
        client = replay_of(app)
        await pilot.press("g")
        await pilot.press(*f"#{client.recording.polls[LATE_FROM + 5].seq}", "enter")
        await wait_for(pilot, lambda: client.index == LATE_FROM + 5 and str(late) in app.latest)
        attached = [e for e in app.events if e.path == str(late) and e.text == "attached"]
        assert len(attached) == 1
        assert attached[0].at == pytest.approx(times[LATE_FROM], abs=0.05)  # its own time
        await pilot.press("g")
        await pilot.press(*f"#{client.recording.polls[10].seq}", "enter")
        await wait_for(pilot, lambda: client.index == 10)
        await pilot.pause(0.3)
        assert str(late) not in app.attached  # before it was attached: not shown


async def test_the_timeline_marks_findings_and_the_position_and_g_takes_times(recording):
    _first, _late, out, times = recording
    app = WaltuiApp([], Config(), replay=Recording(str(out)), keep_settings=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("space")
        timeline = app.screen.query_one("#timeline", Static)
        await wait_for(pilot, lambda: POSITION in str(timeline.render()))
        bar = str(timeline.render())
        assert FINDING in bar and bar.index(POSITION) < bar.index(FINDING)  # the finding later
        footer = " ".join(str(k.render()) for k in app.screen.query("FooterKey"))
        assert "go to" in footer and "checkpoint" not in footer  # only keys that work here
        client = replay_of(app)
        before = client.index
        await pilot.press("g")
        await pilot.press(*time.strftime("%H:%M:%S", time.localtime(times[200])), "enter")
        await wait_for(pilot, lambda: client.index != before)
        assert abs(times[client.index] - times[200]) < 1.0  # the poll nearest that second
        after = str(timeline.render())
        assert after.index(POSITION) > bar.index(POSITION)
        await pilot.press("g")
        await pilot.press(*"at noon", "enter")  # not a time: said, nothing moves
        await wait_for(pilot, lambda: "a time is HH:MM" in status(app))


async def test_steps_work_from_the_detail_view_too(recording):
    first, _late, out, _times = recording
    app = WaltuiApp([], Config(), replay=Recording(str(out)), keep_settings=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("space")
        await wait_for(pilot, lambda: str(first) in app.latest)
        client = replay_of(app)
        await pilot.press("enter")
        detail = await wait_screen(pilot, DetailScreen)
        await pilot.pause(0.3)
        before = client.index
        await pilot.press("full_stop", "full_stop")
        await wait_for(pilot, lambda: client.index == before + 2)
        await pilot.press("comma")
        await wait_for(pilot, lambda: client.index == before + 1)
        assert app.screen is detail  # still there: Left and Right keep switching panes
        await pilot.press("right")
        assert detail.query_one("#tabs", TabbedContent).active != "tab-locks"
        assert client.index == before + 1


def test_g_reads_a_time_a_shift_or_a_poll_and_refuses_anything_else(recording):
    _first, _late, out, times = recording
    polls = Recording(str(out)).polls
    assert jump_target(f"#{polls[42].seq}", polls, 0) == 42
    assert abs(polls[jump_target("+1s", polls, 0)].taken_at - (times[0] + 1)) < 0.2 or \
        jump_target("+1s", polls, 0) == len(polls) - 1
    assert jump_target("-5m", polls, 100) == 0  # before the start: the first poll
    day = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(times[-1] + 3600))
    assert jump_target(day, polls, 0) == len(polls) - 1
    for bad in ("noon", "25:00", "#", "+5x", ""):
        with pytest.raises(ValueError):
            jump_target(bad, polls, 0)
    assert some(polls)
