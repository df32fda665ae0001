"""Each finding produced by a real situation, and none in a healthy database under load."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import waltui_json
from tests.narrow import some
from waltui.collector import Poller
from waltui.config import Config, Thresholds
from waltui.health import evaluate
from waltui.history import History
from waltui.options import QueueQuery
from waltui.probes.filesystem import MountTable
from waltui.probes.locks import LockTable
from waltui.probes.reading import DatabaseObserver, PollContext

HELPERS = Path(__file__).parent / "helpers"


def poller_for(db: Path, **thresholds: Any) -> Poller:
    config = Config(thresholds=replace(Thresholds(), **thresholds), sql_min_age=0,
                    queries=(QueueQuery("pending",
                                        "SELECT count(*) FROM queue WHERE state = 'pending'"),))
    poller = Poller(config)
    poller.attach(str(db))
    return poller


def codes(poller: Poller) -> dict[str, str]:
    """One poll's confirmed findings (a finding needs two polls in a row to be raised)."""
    [update] = poller.poll_once()
    return {f.code: f.severity for f in update.findings}


def settled(poller: Poller) -> dict[str, str]:
    """Two polls: what a state that holds still is judged to be."""
    poller.poll_once()
    return codes(poller)


def test_a_finding_needs_two_polls_and_clears_in_one(live_db, spawn):
    db, app = live_db
    app.do("autocheckpoint 1000")
    reader = spawn(db)
    reader.do("begin_read")
    app.do("insert 1500")  # autocheckpoint copies up to the reader's mark, then stops
    poller = poller_for(db)
    assert codes(poller) == {}  # seen once: not raised yet
    found = codes(poller)
    assert found == {"checkpoint_starvation": "warning"}
    reader.do("end")
    app.do("insert 1")  # the next commit's autocheckpoint copies the rest
    assert codes(poller) == {}


def test_starvation_names_the_pinning_reader(live_db, spawn):
    db, app = live_db
    app.do("autocheckpoint 1000")
    app.do("insert 900")
    reader = spawn(db)
    reader.do("begin_read")
    app.do("insert 1000")  # past the autocheckpoint point: checkpoints reach the mark
    poller = poller_for(db, starvation_seconds=0)
    for _ in range(3):
        app.do("insert 200")
        poller.poll_once()
    app.do("insert 200")
    [update] = poller.poll_once()
    [finding] = [f for f in update.findings if f.code == "checkpoint_starvation"]
    assert f"pid {reader.pid}" in finding.evidence and "grew from" in finding.evidence
    assert finding.severity == "warning" and "End the long read transaction" in finding.fix
    critical = poller_for(db, starvation_seconds=0, pin_seconds=0)
    for _ in range(4):
        app.do("insert 50")
        found = codes(critical)
    assert found["checkpoint_starvation"] == "critical"


def test_starvation_clears_when_the_pin_ends(live_db, spawn):
    """Judged from the current state: no old checkpoint result keeps it raised."""
    db, app = live_db
    app.do("autocheckpoint 1000")
    reader = spawn(db)
    reader.do("begin_read")
    app.do("insert 1500")
    poller = poller_for(db, starvation_seconds=0)
    assert "checkpoint_starvation" in settled(poller)
    poller.states[str(db)].history.checkpoints.append(_partial_checkpoint())
    reader.do("end")
    app.do("insert 10")  # autocheckpoint copies everything; the next write restarts the WAL
    app.do("insert 10")
    found = [codes(poller) for _ in range(2)]
    assert "checkpoint_starvation" not in found[0] and found[1] == {}


def _partial_checkpoint():
    from waltui.history import CheckpointResult
    return CheckpointResult("PASSIVE", "partial", 0, 1600, 150, 1, 0.01, None, None, 0.0)


