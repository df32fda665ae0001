"""The readings against real databases held by real separate processes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import apsw
import pytest

from tests.conftest import our_locks_on
from tests.narrow import some
from waltui.options import QueueQuery
from waltui.probes.files import deferred_close_count, sqlite_guard
from waltui.probes.filesystem import MountTable
from waltui.probes.reading import DatabaseObserver, ObserveOptions, PollContext


def read_once(db: Path, options: ObserveOptions | None = None, lock_source: str = "auto"):
    observer = DatabaseObserver(str(db), options)
    try:
        return observer.read(PollContext.capture(lock_source))
    finally:
        observer.close()


def test_pinning_reader_is_named_with_its_slot_and_mark(live_db, spawn):
    db, app = live_db
    reader = spawn(db)
    reader.do("begin_read")
    app.do("insert 150")
    reading = read_once(db)
    assert reading.error is None
    [pin] = reading.pins
    assert pin.pid == reader.pid
    slot_locks = [lk for lk in reading.locks if lk.pid == reader.pid and lk.lock == "read"]
    assert [lk.slot for lk in slot_locks] == [pin.slot]
    assert pin.read_mark == reading.wal_index.read_marks[pin.slot]
    assert pin.read_mark < reading.wal_index.max_frame
    assert "sqlite_helper.py" in pin.process


@pytest.fixture
def btrfs_subvolume(tmp_path: Path) -> Iterator[Path]:
    """A real btrfs (a sparse loop image) with a subvolume: os.stat's device there is not the
    one /proc/locks names. Needs root, loop devices and btrfs-progs (.ci/run installs it)."""
    if os.geteuid() != 0 or shutil.which("mkfs.btrfs") is None:
        pytest.skip("needs root and mkfs.btrfs to mount a btrfs image")
    image, mount = tmp_path / "btrfs.img", tmp_path / "btrfs"
    mount.mkdir()
    with open(image, "wb") as handle:
        handle.truncate(256 * 1024 * 1024)
    made = subprocess.run(f"mkfs.btrfs -q {image} && mount -o loop {image} {mount} && "
                          f"btrfs -q subvolume create {mount}/agents", shell=True,
                          capture_output=True, text=True)
    if made.returncode != 0:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)
        pytest.skip(f"cannot mount a btrfs image here: {made.stderr.strip()}")
    yield mount / "agents"
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_locks_are_found_on_a_btrfs_subvolume(btrfs_subvolume, spawn):
    db = btrfs_subvolume / "agent.db"
    filesystem = MountTable.capture().lookup(str(db))
    assert some(filesystem).type == "btrfs"
    app = spawn(db)
    app.do("wal")
    app.do("setup")
    app.do("insert 50")
    assert os.stat(db).st_dev != some(filesystem).device  # the case: matching by st_dev finds nothing
    reader = spawn(db)
    reader.do("begin_read")
    app.do("insert 50")
    reading = read_once(db)
    assert [pin.pid for pin in reading.pins] == [reader.pid]
    assert {lk.pid for lk in reading.locks if lk.lock == "dms"} == {app.pid, reader.pid}


def slot_of_an_ended_reader(db: Path, app, spawn) -> int:
    """A real reader pins a frame, then ends: the slot whose mark it left behind."""
    reader = spawn(db)
    reader.do("begin_read")
    app.do("insert 50")
    slot: int = read_once(db).pins[0].slot
    reader.do("end")
    return slot


def test_mark_left_by_an_ended_reader_is_stale_not_a_pin(live_db, spawn):
    db, app = live_db
    slot = slot_of_an_ended_reader(db, app, spawn)
    reading = read_once(db)
    assert reading.pins == ()
    assert slot in {m.slot for m in reading.stale_marks}
    assert reading.wal_index.read_marks[slot] is not None


def test_a_slot_whose_mark_is_being_set_is_neither_stale_nor_a_reader(live_db, spawn):
    """SQLite holds a read slot's byte exclusively while it sets the slot's mark (a reader
    starting, a checkpoint or writer moving marks): the mark under it is not stale, and the
    process is no reader. Held here by a real process for as long as the test looks."""
    from waltui.ui.palette import PLAIN
    from waltui.ui.widgets.locks_table import LocksPane
    db, app = live_db
    slot = slot_of_an_ended_reader(db, app, spawn)
    assert slot in {m.slot for m in read_once(db).stale_marks}
    setter = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, os, sys\n"
         "fd = os.open(sys.argv[1], os.O_RDWR)\n"
         "fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, int(sys.argv[2]))\n"
         "print('held', flush=True)\nsys.stdin.read()\n",
         f"{db}-shm", str(120 + 3 + slot)],  # WAL_READ_LOCK(slot) in the -shm's lock bytes
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert some(setter.stdout).readline().strip() == "held"
        reading = read_once(db)
        assert slot not in {m.slot for m in reading.stale_marks}
        assert [(lk.lock, lk.slot, lk.mode) for lk in reading.locks if lk.pid == setter.pid] \
            == [("read", slot, "exclusive")]
        assert setter.pid not in {r.pid for r in reading.readers}
        sentence = LocksPane._sentence(reading, PLAIN).plain
        assert f"holds read slot {slot} alone: it is setting that slot's mark" in sentence
        assert "stale marks" not in sentence or f"slot {slot} at" not in sentence
    finally:
        some(setter.stdin).close()
        setter.wait(timeout=10)


def test_reader_on_slot_zero_pins_everything_pending(live_db, spawn):
    """Measured: a reader that began on a fully checkpointed WAL stops every backfill."""
    db, app = live_db
    assert app.do("checkpoint PASSIVE")[0] == 0
    app.do("insert 1")  # the WAL restarts; nothing pending but this
    app.do("checkpoint PASSIVE")
    reader = spawn(db)
    reader.do("begin_read")
    app.do("insert 20")
    reading = read_once(db)
    [pin] = reading.pins
    assert (pin.pid, pin.slot) == (reader.pid, 0)
    busy, log, done = app.do("checkpoint PASSIVE")
    assert busy == 0 and done < log  # busy=0 and yet nothing copied past the pin


def test_writer_pid_is_named(live_db, spawn):
    db, _app = live_db
    writer = spawn(db)
    writer.do("begin_write")
    reading = read_once(db)
    assert reading.writer_pid == writer.pid
    writer.do("end")
    assert read_once(db).writer_pid is None


def test_wal_index_matches_what_a_checkpoint_reports(live_db, spawn):
    db, app = live_db
    reader = spawn(db)
    reader.do("begin_read")
    app.do("insert 150")
    busy, log, checkpointed = app.do("checkpoint PASSIVE")
    reading = read_once(db)
    assert busy == 0 and checkpointed < log
    assert reading.wal_index.max_frame == log
    assert reading.wal_index.backfilled == checkpointed
    assert reading.frames_pending == log - checkpointed
    assert reading.wal_bytes == os.stat(f"{db}-wal").st_size
    assert reading.wal_bytes_in_use == 32 + log * (reading.page_size + 24)


def test_queue_depth_equals_a_separate_count(live_db, spawn):
    db, app = live_db
    app.do("sql UPDATE queue SET state = 'done' WHERE id % 3 = 0")
    expected = spawn(db).do("count")
    query = QueueQuery("pending", "SELECT count(*) FROM queue WHERE state = 'pending'")
    labelled = QueueQuery("by_state", "SELECT state, count(*) FROM queue GROUP BY state")
    reading = read_once(db, ObserveOptions(queries=(query, labelled)))
    depths = {q.name: q.depth for q in reading.queues}
    assert depths["pending"] == expected == 100
    assert depths["by_state:done"] == 50


def test_sql_values_are_reused_until_a_commit_then_read_again(live_db, spawn):
    """An unchanged database keeps its last pragmas and queue depths (opening a connection is
    most of a poll); any commit, and sql_max_age, make the next poll read them again."""
    db, app = live_db
    query = QueueQuery("pending", "SELECT count(*) FROM queue WHERE state = 'pending'")
    observer = DatabaseObserver(str(db), ObserveOptions(queries=(query,), sql_max_age=60,
                                                        sql_min_age=0))
    try:
        first = observer.read(PollContext.capture())
        spawn(db).do("begin_read")  # a reader changes locks and marks, not content
        again = observer.read(PollContext.capture())
        assert again.sql_taken_at == first.sql_taken_at and again.queues == first.queues
        assert again.readers and not first.readers  # the rest of the poll is fresh
        app.do("insert 5")
        after = observer.read(PollContext.capture())
        assert some(after.sql_taken_at) > some(first.sql_taken_at)
        assert after.queues[0].depth == some(first.queues[0].depth) + 5 == app.do("count")
        app.do("sql UPDATE queue SET state = 'done' WHERE id = 1")  # same sizes, new commit
        assert observer.read(PollContext.capture()).queues[0].depth == app.do("count")
    finally:
        observer.close()
    capped = DatabaseObserver(str(db), ObserveOptions(queries=(query,), sql_min_age=60))
    try:
        first = capped.read(PollContext.capture())
        app.do("insert 5")  # changed, but read less than sql_min_age ago: kept
        assert capped.read(PollContext.capture()).sql_taken_at == first.sql_taken_at
    finally:
        capped.close()
    always = DatabaseObserver(str(db), ObserveOptions(queries=(query,), sql_max_age=0))
    try:
        taken = {always.read(PollContext.capture()).sql_taken_at for _ in range(3)}
        assert len(taken) == 3
    finally:
        always.close()


def test_preset_queue_is_found_by_its_table(tmp_path, spawn):
    db = tmp_path / "lq.db"
    app = spawn(db)
    app.do("wal")
    app.do("sql CREATE TABLE Queue(message TEXT, message_id TEXT, status INTEGER)")
    app.do("sql INSERT INTO Queue VALUES ('a', '1', 0), ('b', '2', 0), ('c', '3', 2), "
           "('d', '4', 1)")
    reading = read_once(db)
    assert {q.name: q.depth for q in reading.queues} == {"litequeue:ready": 2,
                                                         "litequeue:locked": 1}


def test_slow_query_is_cut_off_and_leaves_no_read_lock(live_db):
    db, _app = live_db
    slow = QueueQuery("slow", "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) "
                              "SELECT count(*) FROM n")
    started = time.monotonic()
    reading = read_once(db, ObserveOptions(queries=(slow,), query_limit_ms=50))
    assert time.monotonic() - started < 2
    [depth] = reading.queues
    assert depth.depth is None and "cut off" in depth.error
    assert our_locks_on(Path(f"{db}-shm")) == []


def test_observer_creates_no_files_on_a_closed_wal_database(tmp_path):
    db = tmp_path / "closed.db"
    conn = apsw.Connection(str(db))
    conn.execute("PRAGMA journal_mode=wal").fetchall()
    conn.execute("CREATE TABLE t(x)")
    conn.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["closed.db"]
    reading = read_once(db)
    assert reading.journal_mode == "wal" and reading.error is None
    assert reading.pragmas["page_count"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["closed.db"]


def test_poll_writes_nothing_to_a_live_database(live_db):
    db, _app = live_db
    before = [(os.stat(p).st_size, os.stat(p).st_mtime_ns, Path(p).read_bytes())
              for p in (db, f"{db}-wal")]
    for _ in range(3):
        read_once(db, ObserveOptions(queries=(QueueQuery("n", "SELECT count(*) FROM queue"),)))
    after = [(os.stat(p).st_size, os.stat(p).st_mtime_ns, Path(p).read_bytes())
             for p in (db, f"{db}-wal")]
    assert before == after


def test_our_read_transaction_keeps_its_locks_across_polls(live_db):
    """The close hazard: polls (and a detach) must not drop locks of a connection of ours."""
    db, app = live_db
    shm = Path(f"{db}-shm")
    observer = DatabaseObserver(str(db))
    with sqlite_guard():
        ours = apsw.Connection(str(db))
        ours.execute("BEGIN")
        ours.execute("SELECT count(*) FROM queue").fetchall()
        held = our_locks_on(shm)
        assert any(" 128 128" in lk for lk in held) and len(held) == 2
        for _ in range(3):
            app.do("insert 5")
            observer.read(PollContext.capture())
        observer.close()  # a detach while our connection is open: closes are deferred
        assert deferred_close_count() == 3
        assert our_locks_on(shm) == held
        ours.execute("COMMIT")
        ours.close()
    assert deferred_close_count() == 0


def test_a_plain_close_does_drop_our_locks(live_db):
    """The control for the test above: the hazard is real on this machine."""
    db, _app = live_db
    shm = Path(f"{db}-shm")
    ours = apsw.Connection(str(db))
    ours.execute("BEGIN")
    ours.execute("SELECT count(*) FROM queue").fetchall()
    assert our_locks_on(shm)
    os.close(os.open(shm, os.O_RDONLY))
    assert our_locks_on(shm) == []
    ours.close()


def test_getlk_fallback_finds_the_same_pin_and_writer(live_db, spawn):
    db, app = live_db
    reader = spawn(db)
    reader.do("begin_read")
    app.do("insert 30")
    writer = spawn(db)
    writer.do("begin_write")
    from_proc = read_once(db, lock_source="proc")
    from_getlk = read_once(db, lock_source="getlk")
    assert from_getlk.writer_pid == from_proc.writer_pid == writer.pid
    assert [(p.pid, p.slot, p.read_mark) for p in from_getlk.pins] == \
           [(p.pid, p.slot, p.read_mark) for p in from_proc.pins]




def test_auto_asks_per_byte_while_proc_locks_is_dear_and_names_the_same_holders(
        live_db, spawn, tmp_path):
    """A host with 20,000 unrelated locks (a real process holds them): reading /proc/locks
    costs more than asking F_GETLK about the one watched database, so auto switches, says
    so on the reading (and that waiters are not seen), names the same writer and both
    pinning readers, which share one read slot (F_GETLK alone names one of them), and
    raises the same finding as /proc/locks does; when the host calms down it goes back."""
    from bench.floor import unrelated_locks
    from waltui.collector import Poller
    from waltui.config import Config
    from waltui.probes.lock_source import CHOSEN_NOTE as GETLK_NOTE
    from waltui.probes.lock_source import LockSource

    db, app = live_db
    app.do("autocheckpoint 1000")
    reader, second = spawn(db), spawn(db)
    reader.do("begin_read")
    second.do("begin_read")  # nothing written in between: the same mark, the same slot
    app.do("insert 1500")  # a checkpoint stops at the readers' mark: they pin
    writer = spawn(db)
    writer.do("begin_write")
    locker = unrelated_locks(tmp_path / "unrelated.bin", 20_000)  # the bench's own locker
    assert locker is not None
    adaptive, by_proc = Poller(Config()), Poller(Config(lock_source="proc"))
    adaptive.locks = LockSource("auto", recheck_seconds=0.0)
    try:
        for poller in (adaptive, by_proc):
            poller.attach(str(db))
        [switching] = adaptive.poll_once()  # read /proc/locks, found it dear
        assert adaptive.locks.per_byte and some(adaptive.locks.last_proc_seconds) > 0.005
        assert GETLK_NOTE not in switching.reading.notes  # this poll still used the table
        by_proc.poll_once()
        [per_byte], [proc] = adaptive.poll_once(), by_proc.poll_once()
        assert GETLK_NOTE in per_byte.reading.notes and not per_byte.reading.waiters_seen
        assert proc.reading.waiters_seen
        assert per_byte.reading.writer_pid == proc.reading.writer_pid == writer.pid
        assert [(p.pid, p.slot) for p in per_byte.reading.pins] == \
               [(p.pid, p.slot) for p in proc.reading.pins]
        assert sorted(p.pid for p in per_byte.reading.pins) == sorted([reader.pid, second.pid])
        assert len({p.slot for p in per_byte.reading.pins}) == 1
        assert set(per_byte.reading.held_locks) == set(proc.reading.held_locks) or \
            {h.lock for h in per_byte.reading.held_locks} == \
            {h.lock for h in proc.reading.held_locks}
        assert {f.code for f in per_byte.findings} == {f.code for f in proc.findings} \
            >= {"checkpoint_starvation"}
        some(locker.stdin).close()  # the host calms down
        locker.wait()
        [looked] = adaptive.poll_once()  # the recheck reads /proc/locks: cheap again
        assert not adaptive.locks.per_byte and GETLK_NOTE not in looked.reading.notes
    finally:
        adaptive.close()
        by_proc.close()
        if locker.poll() is None:
            locker.kill()
            locker.wait()


def test_rollback_mode_writer_shows_reserved_lock(tmp_path, spawn):
    db = tmp_path / "rollback.db"
    app = spawn(db)
    app.do("rollback")
    app.do("setup")
    app.do("begin_write")
    app.do("write_row")
    reading = read_once(db)
    assert reading.error is not None and reading.error.kind == "not_wal"
    assert reading.writer_pid == app.pid
    assert {(lk.pid, lk.lock) for lk in reading.locks} >= {(app.pid, "reserved"),
                                                         (app.pid, "shared")}


def test_network_filesystem_is_flagged_from_the_mount_table():
    table = MountTable.parse(
        "36 25 0:45 / /srv/agents rw,relatime shared:1 - nfs4 fs:/export rw\n"
        "37 25 0:46 / /srv/agents/local rw shared:2 - ext4 /dev/sdb1 rw\n"
        "38 25 0:47 / /mnt/my\\040box rw shared:3 - fuse.sshfs me@host: rw\n")
    assert some(table.lookup("/srv/agents/a.db")).network is True
    assert some(table.lookup("/srv/agents/local/b.db")).network is False
    boxed = table.lookup("/mnt/my box/c.db")
    assert some(boxed).network and some(boxed).fuse
    assert some(table.lookup("/srv/agents/a.db")).device == os.makedev(0, 45)


def test_of_two_mounts_at_one_point_the_one_on_top_is_used():
    table = MountTable.parse("40 25 0:50 / /data rw - ext4 /dev/sdc1 rw\n"
                             "41 40 0:51 / /data rw - btrfs /dev/sdd1 rw\n")
    found = table.lookup("/data/agent.db")
    assert (some(found).type, some(found).device) == ("btrfs", os.makedev(0, 51))


def test_the_lock_table_decodes_only_the_watched_inodes(live_db):
    """Lines on other inodes are skipped before they are decoded; the watched ones are the
    same as in a full read of the real /proc/locks."""
    from waltui.probes.locks import LockTable

    db, app = live_db
    shm = Path(f"{db}-shm")
    ids = {(os.stat(db).st_dev, os.stat(db).st_ino), (os.stat(shm).st_dev, os.stat(shm).st_ino)}
    full = LockTable.capture()
    only = LockTable.capture(inodes=frozenset(i[1] for i in ids))
    assert full is not None and only is not None
    theirs = {k: v for k, v in full.by_file.items() if k in ids}
    assert theirs and {k: v for k, v in only.by_file.items() if k in ids} == theirs
    assert any(raw.pid == app.pid for raws in theirs.values() for raw in raws)
    assert set(only.by_file) <= set(full.by_file)
    assert some(LockTable.capture(inodes=frozenset({1}))).by_file.keys().isdisjoint(ids)


def test_a_one_shot_commands_early_read_of_proc_locks_is_used_once_and_only_fresh(
        live_db, spawn, monkeypatch):
    """`snapshot` and `check` begin reading /proc/locks before their imports (launch.py);
    the first lock table is made of those bytes, a later one reads again, and bytes older
    than MAX_AGE_SECONDS are never used."""
    from waltui.probes import early_locks
    from waltui.probes.locks import LockTable

    db, _app = live_db
    shm = os.stat(f"{db}-shm")

    def readers_after_an_early_read() -> list[bool]:
        """A reader begins after an early read has ended; the pids on the -shm in the
        next two lock tables."""
        reader = spawn(db)
        early_locks.start()
        time.sleep(0.2)  # the early read ends long before the reader's lock is taken
        reader.do("begin_read")
        tables = [some(LockTable.capture()), some(LockTable.capture())]
        return [reader.pid in {raw.pid for raw in table.by_file.get(
            (shm.st_dev, shm.st_ino), [])} for table in tables]

    assert readers_after_an_early_read() == [False, True]  # the early bytes, once
    monkeypatch.setattr(early_locks, "MAX_AGE_SECONDS", 0.1)
    assert readers_after_an_early_read() == [True, True]  # too old: read again


@pytest.mark.parametrize(("args", "early"), [
    (["snapshot", "--json", "a.db"], True), (["check", "a.db"], True),
    (["check", "--from", "r.waltui"], False), (["snapshot", "--at=-5", "r.waltui"], False),
    (["snapshot", "--lock-source", "getlk", "a.db"], False),
    (["check", "--lock-source=getlk", "a.db"], False), (["a.db"], False), ([], False),
    (["export", "a.db"], False), (["snapshot", "getlk"], True),  # a database named getlk
    (["check", "--lock-source", "proc", "x=getlk"], True), (["check", "--", "--from"], True)])
def test_only_one_shot_commands_on_live_databases_read_proc_locks_early(args, early):
    from waltui.cli.launch import reads_proc_locks_first

    assert reads_proc_locks_first(args) is early
