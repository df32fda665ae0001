"""Who holds which SQLite lock: /proc/locks read once per poll, decoded to SQLite's names.

Byte layout (wal-facts.md, measured): in the -shm file 120 WRITE, 121 CHECKPOINT, 122 RECOVER,
123+i READ slot i, 128 DMS; in the db file PENDING 0x40000000, RESERVED 0x40000001 and the
510-byte SHARED range from 0x40000002. fcntl(F_GETLK) asks "who would block me" per byte
without taking a lock (SQLite's tool/showlocks.c does the same); it names one holder per
byte, which probes/holders.py completes. Which source a poll uses: probes/lock_source.py.
"""

from __future__ import annotations

import fcntl
import os
import struct
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from waltui.model import READ_SLOTS, Lock, LockFile
from waltui.probes import early_locks

SHM_WRITE, SHM_CHECKPOINT, SHM_RECOVER, SHM_READ0 = 120, 121, 122, 123
SHM_DMS = SHM_WRITE + 8  # 128: the first byte after the eight lock bytes
PENDING = 0x40000000
RESERVED = PENDING + 1
SHARED_FIRST = PENDING + 2
SHARED_LAST = SHARED_FIRST + 510 - 1
PROC_LOCKS = "/proc/locks"

FileId = tuple[int, int]  # (st_dev, st_ino)


@dataclass(frozen=True)
class RawLock:
    """One /proc/locks line: a byte range locked (or waited for) by one process."""

    pid: int
    exclusive: bool
    start: int
    end: int  # inclusive
    waiting: bool = False
    ofd: bool = False  # an open-file-description lock: /proc/locks gives it pid -1


class LockTable:
    """All POSIX/OFD locks on the machine, indexed by file; one read serves every database."""

    def __init__(self, by_file: dict[FileId, list[RawLock]], source: str) -> None:
        self.by_file = by_file
        self.source = source

    @classmethod
    def capture(cls, path: str = PROC_LOCKS, inodes: frozenset[int] | None = None
                ) -> LockTable | None:
        """inodes: only lines on these inodes are decoded (the watched databases' and
        -shm's); on a host with 20,000 unrelated locks the rest cost a split, no more."""
        data = early_locks.take(path)  # a one-shot command's read, begun at its start
        if data is None:
            try:
                data = early_locks.read_whole(path)
            except OSError:
                return None
        last = _LAST_TABLE.get(path)
        if last is not None and last[0] == data and last[1] == inodes:
            return last[2]  # nothing came or went on the whole host: the same table
        table = cls.parse(data, inodes)
        _LAST_TABLE[path] = (data, inodes, table)
        return table

    @classmethod
    def parse(cls, text: str | bytes, inodes: frozenset[int] | None = None) -> LockTable:
        by_file: dict[FileId, list[RawLock]] = defaultdict(list)
        data = text.encode("ascii", "replace") if isinstance(text, str) else text
        if len(_PARSED) > PARSED_KEPT:
            _PARSED.clear()
        for raw_line in data.splitlines():
            # The "12:" in front moves whenever any lock on the host comes or goes; the rest
            # of a line is the same for as long as that lock is held: parsed once.
            key = raw_line[raw_line.find(b":") + 1:]
            if key in _PARSED:
                parsed = _PARSED[key]
            else:
                parsed = _PARSED[key] = parse_lock_line(key)
            if parsed is not None and (inodes is None or parsed[0][1] in inodes):
                by_file[parsed[0]].append(parsed[1])
        return cls(dict(by_file), "proc")

    def raw_for(self, ids: Iterable[FileId]) -> tuple[tuple[RawLock, ...], ...]:
        """The undecoded lines on these files: enough to tell whether anything changed."""
        by_file = self.by_file
        return tuple(tuple(by_file.get(file_id, ())) for file_id in ids)

    def locks_for(self, db_ids: Iterable[FileId], shm_ids: Iterable[FileId]) -> list[Lock]:
        """The locks on a database and its -shm, each known by every (device, inode) that
        /proc/locks may use for it."""
        files: tuple[tuple[LockFile, Iterable[FileId]], ...] = (("db", db_ids), ("shm", shm_ids))
        return sort_locks({lock for file, ids in files for file_id in ids
                           for raw in self.by_file.get(file_id, ()) for lock in decode(file, raw)})