def test_overlapping_readers_keep_the_wal_from_restarting(live_db, spawn):
    """Every frame is checkpointed, no reader pins anything when polled, yet the WAL only
    grows: two readers take turns so one is always active and no writer can restart it."""
    db, app = live_db
    app.do("insert 900")
    readers = [spawn(db), spawn(db)]
    readers[0].do("begin_read")
    poller = poller_for(db, starvation_seconds=0)
    for turn in range(5):
        app.do("insert 200")
        readers[(turn + 1) % 2].do("begin_read")  # sees every frame: its mark is max_frame
        readers[turn % 2].do("end")
        app.do("checkpoint PASSIVE")  # copies up to the live reader's mark: everything
        [update] = poller.poll_once()
    reading = update.reading
    assert reading.frames_pending == 0 and reading.pins == ()
    assert some(reading.wal_index).max_frame > 1000
    [finding] = [f for f in update.findings if f.code == "checkpoint_starvation"]
    assert finding.title == "Checkpoint starvation: the WAL cannot restart"
    assert "a reader is always active" in finding.evidence and "RESTART" in finding.fix


def test_growth_a_pin_caused_is_not_blamed_on_readers_that_overlap_after(live_db, spawn):
    """A pinning reader ends while another reader is active, so the WAL cannot restart yet:
    the growth the pin caused is not evidence that it cannot restart (CI saw the finding
    outlive its cause that way). Growth seen after the pin alone raises it again."""
    db, app = live_db
    readers = [spawn(db), spawn(db)]
    readers[0].do("begin_read")
    app.do("insert 900")
    poller = poller_for(db, starvation_seconds=0)
    for _ in range(3):
        app.do("insert 200")
        app.do("checkpoint PASSIVE")  # copies up to the pinning reader's mark, no further
        found = codes(poller)
    assert "checkpoint_starvation" in found
    after = []
    for turn in range(4):
        app.do("insert 200")
        readers[(turn + 1) % 2].do("begin_read")  # sees every frame: pins nothing
        readers[turn % 2].do("end")
        app.do("checkpoint PASSIVE")
        [update] = poller.poll_once()
        assert update.reading.pins == () and update.reading.frames_pending == 0
        after.append(next((f.title for f in update.findings
                           if f.code == "checkpoint_starvation"), None))
    assert after[:3] == [None, None, None]  # three samples since the pin, then two polls
    assert after[3] == "Checkpoint starvation: the WAL cannot restart"


def test_healthy_database_under_steady_load_has_no_findings(live_db, spawn):
    db, app = live_db
    app.do("autocheckpoint 100")  # checkpoints run, as in a well-behaved application
    consumer = spawn(db)
    poller = poller_for(db, starvation_seconds=0, queue_growth_seconds=0)
    seen: set[str] = set()
    for _ in range(8):
        app.do("insert 120")
        consumer.do("sql UPDATE queue SET state = 'done' WHERE state = 'pending'")
        consumer.do("begin_read")
        consumer.do("end")
        seen |= set(codes(poller))
    assert seen == set()


def test_write_lock_held_names_the_holder_and_who_else_has_it_open(live_db, spawn):
    db, app = live_db
    holder = spawn(db)
    holder.do("begin_write")
    # critical far enough after the warning that a loaded machine's slow polls can't skip it
    poller = poller_for(db, write_hold_seconds=0.3, write_hold_critical_seconds=2.5)
    assert "write_lock_held" not in settled(poller)  # just taken
    time.sleep(0.4)
    poller.poll_once()
    [update] = poller.poll_once()
    [finding] = [f for f in update.findings if f.code == "write_lock_held"]
    assert finding.severity == "warning" and f"pid {holder.pid}" in finding.title
    assert "-shm byte 120" in finding.evidence and f"pid {app.pid}" in finding.evidence
    assert "panel" not in finding.fix and "pane" not in finding.fix
    time.sleep(2.2)
    assert codes(poller)["write_lock_held"] == "critical"
    holder.do("end")
    assert "write_lock_held" not in codes(poller)


