"""The recording file: a SQLite database, in WAL mode while it is written and in rollback
mode once it is closed.

Why: while recording, WAL lets `waltui replay` or `check --from` read the file as it grows
without ever blocking the recorder, and a commit per poll costs one fsync-free append
(synchronous=NORMAL: a killed recorder loses nothing committed; a power cut can lose the
last polls but never the file). A finished recording must be one file to attach to a
ticket: closing checkpoints everything into it and switches to journal_mode=DELETE, so no
-wal is left beside it. A recorder killed with -9 leaves its -wal; the next open reads it.

Only what changed is stored: a poll row only when some database changed (and a heartbeat
every HEARTBEAT_POLLS cycles, so a quiet recording still shows it was alive), one row per
changed database, each value JSON compressed with zlib, most of them with the same
database's previous value as the dictionary (so a busy database's poll costs what changed)."""

from __future__ import annotations

import apsw

SCHEMA_VERSION = 1
KIND = "waltui-recording"
HEARTBEAT_POLLS = 60
KEYFRAME_EVERY = 30  # a database's changes between two compressed alone (bounds a decode)

DDL = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE databases(id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE);
CREATE TABLE polls(
    seq INTEGER PRIMARY KEY,          -- the collector's cycle number, from 1
    taken_at REAL NOT NULL,           -- Unix time
    cycle_ms INTEGER NOT NULL,
    polled INTEGER NOT NULL,          -- databases polled in the cycle, changed or not
    raised INTEGER NOT NULL DEFAULT 0 -- findings raised in the cycle: [ and ] jump to them
);
CREATE TABLE changes(
    seq INTEGER NOT NULL,
    db INTEGER NOT NULL,
    base INTEGER,                     -- the seq of this database's change whose JSON is the
                                      -- zlib dictionary (NULL: compressed alone, a keyframe)
    change BLOB NOT NULL,             -- codec.compress(codec.to_json(Change), base's JSON)
    PRIMARY KEY (seq, db)             -- appended in order: pages fill, never split half-empty
) WITHOUT ROWID;
CREATE INDEX changes_by_db ON changes(db, seq);
CREATE TABLE detaches(seq INTEGER NOT NULL, db INTEGER NOT NULL, PRIMARY KEY (db, seq))
    WITHOUT ROWID;
CREATE TABLE events(
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    path TEXT NOT NULL,
    kind TEXT NOT NULL,               -- action, checkpoint, notice, recording
    text TEXT NOT NULL,
    checkpoint BLOB                   -- codec.pack(CheckpointResult) for kind = checkpoint
);
CREATE INDEX polls_raised ON polls(raised) WHERE raised > 0;
"""


class RecordingError(Exception):
    """A file that cannot be read as a recording: one line saying why."""


# What a recording waltui wrote is made of, checked before any value is read from one: a
# view or trigger named like a table could run anything (an endless recursive CTE), and a
# missing index makes every read a scan (quadratic over a run).
TABLES: dict[str, tuple[str, ...]] = {
    "meta": ("key", "value"),
    "databases": ("id", "path"),
    "polls": ("seq", "taken_at", "cycle_ms", "polled", "raised"),
    "changes": ("seq", "db", "base", "change"),
    "detaches": ("seq", "db"),
    "events": ("id", "at", "path", "kind", "text", "checkpoint"),
}
PRIMARY_KEYS = {"meta": ("key",), "databases": ("id",), "polls": ("seq",),
                "changes": ("seq", "db"), "detaches": ("db", "seq"), "events": ("id",)}
INDEXES = {"changes_by_db": ("changes", ("db", "seq"))}


def schema_problem(conn: apsw.Connection) -> str | None:
    """Why the file's schema is not the one waltui writes, or None."""
    objects = conn.execute("SELECT type, name, tbl_name FROM sqlite_schema").fetchall()
    for kind, name, _table in objects:
        if kind in ("view", "trigger"):
            return f"it holds a {kind} ({name})"
    tables = {str(name) for kind, name, _ in objects if kind == "table"}
    for table, columns in TABLES.items():
        if table not in tables:
            return f"it has no {table} table"
        info = conn.execute(f"SELECT name, pk FROM pragma_table_info('{table}')").fetchall()
        if tuple(str(n) for n, _pk in info) != columns:
            return f"its {table} table has the columns {[n for n, _ in info]}"
        keys = tuple(str(n) for n, pk in sorted(info, key=lambda r: int(r[1] or 0)) if pk)
        if keys != PRIMARY_KEYS[table]:
            return f"its {table} table's primary key is {list(keys)}"
    for index, (table, columns) in INDEXES.items():
        rows = conn.execute("SELECT tbl_name FROM sqlite_schema WHERE type = 'index' AND "
                            "name = ?", (index,)).fetchall()
        found = tuple(str(r[2]) for r in conn.execute(
            f"SELECT * FROM pragma_index_info('{index}')")) if rows else ()
        if not rows or str(rows[0][0]) != table or found != columns:
            return f"its index {index} on {table}{columns} is missing"
    return None
