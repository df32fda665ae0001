"""Recordings: the real dashboard records the real demo workload and replays it; a recorder
killed with -9, a disk that fills (a real tmpfs), recordings of another schema version, and
damaged values."""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from textual.widgets import Static

from tests.conftest import waltui_json
from tests.narrow import some
from tests.test_ui import wait_for
from waltui.cli.demo import demo_config, start_workload
from waltui.collector.changes import Change
from waltui.config import Config
from waltui.recording.codec import Damaged, encode, pack, unpack
from waltui.recording.reader import Recording
from waltui.recording.replay import ReplayClient
from waltui.recording.schema import RecordingError
from waltui.recording.writer import Recorder
from waltui.ui.app import WaltuiApp
from waltui.ui.screens.dialogs import CheckpointScreen

pytestmark = pytest.mark.system

WALTUI = [sys.executable, "-m", "waltui"]
PID = re.compile(r"pid (\d+)")


def starvation(app: WaltuiApp, path: str):
    update = app.latest.get(path)
    return next((f for f in update.findings if f.code == "checkpoint_starvation"), None) \
        if update else None


async def test_the_demo_recorded_live_replays_its_starvation_at_the_same_poll_and_pid(tmp_path):
    workload = start_workload(7, str(tmp_path / "demo"))
    gamma = next(p for p in workload.paths if "gamma" in p)
    out = tmp_path / "demo.waltui"
    try:
        app = WaltuiApp(workload.paths, demo_config(Config(interval=0.5)), transport="thread",
                        recorder=Recorder(str(out), interval=0.5), keep_settings=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: starvation(app, gamma) is not None, timeout=30)
            [raised, *_] = [e for e in app.events if e.path == gamma
                            and e.text.startswith("Checkpoint starvation")]
            live_poll = raised.cycle  # the cycle whose batch raised it, as the log says
            live_pid = some(PID.search(raised.text))[1]
            await pilot.pause(1.0)
    finally:
        workload.stop()
    assert not (tmp_path / "demo.waltui-wal").exists()  # closed: one file to attach

    replay = WaltuiApp([], Config(), replay=Recording(str(out)), keep_settings=False)
    async with replay.run_test(size=(80, 24)) as pilot:
        await pilot.press("space")  # pause the playback: only the keys move it
        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: starvation(replay, gamma) is not None, timeout=10)
        client = replay.collector
        assert isinstance(client, ReplayClient)
        assert client.recording.polls[client.index].seq == live_poll
        assert some(PID.search(some(starvation(replay, gamma)).evidence))[1] == live_pid
        status = str(replay.screen.query_one("#status", Static).render())
        assert f"poll {live_poll}" in status and "REPLAY" in status
        await pilot.press("c")  # no action in a recording: not offered, nothing opens
        await pilot.pause(0.3)
        assert not isinstance(replay.screen, CheckpointScreen)
        assert not replay.check_action("checkpoint", ())
        replayed = [e for e in replay.events if e.text.startswith("Checkpoint starvation")]
        assert len(replayed) == 1 and replayed[0].path == gamma  # its log, as live at that poll
        await pilot.press("left")
        await wait_for(pilot, lambda: client.recording.polls[client.index].seq < live_poll, 5)
        await wait_for(pilot, lambda: starvation(replay, gamma) is None, timeout=5)
        await pilot.pause(0.3)  # a step back rebuilds the log too: the raise has not happened
        assert not [e for e in replay.events if e.text.startswith("Checkpoint starvation")]


