"""The SQL part of a poll: queue depths through a sandboxed read-only connection, opened
only when a database has changed (or its values are older than sql_max_age).

Opening a connection is most of a poll's cost, and it writes (a read mark), so nothing else
of a poll uses SQLite: pragmas come from page 1 (page_one.py).
"""

from __future__ import annotations

import math
import os
import struct
import time
import zlib
from collections.abc import Sequence
from typing import NamedTuple

import apsw

from waltui.model import READ_SLOTS, DbError, FileFacts, HeldLock, QueueDepth
from waltui.options import ObserveOptions, QueueQuery
from waltui.probes.files import READMARK_NOT_USED, FileWatch
from waltui.probes.schema_pages import Unreadable, schema_tables, table_columns
from waltui.probes.sqlite import (
    classify,
    observer_connection,
    preset_queries,
    preset_table,
    run_queries,
)
from waltui.support.sql_words import reads_the_clock

PRESETS_NOT_LOOKED = ("queue presets not looked for this poll: the schema's pages changed "
                      "while they were read, or could not be read; looked for again next poll")


class SqlValues(NamedTuple):
    """What the SQL part of a poll learned, or why it learned nothing."""

    pragmas: dict[str, object]
    queues: tuple[QueueDepth, ...] = ()
    error: DbError | None = None
    notes: tuple[str, ...] = ()


