"""An idle database's poll hands out its last reading again (issue "A poll at the syscall
floor"); every kind of change, made by a real process, still reaches the next reading, and
findings that depend on time still come and go."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace

import pytest

from tests.narrow import some
from waltui.collector import Poller
from waltui.collector.core import same_reading
from waltui.config import Config, Thresholds
from waltui.history import ChartHistory
from waltui.model import Reading
from waltui.options import QueueQuery
from waltui.probes.files import PATH_CHECK_EVERY
from waltui.probes.filesystem import MountWatch
from waltui.probes.locks import LockTable
from waltui.probes.reading import DatabaseObserver, ObserveOptions, PollContext, handed_out_again

NO_SQL = ObserveOptions(sql=False)
WRITE_LOCKER = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX, 1, 120)
print("held", flush=True)
sys.stdin.read()
"""


def read(observer: DatabaseObserver):
    return observer.read(PollContext.capture())


def fresh(db) -> Reading:
    """What an observer that has never seen the database reads now."""
    observer = DatabaseObserver(str(db), NO_SQL)
    try:
        reading: Reading = read(observer)
        return reading
    finally:
        observer.close()


def test_an_idle_database_is_read_again_and_each_change_is_read_in_full(live_db, spawn):
    db, app = live_db
    observer = DatabaseObserver(str(db), NO_SQL)
    try:
        read(observer)  # opens the files it keeps: nothing to compare yet
        first = read(observer)
        again = read(observer)
        assert observer.unchanged_reads == 1 and again.files is first.files
        assert again.taken_at > first.taken_at
        assert same_reading(again, fresh(db))  # what a full read finds, but for the times

        reader = spawn(db)
        reader.do("begin_read")  # a lock came: read in full
        pinned = read(observer)
        assert observer.unchanged_reads == 1 and pinned.readers
        later = read(observer)
        assert observer.unchanged_reads == 2
        assert later.readers[0].held_seconds > pinned.readers[0].held_seconds
        assert same_reading(later, fresh(db))

        app.do("insert 3")  # a commit moves the -shm header
        committed = read(observer)
        assert observer.unchanged_reads == 2
        assert committed.wal_index.max_frame > later.wal_index.max_frame
        reader.do("end")
        app.do("checkpoint PASSIVE")  # a checkpoint moves nBackfill (and writes the file)
        checkpointed = read(observer)
        assert checkpointed.wal_index.backfilled == checkpointed.wal_index.max_frame > 0
        assert not checkpointed.readers and same_reading(checkpointed, fresh(db))
        assert read(observer).files is checkpointed.files
        os.truncate(f"{db}-wal", 0)  # the file itself, behind SQLite's back
        assert read(observer).files.wal_bytes == 0
    finally:
        observer.close()


def test_a_wal_renamed_away_or_deleted_under_an_idle_database_is_seen(live_db):
    """The -wal and -shm are asked through their kept fds on most polls: a file deleted
    shows at the next poll (its link count is 0), one renamed away with another put in its
    place within PATH_CHECK_EVERY polls (SQLite never renames them; a person might)."""
    db, _app = live_db
    observer = DatabaseObserver(str(db), NO_SQL)
    wal = f"{db}-wal"
    try:
        read(observer)
        assert read(observer).files.wal_bytes > 0
        os.rename(wal, f"{wal}.away")
        with open(wal, "wb") as other:
            other.write(bytes(1234))
        polls = 1
        while read(observer).files.wal_bytes != 1234:
            polls += 1
            assert polls <= PATH_CHECK_EVERY, "the file now at the -wal's path was never seen"
        assert read(observer).files.wal_bytes == 1234
        os.unlink(wal)
        assert read(observer).files.wal_bytes is None  # at the very next poll
    finally:
        observer.close()


