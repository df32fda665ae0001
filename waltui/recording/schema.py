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
