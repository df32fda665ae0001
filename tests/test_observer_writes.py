"""The observer must not disturb: what a poll writes, byte for byte.

Hashes of the db, -wal and -shm are taken before and after every command, on databases no
process holds (a crashed application's leftovers) and on live ones. A poll without queue
queries writes nothing; with queue queries only SQLite's read-mark coordination in the
-shm changes, and waltui knows the marks it left as its own.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.narrow import some
from waltui.collector import Poller
from waltui.config import Config
from waltui.options import QueueQuery
from waltui.probes.reading import DatabaseObserver, ObserveOptions, PollContext

pytestmark = pytest.mark.system

COUNT = QueueQuery("pending", "SELECT count(*) FROM queue WHERE state = 'pending'")
READ_MARKS = slice(100, 120)  # aReadMark[0..4] in the -shm header


def files_of(db: Path) -> dict[str, bytes | None]:
    return {suffix: (Path(f"{db}{suffix}").read_bytes() if os.path.exists(f"{db}{suffix}")
                     else None) for suffix in ("", "-wal", "-shm", "-journal")}


def digest(files: dict[str, bytes | None]) -> dict[str, str | None]:
    return {k: hashlib.sha256(v).hexdigest()[:16] if v is not None else None
            for k, v in files.items()}


def commands(db: Path) -> list[list[str]]:
    return [["snapshot", str(db)], ["snapshot", "--json", str(db)], ["check", str(db)],
            ["check", "--json", "--for", "1", "--interval", "0.2", str(db)]]


@pytest.fixture(params=["wal-and-shm", "wal-without-shm"])
def crashed(request, tmp_path, spawn) -> Path:
    """An application killed -9 mid-life: a -wal with frames, and maybe a -shm."""
    db = tmp_path / "crashed.db"
    app = spawn(db)
    app.do("wal")
    app.do("setup")
    app.do("insert 300")
    os.kill(app.pid, signal.SIGKILL)
    app.proc.wait()
    if request.param == "wal-without-shm":
        os.unlink(f"{db}-shm")
    return Path(db)


def test_no_command_writes_a_byte_of_a_database_nobody_holds(crashed):
    before = digest(files_of(crashed))
    for command in commands(crashed):
        out = subprocess.run([sys.executable, "-m", "waltui", *command], capture_output=True,
                             text=True, timeout=60)
        assert out.returncode in (0, 1), out.stderr
        assert digest(files_of(crashed)) == before, command  # no recovery, no new -shm


def test_page_one_values_match_sqlite_without_opening_it(live_db):
    """Page 1 changed in the WAL (not yet checkpointed): the values read from the files are
    the ones SQLite itself reports."""
    db, app = live_db
    app.do("sql PRAGMA user_version=42")
    app.do("sql CREATE TABLE extra AS SELECT payload FROM queue")
    app.do("insert 500")
    app.do("sql DROP TABLE extra")  # its pages go to the freelist: freelist_count moves
    observer = DatabaseObserver(str(db), ObserveOptions(presets=False))
    try:
        reading = observer.read(PollContext.capture())
    finally:
        observer.close()
    assert reading.sql_taken_at is None  # SQLite was not opened
    names = ("page_count", "freelist_count", "user_version", "application_id",
             "schema_version", "auto_vacuum")
    truth = {name: app.do(f"sql PRAGMA {name}")[0][0] for name in names}
    assert {name: reading.pragmas[name] for name in names} == truth
    assert truth["user_version"] == 42 and truth["freelist_count"] > 0


def test_polls_of_a_live_database_write_nothing_without_queue_queries(live_db):
    db, app = live_db
    app.do("sql SELECT 1")  # the application idles, its connection open
    poller = Poller(Config())  # presets on: looked for once, then only on schema changes
    poller.attach(str(db))
    poller.poll_once()
    before = files_of(db)
    for _ in range(5):
        [update] = poller.poll_once()
    poller.close()
    assert files_of(db) == before
    assert update.reading.sql_taken_at is None and update.reading.error is None


def test_queue_queries_move_only_read_marks_and_waltui_knows_its_own(live_db):
    db, app = live_db
    app.do("sql SELECT 1")
    observer = DatabaseObserver(str(db), ObserveOptions(queries=(COUNT,), presets=False,
                                                        sql_max_age=0))
    before = files_of(db)
    try:
        for _ in range(3):
            reading = observer.read(PollContext.capture())
    finally:
        observer.close()
    after = files_of(db)
    assert after[""] == before[""] and after["-wal"] == before["-wal"]
    shm_before, shm_after = some(before["-shm"]), some(after["-shm"])
    changed = [i for i in range(len(shm_after)) if shm_after[i] != shm_before[i]]
    assert all(READ_MARKS.start <= i < READ_MARKS.stop for i in changed), changed
    assert {q.name: q.depth for q in reading.queues} == {"pending": 150}
    assert reading.stale_marks and all(mark.ours for mark in reading.stale_marks)


def test_page_one_is_found_across_hash_blocks(tmp_path):
    """9,000 frames in three hash blocks; page 1 last written in the first block (the
    later commits rewrite one row in place and never touch it): found, and only from the
    WAL, since the database file still has the old value."""
    db = tmp_path / "long.db"
    script = (
        "import apsw, sys\n"
        "c = apsw.Connection(sys.argv[1])\n"
        "c.execute('PRAGMA journal_mode=wal').fetchall()\n"
        "c.execute('PRAGMA wal_autocheckpoint=0').fetchall()\n"
        "c.execute('CREATE TABLE t(x INTEGER)'); c.execute('INSERT INTO t VALUES (0)')\n"
        "c.execute('PRAGMA user_version=7')\n"
        "for i in range(9000):\n"
        "    c.execute('UPDATE t SET x = ?', (i,))\n"
        "print('ready', flush=True); sys.stdin.read()\n")
    holder = subprocess.Popen([sys.executable, "-c", script, str(db)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert some(holder.stdout).readline().strip() == "ready"
        observer = DatabaseObserver(str(db), ObserveOptions(presets=False))
        try:
            reading = observer.read(PollContext.capture())
        finally:
            observer.close()
        assert some(reading.wal_index).max_frame > 2 * 4096
        assert reading.pragmas["user_version"] == 7 and not reading.notes
        with open(db, "rb") as handle:
            assert handle.read(100)[60:64] == bytes(4)  # the file's page 1 still says 0
    finally:
        some(holder.stdin).close()
        holder.wait()


def lagging_marks(db: Path, app, spawn, tables: int) -> None:
    """Read marks that lag the WAL: a reader ended at one frame, the application went on
    writing (and made ``tables`` more tables, so the schema spans several pages, all
    still in the WAL). A new read transaction here would write mxFrame into a mark."""
    reader = spawn(db)
    reader.do("begin_read")
    reader.do("end")
    for i in range(tables):
        app.do(f"sql CREATE TABLE extra_{i} (id INTEGER PRIMARY KEY, payload TEXT, "
               f"state TEXT, created REAL, note_{i} TEXT)")
    app.do("insert 50")


@pytest.mark.parametrize("tables", [0, 300])
def test_no_default_command_moves_a_read_mark_where_marks_lag_the_wal(live_db, spawn,
                                                                      tables):
    """Without queue queries (and no preset's tables), snapshot and check look for the
    presets in the schema's pages, not through SQLite: not one byte of the -shm moves,
    though every mark lags mxFrame."""
    db, app = live_db
    lagging_marks(db, app, spawn, tables)
    shm = Path(f"{db}-shm")
    marks = shm.read_bytes()[READ_MARKS]
    max_frame = int.from_bytes(shm.read_bytes()[16:20], sys.byteorder)
    assert all(int.from_bytes(marks[4 * i:4 * i + 4], sys.byteorder) in (0, 0xFFFFFFFF)
               or int.from_bytes(marks[4 * i:4 * i + 4], sys.byteorder) < max_frame
               for i in range(5))
    before = files_of(db)
    for command in commands(db):
        out = subprocess.run([sys.executable, "-m", "waltui", *command], capture_output=True,
                             text=True, timeout=60)
        assert out.returncode in (0, 1), out.stderr
        assert files_of(db) == before, command


def test_presets_found_in_the_pages_are_those_sqlite_finds(tmp_path, spawn):
    """Each library's table among 200 others, all still in the WAL: the presets read from
    the pages are the ones the tables' columns call for, as SQLite itself lists them."""
    from waltui.probes.files import FileWatch
    from waltui.probes.schema_pages import schema_tables, table_columns
    from waltui.probes.sqlite import preset_queries, preset_table

    db = tmp_path / "libraries.db"
    app = spawn(db)
    app.do("wal")
    for i in range(200):
        app.do(f"sql CREATE TABLE filler_{i} (a, b, c)")
    app.do("sql CREATE TABLE task (id INTEGER PRIMARY KEY, queue TEXT, data BLOB)")
    app.do("sql CREATE TABLE messages (id INTEGER PRIMARY KEY, queue TEXT, claimed INT)")
    app.do('sql CREATE TABLE "Queue" (message TEXT, status INT, in_time INT)')
    app.do("sql CREATE TABLE ack_queue_default (_id INTEGER PRIMARY KEY, data, status)")
    app.do("sql CREATE TABLE ack_queue_other (_id INTEGER PRIMARY KEY, data)")  # no status
    watch = FileWatch(str(db))
    try:
        facts, error = watch.read()
        assert error is None and facts is not None
        tables = schema_tables(watch, facts)
    finally:
        watch.close()
    truth = {name: {row[1] for row in app.do(f"sql PRAGMA table_info(\"{name}\")")}
             for (name,) in app.do("sql SELECT name FROM sqlite_schema WHERE type='table'")}
    assert set(tables) == set(truth)
    found = table_columns(tables, preset_table)
    assert found == {name: cols for name, cols in truth.items() if preset_table(name)}
    assert [q.name for q in preset_queries(found)] == [
        "huey", "simplebroker", "litequeue", "persistqueue:default"]


def test_a_schema_page_that_loops_is_refused_not_followed(tmp_path):
    """A hand-damaged file: the schema's interior page points at itself. The presets are
    not looked for (said in a note), the poll ends, the file is untouched."""
    import apsw

    db = tmp_path / "loop.db"
    conn = apsw.Connection(str(db))
    for i in range(300):
        conn.execute(f"CREATE TABLE t{i} (a, b, c, d, e, f)")
    conn.close()
    data = bytearray(db.read_bytes())
    assert data[100] == 0x05  # page 1 is an interior page of the schema's b-tree
    data[108:112] = (1).to_bytes(4, "big")  # its right-most child: page 1 itself
    db.write_bytes(bytes(data))
    before = db.read_bytes()
    out = subprocess.run([sys.executable, "-m", "waltui", "snapshot", "--json", str(db)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "queue presets not looked for" in out.stdout
    assert db.read_bytes() == before