def test_a_busy_writer_that_keeps_committing_is_not_a_long_hold(live_db):
    """Each commit moves the -shm's counter, so the hold clock restarts: a writer that holds
    the lock at every poll, one short transaction after another, raises nothing."""
    db, _app = live_db
    writer = subprocess.Popen(
        [sys.executable, "-c",
         "import apsw, sys, time\n"
         "c = apsw.Connection(sys.argv[1]); c.set_busy_timeout(5000)\n"
         "print('go', flush=True); end = time.time() + 3\n"
         "while time.time() < end:\n"
         "    with c:\n"
         "        c.execute(\"INSERT INTO queue(payload) VALUES ('x')\"); time.sleep(0.002)\n",
         str(db)], stdout=subprocess.PIPE, text=True)
    try:
        assert some(writer.stdout).readline().strip() == "go"
        poller = poller_for(db, write_hold_seconds=0.2)
        seen_writer, found = 0, set()
        for _ in range(12):
            [update] = poller.poll_once()
            seen_writer += update.reading.writer_pid == writer.pid
            found |= {f.code for f in update.findings}
            time.sleep(0.1)
    finally:
        writer.wait()
    assert seen_writer >= 3  # it did hold the lock when polled, again and again
    assert "write_lock_held" not in found


def test_write_lock_held_in_rollback_mode(tmp_path, spawn):
    db = tmp_path / "legacy.db"
    app = spawn(db)
    app.do("rollback")
    app.do("setup")
    app.do("begin_write")
    app.do("write_row")  # RESERVED
    poller = poller_for(db, write_hold_seconds=0.2)
    poller.poll_once()
    time.sleep(0.3)
    poller.poll_once()
    [update] = poller.poll_once()
    [finding] = [f for f in update.findings if f.code == "write_lock_held"]
    assert "RESERVED on the database file" in finding.evidence and f"pid {app.pid}" in finding.title
    assert "hot_journal" not in {f.code for f in update.findings}  # a live writer's journal


def test_waltui_is_never_a_suspect(live_db):
    """Our own connection (as a checkpoint or integrity check has) holding the write lock
    and a read slot: shown as ours, never the writer, a pin or a holder in findings."""
    db, app = live_db
    app.do("autocheckpoint 1000")
    import apsw
    ours = apsw.Connection(str(db))
    ours.execute("BEGIN IMMEDIATE")
    ours.execute("SELECT count(*) FROM queue").fetchall()
    poller = poller_for(db, write_hold_seconds=0, writer_rotation=1)
    try:
        for _ in range(3):
            [update] = poller.poll_once()
    finally:
        ours.execute("ROLLBACK")
        ours.close()
    reading = update.reading
    assert any(h.ours and h.lock.lock == "write" for h in reading.held_locks)
    assert reading.writer_pid is None and reading.pins == ()
    assert os.getpid() not in reading.open_by and reading.open_by == {app.pid}
    assert update.findings == ()


def test_a_hot_journal_needs_a_live_header(tmp_path, spawn):
    """journal_mode=PERSIST leaves its -journal with a zeroed header: not hot."""
    db = tmp_path / "persist.db"
    app = spawn(db)
    app.do("rollback")
    app.do("sql PRAGMA journal_mode=PERSIST")
    app.do("setup")
    app.do("insert 20")
    assert (tmp_path / "persist.db-journal").stat().st_size > 0
    assert settled(poller_for(db)) == {"not_wal": "warning"}


def test_a_live_writers_journal_read_before_its_lock_is_not_hot(tmp_path, spawn):
    """The lock table is read at the start of a cycle, the files after: a writer that began
    in between shows a -journal and no lock. The probe asks the kernel again."""
    db = tmp_path / "legacy.db"
    app = spawn(db)
    app.do("rollback")
    app.do("setup")
    app.do("insert 200")
    early = PollContext.capture()  # before the writer takes RESERVED
    app.do("sql PRAGMA cache_size=2")
    app.do("begin_write")
    app.do("sql UPDATE queue SET payload = payload || payload")
    observer = DatabaseObserver(str(db))
    try:
        reading = observer.read(early)
    finally:
        observer.close()
    assert some(reading.files).journal_bytes and reading.writer_pid is None  # the stale table
    assert some(reading.files).journal_hot is False


