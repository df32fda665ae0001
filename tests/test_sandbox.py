"""User SQL and unknown schemas: a queue query reads, once, briefly; nothing it says writes.

The hostile queries live in tests/data/hostile.json ("queue_sql")."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import apsw

from waltui.probes.reading import DatabaseObserver, ObserveOptions, PollContext
from waltui.probes.sqlite import QueueQuery

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
    observer = DatabaseObserver(str(db), ObserveOptions(queries=queries, presets=False))
    before = {n: h for n, h in fingerprint(folder).items() if not n.startswith("agent.db")}
    started = time.monotonic()
    try:
        reading = observer.read(PollContext.capture())
    finally:
        observer.close()
    took = time.monotonic() - started
    errors = {q.name: q.error for q in reading.queues}
    assert all(errors[q.name] for q in queries), errors  # every one refused or cut off
    assert "cut off after 100 ms" in errors[f"q{len(queries) - 1}"]
    assert "too big" in errors["q3"]  # a gigabyte blob is refused, not allocated
    assert took < 2.0  # each is bounded: 100 ms for the one that runs, ~0 for the rest
    after = {n: h for n, h in fingerprint(folder).items() if not n.startswith("agent.db")}
    assert after == before  # no copy.db, no other.db-wal or -shm
    assert app.do("count") == 150  # DELETE FROM queue did not run


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
