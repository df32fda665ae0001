"""One reading of one database: the probes composed in the order that keeps the poll cheap.

Nothing here reads WAL frames, so a poll costs the same with a 2 KB or a 2 GB -wal. The one
path that could scale with the -wal (SQLite's WAL recovery when nobody has the database open)
is skipped above a size limit, and the reading says so.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import NamedTuple

import apsw

from waltui.model import (
    DbError,
    DbHeader,
    FileFacts,
    Filesystem,
    HeldLock,
    Lock,
    ProcessInfo,
    QueueDepth,
    Reading,
)
from waltui.probes.files import FileWatch
from waltui.probes.filesystem import MountTable
from waltui.probes.locks import (
    RESERVED,
    FileId,
    LockTable,
    probe_with_getlk,
    who_blocks,
)
from waltui.probes.pins import find_readers
from waltui.probes.processes import HoldTracker, ProcessProbe, own_pids, paths_opened_as
from waltui.probes.sqlite import (
    QueueQuery,
    classify,
    observer_connection,
    preset_queries,
    read_pragmas,
    run_query,
)


@dataclass(frozen=True)
class ObserveOptions:
    queries: tuple[QueueQuery, ...] = ()
    sql: bool = True  # False: never open SQLite; files, locks and pins only
    presets: bool = True
    query_limit_ms: float = 100.0
    recovery_limit_bytes: int = 8 * 1024 * 1024
    sql_max_age: float = 10.0  # re-read SQL values this often even when nothing changed


_SHARED_PROCESS_PROBE = ProcessProbe()


class SqlValues(NamedTuple):
    """What the SQL part of a poll learned, or why it learned nothing."""

    pragmas: dict[str, object]
    queues: tuple[QueueDepth, ...] = ()
    error: DbError | None = None
    notes: tuple[str, ...] = ()

    @classmethod
    def from_header(cls, header: DbHeader, note: str) -> SqlValues:
        """SQLite was not (or could not be) opened: the file header's values, and why."""
        return cls(header_pragmas(header), notes=(note,))


class PollContext:
    """What one poll cycle reads once for all databases: the lock table, the mount table,
    and each pid's details and each directory's filesystem, looked up once per cycle."""

    def __init__(self, locks: LockTable | None, mounts: MountTable,
                 processes: ProcessProbe = _SHARED_PROCESS_PROBE) -> None:
        self.locks = locks
        self.mounts = mounts
        self._processes = processes
        self._process_memo: dict[int, ProcessInfo | None] = {}
        self._fs_memo: dict[str, Filesystem | None] = {}

    @classmethod
    def capture(cls, lock_source: str = "auto") -> PollContext:
        table = None if lock_source == "getlk" else LockTable.capture()
        return cls(table, MountTable.capture())

    def describe(self, pids: Iterable[int]) -> dict[int, ProcessInfo]:
        wanted = set(pids) - self._process_memo.keys()
        if wanted:
            found = self._processes.describe(wanted)
            self._process_memo.update({pid: found.get(pid) for pid in wanted})
        return {pid: info for pid in pids if (info := self._process_memo.get(pid)) is not None}

    def filesystem(self, path: str) -> Filesystem | None:
        directory = os.path.dirname(os.path.abspath(path))
        if directory not in self._fs_memo:
            self._fs_memo[directory] = self.mounts.lookup(path)
        return self._fs_memo[directory]


