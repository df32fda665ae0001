"""One database's locks this poll, from whichever source the poll uses, made complete.

- /proc/locks: OFD locks (pid -1) are given to the processes holding the description
  (holders.attribute_ofd); a lock held at the last poll whose holder still lives but whose
  line is missing now is asked of the kernel before it is called gone, because the kernel
  hands /proc/locks out in ~4 KB pieces, each from a fresh walk, and a line can slip
  between two (seen: 2 of 99 reads under 27,000 churning locks, once the write lock).
- per byte: holders.PerByteSource.
- In a pid namespace of our own, bytes no visible process holds are asked with F_GETLK,
  which reports a holder outside the namespace as pid 0.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from waltui.model import OUTSIDE_NAMESPACE, FileFacts, Filesystem, HeldLock, Lock, LockFile
from waltui.probes.context import PollContext
from waltui.probes.files import FileWatch
from waltui.probes.holders import DB_RANGES, SHM_RANGES, held_by
from waltui.probes.locks import (
    PENDING,
    RESERVED,
    SHARED_FIRST,
    SHARED_LAST,
    SHM_CHECKPOINT,
    SHM_DMS,
    SHM_READ0,
    SHM_RECOVER,
    SHM_WRITE,
    FileId,
    decode,
    sort_locks,
    who_blocks,
)

Files = list[tuple[LockFile, int, FileId, str]]  # which, kept fd, (dev, ino), path

_SHM_BYTES = {"write": SHM_WRITE, "checkpoint": SHM_CHECKPOINT, "recover": SHM_RECOVER,
              "dms": SHM_DMS}
_DB_RANGES = {"pending": (PENDING, 1), "reserved": (RESERVED, 1),
              "shared": (SHARED_FIRST, SHARED_LAST - SHARED_FIRST + 1),
              "exclusive": (PENDING, SHARED_LAST - PENDING + 1)}


def lock_range(lock: Lock) -> tuple[int, int]:
    """(first byte, length) of the bytes a SQLite lock is made of."""
    if lock.file == "shm":
        if lock.lock == "read":
            return SHM_READ0 + (lock.slot or 0), 1
        return _SHM_BYTES[lock.lock], 1
    return _DB_RANGES[lock.lock]


def _covers(lock: Lock, start: int, length: int) -> bool:
    first, size = lock_range(lock)
    return first <= start + length - 1 and first + size - 1 >= start


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


def kept_files(watch: FileWatch, facts: FileFacts) -> Files:
    """The db and -shm as the kernel is asked about them: through the fds the watch keeps."""
    files: Files = []
    if watch.db.fd is not None:
        files.append(("db", watch.db.fd, facts.db_inode, watch.path))
    if watch.shm.fd is not None and facts.shm_inode is not None:
        files.append(("shm", watch.shm.fd, facts.shm_inode, watch.shm.path))
    return files


def gather(ctx: PollContext, watch: FileWatch, facts: FileFacts,
           filesystem: Filesystem | None) -> list[Lock]:
    """Every lock on the database and its -shm that this poll's source can see."""
    files = kept_files(watch, facts)
    locks = ctx.reader.locks(files, lock_table_ids(facts, filesystem))
    if ctx.outside_possible:
        locks = sort_locks([*locks, *outside_namespace(files, locks)])
    return locks


def outside_namespace(files: Files, visible: Sequence[Lock]) -> list[Lock]:
    """Locks held by processes outside our pid namespace, which /proc/locks leaves out:
    F_GETLK reports them with pid 0. Asked only of bytes no visible process holds (where
    one does, F_GETLK names that one, and an outside holder beside it stays unseen: the
    reading's note says so)."""
    found: list[Lock] = []
    for file, fd, _file_id, _path in files:
        on_file = [lock for lock in visible if lock.file == file and not lock.waiting]
        for start, length in (DB_RANGES if file == "db" else SHM_RANGES):
            if any(_covers(lock, start, length) for lock in on_file):
                continue
            raw = who_blocks(fd, start, length)
            if raw is not None and raw.pid == OUTSIDE_NAMESPACE:
                found += decode(file, replace(raw, start=max(raw.start, start),
                                              end=min(raw.end, start + length - 1)))
    return found


def confirm_vanished(before: Sequence[HeldLock], now: list[Lock], files: Files,
                     alive: Callable[[HeldLock], bool]) -> list[Lock]:
    """Locks held at the last full read, missing now, whose holder still lives, and which
    the kernel says that holder still holds: F_GETLK on the lock's bytes (it names the
    holder, or nobody), or where it names another holder of a shared lock, the holder's
    own fdinfo."""
    present = set(now)
    by_file = {file: (fd, file_id) for file, fd, file_id, _path in files}
    kept: list[Lock] = []
    for held in before:
        lock = held.lock
        if lock in present or lock.waiting or not lock.owner_known or \
                lock.file not in by_file or not alive(held):
            continue
        fd, file_id = by_file[lock.file]
        start, length = lock_range(lock)
        answer = who_blocks(fd, start, length)
        if answer is None:
            continue  # nobody holds any of it: gone
        if answer.pid == lock.pid or (lock.mode == "shared" and not answer.exclusive
                                      and lock in held_by(lock.pid, lock.file, [file_id])):
            kept.append(lock)
    return sort_locks([*now, *kept]) if kept else now