def busy(db: Path) -> subprocess.Popen[bytes]:
    """A real writer committing in a loop, so every poll has something to store."""
    code = ("import sqlite3, sys, time\nc = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "c.execute('PRAGMA journal_mode=wal')\nc.execute('CREATE TABLE IF NOT EXISTS q(x)')\n"
            "while True:\n    c.execute('INSERT INTO q VALUES (randomblob(200))')\n"
            "    time.sleep(0.01)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(db)])
    deadline = time.monotonic() + 10
    while not Path(str(db) + "-wal").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return proc


def test_a_recorder_killed_with_sigkill_leaves_a_readable_recording(tmp_path):
    db, out = tmp_path / "agent.db", tmp_path / "run.waltui"
    writer = busy(db)
    recorder = subprocess.Popen([*WALTUI, "record", "--out", str(out), "--interval", "0.2",
                                 str(db)], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        seen = 0
        while seen < 5 and time.monotonic() < deadline:  # read while it records (WAL)
            time.sleep(0.3)
            if out.exists():
                try:
                    seen = len(Recording(str(out)).polls)
                except RecordingError:
                    continue  # still creating its tables
        assert seen >= 5
        recorder.send_signal(signal.SIGKILL)
        recorder.wait()
    finally:
        writer.kill()
        writer.wait()
    recording = Recording(str(out))
    assert len(recording.polls) >= seen  # at most the poll being written is lost
    state = recording.state_at(len(recording.polls) - 1)
    assert state[str(db)].reading.files is not None
    checked = subprocess.run([*WALTUI, "check", "--from", str(out)], capture_output=True,
                             text=True)
    assert checked.returncode in (0, 1, 2) and str(db) in checked.stdout, checked.stderr


@pytest.fixture
def small_disk(tmp_path: Path):
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(directory: Path) -> None:
    """Take every free byte the recorder has not. On a slow machine the recording can fill
    the 1 MB disk by itself first (seen in CI: no room even to create the filler): then the
    disk is already as full as this makes it."""
    try:
        with open(directory / "filler", "wb") as handle:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
    except OSError:
        pass


def test_a_full_disk_stops_the_recording_says_so_and_keeps_what_was_written(tmp_path,
                                                                             small_disk):
    db, out = tmp_path / "agent.db", small_disk / "run.waltui"
    writer = busy(db)
    try:
        recorder = subprocess.Popen([*WALTUI, "record", "--out", str(out), "--interval", "0.1",
                                     "--for", "60", str(db)], stderr=subprocess.PIPE, text=True)
        assert recorder.stderr is not None
        assert "into" in recorder.stderr.readline()
        time.sleep(1.5)
        fill(small_disk)
        _, said = recorder.communicate(timeout=30)
    finally:
        writer.kill()
        writer.wait()
    assert recorder.returncode == 74, said
    assert "recording stopped: the disk is full" in said
    (small_disk / "filler").unlink()
    assert len(Recording(str(out)).polls) >= 3


async def test_the_dashboard_goes_on_when_its_recording_disk_fills(tmp_path, small_disk):
    db = tmp_path / "agent.db"
    writer = busy(db)
    try:
        app = WaltuiApp([str(db)], Config(interval=0.1), transport="thread",
                        recorder=Recorder(str(small_disk / "run.waltui"), interval=0.1),
                        keep_settings=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: app.readings.batches > 3, timeout=30)
            fill(small_disk)
            await wait_for(pilot, lambda: any("recording stopped: the disk is full" in e.text
                                              for e in app.events), timeout=20)
            after = app.readings.batches
            await wait_for(pilot, lambda: app.readings.batches > after + 3, timeout=10)
            assert "REC STOPPED" in str(app.screen.query_one("#status", Static).render())
    finally:
        writer.kill()
        writer.wait()


def recorded(tmp_path: Path, spawn) -> tuple[Path, Path]:
    db, out = tmp_path / "agent.db", tmp_path / "run.waltui"
    app = spawn(db)
    app.do("wal")
    app.do("setup")
    app.do("insert 20")
    done = subprocess.run([*WALTUI, "record", "--out", str(out), "--for", "1.2", "--interval",
                           "0.2", str(db)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return db, out


def test_snapshot_at_a_time_in_a_recording_is_the_json_of_a_live_snapshot(tmp_path, spawn):
    db, out = recorded(tmp_path, spawn)
    at = subprocess.run([*WALTUI, "snapshot", "--json", "--at", "+0.5s", str(out)],
                        capture_output=True, text=True)
    assert at.returncode == 0, at.stderr
    recorded_doc = waltui_json(at.stdout)
    live = waltui_json(subprocess.run([*WALTUI, "snapshot", "--json", str(db)],
                                      capture_output=True, text=True).stdout)
    [then], [now] = recorded_doc["databases"], live["databases"]
    assert then["path"] == now["path"] == str(db)
    assert then["frames_pending"] == now["frames_pending"]  # nothing wrote since
    assert then["taken_at"] < now["taken_at"]
    judged = subprocess.run([*WALTUI, "check", "--json", "--from", str(out)],
                            capture_output=True, text=True)
    document = waltui_json(judged.stdout)  # the same contract as a live check
    assert judged.returncode == document["exit_code"] == 0
    assert [d["path"] for d in document["databases"]] == [str(db)]
    assert "from the recording" in document["notes"][0]


@pytest.mark.parametrize("version, said", [("0", "no conversion from that version exists"),
                                           ("99", "upgrade waltui to read it")])
def test_a_recording_of_another_schema_version_is_refused_plainly(tmp_path, spawn, version,
                                                                   said):
    _, out = recorded(tmp_path, spawn)
    with sqlite3.connect(out) as conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (version,))
    for command in (["check", "--from", str(out)], ["snapshot", "--at", "+0s", str(out)]):
        done = subprocess.run([*WALTUI, *command], capture_output=True, text=True)
        assert done.returncode == 65, done.stderr
        assert f"schema version {version}" in done.stderr and said in done.stderr
        assert "Traceback" not in done.stderr


def test_files_that_are_no_recording_are_refused_plainly(tmp_path):
    plain = tmp_path / "app.db"
    sqlite3.connect(plain).execute("CREATE TABLE t(x)").connection.close()
    text = tmp_path / "notes.txt"
    text.write_text("hello\n" * 100)
    for path, said in ((plain, "not a waltui recording (it has no meta table)"),
                       (text, "not a waltui recording (not a readable SQLite file"),
                       (tmp_path / "missing.waltui", "no such recording")):
        done = subprocess.run([*WALTUI, "check", "--from", str(path)], capture_output=True,
                              text=True)
        assert done.returncode == 65 and said in done.stderr, done.stderr


def test_record_never_writes_over_a_file(tmp_path, spawn):
    db, out = recorded(tmp_path, spawn)
    before = out.read_bytes()
    again = subprocess.run([*WALTUI, "record", "--out", str(out), "--for", "1", str(db)],
                           capture_output=True, text=True)
    assert again.returncode == 73 and "never writes over" in again.stderr
    assert out.read_bytes() == before


def test_codec_round_trips_a_real_reading_and_names_the_field_it_refuses(reader_change):
    change = reader_change
    assert unpack(Change, pack(change)) == change
    data = encode(change)
    data["reading"]["readers"][0]["pid"] = "1234"  # type: ignore[index]
    import zlib
    with pytest.raises(Damaged, match=r"reading\.readers\[0\]\.pid"):
        unpack(Change, zlib.compress(json.dumps(data).encode()))
    with pytest.raises(Damaged, match="larger than"):
        unpack(Change, zlib.compress(b" " * (20 * 1024 * 1024)))


def test_a_recording_gives_back_exactly_what_the_collector_sent(tmp_path):
    """Past several keyframes (each change compressed against the one before): every stored
    poll decodes to the very changes the collector emitted, in order."""
    from waltui.collector import ThreadClient
    from waltui.recording.schema import KEYFRAME_EVERY

    db, out = tmp_path / "agent.db", tmp_path / "run.waltui"
    writer = busy(db)
    sent = []
    recorder = Recorder(str(out), interval=0.05)

    def both(batch):
        sent.append(batch)
        recorder.batch(batch)

    client = ThreadClient(Config(interval=0.05), both)
    client.attach(str(db))
    client.start()
    try:
        deadline = time.monotonic() + 30
        while sum(1 for b in sent if b.changes) < 2 * KEYFRAME_EVERY + 5:
            assert time.monotonic() < deadline, "too few changing polls"
            time.sleep(0.1)
    finally:
        client.stop()
        client.join(5)
        recorder.close()
        writer.kill()
        writer.wait()
    recording = Recording(str(out))
    stored = [recording.batch(i) for i in range(len(recording.polls))]
    with_changes = [b for b in sent if b.changes]
    assert [b.changes for b in stored if b.changes] == [b.changes for b in with_changes]
    assert [b.taken_at for b in stored if b.changes] == [b.taken_at for b in with_changes]