class DatabaseObserver:
    """Watches one database across polls: kept fds, process cache and hold timers."""

    def __init__(self, path: str, options: ObserveOptions | None = None) -> None:
        self.path = path
        self.options = options or ObserveOptions()
        self.watch = FileWatch(path)
        self.holds = HoldTracker()
        self._presets: tuple[int | None, list[QueueQuery]] = (None, [])
        # (content key, when read, values): reused while the database has not changed
        self._sql_cache: tuple[tuple[object, ...], float, SqlValues] | None = None

    def close(self) -> None:
        self.watch.close()

    def read(self, ctx: PollContext) -> Reading:
        """One reading. On a network or FUSE filesystem no fd is kept between polls: at exit
        the kernel would send the server a FLUSH for each, and wait for it without end if
        the server has stopped answering (measured: the process could not be reaped)."""
        try:
            return self._read(ctx)
        finally:
            filesystem = ctx.filesystem(self.path)
            if filesystem is not None and (filesystem.network or filesystem.fuse):
                self.watch.close()

    def _read(self, ctx: PollContext) -> Reading:
        started = time.perf_counter()
        facts, error = self.watch.read()
        if facts is None:
            return Reading(self.path, time.time(), error=error,
                           poll_ms=(time.perf_counter() - started) * 1000)
        header = facts.db_header
        filesystem = ctx.filesystem(self.path)
        self.holds.begin_poll()
        own = own_pids()
        held = self._held_locks(ctx, facts, filesystem, own)
        infos = {h.lock.pid: h.process for h in held if h.process}
        readers, stale = find_readers(
            facts.wal_index, (h.lock for h in held),
            lambda pid: infos[pid].label if pid in infos else f"pid {pid}", self.holds.held_for,
            own)
        self.holds.end_poll()
        if facts.journal_hot:
            facts = replace(facts, journal_hot=self._nobody_reserved())
        opened_as = self._opened_elsewhere(facts, header, held)
        sql, sql_taken_at = SqlValues({}), None
        if header is not None and error is None:
            unreadable = self._sql_unreadable_why(facts, header, held, opened_as)
            if unreadable is not None:
                sql = SqlValues.from_header(header, unreadable)
            elif self.options.sql:
                sql, sql_taken_at = self._sql_values(facts, header, held)
                error = sql.error
            else:
                sql = SqlValues(header_pragmas(header))
        if header is not None and header.journal_mode != "wal" and error is None:
            error = DbError("not_wal", "rollback-journal mode, not WAL: readers block writers. "
                            "Locks, pragmas and queues are still shown.")
        return Reading(
            path=self.path, taken_at=time.time(), error=error, files=facts,
            journal_mode=header.journal_mode if header else None,
            page_size=header.page_size if header else None,
            held_locks=held, readers=readers, stale_marks=stale, filesystem=filesystem,
            pragmas=sql.pragmas, queues=sql.queues, notes=sql.notes, sql_taken_at=sql_taken_at,
            poll_ms=(time.perf_counter() - started) * 1000, opened_as=opened_as,
        )

    def _nobody_reserved(self) -> bool:
        """Asked after the -journal was read: the lock table was read before it, so a writer
        that began in between would make a live journal look hot (seen: CRITICAL for 3 s
        while the sqlite3 shell held RESERVED). The same question pager.c asks."""
        fd = self.watch.db.fd
        return fd is not None and who_blocks(fd, RESERVED, 1) is None

    def _opened_elsewhere(self, facts: FileFacts, header: DbHeader | None,
                          held: Sequence[HeldLock]) -> tuple[str, ...]:
        """A WAL database with no -shm beside this name, yet others hold its file: they
        opened it by another name (a hard link), and the WAL they use sits beside that."""
        if header is None or header.journal_mode != "wal" or facts.shm_bytes is not None:
            return ()
        holders = {h.lock.pid for h in held if h.lock.file == "db" and not h.ours}
        names = {name for pid in holders for name in paths_opened_as(pid, facts.db_inode)}
        here = os.path.realpath(self.path)
        return tuple(sorted(n for n in names if os.path.realpath(n) != here))

    def _sql_unreadable_why(self, facts: FileFacts, header: DbHeader,
                            held: Sequence[HeldLock], opened_as: tuple[str, ...]) -> str | None:
        """Cases where opening SQLite here would read a stale page 1 or wait on a lock."""
        if header.journal_mode != "wal" or facts.shm_bytes is not None:
            return None
        db_holders = [h for h in held if h.lock.file == "db" and not h.ours]
        exclusive = [h for h in db_holders
                     if h.lock.lock == "exclusive" and not h.lock.waiting]
        if exclusive:
            return (f"SQL values not read: pid {exclusive[0].lock.pid} holds the database in "
                    "exclusive locking mode, which admits no other connection; values are "
                    "from the file header, which the -wal may have moved past")
        if db_holders:
            names = ", ".join(opened_as) or "another name"
            return (f"SQL values not read: other processes opened this file as {names}; "
                    "the -wal and -shm are beside that name, so opening this one would read "
                    "a page 1 older than their WAL; values are from the file header")
        return None

    def _sql_values(self, facts: FileFacts, header: DbHeader, held: Sequence[HeldLock]
                    ) -> tuple[SqlValues, float]:
        """Opening a connection is most of a poll's cost. Pragmas and queue depths cannot
        change without a commit, and every commit moves content_key(), so an unchanged
        database reuses the last values; sql_max_age bounds the wait for SQL whose answer
        depends on the clock (a "due now" queue)."""
        key, now = content_key(facts), time.time()
        if self._sql_cache is not None:
            cached_key, taken_at, values = self._sql_cache
            if cached_key == key and now - taken_at < self.options.sql_max_age:
                return values, taken_at
        values = self._read_sql(facts, header, held)
        clean = values.error is None and not values.notes
        self._sql_cache = (key, now, values) if clean else None
        return values, now

    def _held_locks(self, ctx: PollContext, facts: FileFacts, filesystem: Filesystem | None,
                    own: frozenset[int]) -> tuple[HeldLock, ...]:
        locks: list[Lock]
        if ctx.locks is not None:
            locks = ctx.locks.locks_for(*lock_table_ids(facts, filesystem))
        elif self.watch.db.fd is not None:
            locks = probe_with_getlk(self.watch.db.fd, self.watch.shm.fd)
        else:
            locks = []
        infos = ctx.describe([lock.pid for lock in locks])
        commits = commit_counter(facts)
        return tuple(
            HeldLock(lock, infos.get(lock.pid), self.holds.held_for(hold_key(lock, commits)),
                     ours=lock.pid in own)
            for lock in locks
        )

    def _read_sql(self, facts: FileFacts, header: DbHeader, held: Sequence[HeldLock]
                  ) -> SqlValues:
        wal_mode = header.journal_mode == "wal"
        no_sidecars = opens_immutable(facts)
        someone_has_it_open = any(h.lock.lock == "dms" or h.lock.file == "db" for h in held)
        wal_bytes = facts.wal_bytes or 0
        if wal_mode and facts.wal_bytes is None and facts.shm_bytes is not None:
            return SqlValues.from_header(
                header, "SQL values not read: the -wal is missing beside its -shm (deleted "
                "under a running application?); values are from the file header")
        if wal_mode and not someone_has_it_open and not no_sidecars \
                and wal_bytes > self.options.recovery_limit_bytes:
            return SqlValues.from_header(
                header, f"SQL values not read: nobody has the database open, so opening it "
                f"would run WAL recovery over {wal_bytes:,} bytes of -wal; values are from the "
                "file header")
        try:
            with observer_connection(self.path, immutable=no_sidecars) as conn:
                pragmas = read_pragmas(conn)
                queries = list(self.options.queries)
                if self.options.presets:
                    queries += self._preset_queries(conn, pragmas.get("schema_version"))
                queues = tuple(q for query in queries
                               for q in run_query(conn, query, self.options.query_limit_ms))
            return SqlValues(pragmas, queues)
        except apsw.BusyError:
            return SqlValues.from_header(
                header, "SQL values not read this poll: the database was busy (a writer in "
                "rollback mode or a WAL recovery); values are from the file header")
        except apsw.ReadOnlyError as exc:
            return SqlValues.from_header(
                header, f"SQL values not read: {exc} (a hot journal a read-only observer may "
                "not roll back)")
        except apsw.Error as exc:
            return SqlValues(header_pragmas(header), error=classify(exc))


    def _preset_queries(self, conn: apsw.Connection, schema_version: object) -> list[QueueQuery]:
        """Known queue tables, looked for again only when the schema changes."""
        if self._presets[0] != schema_version or schema_version is None:
            self._presets = (schema_version, preset_queries(conn))  # type: ignore[assignment]
        return self._presets[1]