def test_large_wal_and_wal_far_larger_than_content(live_db):
    db, app = live_db
    assert settled(poller_for(db)) == {}
    poller = poller_for(db, wal_bytes=100_000, wal_slack_min_bytes=100_000)
    assert settled(poller)["wal_large"] == "warning"
    app.do("checkpoint PASSIVE")
    app.do("insert 2")  # the WAL restarts from its start; the file keeps its size
    found = settled(poller)
    assert "wal_slack" in found
    update_reading = some(poller.states[str(db)].reading)
    assert some(update_reading.wal_bytes) > 4 * some(update_reading.wal_bytes_in_use)


def test_rollback_mode_and_a_hot_journal(tmp_path, spawn):
    """Hot as SQLite's pager.c judges it: the journal was synced (its magic written) before
    the database file was touched, and its writer died. SQLite then rolls it back on open."""
    db = tmp_path / "legacy.db"
    app = spawn(db)
    app.do("rollback")
    app.do("setup")
    app.do("insert 3000")
    assert settled(poller_for(db)) == {"not_wal": "warning"}
    app.do("sql PRAGMA cache_size=10")
    app.do("begin_write")
    app.do("sql UPDATE queue SET payload = payload || payload")  # spills: journal synced
    os.kill(app.pid, signal.SIGKILL)
    app.proc.wait()
    assert settled(poller_for(db)) == {"not_wal": "warning", "hot_journal": "critical"}
    import apsw
    apsw.Connection(str(db)).execute("SELECT count(*) FROM queue").fetchall()
    assert not (tmp_path / "legacy.db-journal").exists()  # SQLite agreed: it rolled back


def test_a_killed_writers_unsynced_journal_is_not_hot(tmp_path, spawn):
    """A writer killed before its journal was synced leaves a zeroed header and an untouched
    database: SQLite does not roll it back, and it is not called hot."""
    db = tmp_path / "legacy.db"
    app = spawn(db)
    app.do("rollback")
    app.do("setup")
    app.do("insert 20")
    app.do("begin_write")
    app.do("write_row")
    os.kill(app.pid, signal.SIGKILL)
    app.proc.wait()
    assert (tmp_path / "legacy.db-journal").read_bytes()[:8] == bytes(8)
    assert settled(poller_for(db)) == {"not_wal": "warning"}


def test_network_filesystem_from_the_mount_table(live_db):
    db, _app = live_db
    # only the type is made up: the device is the real one, so the real locks still match
    dev = os.stat(db.parent).st_dev
    mounts = MountTable.parse(f"40 1 {os.major(dev)}:{os.minor(dev)} / {db.parent} rw - "
                              "nfs4 server:/export rw\n")
    observer = DatabaseObserver(str(db))
    reading = observer.read(PollContext(some(LockTable.capture()), mounts))
    observer.close()
    found = {f.code: f.severity for f in evaluate(reading, History(), Thresholds())}
    assert found == {"network_filesystem": "critical"}


@pytest.fixture(scope="session")
def dstate_binary(tmp_path_factory) -> Path:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is needed to build the D-state helper")
    out: Path = tmp_path_factory.mktemp("bin") / "dstate"
    subprocess.run(["gcc", "-O1", "-o", str(out), str(HELPERS / "dstate.c")], check=True)
    return out


