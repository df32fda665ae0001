"""One reading of one database: the probes composed in the order that keeps the poll cheap.

Nothing here reads WAL frames, so a poll costs the same with a 2 KB or a 2 GB -wal. The one
path that could scale with the -wal (SQLite's WAL recovery when nobody has the database open)
is skipped above a size limit, and the reading says so.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import NamedTuple

from waltui.model import (
    DbError,
    DbHeader,
    FileFacts,
    Filesystem,
    HeldLock,
    Lock,
    QueueDepth,
    Reading,
    fast_replace,
)
from waltui.options import ObserveOptions
from waltui.probes.context import PollContext
from waltui.probes.fd_files import paths_opened_as
from waltui.probes.files import FileWatch, Stats, parse_db_header
from waltui.probes.lock_view import confirm_vanished, gather, kept_files, lock_table_ids
from waltui.probes.locks import RESERVED, FileId, who_blocks
from waltui.probes.page_one import page_one_header
from waltui.probes.pins import find_readers
from waltui.probes.processes import HoldTracker, age_seconds, own_pids
from waltui.probes.sql_values import SqlPart, SqlValues, content_key

# where callers have found them
__all__ = ["DatabaseObserver", "ObserveOptions", "PollContext", "lock_table_ids"]

class _Steady(NamedTuple):
    """A reading that may be handed out again, aged, while its raw inputs stay the same."""

    fingerprint: tuple[object, ...]
    reading: Reading
    taken_monotonic: float
    fresh_until: float  # time.time() when its SQL values must be read again
    lock_note: str | None
    lock_files: tuple[FileId, ...]  # the database's and -shm's ids in /proc/locks
    # their /proc/locks lines, or (asked per byte, or in a pid namespace of our own, where
    # /proc/locks is not all) the locks themselves
    locks: tuple[object, ...]
    # the reader they came from: the very same read while nothing on the host changed
    lock_source: object


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
        self._last_held: tuple[HeldLock, ...] = ()  # the last full read's, for confirm_vanished
        self._confirmed = False  # the last full read kept a lock /proc/locks did not list
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
                lock_files, ctx.reader.lines(lock_files) if _lines_tell(ctx)
                else tuple(h.lock for h in reading.held_locks), ctx.reader)
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
        if fingerprint != steady.fingerprint or ctx.lock_note != steady.lock_note:
            return None
        filesystem = ctx.filesystem(self.path, self._directory)
        assert last.files is not None
        if filesystem != last.filesystem:
            return None
        if not _lines_tell(ctx):
            if tuple(gather(ctx, self.watch, last.files, filesystem)) != steady.locks:
                return None
        elif not ctx.reader.same_read(steady.lock_source) and \
                ctx.reader.lines(steady.lock_files) != steady.locks:
            return None
        for held in last.held_locks:
            process = ctx.process(held.lock.pid)  # the same object while nothing changed
            if process is not held.process and process != held.process:
                return None
        if now >= steady.fresh_until:
            refreshed = self._same_sql_again(steady)
            if refreshed is None:
                return None
            last = refreshed
        self.unchanged_reads += 1
        return last.later(time.monotonic() - steady.taken_monotonic, now,
                          (time.perf_counter() - started) * 1000)

    def _same_sql_again(self, steady: _Steady) -> Reading | None:
        """Queue SQL that reads the clock is run again when its values go stale, though
        nothing else changed. Finding the same depths is no change: the last reading, with
        its SQL read time moved, is handed out again (no Change, no rules; at 1,000 idle
        databases a Change each refresh was ~117 a second). Else None: read in full, and
        the values just read are reused from SqlPart's cache."""
        last = steady.reading
        assert last.files is not None
        values, taken_at = self.sql.values(last.files, last.held_locks, last.pragmas)
        if values.error is not None or values.notes or _depths(values.queues) != _depths(
                last.queues):
            return None
        kept = fast_replace(last, {"sql_taken_at": taken_at, "queues": values.queues})
        self._steady = steady._replace(
            reading=kept, fresh_until=self.sql.fresh_until(last.pragmas.get("schema_version")))
        return kept

    def _read_all(self, ctx: PollContext, started: float, stats: Stats | None
                  ) -> tuple[Reading, bool]:
        """A reading from every probe, and whether it may be handed out again while its
        inputs stay the same (a WAL database read without error or note)."""
        facts, error = self.watch.read(stats)
        if facts is None:
            return Reading(path=self.path, taken_at=time.time(), error=error,
                           poll_ms=(time.perf_counter() - started) * 1000), False
        header = facts.db_header
        filesystem = ctx.filesystem(self.path, self._directory)
        self.holds.begin_poll()
        own = own_pids()
        held = self._held_locks(ctx, facts, filesystem, own)
        infos = {h.lock.pid: h.process for h in held if h.process}

        def reader_hold(key: tuple[object, ...], pid: int) -> tuple[float, bool, float | None]:
            seconds, at_least = self.holds.hold(key)
            info = infos.get(pid)
            return seconds, at_least, age_seconds(info.start_ticks) \
                if at_least and info is not None and info.start_ticks else None

        readers, stale = find_readers(
            facts.wal_index, (h.lock for h in held),
            lambda pid: infos[pid].label if pid in infos else f"pid {pid}" if pid > 0 else "",
            reader_hold, own)
        self.holds.end_poll()
        if facts.journal_hot:
            facts = replace(facts, journal_hot=self._nobody_reserved())
        opened_as = self._opened_elsewhere(facts, header, held)
        sql, sql_taken_at = SqlValues({}), None
        if header is not None and error is None:
            pragmas, page_note = self._page_one_pragmas(facts, header, opened_as)
            unreadable = self._sql_unreadable_why(facts, header, held, opened_as)
            if unreadable is not None and unreadable.startswith(ANOTHER_NAME):
                sql = SqlValues({}, notes=(unreadable,))  # this name's page 1 is stale
            elif unreadable is not None:
                sql = SqlValues(pragmas, notes=(unreadable,))
            elif self.options.sql:
                sql, sql_taken_at = self.sql.values(facts, held, pragmas)
                error = sql.error
            else:
                sql = SqlValues(pragmas)
            if page_note:
                sql = sql._replace(notes=(*sql.notes, page_note))
        if header is not None and header.journal_mode != "wal" and error is None:
            error = DbError(kind="not_wal", message="rollback-journal mode, not WAL: readers "
                            "block writers. Locks, pragmas and queues are still shown.")
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
            waiters_seen=ctx.waiters_seen,
        )
        clean = (error is None and not sql.notes and facts.wal_index is not None
                 and not facts.journal_hot and not opened_as and not self._confirmed)
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
            return (f"{ANOTHER_NAME} {names}; the -wal and -shm are beside that name, so this "
                    "name's page 1 is older than their WAL: pragmas and queue depths are not "
                    "shown (watch the name they opened)")
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

    def _held_locks(self, ctx: PollContext, facts: FileFacts, filesystem: Filesystem | None,
                    own: frozenset[int]) -> tuple[HeldLock, ...]:
        locks = gather(ctx, self.watch, facts, filesystem)
        self._confirmed = False
        if ctx.reader.has_lines and self._last_held:
            before = len(locks)
            locks = confirm_vanished(self._last_held, locks, kept_files(self.watch, facts),
                                     lambda held: _still_there(ctx, held))
            self._confirmed = len(locks) != before
        infos = ctx.describe([lock.pid for lock in locks if lock.owner_known])
        commits = commit_counter(facts)
        held = []
        for lock in locks:
            info = infos.get(lock.pid)
            seconds, at_least = self.holds.hold(hold_key(lock, commits))
            held.append(HeldLock(
                lock=lock, process=info, held_seconds=seconds, ours=lock.pid in own,
                held_at_least=at_least,
                held_at_most=age_seconds(info.start_ticks)
                if at_least and info is not None and info.start_ticks else None))
        self._last_held = tuple(held)
        return self._last_held


