"""One reading of one database: the probes composed in the order that keeps the poll cheap.

Nothing here reads WAL frames, so a poll costs the same with a 2 KB or a 2 GB -wal. The one
path that could scale with the -wal (SQLite's WAL recovery when nobody has the database open)
is skipped above a size limit, and the reading says so.
"""

from __future__ import annotations

import os
import time
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import replace
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
    WalIndex,
)
from waltui.options import ObserveOptions, QueueQuery
from waltui.probes.files import FileWatch, parse_db_header
from waltui.probes.filesystem import MountTable
from waltui.probes.locks import (
    GETLK_NOTE,
    RESERVED,
    FileId,
    LockSource,
    LockTable,
    probe_with_getlk,
    who_blocks,
)
from waltui.probes.page_one import page_one_header
from waltui.probes.pins import find_readers
from waltui.probes.processes import HoldTracker, ProcessProbe, own_pids, paths_opened_as
from waltui.probes.sqlite import (
    classify,
    observer_connection,
    preset_queries,
    run_query,
)

_SHARED_PROCESS_PROBE = ProcessProbe()


class SqlValues(NamedTuple):
    """What the SQL part of a poll learned, or why it learned nothing."""

    pragmas: dict[str, object]
    queues: tuple[QueueDepth, ...] = ()
    error: DbError | None = None
    notes: tuple[str, ...] = ()



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
        self.lock_note: str | None = None  # said on each reading when locks came per byte

    @classmethod
    def capture(cls, lock_source: str | LockSource = "auto",
                inodes: frozenset[int] | None = None, watched: int = 1) -> PollContext:
        """inodes: the watched files' (None: every lock on the host is decoded); a
        LockSource kept across polls chooses between /proc/locks and F_GETLK."""
        source = lock_source if isinstance(lock_source, LockSource) else LockSource(lock_source)
        context = cls(source.table(inodes, watched), MountTable.capture())
        if context.locks is None and source.source != "getlk":  # chosen, not asked for
            context.lock_note = GETLK_NOTE
        return context

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
        self._our_marks: dict[int, int] = {}  # read slot -> the mark our last query left
        self._page_one_cache: tuple[object, dict[str, object]] | None = None
        # (content key, when read, values): reused while the database has not changed
        self._sql_cache: tuple[tuple[object, ...], float, SqlValues] | None = None
        # Each database's own share of sql_max_age (75-100 %, fixed by its path): 1,000
        # databases attached together then refresh over a quarter of it, not in one cycle.
        self._sql_max_age = self.options.sql_max_age * (
            0.75 + 0.25 * (zlib.crc32(os.fsencode(path)) % 1000) / 1000)

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
            pragmas, page_note = self._page_one_pragmas(facts, header, opened_as)
            unreadable = self._sql_unreadable_why(facts, header, held, opened_as)
            if unreadable is not None:
                sql = SqlValues(pragmas, notes=(unreadable,))
            elif self.options.sql:
                sql, sql_taken_at = self._sql_values(facts, held, pragmas)
                error = sql.error
            else:
                sql = SqlValues(pragmas)
            if page_note:
                sql = sql._replace(notes=(*sql.notes, page_note))
        if header is not None and header.journal_mode != "wal" and error is None:
            error = DbError("not_wal", "rollback-journal mode, not WAL: readers block writers. "
                            "Locks, pragmas and queues are still shown.")
        return Reading(
            path=self.path, taken_at=time.time(), error=error, files=facts,
            journal_mode=header.journal_mode if header else None,
            page_size=header.page_size if header else None,
            held_locks=held, readers=readers, filesystem=filesystem,
            stale_marks=tuple(replace(m, ours=self._our_marks.get(m.slot) == m.read_mark)
                              for m in stale),
            pragmas=sql.pragmas, queues=sql.queues, sql_taken_at=sql_taken_at,
            notes=(*sql.notes, ctx.lock_note) if ctx.lock_note else sql.notes,
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

    def _page_one_pragmas(self, facts: FileFacts, header: DbHeader,
                          opened_as: tuple[str, ...]) -> tuple[dict[str, object], str | None]:
        """The pragmas waltui shows, from page 1 as SQLite sees it now, without opening
        SQLite (see page_one.py); the database file's copy where the WAL's cannot be read.
        Page 1 cannot change without a commit: an unchanged database costs no pread."""
        key = (content_key(facts), opened_as)
        if self._page_one_cache is not None and self._page_one_cache[0] == key:
            return self._page_one_cache[1], None
        values, note = self._read_page_one(facts, header, opened_as)
        self._page_one_cache = (key, values) if note is None else None
        return values, note

    def _read_page_one(self, facts: FileFacts, header: DbHeader, opened_as: tuple[str, ...]
                       ) -> tuple[dict[str, object], str | None]:
        index = facts.wal_index if not opened_as else None
        raw = page_one_header(self.watch, index, facts.wal_header, header.page_size)
        page_one = parse_db_header(raw)[0] if raw else None
        values = header_pragmas(page_one or header)
        if index is not None and index.max_frame:
            values["page_count"] = index.db_pages  # the wal-index's own count, as of mxFrame
        if page_one is None:
            return values, ("page 1 in the WAL changed while it was read; pragmas are from "
                            "the database file this poll")
        return values, None

    def _sql_values(self, facts: FileFacts, held: Sequence[HeldLock],
                    pragmas: dict[str, object]) -> tuple[SqlValues, float | None]:
        """Opening a connection is most of a poll's cost, and it writes (a read mark), so it
        happens only for queue queries. Queue depths cannot change without a commit, and
        every commit moves content_key(), so an unchanged database reuses the last values;
        sql_max_age bounds the wait for SQL whose answer depends on the clock."""
        schema = pragmas.get("schema_version")
        presets_known = self._presets[0] == schema
        if not self.options.queries and (not self.options.presets or
                                         (presets_known and not self._presets[1])):
            return SqlValues(pragmas), None  # nothing to ask SQLite: open nothing
        key, now = content_key(facts), time.time()
        if self._sql_cache is not None:
            cached_key, taken_at, values = self._sql_cache
            age = now - taken_at
            fresh_enough = age < min(self.options.sql_min_age, self._sql_max_age)
            if fresh_enough or (cached_key == key and age < self._sql_max_age):
                return values._replace(pragmas=pragmas), taken_at
        values = self._read_sql(facts, held, pragmas)
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

    def _read_sql(self, facts: FileFacts, held: Sequence[HeldLock],
                  pragmas: dict[str, object]) -> SqlValues:
        wal_mode = facts.db_header is not None and facts.db_header.journal_mode == "wal"
        no_sidecars = opens_immutable(facts)
        someone_has_it_open = any(h.lock.lock == "dms" or h.lock.file == "db" for h in held)
        if wal_mode and facts.wal_bytes is None and facts.shm_bytes is not None:
            return SqlValues(pragmas, notes=(
                "queue depths not read: the -wal is missing beside its -shm (deleted under a "
                "running application?)",))
        if wal_mode and not someone_has_it_open and not no_sidecars:
            return SqlValues(pragmas, notes=(
                "queue depths not read: no process has the database open, and opening it "
                "would run WAL recovery, which rewrites the -shm; they are read while an "
                "application holds it",))
        try:
            before = self.watch.read_wal_index()[0]
            with observer_connection(self.path, immutable=no_sidecars) as conn:
                queries = list(self.options.queries)
                if self.options.presets:
                    queries += self._preset_queries(conn, pragmas.get("schema_version"))
                queues = tuple(q for query in queries
                               for q in run_query(conn, query, self.options.query_limit_ms))
            self._note_our_marks(before)
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

    def _note_our_marks(self, before: WalIndex | None) -> None:
        """A read transaction of ours may move a read mark; remember it, so that the mark
        it leaves is shown as waltui's, never as a stale mark of the application's."""
        after = self.watch.read_wal_index()[0]
        if before is None or after is None:
            return
        for slot, (old, new) in enumerate(zip(before.read_marks, after.read_marks)):
            if slot > 0 and new is not None and new != old:
                self._our_marks[slot] = new

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
        "schema_version": header.schema_cookie,
    }
