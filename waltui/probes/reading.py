"""One reading of one database: the probes composed in the order that keeps the poll cheap.

Nothing here reads WAL frames, so a poll costs the same with a 2 KB or a 2 GB -wal. The one
path that could scale with the -wal (SQLite's WAL recovery when nobody has the database open)
is skipped above a size limit, and the reading says so.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import NamedTuple

from waltui.model import (
    DbError,
    DbHeader,
    FileFacts,
    Filesystem,
    HeldLock,
    Lock,
    ProcessInfo,
    Reading,
)
from waltui.options import ObserveOptions
from waltui.probes.files import FileWatch, Stats, parse_db_header
from waltui.probes.filesystem import MOUNTS, MountTable
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
from waltui.probes.sql_values import SqlPart, SqlValues, content_key

_SHARED_PROCESS_PROBE = ProcessProbe()


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
        context = cls(source.table(inodes, watched), MOUNTS.current())
        if context.locks is None and source.source != "getlk":  # chosen, not asked for
            context.lock_note = GETLK_NOTE
        return context

    def process(self, pid: int) -> ProcessInfo | None:
        if pid in self._process_memo:
            return self._process_memo[pid]
        return self.describe([pid]).get(pid)

    def describe(self, pids: Iterable[int]) -> dict[int, ProcessInfo]:
        wanted = set(pids) - self._process_memo.keys()
        if wanted:
            found = self._processes.describe(wanted)
            self._process_memo.update({pid: found.get(pid) for pid in wanted})
        return {pid: info for pid in pids if (info := self._process_memo.get(pid)) is not None}

    def filesystem(self, path: str, directory: str | None = None) -> Filesystem | None:
        """directory: the path's own, where the caller has it (this runs 1,000 times a poll)."""
        directory = directory or os.path.dirname(os.path.abspath(path))
        if directory not in self._fs_memo:
            self._fs_memo[directory] = self.mounts.lookup(path)
        return self._fs_memo[directory]


class _Steady(NamedTuple):
    """A reading that may be handed out again, aged, while its raw inputs stay the same."""

    fingerprint: tuple[object, ...]
    reading: Reading
    taken_monotonic: float
    fresh_until: float  # time.time() when its SQL values must be read again
    lock_note: str | None
    lock_files: tuple[FileId, ...]  # the database's and -shm's ids in /proc/locks
    locks: tuple[object, ...]  # their /proc/locks lines, or the F_GETLK answers
    lock_table: LockTable | None  # the whole table they came from (the same while unchanged)


