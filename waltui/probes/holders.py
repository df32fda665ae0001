"""Every holder of a lock, where the lock table names fewer: /proc/PID/fdinfo.

Three places see less than the truth (wal-facts.md, "Locks the lock table does not show
plainly"), and this module fills each in from the holders' own fdinfo, whose `lock:` lines
list the locks a process holds through that open file (POSIX and OFD alike):
- an OFD lock is `-1` in /proc/locks and in F_OFD_GETLK: its holders are the processes
  whose fdinfo shows it, found among the processes that have the file open;
- F_GETLK names one holder per byte: every process holding a shared byte is found the same
  way (PerByteSource);
- a lock that vanished from /proc/locks while its holder lives may be a line the kernel's
  non-atomic listing skipped: that holder's fdinfo says (holds).

Finding who has a file open walks /proc/*/fd (what lsof does): ~7 us a descriptor here, so
it is done only when it can have changed (inotify.OpenWatch), never per poll on a quiet
host. Blocked lock requests are in no fdinfo: only /proc/locks shows waiters.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import replace

from waltui.model import Lock, LockFile
from waltui.probes.fd_files import fds_on, fds_reaching
from waltui.probes.inotify import OpenWatch
from waltui.probes.locks import (
    PENDING,
    RESERVED,
    SHARED_FIRST,
    SHM_DMS,
    SHM_WRITE,
    FileId,
    RawLock,
    decode,
    parse_lock_line,
    sort_locks,
    who_blocks,
)
from waltui.probes.processes import own_pids, read_proc

FDINFO_MAX_BYTES = 1 << 22  # a process holding 60,000 locks on one file: still read whole
# The ranges asked byte by byte: the db file's PENDING, RESERVED and SHARED range, the
# -shm's nine lock bytes
DB_RANGES = ((PENDING, 1), (RESERVED, 1), (SHARED_FIRST, 510))
SHM_RANGES = tuple((byte, 1) for byte in range(SHM_WRITE, SHM_DMS + 1))


def fd_locks(pid: int, fd: int) -> list[RawLock]:
    """The locks process ``pid`` holds through its descriptor ``fd``. An OFD lock's line
    says pid -1: held through this descriptor, it is this process's (and every process's
    that shares the description)."""
    try:
        data = read_proc(f"/proc/{pid}/fdinfo/{fd}", FDINFO_MAX_BYTES)
    except OSError:
        return []
    found = []
    for line in data.splitlines():
        if line.startswith(b"lock:"):
            raw = _fdinfo_line(line, pid)
            if raw is not None:
                found.append(raw)
    return found


_LINES: dict[tuple[bytes, int], RawLock | None] = {}


def _fdinfo_line(line: bytes, pid: int) -> RawLock | None:
    """A `lock:` line parsed once: a held lock's line is the same at every poll (the
    ordinal in front aside, which moves as other locks on the file come and go)."""
    line = line[5:].lstrip()
    key = (line[line.find(b":") + 1:], pid)
    if key in _LINES:
        return _LINES[key]
    if len(_LINES) > 100_000:
        _LINES.clear()
    parsed = parse_lock_line(key[0])
    raw = None if parsed is None else (replace(parsed[1], pid=pid) if parsed[1].ofd
                                       else parsed[1])
    _LINES[key] = raw
    return raw


def held_by(pid: int, file: LockFile, ids: Sequence[FileId]) -> list[Lock]:
    """The SQLite locks ``pid`` holds on a file now, from its own fdinfo: exact for that
    one process (granted locks; a blocked request is not listed)."""
    locks: set[Lock] = set()
    for fds in fds_on(pid, ids).values():
        for fd in fds:
            locks.update(lock for raw in fd_locks(pid, fd) for lock in decode(file, raw))
    return sort_locks(locks)


def scan_openers_by_inode(inodes: set[int]) -> dict[FileId, dict[int, tuple[int, ...]]]:
    """For each file with one of these inode numbers, the processes that have it open and
    through which descriptors: one walk of /proc/*/fd for all of them, asking /proc, never
    the files' filesystems (a hung mount elsewhere on the host cannot stop it)."""
    found: dict[FileId, dict[int, list[int]]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return {}
    for entry in entries:
        if not entry.isdigit():
            continue
        for file_id, fd in fds_reaching(int(entry), inodes):
            found.setdefault(file_id, {}).setdefault(int(entry), []).append(fd)
    return {file_id: {pid: tuple(fds) for pid, fds in by_pid.items()}
            for file_id, by_pid in found.items()}


class Openers:
    """Who has each watched file open, walked again only when that can have changed: an
    open() of the file (inotify), a holder not among them, or a file never walked. One walk
    a cycle at most, for every watched file that needs it (a walk costs the host's fds, not
    the watched files'). Where inotify is missing, or has no watch left for a file, that
    file is walked again every cycle it is asked about."""

    def __init__(self) -> None:
        self._watch = OpenWatch()
        self._watched: dict[FileId, int] = {}  # file -> inotify watch
        self._by_wd: dict[int, FileId] = {}
        self._unwatched: set[FileId] = set()  # no watch could be added: always walked
        self._known: dict[FileId, dict[int, tuple[int, ...]]] = {}
        self._walked: set[int] | None = None  # inodes this cycle's walk looked for
        self._inodes: frozenset[int] | None = None  # the watched inodes, this cycle

    def begin_cycle(self, inodes: frozenset[int] | None = None) -> None:
        """Take the opens inotify saw since the last cycle: those files are walked again.
        inodes: every watched file's, so one walk serves them all."""
        self._walked, self._inodes = None, inodes
        fired, lost = self._watch.opened()
        if lost:
            self._known.clear()
        for wd in fired:
            file_id = self._by_wd.get(wd)
            if file_id is not None:
                self._known.pop(file_id, None)
        for file_id in self._unwatched:
            self._known.pop(file_id, None)

    def of(self, file_id: FileId, path: str, extra_pids: Iterable[int] = ()
           ) -> dict[int, tuple[int, ...]]:
        """The processes with the file open. ``extra_pids``: holders seen by other means;
        one not among the known openers means an open inotify could not report."""
        if file_id not in self._watched and file_id not in self._unwatched:
            wd = self._watch.add(path)  # before the walk: an open after it is reported
            if wd is None:
                self._unwatched.add(file_id)
            else:
                self._watched[file_id], self._by_wd[wd] = wd, file_id
        known = self._known.get(file_id)
        if known is not None and not any(pid not in known for pid in extra_pids):
            return known
        if self._walked is None or file_id[1] not in self._walked:
            self._walk(file_id)
        return self._known.setdefault(file_id, {})

    def _walk(self, file_id: FileId) -> None:
        """One walk of /proc for this file and every other watched file not yet known."""
        wanted = {file_id[1]} | (set(self._inodes) if self._inodes is not None else set())
        wanted -= {known[1] for known in self._known}
        wanted.add(file_id[1])
        found = scan_openers_by_inode(wanted)
        for ident, by_pid in found.items():
            self._known[ident] = by_pid
        self._known[file_id] = found.get(file_id, {})
        self._walked = (self._walked or set()) | wanted

    def forget(self, keep: set[FileId]) -> None:
        """Drop the watches of files no longer watched (a -shm replaced, a detach)."""
        for file_id in [f for f in self._watched if f not in keep]:
            wd = self._watched.pop(file_id)
            self._by_wd.pop(wd, None)
            self._watch.remove(wd)
            self._known.pop(file_id, None)
        self._unwatched &= keep

    def close(self) -> None:
        self._watch.close()


def attribute_ofd(locks: list[Lock], files: Sequence[tuple[LockFile, FileId, str]],
                  openers: Openers) -> list[Lock]:
    """OFD locks (pid -1) given to the processes whose fdinfo holds them; a lock whose
    description no process shows keeps pid -1: "owner not found", never a signal."""
    if not any(lock.ofd and lock.pid < 0 and not lock.waiting for lock in locks):
        return locks
    owners: dict[tuple[str, str, int | None, str], set[int]] = {}
    for file, file_id, path in files:
        for pid, fds in openers.of(file_id, path).items():
            for fd in fds:
                for raw in fd_locks(pid, fd):
                    if raw.ofd:
                        for lock in decode(file, raw):
                            owners.setdefault((file, lock.lock, lock.slot, lock.mode),
                                              set()).add(pid)
    out: list[Lock] = []
    for lock in locks:
        pids = owners.get((lock.file, lock.lock, lock.slot, lock.mode)) \
            if lock.ofd and lock.pid < 0 and not lock.waiting else None
        out += [replace(lock, pid=pid) for pid in sorted(pids)] if pids else [lock]
    return sort_locks(set(out))


class PerByteSource:
    """F_GETLK byte by byte, made complete: where it finds a shared lock (which it names
    one holder of), every process that has the file open is asked through its fdinfo.
    Measures its own CPU per database, for LockSource to weigh against /proc/locks."""

    def __init__(self) -> None:
        self.openers = Openers()
        self.cpu_seconds = 0.0
        self.databases = 0
        self._measured: float | None = None  # CPU a database, the last cycle that asked

    def begin_cycle(self, inodes: frozenset[int] | None = None) -> None:
        self.openers.begin_cycle(inodes)
        if self.databases:
            self._measured = self.cpu_seconds / self.databases
        self.cpu_seconds, self.databases = 0.0, 0

    @property
    def seconds_per_database(self) -> float | None:
        """What one database's ask cost, as last measured (None: it has not run yet)."""
        return self.cpu_seconds / self.databases if self.databases else self._measured

    def locks(self, files: Sequence[tuple[LockFile, int, FileId, str]]) -> list[Lock]:
        """files: (which, a kept fd, its (dev, ino), its path) for the db and the -shm."""
        started = time.thread_time()
        found: set[Lock] = set()
        for file, fd, file_id, path in files:
            raws = [raw for start, length in (DB_RANGES if file == "db" else SHM_RANGES)
                    if (raw := _asked(fd, start, length)) is not None]
            found.update(lock for raw in raws for lock in decode(file, raw))
            if any(not raw.exclusive for raw in raws):  # shared: there may be more holders
                seen = {raw.pid for raw in raws if raw.pid > 0}
                own = own_pids()
                for pid, fds in self.openers.of(file_id, path, seen).items():
                    if pid in own:
                        continue  # our kept fds hold no lock; our SQL's are not a holder's
                    for kept in fds:
                        found.update(lock for raw in fd_locks(pid, kept)
                                     for lock in decode(file, raw))
        # an OFD lock whose holders' fdinfo named them needs no anonymous (-1) twin
        owned = {(lk.file, lk.lock, lk.slot, lk.mode) for lk in found if lk.ofd and lk.pid > 0}
        result = {lk for lk in found
                  if lk.pid != -1 or (lk.file, lk.lock, lk.slot, lk.mode) not in owned}
        self.cpu_seconds += time.thread_time() - started
        self.databases += 1
        return sort_locks(result)


def _asked(fd: int, start: int, length: int) -> RawLock | None:
    found = who_blocks(fd, start, length)
    if found is None or (found.start >= start and found.end <= start + length - 1):
        return found
    # clipped to the range asked: a holder's merged range can reach past it
    return RawLock(found.pid, found.exclusive, max(found.start, start),
                   min(found.end, start + length - 1), found.waiting, found.ofd)