def _lines_tell(ctx: PollContext) -> bool:
    """Whether a database's /proc/locks lines alone tell that its locks are unchanged: not
    when asked per byte, nor in a pid namespace of our own (outside holders are asked)."""
    return ctx.reader.has_lines and not ctx.outside_possible


def _still_there(ctx: PollContext, held: HeldLock) -> bool:
    """The process that held a lock at the last full read lives on (same pid, same start)."""
    now = ctx.process(held.lock.pid)
    return now is not None and held.process is not None and \
        now.start_ticks == held.process.start_ticks


ANOTHER_NAME = "SQL values not read: other processes opened this file as"


def _depths(queues: tuple[QueueDepth, ...]) -> list[tuple[str, int | None, str | None]]:
    """What a queue's answer says, without how long the query took."""
    return [(q.name, q.depth, q.error) for q in queues]


def handed_out_again(reading: Reading, previous: Reading | None) -> bool:
    """Whether an observer handed out its previous reading again, held longer: nothing it
    reads had changed. Such readings share the very FileFacts of the reading they repeat."""
    return (previous is not None and reading.files is not None
            and reading.files is previous.files)


WRITE_LOCKS = frozenset({("shm", "write"), ("db", "reserved"), ("db", "pending"),
                         ("db", "exclusive")})


def commit_counter(facts: FileFacts) -> object:
    """Moves with every commit: the -shm's iChange in WAL mode; in rollback mode the
    header's counter with the file's mtime and size, since under locking_mode=EXCLUSIVE
    the counter stays put while each commit still writes the file."""
    if facts.wal_index is not None:
        return facts.wal_index.change_counter
    if facts.db_header is None:
        return None
    return (facts.db_header.change_counter, facts.db_mtime_ns, facts.db_bytes)


def hold_key(lock: Lock, commits: object) -> tuple[object, ...]:
    """A write lock is one hold only while no commit happens: a busy writer that commits
    and takes the lock again between two polls has not held it all along."""
    if (lock.file, lock.lock) in WRITE_LOCKS:
        return ("lock", *lock.key, commits)
    return ("lock", *lock.key)


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