WRITE_LOCKS = frozenset({("shm", "write"), ("db", "reserved"), ("db", "pending"),
                         ("db", "exclusive")})


def commit_counter(facts: FileFacts) -> int | None:
    """Moves with every commit: the -shm's iChange in WAL mode, else the header's counter."""
    if facts.wal_index is not None:
        return facts.wal_index.change_counter
    return facts.db_header.change_counter if facts.db_header else None


def hold_key(lock: Lock, commits: int | None) -> tuple[object, ...]:
    """A write lock is one hold only while no commit happens: a busy writer that commits
    and takes the lock again between two polls has not held it all along."""
    if (lock.file, lock.lock) in WRITE_LOCKS:
        return ("lock", *lock.key, commits)
    return ("lock", *lock.key)


def lock_table_ids(facts: FileFacts, filesystem: Filesystem | None
                   ) -> tuple[list[FileId], list[FileId]]:
    """(device, inode) of the db and of the -shm as /proc/locks may name them: os.stat's
    device, and the superblock's from mountinfo where that differs (btrfs subvolumes). Both
    are looked up, so a mount table that misleads (stacked mounts) costs nothing."""
    files = [facts.db_inode], [facts.shm_inode] if facts.shm_inode is not None else []
    device = filesystem.device if filesystem is not None else None
    if device is not None and device != facts.db_inode[0]:
        for ids in files:
            ids += [(device, inode) for _, inode in ids]
    return files


def content_key(facts: FileFacts) -> tuple[object, ...]:
    """Moves with every commit: the -shm's transaction counter and mxFrame (WAL), the file
    header's change counter (rollback mode), and the sizes and WAL salts as a backstop."""
    index, wal, header = facts.wal_index, facts.wal_header, facts.db_header
    return (
        facts.db_bytes, facts.wal_bytes, facts.shm_bytes, facts.journal_bytes,
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


def header_pragmas(header: DbHeader) -> dict[str, object]:
    """What the 100-byte header says; page 1 may be newer in the WAL."""
    encodings = {1: "UTF-8", 2: "UTF-16le", 3: "UTF-16be"}
    return {
        "page_count": header.page_count, "freelist_count": header.freelist_count,
        "user_version": header.user_version, "application_id": header.application_id,
        "encoding": encodings.get(header.text_encoding, "UTF-8"),
        "auto_vacuum": (2 if header.incremental_vacuum else 1) if header.auto_vacuum else 0,
    }