def test_the_locks_on_a_new_shm_are_seen_by_a_poller_that_watched_the_old_one(tmp_path,
                                                                            spawn):
    """The poller gathers the inodes whose /proc/locks lines it parses again only after a
    full read: a -shm made anew by the next application to open the database is one."""
    db = tmp_path / "agent.db"
    first = spawn(db)
    first.do("wal")
    first.do("setup")
    poller = Poller(Config(sql=False))
    poller.attach(str(db))
    try:
        poller.poll_once()
        poller.poll_once()  # handed out again: the inodes are kept
        os.link(f"{db}-shm", tmp_path / "old-shm")  # its inode stays taken: a new one differs
        first.stop()  # the last connection's close removes the -wal and -shm
        assert not os.path.exists(f"{db}-shm")
        poller.poll_once()
        second = spawn(db)
        second.do("count")  # makes the new -shm and holds its DMS lock from now on
        holders = set()
        for _ in range(3):
            poller.poll_once()
            reading = some(poller.states[str(db)].reading)
            holders = {(h.lock.pid, h.lock.lock) for h in reading.held_locks}
        assert (second.pid, "dms") in holders
        assert os.stat(f"{db}-shm").st_ino != os.stat(tmp_path / "old-shm").st_ino
    finally:
        poller.close()