class SqlPart:
    """One database's queue depths across polls: the last values and when they go stale,
    the preset tables found, and the read marks waltui's own queries left."""

    def __init__(self, path: str, watch: FileWatch, options: ObserveOptions) -> None:
        self.path, self.watch, self.options = path, watch, options
        self.our_marks: dict[int, int] = {}  # read slot -> the mark our last query left
        # Entered at each change: a plain read-only open, and an immutable one for a WAL
        # database with no -wal and no -shm (see opens_immutable).
        self._open = observer_connection(path, immutable=False, files_checked=True)
        self._open_immutable = observer_connection(path, immutable=True, files_checked=True)
        self._presets: tuple[int | None, list[QueueQuery]] = (None, [])
        self._clock: tuple[list[QueueQuery] | None, bool] = (None, True)
        # (content key, when read, values): reused while the database has not changed
        self._cache: tuple[tuple[object, ...], float, SqlValues] | None = None
        # Each database's own share of sql_max_age (75-100 %, fixed by its path): 1,000
        # databases attached together then refresh over a quarter of it, not in one cycle.
        self._max_age = options.sql_max_age * (
            0.75 + 0.25 * (zlib.crc32(os.fsencode(path)) % 1000) / 1000)

    def _asks_nothing(self, schema: object) -> bool:
        presets_known = self._presets[0] == schema
        return not self.options.queries and (not self.options.presets or
                                             (presets_known and not self._presets[1]))

    def _reads_the_clock(self) -> bool:
        """Whether a query (given, or a preset found) can answer differently without a
        commit, or sql_max_age = 0 asks for a read every poll; worked out once per set of
        presets."""
        if self.options.sql_max_age <= 0:
            return True
        presets = self._presets[1]
        if self._clock[0] is not presets:
            self._clock = (presets, any(reads_the_clock(q.sql)
                                        for q in (*self.options.queries, *presets)))
        return self._clock[1]

    def fresh_until(self, schema: object) -> float:
        """Until when (time.time()) an unchanged database's values may be reused: never
        stale when nothing is asked of SQLite or nothing asked reads the clock, at once when
        the last values were not clean."""
        if not self.options.sql or self._asks_nothing(schema):
            return math.inf
        if self._cache is None:
            return 0.0
        return self._cache[1] + self._max_age if self._reads_the_clock() else math.inf

    def values(self, facts: FileFacts, held: Sequence[HeldLock],
               pragmas: dict[str, object]) -> tuple[SqlValues, float | None]:
        """Queue depths cannot change without a commit, and every commit moves
        content_key(), so an unchanged database reuses the last values for as long as it
        stays unchanged; sql_max_age bounds the wait only for SQL that reads the clock or
        randomness (reads_the_clock)."""
        presets = self._presets_of(facts, pragmas.get("schema_version"))
        if presets is None:
            if not self.options.queries:
                return SqlValues(pragmas, notes=(PRESETS_NOT_LOOKED,)), None
            presets = []
        if self._asks_nothing(pragmas.get("schema_version")):
            return SqlValues(pragmas), None  # nothing to ask SQLite: open nothing
        key, now = content_key(facts), time.time()
        if self._cache is not None:
            cached_key, taken_at, values = self._cache
            age = now - taken_at
            fresh_enough = age < min(self.options.sql_min_age, self._max_age)
            if fresh_enough or (cached_key == key and (age < self._max_age or
                                                       not self._reads_the_clock())):
                return values._replace(pragmas=pragmas), taken_at
        values = self._read(facts, held, pragmas, presets)
        clean = values.error is None and not values.notes
        self._cache = (key, now, values) if clean else None
        return values, now

    def _read(self, facts: FileFacts, held: Sequence[HeldLock],
              pragmas: dict[str, object], presets: list[QueueQuery]) -> SqlValues:
        wal_mode = facts.db_header is not None and facts.db_header.journal_mode == "wal"
        no_sidecars = opens_immutable(facts)
        if wal_mode and facts.wal_bytes is None and facts.shm_bytes is not None:
            return SqlValues(pragmas, notes=(
                "queue depths not read: the -wal is missing beside its -shm (deleted under a "
                "running application?)",))
        if wal_mode and not no_sidecars and \
                not any(h.lock.lock == "dms" or h.lock.file == "db" for h in held):
            return SqlValues(pragmas, notes=(
                "queue depths not read: no process has the database open, and opening it "
                "would run WAL recovery, which rewrites the -shm; they are read while an "
                "application holds it",))
        try:
            before = self.watch.read_marks_raw()
            with self._open_immutable if no_sidecars else self._open as conn:
                queues = run_queries(conn, (*self.options.queries, *presets),
                                     self.options.query_limit_ms)
            if (after := self.watch.read_marks_raw()) != before:
                self._note_our_marks(before, after)
            return SqlValues(pragmas, queues)
        except apsw.BusyError:
            return SqlValues(pragmas, notes=(
                "queue depths not read this poll: the database was busy (a writer in rollback "
                "mode or a WAL recovery)",))
        except apsw.ReadOnlyError as exc:
            return SqlValues(pragmas, notes=(
                f"queue depths not read: {exc} (a hot journal a read-only observer may not "
                "roll back)",))
        except apsw.Error as exc:
            return SqlValues(pragmas, error=classify(exc))

    def _note_our_marks(self, before: bytes, after: bytes) -> None:
        """A read transaction of ours may move a read mark; remember it, so that the mark
        it leaves is shown as waltui's, never as a stale mark of the application's."""
        if len(after) != len(before) or not before:
            return
        olds, news = (struct.unpack(f"={READ_SLOTS}I", raw) for raw in (before, after))
        for slot, (old, new) in enumerate(zip(olds, news, strict=True)):
            if slot > 0 and new != READMARK_NOT_USED and new != old:
                self.our_marks[slot] = new

    def _presets_of(self, facts: FileFacts, schema_version: object) -> list[QueueQuery] | None:
        """Known queue tables, read from the schema's pages (no SQLite opened: that could
        move a read mark), and again only when the schema cookie moves. None: the pages
        could not be read consistently this poll."""
        if not self.options.presets:
            return []
        if self._presets[0] == schema_version and schema_version is not None:
            return self._presets[1]
        try:
            tables = schema_tables(self.watch, facts)
        except Unreadable:
            return None
        found = preset_queries(table_columns(tables, preset_table))
        self._presets = (schema_version, found)  # type: ignore[assignment]
        return found


def content_key(facts: FileFacts) -> tuple[object, ...]:
    """Moves with every commit: the -shm's transaction counter and mxFrame (WAL), the file
    header's change counter (rollback mode), and the sizes, WAL salts and the database's
    mtime as a backstop (locking_mode=EXCLUSIVE keeps the change counter still)."""
    index, wal, header = facts.wal_index, facts.wal_header, facts.db_header
    return (
        facts.db_bytes, facts.wal_bytes, facts.shm_bytes, facts.journal_bytes, facts.db_mtime_ns,
        header.change_counter if header else None,
        (index.change_counter, index.max_frame) if index else None,
        (wal.checkpoint_seq, wal.salt1, wal.salt2) if wal else None,
    )


def opens_immutable(facts: FileFacts) -> bool:
    """A WAL database with no -wal content and no -shm: the file holds everything, and a
    plain read-only open would create both sidecars and leave them behind (measured)."""
    header = facts.db_header
    return (header is not None and header.journal_mode == "wal" and not facts.wal_bytes
            and facts.shm_bytes is None)
