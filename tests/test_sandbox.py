"""User SQL and unknown schemas: a queue query reads, once, briefly; nothing it says writes.

The hostile queries live in tests/data/hostile.json ("queue_sql")."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import apsw
import pytest

from tests.narrow import some
from waltui.options import QueueQuery
from waltui.probes.reading import DatabaseObserver, ObserveOptions, PollContext
from waltui.probes.sqlite import observer_connection

pytestmark = pytest.mark.system

CORPUS = json.loads((Path(__file__).parent / "data" / "hostile.json").read_text())


def fingerprint(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir()) if p.is_file()}


def test_hostile_queue_sql_is_refused_or_cut_off_and_writes_nothing(live_db):
    db, app = live_db
    folder = db.parent
    other = apsw.Connection(str(folder / "other.db"))
    other.execute("PRAGMA journal_mode=wal").fetchall()
    other.execute("CREATE TABLE z(y)")
    other.close()
    queries = tuple(QueueQuery(f"q{i}", sql.replace("{dir}", str(folder)))
                    for i, sql in enumerate(CORPUS["queue_sql"]))
    observer = DatabaseObserver(str(db), ObserveOptions(queries=queries, presets=False,
                                                        sql_max_age=0))
    before = {n: h for n, h in fingerprint(folder).items() if not n.startswith("agent.db")}
    started = time.monotonic()
    try:  # twice: a text is judged by the authorizer and tracer until it has passed once
        readings = [observer.read(PollContext.capture()) for _ in range(2)]
    finally:
        observer.close()
    took = time.monotonic() - started
    for reading in readings:
        errors = {q.name: q.error for q in reading.queues}
        assert all(errors[q.name] for q in queries), errors  # every one refused or cut off
        assert "cut off after 100 ms" in some(errors[f"q{len(queries) - 1}"])
        assert "too big" in some(errors["q3"])  # a gigabyte blob is refused, not allocated
    assert took < 4.0  # each is bounded: 100 ms for the one that runs, ~0 for the rest
    after = {n: h for n, h in fingerprint(folder).items() if not n.startswith("agent.db")}
    assert after == before  # no copy.db, no other.db-wal or -shm
    assert app.do("count") == 150  # DELETE FROM queue did not run


def test_an_observer_connection_cannot_write_even_sql_no_authorizer_sees(live_db):
    """The observer has no PRAGMA query_only: its read-only open is what stops writes."""
    db, app = live_db
    with observer_connection(str(db), immutable=False) as conn:
        for sql in ("DELETE FROM queue", "CREATE TABLE t(x)", "PRAGMA user_version=7"):
            with pytest.raises(apsw.ReadOnlyError):
                conn.execute(sql).fetchall()
    assert app.do("count") == 150
    assert apsw.Connection(str(db)).execute("PRAGMA user_version").fetchall() == [(0,)]


def test_a_vetted_query_text_still_runs_under_the_time_and_length_limits(live_db, tmp_path,
                                                                          spawn):
    """Texts pass the authorizer and tracer once; the limits that depend on the data stay.
    Each text is harmless on an empty queue, which vets it, and too slow or too big on
    the live database's 150 rows."""
    empty = tmp_path / "empty.db"
    spawn(empty).do("wal")
    apsw.Connection(str(empty)).execute("CREATE TABLE queue(id INTEGER PRIMARY KEY)")
    db, _app = live_db
    slow = QueueQuery("slow", "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                      "WHERE i < (SELECT count(*) FROM queue) * 200000) "
                      "SELECT count(*) FROM n")
    big = QueueQuery("big", "SELECT length(randomblob((SELECT count(*) FROM queue) * 100000))")
    options = ObserveOptions(queries=(slow, big), presets=False)
    depths = {}
    for path in (empty, db):
        observer = DatabaseObserver(str(path), options)
        try:
            depths[path] = {q.name: q for q in observer.read(PollContext.capture()).queues}
        finally:
            observer.close()
    assert depths[empty]["slow"].depth == 1  # vetted: it ran, on no rows
    assert depths[empty]["big"].depth == 1  # randomblob(0) is one byte
    assert depths[db]["slow"].error == "cut off after 100 ms"
    assert "too big" in some(depths[db]["big"].error)


def test_a_table_waltui_cannot_read_does_not_break_the_database(tmp_path, spawn):
    """A virtual table whose module waltui lacks (vec0, as in agent memory stores) beside a
    litequeue table: the preset still reads the queue; the database is not an error."""
    db = tmp_path / "memory.db"
    app = spawn(db)
    app.do("wal")
    app.do("sql CREATE TABLE Queue(message TEXT, message_id TEXT, status INTEGER)")
    app.do("sql INSERT INTO Queue VALUES ('a', '1', 0)")
    app.do("sql PRAGMA writable_schema=ON")
    app.do("sql INSERT INTO sqlite_schema(type, name, tbl_name, rootpage, sql) VALUES "
           "('table', 'memories', 'memories', 0, 'CREATE VIRTUAL TABLE memories USING "
           "vec0(embedding float[4])')")
    app.do("sql PRAGMA writable_schema=OFF")
    observer = DatabaseObserver(str(db))
    try:
        reading = observer.read(PollContext.capture())
    finally:
        observer.close()
    assert reading.error is None
    assert {q.name: q.depth for q in reading.queues} == {"litequeue:ready": 1,
                                                         "litequeue:locked": 0}
    assert os.path.exists(db)