@pytest.mark.parametrize("source", ["proc", "getlk"])
def test_a_change_only_in_the_locks_or_only_in_the_shm_is_read(live_db, spawn, source):
    """Each input on its own: a lock taken on the -shm changes only the locks; a read
    transaction begun and ended between two polls moves only a read mark."""
    db, app = live_db
    observer = DatabaseObserver(str(db), NO_SQL)

    def read() -> Reading:
        return observer.read(PollContext.capture(source))

    try:
        read()
        before = read()
        locker = subprocess.Popen(  # the WAL write lock, as a writer would take it
            [sys.executable, "-c", WRITE_LOCKER, f"{db}-shm"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True)
        try:
            assert some(locker.stdout).readline().strip() == "held"
            locked = read()
        finally:
            locker.kill()
            locker.wait()
        assert locked.files == before.files  # not a byte of the files changed
        assert locked.writer_pid == locker.pid and before.writer_pid is None
        assert read().writer_pid is None  # and gone again
        other = spawn(db)
        other.do("count")  # opened: its DMS lock is held from now on
        app.do("insert 2")
        committed = read()
        read()  # handed out again
        other.do("begin_read")  # takes a read mark at the new end of the WAL...
        other.do("end")  # ...and leaves it there: no lock, no file size, only the -shm
        marked = read()
        assert marked.locks == committed.locks
        assert some(marked.wal_index).read_marks != some(committed.wal_index).read_marks
        assert marked.wal_index == fresh(db).wal_index
    finally:
        observer.close()


def test_a_holder_that_stops_is_seen_though_nothing_else_changes(live_db):
    db, app = live_db
    observer = DatabaseObserver(str(db), NO_SQL)
    try:
        read(observer)
        read(observer)
        os.kill(app.pid, signal.SIGSTOP)
        try:
            deadline = time.monotonic() + 5
            while (state := read(observer).held_locks[0].process.state) != "stopped" \
                    and time.monotonic() < deadline:
                time.sleep(0.05)
            assert state == "stopped"
        finally:
            os.kill(app.pid, signal.SIGCONT)
    finally:
        observer.close()


def test_queue_depths_of_an_idle_database_are_read_again_only_if_they_read_the_clock(live_db):
    """A depth cannot change without a commit unless its SQL reads the clock or randomness:
    such a query is read again after sql_max_age, any other only at the next commit (at
    1,000 idle databases the re-reads made one query 2.6x dearer, none showing anything)."""
    db, app = live_db
    plain = QueueQuery("pending", "SELECT count(*) FROM queue WHERE state = 'pending'")
    clocked = QueueQuery("due", "SELECT count(*) FROM queue WHERE unixepoch('now') > 0")
    observers = {query.name: DatabaseObserver(str(db), ObserveOptions(
        queries=(query,), sql_max_age=0.3, sql_min_age=0)) for query in (plain, clocked)}
    try:
        first = {name: (read(o), read(o)) for name, o in observers.items()}
        for name, observer in observers.items():  # handed out again at once
            assert read(observer).sql_taken_at == first[name][1].sql_taken_at
        time.sleep(0.35)
        assert read(observers["due"]).sql_taken_at > first["due"][1].sql_taken_at
        assert read(observers["pending"]).sql_taken_at == first["pending"][1].sql_taken_at
        app.do("insert 2")
        after = read(observers["pending"])
        assert some(after.sql_taken_at) > some(first["pending"][1].sql_taken_at)
        assert after.queues[0].depth == app.do("count")
    finally:
        for observer in observers.values():
            observer.close()


def test_a_clock_query_that_finds_the_same_depths_sends_no_change(live_db):
    """Read again when its values go stale, a query that reads the clock and finds what it
    found before is no change: the reading is handed out again and no Change is sent. One
    whose answer moves with the clock is a change each time."""
    db, _app = live_db
    same = QueueQuery("due", "SELECT count(*) FROM queue WHERE unixepoch('now') > 0")
    moving = QueueQuery("tick", "SELECT CAST(unixepoch('subsec') * 1000 AS INTEGER)")
    for query, sends in ((same, False), (moving, True)):
        # sql_max_age long beside three polls, so none goes stale before the wait for it
        poller = Poller(Config(queries=(query,), sql_max_age=2.0, sql_min_age=0))
        poller.attach(str(db))
        try:
            for _ in range(2):  # the second reading is kept to be handed out again
                poller.poll_once(changed_only=True)
            kept = some(poller.states[str(db)].reading)
            assert poller.poll_once(changed_only=True) == []  # nothing read again yet
            time.sleep(2.05)  # past sql_max_age: the query runs again
            changes = poller.poll_once(changed_only=True)
            state = poller.states[str(db)]
            assert some(some(state.reading).sql_taken_at) > some(kept.sql_taken_at)
            assert bool(changes) == sends, (query.name, changes)
            assert handed_out_again(some(state.reading), kept) == (not sends)
        finally:
            poller.close()


def test_a_write_lock_held_without_commit_is_found_and_clears(live_db):
    """The finding depends on time alone: the readings in between are handed out again."""
    db, app = live_db
    config = Config(sql=False, thresholds=Thresholds(write_hold_seconds=0.4))
    poller = Poller(config)
    poller.attach(str(db))
    try:
        app.do("begin_write")
        app.do("write_row")
        codes: set[str] = set()
        deadline = time.monotonic() + 5
        while "write_lock_held" not in codes and time.monotonic() < deadline:
            [change] = poller.poll_once()
            codes = {f.code for f in change.findings}
            time.sleep(0.1)
        assert "write_lock_held" in codes
        assert poller.states[str(db)].observer.unchanged_reads > 0
        app.do("end")
        for _ in range(2):
            [change] = poller.poll_once()
        assert "write_lock_held" not in {f.code for f in change.findings}
    finally:
        poller.close()


def test_a_repeated_reading_adds_to_the_history_what_adding_it_would(live_db):
    db, app = live_db
    query = QueueQuery("pending", "SELECT count(*) FROM queue WHERE state = 'pending'")
    observer = DatabaseObserver(str(db), ObserveOptions(queries=(query,)))
    try:
        app.do("begin_write")  # a writer, so the writers' window has a pid
        read(observer)
        first, again = read(observer), read(observer)
        app.do("end")
    finally:
        observer.close()
    assert again.files is first.files and again.queues and again.writer_pid == app.pid
    added, repeated = ChartHistory(capacity=4), ChartHistory(capacity=4)
    for history, is_again in ((added, False), (repeated, True)):
        history.add(first)
        for k in range(6):  # past the capacity: the rings wrap
            history.add(replace(again, taken_at=again.taken_at + k), is_again)
    for name in ("times", "wal_bytes", "wal_in_use", "frames_pending", "max_frame"):
        assert getattr(added, name).values() == getattr(repeated, name).values(), name
    assert added.queues["pending"].values() == repeated.queues["pending"].values()
    assert list(added.writers) == list(repeated.writers)
    assert added.distinct_writers() == repeated.distinct_writers() == {app.pid}


def test_an_unchanged_lock_file_gives_the_same_table(tmp_path):
    locks = tmp_path / "locks"
    line = "1: POSIX  ADVISORY  READ 4242 fd:01:5000 128 128\n"
    locks.write_text(line)
    first = LockTable.capture(str(locks))
    assert LockTable.capture(str(locks)) is first
    locks.write_text(line + "2: POSIX  ADVISORY  WRITE 4243 fd:01:5000 120 120\n")
    second = LockTable.capture(str(locks))
    assert second is not first and len(some(second).by_file[(os.makedev(0xfd, 1), 5000)]) == 2


def test_the_mount_table_is_read_again_only_when_a_mount_comes_or_goes(tmp_path):
    watch = MountWatch()
    where = tmp_path / "mnt"
    where.mkdir()
    before = watch.current()
    assert watch.current() is before
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(where)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs (the suite runs as root): {mounted.stderr}")
    try:
        during = watch.current()
        assert during is not before and some(during.lookup(str(where / "x.db"))).type == "tmpfs"
        assert watch.current() is during
    finally:
        subprocess.run(["umount", str(where)], check=True)
    assert some(watch.current().lookup(str(where / "x.db"))).type != "tmpfs"
    watch.close()


def test_one_reader_thread_serves_every_cycle_and_ends_with_the_poller(live_db):
    db, _app = live_db
    poller = Poller(Config(sql=False))
    poller.attach(str(db))

    def readers() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == "waltui-read"]

    before = set(readers())
    try:
        seen = set()
        for _ in range(4):
            poller.poll_once()
            seen |= set(readers()) - before
        assert len(seen) == 1
    finally:
        poller.close()
    [thread] = seen
    thread.join(timeout=2)
    assert not thread.is_alive()