# The last read of each lock file, and its table: on a quiet host /proc/locks reads the same
# from poll to poll, and an observer that is handed the very same table knows its locks are
# unchanged without looking (DatabaseObserver._read_again).
_LAST_TABLE: dict[str, tuple[bytes, frozenset[int] | None, LockTable]] = {}
PARSED_KEPT = 100_000  # distinct lock lines remembered; a host past that starts afresh
_PARSED: dict[bytes, tuple[FileId, RawLock] | None] = {}


def parse_lock_line(line: bytes) -> tuple[FileId, RawLock] | None:
    """One /proc/locks line without its ordinal: the file and the range, or None for what
    is not SQLite's (FLOCK, LEASE) or cannot be read."""
    fields = line.decode("ascii", "replace").split()
    waiting = bool(fields) and fields[0] == "->"
    if waiting:
        del fields[0]
    if len(fields) < 7 or fields[0] not in ("POSIX", "OFDLCK"):
        return None
    try:
        major, minor, inode = fields[4].split(":")
        file_id = (os.makedev(int(major, 16), int(minor, 16)), int(inode))
        end = 2**63 - 1 if fields[6] == "EOF" else int(fields[6])
        return file_id, RawLock(int(fields[3]), fields[2] == "WRITE", int(fields[5]), end,
                                waiting, fields[0] == "OFDLCK")
    except ValueError:
        return None


def _lock_order(lock: Lock) -> tuple[object, ...]:
    return (lock.file != "shm", lock.lock, lock.slot if lock.slot is not None else -1, lock.pid)


def sort_locks(locks: Iterable[Lock]) -> list[Lock]:
    """One order for every source, so two readings of the same locks compare equal."""
    return sorted(set(locks), key=_lock_order)


@lru_cache(maxsize=PARSED_KEPT)
def decode(file: LockFile, raw: RawLock) -> tuple[Lock, ...]:
    """Name the SQLite locks a byte range covers (a merged range can cover several).
    Remembered: a held lock is the same RawLock (see _PARSED) at every poll, and building
    its Lock objects again was ~15 % of an idle collector's CPU at 1,000 databases."""
    return tuple(_decode(file, raw))


def _decode(file: LockFile, raw: RawLock) -> list[Lock]:
    mode = "exclusive" if raw.exclusive else "shared"

    def make(name: str, slot: int | None = None) -> Lock:
        return Lock(pid=raw.pid, file=file, lock=name, slot=slot, mode=mode, waiting=raw.waiting,  # type: ignore[arg-type]
                    ofd=raw.ofd)

    def covers(first: int, last: int | None = None) -> bool:
        return raw.start <= (last if last is not None else first) and raw.end >= first

    if file == "shm":
        named = [(SHM_WRITE, "write"), (SHM_CHECKPOINT, "checkpoint"), (SHM_RECOVER, "recover")]
        out = [make(name) for byte, name in named if covers(byte)]
        out += [make("read", i) for i in range(READ_SLOTS) if covers(SHM_READ0 + i)]
        if covers(SHM_DMS):
            out.append(make("dms"))
        return out
    if covers(SHARED_FIRST, SHARED_LAST):
        if raw.exclusive:
            return [make("exclusive")]
        out = [make("shared")]
    else:
        out = []
    if covers(RESERVED):
        out.insert(0, make("reserved"))
    if covers(PENDING):
        out.insert(0, make("pending"))
    return out


# --- F_GETLK: where /proc/locks is too dear or missing (probes/lock_source.py) ----------

_FLOCK = "hhqqi4x"  # struct flock on LP64 Linux/BSD-likes: type, whence, start, len, pid


def who_blocks(fd: int, start: int, length: int) -> RawLock | None:
    query = struct.pack(_FLOCK, fcntl.F_WRLCK, os.SEEK_SET, start, length, 0)
    answer = fcntl.fcntl(fd, fcntl.F_GETLK, query)
    kind, _whence, got_start, got_len, pid = struct.unpack(_FLOCK, answer)
    if kind == fcntl.F_UNLCK:
        return None
    end = got_start + got_len - 1 if got_len else 2**63 - 1
    # l_pid -1: an OFD lock (no owner); 0: a holder in another pid namespace (wal-facts.md)
    return RawLock(pid, kind == fcntl.F_WRLCK, got_start, end, ofd=pid == -1)
