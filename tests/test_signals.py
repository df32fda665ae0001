"""Signals reach only the process the operator saw: real lock holders, real pid reuse (forced
through /proc/sys/kernel/ns_last_pid, as root), the real app driven by its Pilot."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
from textual.widgets import DataTable

from tests.narrow import some
from tests.test_ui import FAST, open_screen, sees_writer, wait_for, wait_screen
from waltui.actions.signals import culprit, describe, send
from waltui.collector import Poller
from waltui.config import Config
from waltui.ui.app import WaltuiApp
from waltui.ui.screens.detail import DetailScreen
from waltui.ui.screens.dialogs import ConfirmScreen

pytestmark = pytest.mark.system

NS_LAST_PID = Path("/proc/sys/kernel/ns_last_pid")


def start_with_pid(pid: int) -> subprocess.Popen[bytes]:
    """A `sleep` given exactly this pid (its last owner must have been reaped): the kernel
    hands out ns_last_pid + 1 next, unless another process starts in between (retried)."""
    if not os.access(NS_LAST_PID, os.W_OK):
        pytest.fail("forcing a pid needs root (write access to /proc/sys/kernel/ns_last_pid)")
    for _ in range(200):
        NS_LAST_PID.write_text(str(pid - 1))
        proc = subprocess.Popen(["sleep", "300"])
        if proc.pid == pid:
            return proc
        proc.kill()
        proc.wait()
    pytest.fail(f"could not start a process as pid {pid}")


def end(helper) -> None:
    helper.proc.kill()
    helper.proc.wait()


@pytest.fixture
def sleepers():
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        proc.kill()
        proc.wait()


@pytest.fixture
def held_write_lock(live_db, spawn):
    db, app_helper = live_db
    holder = spawn(db)
    holder.do("begin_write")
    return db, app_helper, holder


async def test_a_pid_reused_while_polling_is_paused_is_never_signalled(held_write_lock,
                                                                        sleepers):
    """The holder shown ends and its pid goes to an unrelated `sleep` while the screen
    still shows the old reading (polling paused): k offers nothing and sends nothing."""
    db, _app, holder = held_write_lock
    app = WaltuiApp([str(db)], FAST)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, sees_writer(app, db, holder.pid))
        await pilot.press("space")  # paused: the reading on screen stays the holder's
        await wait_for(pilot, lambda: app.collector.paused)
        end(holder)
        sleepers.append(start_with_pid(holder.pid))
        await pilot.press("k")
        await pilot.pause(0.3)
        assert not isinstance(app.screen, ConfirmScreen)
        assert any(f"pid {holder.pid}" in e.text and "has ended" in e.text for e in app.events)
        assert sleepers[0].poll() is None


async def test_a_pid_reused_after_the_dialog_opened_is_refused_in_the_dialog(held_write_lock,
                                                                             sleepers):
    """The dialog was opened on the real holder; before y, it ends and an unrelated process
    takes its pid: y sends nothing, and the dialog says why."""
    db, _app, holder = held_write_lock
    app = WaltuiApp([str(db)], FAST)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, sees_writer(app, db, holder.pid))
        confirm = await open_screen(pilot, "k", ConfirmScreen)
        assert f"Send SIGTERM to pid {holder.pid}" in confirm.title_text
        end(holder)
        sleepers.append(start_with_pid(holder.pid))
        await pilot.press("y")
        await pilot.pause(0.3)
        assert isinstance(app.screen, ConfirmScreen) and confirm.refused is not None
        assert "now another process" in confirm.refused
        await pilot.press("escape")
        await pilot.pause(0.3)
        assert sleepers[0].poll() is None
        assert not any("sent SIGTERM" in e.text for e in app.events)


def test_send_checks_identity_at_the_moment_of_sending(held_write_lock, sleepers):
    """Between the yes and the send: the target is built, the holder ends, the pid is
    reused; send() refuses. And a target still holding its lock is signalled through a
    pidfd: it ends."""
    db, _app, holder = held_write_lock
    poller = Poller(Config())
    poller.attach(str(db))
    try:
        [change] = poller.poll_once()
    finally:
        poller.close()
    held = culprit(change.reading)
    assert held is not None and held.lock.pid == holder.pid and held.lock.lock == "write"
    target = describe(change.reading, held)
    assert not isinstance(target, str) and target.start_ticks > 0
    end(holder)
    sleepers.append(start_with_pid(holder.pid))
    said = send(target, signal.SIGTERM)
    assert said.startswith("not sent") and "another process" in said
    assert sleepers[0].poll() is None


def test_a_process_that_let_go_of_its_lock_is_not_signalled(live_db, spawn):
    """Same process, same pid, but it committed since the reading: it no longer holds the
    write lock it was shown with, so it is not the culprit any more: nothing is sent."""
    db, _app = live_db
    holder = spawn(db)
    holder.do("begin_write")
    poller = Poller(Config())
    poller.attach(str(db))
    try:
        [change] = poller.poll_once()
    finally:
        poller.close()
    target = describe(change.reading, some(culprit(change.reading)))
    assert not isinstance(target, str)
    holder.do("end")
    said = send(target, signal.SIGTERM)
    assert said.startswith("not sent") and "no longer holds the write lock" in said
    assert holder.proc.poll() is None


def test_never_itself_nor_pid_one_nor_a_pid_the_reading_does_not_name(live_db, spawn):
    db, app_helper = live_db
    holder = spawn(db)
    holder.do("begin_write")
    poller = Poller(Config())
    poller.attach(str(db))
    try:
        [change] = poller.poll_once()
    finally:
        poller.close()
    reading = change.reading
    writer = reading.writer
    assert writer is not None
    from dataclasses import replace
    for pid, words in ((1, "no process to signal"), (os.getpid(), "waltui's own"),
                       (999_999, "not among")):
        fake = replace(writer, lock=replace(writer.lock, pid=pid))
        said = describe(reading, fake)
        assert isinstance(said, str) and words in said, said


async def test_the_chosen_row_is_kept_across_polls_and_a_vanished_choice_sends_nothing(
        held_write_lock):
    """Tab into the Locks pane, move to the second process; polls keep redrawing the table
    (hold times tick), yet the choice stays on that process. When its lock goes, k says the
    chosen holder is gone instead of offering whoever took its row."""
    db, app_helper, holder = held_write_lock
    app = WaltuiApp([str(db)], FAST)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, sees_writer(app, db, holder.pid))
        await pilot.press("enter")
        detail = await wait_screen(pilot, DetailScreen)
        await pilot.press("tab")
        await wait_for(pilot, lambda: detail.lock_choice() is not None)
        while some(detail.lock_choice()).held.lock.pid == holder.pid:
            await pilot.press("down")
        chosen = some(detail.lock_choice())
        assert chosen.held.lock.pid == app_helper.pid
        batches = app.readings.batches
        await wait_for(pilot, lambda: app.readings.batches >= batches + 8)  # 1.6 s of polls
        assert some(detail.lock_choice()).key == chosen.key
        confirm = await open_screen(pilot, "k", ConfirmScreen)
        assert f"pid {app_helper.pid}" in confirm.title_text
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
        app.screen.query_one("#locks-table").focus()
        app_helper.stop()  # the chosen process ends: its row goes
        await wait_for(pilot, lambda: not some(detail.lock_choice()).present, timeout=10)
        await pilot.press("k")
        await pilot.pause(0.3)
        assert not isinstance(app.screen, ConfirmScreen)
        assert any("no longer holds" in e.text and "choose again" in e.text
                   for e in app.events)
        assert holder.proc.poll() is None


async def test_a_lock_released_between_polls_keeps_its_row_marked_then_goes(held_write_lock):
    """A busy writer takes and drops its locks between polls: its rows stay put, marked
    "released", for a moment after the lock goes, so the rows below do not jump (the
    cursor with them). Chosen, such a row offers no signal; then it goes."""
    db, _app, holder = held_write_lock
    app = WaltuiApp([str(db)], FAST)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, sees_writer(app, db, holder.pid))
        await pilot.press("enter")
        detail = await wait_screen(pilot, DetailScreen)
        table = detail.query_one("#locks-table", DataTable)

        def write_row_held() -> str | None:
            keys = [str(k.value) for k in table.rows
                    if str(k.value).startswith(f"{holder.pid}:") and ":shm:write:" in str(k.value)]
            return str(table.get_row(keys[0])[6]) if keys else None

        await wait_for(pilot, lambda: write_row_held() not in (None, "released"))
        holder.do("end")  # the transaction ends; the process keeps the database open
        await wait_for(pilot, lambda: write_row_held() == "released")
        await pilot.press("tab")
        await wait_for(pilot, lambda: detail.lock_choice() is not None)
        for _ in range(table.row_count):
            choice = some(detail.lock_choice())
            if choice.held.lock.pid == holder.pid and choice.held.lock.lock == "write":
                break
            await pilot.press("down")
        await pilot.press("k")
        await pilot.pause(0.3)
        assert not isinstance(app.screen, ConfirmScreen)
        assert any("no longer holds" in e.text for e in app.events)
        await wait_for(pilot, lambda: write_row_held() is None, timeout=10)
        assert holder.proc.poll() is None
