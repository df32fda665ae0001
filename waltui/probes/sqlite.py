"""The only way waltui talks SQL to a watched database: short-lived, defensive connections.

Untrusted files: SQLITE_DBCONFIG_DEFENSIVE, trusted_schema off, no checkpoint on close; the
observer is opened read-only with triggers off, and every user query runs under a time limit
enforced by a progress handler, so a slow query is cut off and never holds a read
transaction for long. Each statement runs in autocommit: a read transaction lasts one
statement. Every connection is opened inside files.sqlite_guard() (the close hazard).
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Sequence

import apsw

from waltui.model import DbError, QueueDepth
from waltui.options import QueueQuery
from waltui.probes.files import not_regular, sidecar, sidecars_not_regular, sqlite_guard
from waltui.support.interrupts import INTERRUPTER

_GUARD = sqlite_guard()

OBSERVER_BUSY_TIMEOUT_MS = 50
MAX_LABELLED_ROWS = 50


# What a URI path may hold as it is (urllib.parse.quote's set, whose import costs
# `snapshot` 3 ms); every other byte is written %XX.
_URI_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~/")
_URI_BYTE = tuple(chr(b) if b in _URI_SAFE else f"%{b:02X}" for b in range(256))


def _uri(path: str, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"file:{_quoted(path)}" + (f"?{query}" if query else "")


def _quoted(path: str) -> str:
    """The file system's bytes, quoted: a name that is not UTF-8 keeps its raw bytes (%FF),
    which SQLite decodes back to the very same name."""
    return "".join(_URI_BYTE[b] for b in os.fsencode(path))


def harden(conn: apsw.Connection, *, observer: bool, checkpoint_on_close: bool = False
           ) -> None:
    conn.config(apsw.SQLITE_DBCONFIG_DEFENSIVE, 1)
    conn.config(apsw.SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0)
    conn.config(apsw.SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0)
    # Our close must never checkpoint (and so never delete the -wal) on anybody's behalf,
    # except where an explicit writing action opened a WAL nobody else had open.
    conn.config(apsw.SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 0 if checkpoint_on_close else 1)
    if observer:
        # No PRAGMA query_only: an observer is opened SQLITE_OPEN_READONLY, so the
        # database and -wal are opened O_RDONLY and any write fails as SQLITE_READONLY
        # (tests/test_sandbox.py). query_only would add only the temp schema, which no
        # watched file holds, for a statement prepared at every open.
        conn.config(apsw.SQLITE_DBCONFIG_ENABLE_TRIGGER, 0)


class _Hardened:
    """Opens, hardens and closes a connection inside sqlite_guard(), each time it is
    entered: a database's SQL part keeps one and enters it at every change, so what it
    needs (the URI, the -journal's name) is worked out once. A class, not a generator:
    contextlib's machinery cost ~5 us of the ~200 an open, a query and a close take."""

    __slots__ = ("path", "uri", "flags", "observer", "busy_timeout_ms", "checkpoint_on_close",
                 "journal", "conn")

    def __init__(self, path: str, uri: str, flags: int, *, observer: bool,
                 busy_timeout_ms: int, checkpoint_on_close: bool = False,
                 files_checked: bool = False) -> None:
        self.path, self.uri, self.observer = path, uri, observer
        self.flags = flags | apsw.SQLITE_OPEN_URI
        self.busy_timeout_ms, self.checkpoint_on_close = busy_timeout_ms, checkpoint_on_close
        # files_checked: the poll found the database, -wal and -shm regular files a
        # moment ago; only the -journal, which it does not stat in WAL mode, is asked.
        self.journal = sidecar(path, "journal") if files_checked else None

    def __enter__(self) -> apsw.Connection:
        why = sidecars_not_regular(self.path) if self.journal is None else \
            not_regular(self.journal)
        if why is not None:
            raise apsw.CantOpenError(why)
        _GUARD.__enter__()
        try:
            # An observer prepares each statement once: a statement cache would be built
            # and freed for nothing (~5 us of an open, query and close).
            conn = apsw.Connection(self.uri, flags=self.flags,
                                   statementcachesize=0 if self.observer else 100)
            try:
                harden(conn, observer=self.observer,
                       checkpoint_on_close=self.checkpoint_on_close)
                conn.set_busy_timeout(self.busy_timeout_ms)
            except BaseException:
                conn.close()
                raise
        except BaseException:
            _GUARD.__exit__()
            raise
        self.conn = conn
        return conn

    def __exit__(self, *_: object) -> None:
        try:
            self.conn.close()
        finally:
            _GUARD.__exit__()


def observer_connection(path: str, *, immutable: bool, files_checked: bool = False
                        ) -> _Hardened:
    """Read-only connection, opened at each ``with``. ``immutable`` when the WAL-mode
    database has no -wal and no -shm: a plain read-only open would create both and leave
    them behind (measured). ``files_checked``: see _Hardened."""
    params = {"immutable": "1"} if immutable else {"mode": "ro"}
    return _Hardened(path, _uri(path, **params), apsw.SQLITE_OPEN_READONLY, observer=True,
                     busy_timeout_ms=OBSERVER_BUSY_TIMEOUT_MS, files_checked=files_checked)


def action_connection(path: str, busy_timeout_ms: int, *, checkpoint_on_close: bool = False
                      ) -> _Hardened:
    """Read-write connection for an explicit operator action; never creates a database.
    ``checkpoint_on_close``: close as SQLite's last connection normally does (checkpoint,
    then remove -wal and -shm), which SQLite does only when no other connection has the
    database open; for an action on a WAL database that nobody held."""
    return _Hardened(path, _uri(path), apsw.SQLITE_OPEN_READWRITE, observer=False,
                     busy_timeout_ms=busy_timeout_ms, checkpoint_on_close=checkpoint_on_close)


def classify(exc: BaseException) -> DbError:
    kinds: list[tuple[type[BaseException], str]] = [
        (apsw.NotADBError, "not_sqlite"), (apsw.CorruptError, "corrupt"),
        (apsw.PermissionsError, "permission"), (apsw.AuthError, "permission"),
        (apsw.CantOpenError, "io"),
    ]
    for exc_type, kind in kinds:
        if isinstance(exc, exc_type):
            return DbError(kind=kind, message=f"SQLite: {exc}")  # type: ignore[arg-type]
    return DbError(kind="sqlite", message=f"SQLite: {exc}")


# What a queue query may do: read tables and call functions. Everything else (ATTACH,
# PRAGMA, writes, transactions, schema changes) is denied while it is prepared.
_QUERY_MAY = frozenset({apsw.SQLITE_SELECT, apsw.SQLITE_READ, apsw.SQLITE_FUNCTION,
                        apsw.SQLITE_RECURSIVE})
QUERY_MAX_BYTES = 1_000_000  # the largest string or blob a query may build


class RefusedQuery(apsw.AuthError):
    """A queue query that is not one read-only statement."""


def _only_reads(action: int, *_: object) -> int:
    return apsw.SQLITE_OK if action in _QUERY_MAY else apsw.SQLITE_DENY


def _one_read_only_statement() -> Callable[[apsw.Cursor, str, object], bool]:
    """An exec tracer: the first statement must be read-only (VACUUM INTO is not, though
    the authorizer has no word for it), and there must be no second one."""
    ran: list[str] = []

    def check(cursor: apsw.Cursor, sql: str, bindings: object) -> bool:
        if ran:
            raise RefusedQuery("refused: a queue query is one statement")
        if not cursor.is_readonly:
            raise RefusedQuery("refused: a queue query may only read")
        ran.append(sql)
        return True

    return check


# Query texts that passed the authorizer and the exec tracer once in this process. What
# they deny follows from the text alone: a statement's kind, how many statements there are,
# and ATTACH, PRAGMA or a write named in it. A name that is a view in another schema adds
# only reads and innocuous function calls (trusted_schema is off), which both allow. So a
# text is vetted once, and runs after that under the limits that depend on the data: the
# length limit and the progress handler's deadline.
_VETTED_TEXTS: set[str] = set()
_MAX_TEXTS_KEPT = 4096


class _Deadline:
    """The progress handler: true (interrupt) once the running query is past its time."""

    __slots__ = ("at",)

    def __init__(self) -> None:
        self.at = 0.0

    def __call__(self) -> bool:
        return time.monotonic() > self.at


def run_queries(conn: apsw.Connection, queries: Sequence[QueueQuery], limit_ms: float
                ) -> tuple[QueueDepth, ...]:
    """Named queries; a scalar gives one depth, (label, count) rows give NAME:label each.
    User SQL runs sandboxed: one read-only statement each (authorizer and exec tracer, the
    first time a text runs), no string or blob over QUERY_MAX_BYTES (one call cannot
    allocate a gigabyte between two progress checks), and a progress handler that cuts each
    off at limit_ms. The limits stay on: this is the connection's last use, closed next."""
    deadline = _Deadline()
    conn.set_progress_handler(deadline, 1000)
    conn.limit(apsw.SQLITE_LIMIT_LENGTH, QUERY_MAX_BYTES)
    depths: list[QueueDepth] = []
    for query in queries:
        deadline.at = time.monotonic() + limit_ms / 1000
        # and from a timer: one opcode (count(*)'s OP_Count) can outlast every handler call
        token = INTERRUPTER.arm(deadline.at, conn.interrupt)
        try:
            depths += _run_query(conn, query, limit_ms)
        finally:
            INTERRUPTER.disarm(token)
    return tuple(depths)


def _run_query(conn: apsw.Connection, query: QueueQuery, limit_ms: float) -> list[QueueDepth]:
    started = time.perf_counter()
    vetted = query.sql in _VETTED_TEXTS
    try:
        cursor = conn.cursor()
        if not vetted:
            conn.authorizer = _only_reads
            cursor.exec_trace = _one_read_only_statement()
        try:
            rows = list(itertools.islice(cursor.execute(query.sql), MAX_LABELLED_ROWS))
        finally:
            cursor.close()  # a half-read cursor would keep its read transaction open
            if not vetted:
                conn.authorizer = None
    except apsw.InterruptError:
        return [QueueDepth(name=query.name, depth=None, error=f"cut off after {limit_ms:.0f} ms",
                           elapsed_ms=(time.perf_counter() - started) * 1000)]
    except RefusedQuery as exc:
        return [QueueDepth(name=query.name, depth=None, error=str(exc),
                           elapsed_ms=(time.perf_counter() - started) * 1000)]
    except apsw.AuthError:
        return [QueueDepth(name=query.name, depth=None, error="refused: a queue query may only "
                           "read tables (no ATTACH, PRAGMA, writes or transactions)",
                           elapsed_ms=(time.perf_counter() - started) * 1000)]
    except apsw.Error as exc:
        return [QueueDepth(name=query.name, depth=None, error=f"{type(exc).__name__}: {exc}",
                           elapsed_ms=(time.perf_counter() - started) * 1000)]
    except UnicodeDecodeError:  # one bad value fails this query only, never the database
        return [QueueDepth(name=query.name, depth=None, error="a text value in its result is "
                           "not valid UTF-8 (CAST it AS BLOB to count it anyway)",
                           elapsed_ms=(time.perf_counter() - started) * 1000)]
    if not vetted:
        if len(_VETTED_TEXTS) >= _MAX_TEXTS_KEPT:
            _VETTED_TEXTS.clear()
        _VETTED_TEXTS.add(query.sql)
    elapsed = (time.perf_counter() - started) * 1000
    if len(rows) == 1 and len(rows[0]) == 1:
        return [QueueDepth(name=query.name, depth=_as_int(rows[0][0]), error=None,
                           elapsed_ms=elapsed)]
    if rows and all(len(r) == 2 for r in rows):
        return [QueueDepth(name=f"{query.name}:{_label(label)}", depth=_as_int(count),
                           error=None, elapsed_ms=elapsed) for label, count in rows]
    if not rows:
        return [QueueDepth(name=query.name, depth=0, error=None, elapsed_ms=elapsed)]
    return [QueueDepth(name=query.name, depth=None,
                       error="query must return one number, or (label, count) rows",
                       elapsed_ms=elapsed)]


def _label(value: object) -> str:
    """A row's label as text: the presets read labels as blobs, so a name that is not valid
    UTF-8 is shown with its bad bytes escaped (\\xff) rather than failing the query."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return str(value)


def _as_int(value: object) -> int | None:
    return int(value) if isinstance(value, (int, float)) else None


# Pending-count SQL of queues people run (wal-facts.md), used when their tables are present.
def preset_table(name: str) -> bool:
    """The tables a preset looks at (their columns decide which presets apply)."""
    return name in ("task", "messages", "Queue") or name.startswith("ack_queue_")


def preset_queries(tables: dict[str, set[str]]) -> list[QueueQuery]:
    """tables: each preset table's columns (schema_pages.table_columns); a table whose
    CREATE text could not be parsed (a virtual table whose module waltui lacks, such as
    vec0 in agent memory stores) is simply not there."""
    found = []
    if {"id", "queue"} <= tables.get("task", set()):
        found.append(QueueQuery(
            "huey", "SELECT CAST(queue AS BLOB), count(id) FROM task GROUP BY queue"))
    if {"queue", "claimed"} <= tables.get("messages", set()):
        found.append(QueueQuery(
            "simplebroker",
            "SELECT CAST(queue AS BLOB), count(*) FROM messages WHERE claimed = 0 "
            "GROUP BY queue"))
    if "status" in tables.get("Queue", set()):
        # litequeue's qsize() counts READY (0) and LOCKED (1, popped, not yet done): both,
        # apart, so a consumer that pops and never finishes shows as "locked" piling up.
        found.append(QueueQuery(
            "litequeue", "SELECT 'ready', (SELECT count(*) FROM Queue WHERE status = 0) "
            "UNION ALL SELECT 'locked', (SELECT count(*) FROM Queue WHERE status = 1)"))
    for name, columns in sorted(tables.items()):
        if name.startswith("ack_queue_") and {"_id", "status"} <= columns:
            found.append(QueueQuery(
                f"persistqueue:{name[len('ack_queue_'):]}",
                f"SELECT count(_id) FROM {_quote_ident(name)} WHERE status < 2"))
    return found


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