@pytest.mark.parametrize("scene", ["idle", "reader", "writer", "queue"])
def test_a_quiet_timed_rule_stays_quiet_and_silent_while_a_reading_repeats(live_db, spawn,
                                                                           scene):
    """The promise timed_rule asks of quiet(): having found nothing on a reading, a rule it
    calls quiet finds nothing on that reading however long it repeats, and a repeat does not
    change what quiet() says. Checked on real readings, with thresholds small enough for
    time to matter, over a minute of repeats."""
    from waltui.health.registry import RULES, TIMED

    db, app = live_db
    if scene == "reader":
        spawn(db).do("begin_read")
    elif scene == "writer":
        app.do("begin_write")
    query = QueueQuery("pending", "SELECT count(*) FROM queue WHERE state = 'pending'")
    options = ObserveOptions(queries=(query,)) if scene == "queue" else NO_SQL
    observer = DatabaseObserver(str(db), options)
    try:
        for _ in range(2):
            read(observer)
        reading = read(observer)
    finally:
        observer.close()
    small = Thresholds(starvation_seconds=1, queue_growth_seconds=1, write_hold_seconds=1,
                       write_hold_critical_seconds=2, d_state_seconds=1, pin_seconds=1)
    history = ChartHistory()
    history.add(reading)
    # Read again (not repeated) past the queue rule's window, the depths the same: no queue
    # moved within it, which is what makes that rule quiet.
    reading = reading.later(1.5, reading.taken_at + 1.5)
    history.add(reading)
    asked, quiet_rules = 0, set()
    for check, quiet in TIMED.items():
        if not quiet(reading, history, small) or list(check(reading, history, small)):
            continue
        asked += 1
        quiet_rules.add(check.__name__)
        for second in range(1, 61):
            later = reading.later(float(second), reading.taken_at + second)
            history.add(later, again=True)
            assert quiet(later, history, small), (check.__name__, second)
            assert not list(check(later, history, small)), (check.__name__, second)
    assert asked >= 3 and len(TIMED) < len(RULES)
    if scene == "queue":  # a queue that has not moved for the window rests its rule
        assert "queue_growing" in quiet_rules