class DatabaseObserver:
    """Watches one database across polls: kept fds, process cache and hold timers."""

    def __init__(self, path: str, options: ObserveOptions | None = None) -> None:
        self.path = path
        self.options = options or ObserveOptions()
        self.watch = FileWatch(path)
        self.holds = HoldTracker()
        self.sql = SqlPart(path, self.watch, self.options)
        self._directory = os.path.dirname(os.path.abspath(path))
        self._page_one_cache: tuple[object, dict[str, object]] | None = None
        self._steady: _Steady | None = None
        self.unchanged_reads = 0  # readings handed out again (tests and benches count them)

    def close(self) -> None:
        self.watch.close()

    def read(self, ctx: PollContext) -> Reading:
        """One reading. On a network or FUSE filesystem no fd is kept between polls: at exit
        the kernel would send the server a FLUSH for each, and wait for it without end if
        the server has stopped answering (measured: the process could not be reaped)."""
        try:
            return self._read(ctx)
        finally:
            filesystem = ctx.filesystem(self.path, self._directory)
            if filesystem is not None and (filesystem.network or filesystem.fuse):
                self.watch.close()

    def _read(self, ctx: PollContext) -> Reading:
        started = time.perf_counter()
        fingerprint, stats = self.watch.fingerprint()
        if fingerprint is not None and self._steady is not None:
            again = self._read_again(ctx, fingerprint, started)
            if again is not None:
                return again
        self._steady = None
        reading, clean = self._read_all(ctx, started, stats)
        if fingerprint is not None and clean:
            assert reading.files is not None
            lock_files = tuple(i for ids in lock_table_ids(reading.files, reading.filesystem)
                               for i in ids)
            self._steady = _Steady(
                fingerprint, reading, time.monotonic(),
                self.sql.fresh_until(reading.pragmas.get("schema_version")), ctx.lock_note,
                lock_files, ctx.locks.raw_for(lock_files) if ctx.locks is not None
                else tuple(h.lock for h in reading.held_locks), ctx.locks)
        return reading

    def _read_again(self, ctx: PollContext, fingerprint: tuple[object, ...], started: float
                    ) -> Reading | None:
        """The last reading, its locks and pins held longer, when nothing it was made of has
        changed: the same files (three stats, the -shm header), the same locks held by the
        same processes in the same state, SQL values still fresh. A fingerprint taken
        before the reading it is kept with can only be older than it: a change in between
        makes the next poll read in full, never the reverse."""
        steady = self._steady
        assert steady is not None
        last, now = steady.reading, time.time()
        if fingerprint != steady.fingerprint or ctx.lock_note != steady.lock_note \
                or now >= steady.fresh_until:
            return None
        filesystem = ctx.filesystem(self.path, self._directory)
        assert last.files is not None
        if filesystem != last.filesystem:
            return None
        if ctx.locks is None:
            if tuple(self._locks(ctx, last.files, filesystem)) != steady.locks:
                return None
        elif ctx.locks is not steady.lock_table and \
                ctx.locks.raw_for(steady.lock_files) != steady.locks:
            return None
        for held in last.held_locks:
            process = ctx.process(held.lock.pid)  # the same object while nothing changed
            if process is not held.process and process != held.process:
                return None
        self.unchanged_reads += 1
        return last.later(time.monotonic() - steady.taken_monotonic, now,
                          (time.perf_counter() - started) * 1000)

    def _read_all(self, ctx: PollContext, started: float, stats: Stats | None
                  ) -> tuple[Reading, bool]:
        """A reading from every probe, and whether it may be handed out again while its
        inputs stay the same (a WAL database read without error or note)."""
        facts, error = self.watch.read(stats)
        if facts is None:
            return Reading(self.path, time.time(), error=error,
                           poll_ms=(time.perf_counter() - started) * 1000), False
        header = facts.db_header
        filesystem = ctx.filesystem(self.path, self._directory)
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
                sql, sql_taken_at = self.sql.values(facts, held, pragmas)
                error = sql.error
            else:
                sql = SqlValues(pragmas)
            if page_note:
                sql = sql._replace(notes=(*sql.notes, page_note))
        if header is not None and header.journal_mode != "wal" and error is None:
            error = DbError("not_wal", "rollback-journal mode, not WAL: readers block writers. "
                            "Locks, pragmas and queues are still shown.")
        marks = self.sql.our_marks
        reading = Reading(
            path=self.path, taken_at=time.time(), error=error, files=facts,
            journal_mode=header.journal_mode if header else None,
            page_size=header.page_size if header else None,
            held_locks=held, readers=readers, filesystem=filesystem,
            stale_marks=tuple(m if m.ours == (marks.get(m.slot) == m.read_mark)
                              else replace(m, ours=not m.ours) for m in stale),
            pragmas=sql.pragmas, queues=sql.queues, sql_taken_at=sql_taken_at,
            notes=(*sql.notes, ctx.lock_note) if ctx.lock_note else sql.notes,
            poll_ms=(time.perf_counter() - started) * 1000, opened_as=opened_as,
        )
        clean = (error is None and not sql.notes and facts.wal_index is not None
                 and not facts.journal_hot and not opened_as)
        return reading, clean

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

    def _locks(self, ctx: PollContext, facts: FileFacts, filesystem: Filesystem | None
               ) -> list[Lock]:
        if ctx.locks is not None:
            return ctx.locks.locks_for(*lock_table_ids(facts, filesystem))
        if self.watch.db.fd is not None:
            return probe_with_getlk(self.watch.db.fd, self.watch.shm.fd)
        return []

    def _held_locks(self, ctx: PollContext, facts: FileFacts, filesystem: Filesystem | None,
                    own: frozenset[int]) -> tuple[HeldLock, ...]:
        locks = self._locks(ctx, facts, filesystem)
        infos = ctx.describe([lock.pid for lock in locks])
        commits = commit_counter(facts)
        return tuple(
            HeldLock(lock, infos.get(lock.pid), self.holds.held_for(hold_key(lock, commits)),
                     ours=lock.pid in own)
            for lock in locks
        )

def handed_out_again(reading: Reading, previous: Reading | None) -> bool:
    """Whether an observer handed out its previous reading again, held longer: nothing it
    reads had changed. Such readings share the very FileFacts of the reading they repeat."""
    return (previous is not None and reading.files is not None
            and reading.files is previous.files)


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