def test_lock_holder_in_d_state(live_db, dstate_binary):
    db, _app = live_db
    holder = subprocess.Popen([str(dstate_binary), f"{db}-shm", "128", "4"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert some(holder.stdout).readline().startswith("ready")
        poller = poller_for(db, d_state_seconds=0.3)
        assert "d_state_holder" not in settled(poller)  # just seen: not yet for long
        time.sleep(0.5)
        poller.poll_once()
        [update] = poller.poll_once()
        [finding] = [f for f in update.findings if f.code == "d_state_holder"]
        assert f"pid {holder.pid}" in finding.evidence and "dms" in finding.evidence
    finally:
        holder.kill()
        holder.wait()


def test_writers_taking_turns(live_db, spawn):
    db, _app = live_db
    poller = poller_for(db)
    writers = [spawn(db) for _ in range(3)]
    for writer in writers:
        writer.do("begin_write")
        poller.poll_once()
        writer.do("end")
    assert settled(poller) == {"many_writers": "info"}


def test_recovery_in_progress(live_db):
    db, _app = live_db
    script = ("import fcntl, os, sys\n"
              "fd = os.open(sys.argv[1], os.O_RDWR)\n"
              "fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 122)\n"
              "print('ready', flush=True)\n"
              "sys.stdin.read()\n")
    holder = subprocess.Popen([sys.executable, "-c", script, f"{db}-shm"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert some(holder.stdout).readline().strip() == "ready"
        assert settled(poller_for(db)) == {"recovering": "warning"}
    finally:
        some(holder.stdin).close()
        holder.wait()


def test_leftover_shm_when_nobody_holds_the_database(live_db):
    db, app = live_db
    os.kill(app.pid, signal.SIGKILL)
    app.proc.wait()
    assert settled(poller_for(db)) == {"leftover_shm": "info"}


def test_wal_deleted_under_open_database(live_db):
    db, app = live_db
    app.do("insert 10")
    os.unlink(f"{db}-wal")
    assert settled(poller_for(db))["wal_deleted"] == "critical"


def test_queue_growing_is_judged_over_seconds_not_polls(live_db):
    db, app = live_db
    poller = poller_for(db, queue_growth_seconds=0.6)
    for _ in range(3):  # three rising polls, but only 0.2 s of them: too short to judge
        app.do("insert 5")
        assert "queue_growing" not in codes(poller)
        time.sleep(0.1)
    time.sleep(0.5)
    app.do("insert 5")
    poller.poll_once()
    app.do("insert 5")
    assert codes(poller) == {"queue_growing": "warning"}  # 4 polls, over 0.6 s


def run_check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "waltui", "check", *args],
                          capture_output=True, text=True, timeout=60)


def test_check_exit_codes(live_db, tmp_path, spawn):
    db, app = live_db
    assert run_check(str(db)).returncode == 0
    legacy = tmp_path / "legacy.db"
    old = spawn(legacy)
    old.do("rollback")
    old.do("setup")
    warned = run_check("--json", str(db), str(legacy))
    assert warned.returncode == 1
    assert waltui_json(warned.stdout)["databases"][1]["findings"][0]["code"] == "not_wal"
    app.do("insert 10")
    os.unlink(f"{db}-wal")
    assert run_check(str(db)).returncode == 2
    missing = run_check(str(db), str(tmp_path / "gone.db"))
    assert missing.returncode == 3 and "UNREADABLE: missing" in missing.stdout


def test_check_for_seconds_sees_growth(live_db, spawn):
    db, app = live_db
    app.do("insert 1000")
    spawn(db).do("begin_read")
    writer = subprocess.Popen(
        [sys.executable, "-c",
         "import apsw, sys, time\n"
         "c = apsw.Connection(sys.argv[1]); c.set_busy_timeout(2000)\n"
         "for i in range(400):\n"
         "    c.execute(\"INSERT INTO queue(payload) VALUES ('x')\"); time.sleep(0.005)\n",
         str(db)])
    try:
        out = run_check("--json", "--for", "2", "--interval", "0.25",
                        "--threshold", "starvation_seconds=0.5", str(db))
    finally:
        writer.wait()
    report = waltui_json(out.stdout)
    assert report["databases"][0]["polls"] >= 4
    assert "checkpoint_starvation" in {f["code"] for f in report["databases"][0]["findings"]}
    assert out.returncode == 1


def test_a_symlink_is_watched_as_its_target(tmp_path, spawn):
    """SQLite resolves symlinks and keeps -wal/-shm beside the target: so does waltui."""
    (tmp_path / "real").mkdir()
    (tmp_path / "links").mkdir()
    real = tmp_path / "real" / "app.db"
    link = tmp_path / "links" / "app.db"
    link.symlink_to(real)
    app = spawn(link)  # the application uses the link
    app.do("wal")
    app.do("setup")
    app.do("insert 300")
    reader = spawn(link)
    reader.do("begin_read")
    app.do("insert 10")
    poller = Poller(Config())
    poller.attach(str(link))
    assert list(poller.states) == [str(real)]
    assert not poller.attach(str(real))  # one database, not two
    [update] = poller.poll_once()
    reading = update.reading
    assert some(reading.wal_index).max_frame > 300 and [p.pid for p in reading.pins] == [reader.pid]


def test_a_hard_link_used_by_others_is_flagged_not_reported_healthy(tmp_path, spawn):
    used = tmp_path / "used.db"
    other = tmp_path / "other-name.db"
    app = spawn(used)
    app.do("wal")
    app.do("setup")
    app.do("insert 300")
    os.link(used, other)
    poller = poller_for(other)
    found = settled(poller)
    reading = some(poller.states[str(other)].reading)
    assert found == {"opened_by_another_name": "warning"}
    [update_finding] = poller.poll_once()[0].findings
    assert str(used) in update_finding.evidence and f"pid {app.pid}" in update_finding.evidence
    assert reading.opened_as == (str(used),)
    assert any("SQL values not read" in note for note in reading.notes)
    # this name's page 1 says 2 pages while the WAL beside the other name holds the truth:
    # the values are absent (with the note's reason), never the stale ones
    assert reading.pragmas == {} and reading.queues == ()
    assert not os.path.exists(f"{other}-shm")  # and waltui did not create one


def test_exclusive_locking_mode_says_what_it_cannot_know(tmp_path, spawn):
    db = tmp_path / "exclusive.db"
    app = spawn(db)
    app.do("sql PRAGMA locking_mode=EXCLUSIVE")
    app.do("wal")
    app.do("setup")
    app.do("insert 400")
    assert not os.path.exists(f"{db}-shm") and os.path.getsize(f"{db}-wal") > 0
    poller = poller_for(db, write_hold_seconds=0)
    found = settled(poller)
    reading = some(poller.states[str(db)].reading)
    assert found == {"exclusive_locking_mode": "info"}  # not a write lock "held" for ever
    [finding] = poller.poll_once()[0].findings
    assert f"pid {app.pid}" in finding.evidence and "at most" in finding.evidence
    assert any("exclusive locking mode" in note for note in reading.notes)


def test_one_shot_check_names_a_slot_zero_reader_without_dashboard_words(live_db, spawn):
    db, app = live_db
    app.do("checkpoint TRUNCATE")
    reader = spawn(db)
    reader.do("begin_read")  # the WAL is empty: slot 0, it reads the database file
    app.do("autocheckpoint 1000")
    app.do("insert 1500")  # every autocheckpoint copies nothing while the reader lives
    out = run_check("--json", str(db))
    report = waltui_json(out.stdout)
    [entry] = report["databases"]
    [finding] = [f for f in entry["findings"] if f["code"] == "checkpoint_starvation"]
    assert f"pid {reader.pid}" in finding["evidence"] and "read slot 0" in finding["evidence"]
    assert entry["pinned_by"] == [reader.pid] and out.returncode == 1
    assert "growth not judged" in report["notes"][0]
    text = run_check(str(db)).stdout
    for word in ("pane", "(c)", "(p)", "press"):
        assert word not in text
    assert f"pinning reader: pid {reader.pid}" in text