def test_memory_stays_bounded_under_churning_pids_and_labels(live_db):
    """300 short-lived lock holders, and a query inventing 50 new labels every poll."""
    import subprocess
    import sys

    from waltui.history import MAX_QUEUE_SERIES, History
    from waltui.probes.processes import ProcessProbe

    probe = ProcessProbe()
    for _ in range(300):
        child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                                 stdin=subprocess.PIPE)
        assert child.pid in probe.describe([child.pid])
        some(child.stdin).close()
        child.wait()
    probe.describe([os.getpid()])
    assert len(probe._known) <= ProcessProbe.PRUNE_ABOVE + 1

    db, _app = live_db
    inventive = QueueQuery("q", "SELECT hex(randomblob(8)), 1 FROM queue LIMIT 50")
    observer = DatabaseObserver(str(db), ObserveOptions(queries=(inventive,), presets=False,
                                                        sql_max_age=0))
    history = History(capacity=20)
    try:
        for _ in range(30):
            history.add(observer.read(PollContext.capture()))
    finally:
        observer.close()
    assert len(history.queues) <= MAX_QUEUE_SERIES
    assert all(len(ring) == len(history.times) for ring in history.queues.values())


def test_an_application_that_opens_writes_and_closes_never_makes_check_say_unreadable(tmp_path):
    """Racing an application that creates and removes its -wal and -shm on every open and
    close: a -shm caught mid-creation or a -wal gone between two calls is re-read, never
    reported as a corrupt or missing database (2 of 60 runs exited 3 before)."""
    import subprocess
    import sys

    db = tmp_path / "churn.db"
    churn = subprocess.Popen([sys.executable, "-c", (
        "import apsw, sys, time\n"
        "end = time.time() + 30\n"
        "while time.time() < end:\n"
        "    c = apsw.Connection(sys.argv[1]); c.set_busy_timeout(2000)\n"
        "    c.execute('PRAGMA journal_mode=wal').fetchall()\n"
        "    c.execute('CREATE TABLE IF NOT EXISTS t(x)')\n"
        "    c.execute('INSERT INTO t VALUES (1)')\n"
        "    c.close()\n"), str(db)])
    try:
        while not db.exists():
            time.sleep(0.01)
        codes = []
        for _ in range(25):
            out = subprocess.run([sys.executable, "-m", "waltui", "check", "--json", str(db)],
                                 capture_output=True, text=True, timeout=60)
            codes.append(out.returncode)
            if out.returncode == 3:
                print(out.stdout)
    finally:
        churn.kill()
        churn.wait()
    assert 3 not in codes and codes.count(0) >= 20, codes


def test_a_zeroed_shm_being_created_is_not_corrupt(tmp_path):
    db = tmp_path / "fresh.db"
    conn = apsw.Connection(str(db))
    conn.execute("PRAGMA journal_mode=wal").fetchall()
    conn.execute("CREATE TABLE t(x)")
    conn.config(apsw.SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1)
    conn.close()
    Path(f"{db}-shm").write_bytes(bytes(32768))  # as SQLite leaves it between truncate and init
    observer = DatabaseObserver(str(db), ObserveOptions(sql=False))
    try:
        reading = observer.read(PollContext.capture())
    finally:
        observer.close()
    assert reading.error is None and reading.wal_index is None


def test_a_count_over_millions_of_rows_is_cut_off_at_its_limit(tmp_path, spawn):
    """count(*) is one opcode (OP_Count) over the whole table: a progress handler never
    runs inside it (it ran its whole ~1 s cold, holding a read transaction). A timer
    interrupts it at the limit."""
    import sqlite3

    from waltui.options import QueueQuery
    from waltui.probes.reading import DatabaseObserver, ObserveOptions, PollContext

    db = tmp_path / "big.db"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=wal")
    conn.execute("CREATE TABLE jobs(id INTEGER PRIMARY KEY, payload TEXT)")
    conn.executemany("INSERT INTO jobs(payload) VALUES (?)",
                     (("x" * 40,) for _ in range(2_000_000)))
    conn.commit()
    conn.close()
    holder = spawn(db)
    holder.do("sql SELECT 1")  # an application holds it open, as queue queries require
    observer = DatabaseObserver(str(db), ObserveOptions(
        queries=(QueueQuery("jobs", "SELECT count(*) FROM jobs"),), presets=False,
        query_limit_ms=2, sql_max_age=0, sql_min_age=0))
    try:
        reading = observer.read(PollContext.capture())
    finally:
        observer.close()
    [depth] = reading.queues
    assert depth.depth is None and depth.error == "cut off after 2 ms", depth
