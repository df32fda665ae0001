"""Sizes and headers of the db, -wal and -shm files, read with pread on kept file descriptors.

THE CLOSE HAZARD (wal-facts.md): POSIX locks belong to a process and an inode, and any close()
of any fd on that inode drops all of them. If we closed a raw fd on a watched file while one of
our own SQLite connections (a checkpoint, an integrity check) had that database open, its locks
would vanish silently. So this module is the only place that opens or closes raw fds on watched
files, it keeps them open for the life of the watch, and every close goes through
``close_when_safe``: deferred while ``sqlite_guard()`` says a connection of ours is open.
Every SQLite connection waltui opens is opened inside ``sqlite_guard()`` (see probes/sqlite.py).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import struct
import threading
from typing import NamedTuple

from waltui.model import READ_SLOTS, DbError, DbHeader, FileFacts, WalHeader, WalIndex

SQLITE_MAGIC = b"SQLite format 3\x00"
SHM_HEADER_BYTES = 136
WAL_INDEX_VERSION = 3007000
READMARK_NOT_USED = 0xFFFFFFFF
READ_MARKS_AT = 100  # aReadMark[] in the -shm, after the two header copies and nBackfill
_O_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
_O_PEEK = _O_FLAGS | os.O_NONBLOCK  # a FIFO put in a file's place must not block the open

_guard_lock = threading.Lock()
_open_connections = 0
_deferred_closes: list[int] = []


class _SqliteGuard:
    """Marks that a SQLite connection of ours is open: raw-fd closes wait until none is.
    A class, not a generator: every changed database's poll enters it."""

    def __enter__(self) -> None:
        global _open_connections
        with _guard_lock:
            _open_connections += 1

    def __exit__(self, *_: object) -> None:
        global _open_connections
        with _guard_lock:
            _open_connections -= 1
            ready = _deferred_closes[:] if _open_connections == 0 else []
            if ready:
                _deferred_closes.clear()
        for fd in ready:
            _close_quietly(fd)


_SQLITE_GUARD = _SqliteGuard()


def sqlite_guard() -> _SqliteGuard:
    """``with sqlite_guard():`` around every SQLite connection waltui opens."""
    return _SQLITE_GUARD


def close_when_safe(fd: int) -> None:
    with _guard_lock:
        if _open_connections:
            _deferred_closes.append(fd)
            return
    _close_quietly(fd)


def deferred_close_count() -> int:
    with _guard_lock:
        return len(_deferred_closes)


def _close_quietly(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)


class Stats(NamedTuple):
    """The database's, -wal's and -shm's stat results of one moment (None: no such file).
    sidecars_by_path False: the -wal's and -shm's came through kept fds, and a full read
    stats those two by path again."""

    db: os.stat_result
    wal: os.stat_result | None
    shm: os.stat_result | None
    sidecars_by_path: bool = True


def sidecar(path: str, suffix: str) -> str:
    return f"{path}-{suffix}"


class KeptFile:
    """One watched file: an fd kept open and reopened only when the path's inode changes."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd: int | None = None
        self.identity: tuple[int, int] | None = None

    def refresh(self, st: os.stat_result | None) -> int | None:
        """Point the fd at the file the path names now; None when there is no such file."""
        identity = (st.st_dev, st.st_ino) if st is not None else None
        if identity != self.identity:
            self.release()
            if st is not None:
                try:
                    fd = os.open(self.path, _O_PEEK)
                except FileNotFoundError:  # gone between our stat and open (a -wal an
                    return None            # application just removed): as if absent
                opened = os.fstat(fd)
                if not stat.S_ISREG(opened.st_mode):  # swapped in after our stat
                    os.close(fd)
                    raise OSError(errno.EINVAL, f"{file_kind(opened)}, not a regular file",
                                  self.path)
                self.fd, self.identity = fd, (opened.st_dev, opened.st_ino)
        return self.fd

    def pread(self, size: int, offset: int = 0) -> bytes:
        return os.pread(self.fd, size, offset) if self.fd is not None else b""

    def release(self) -> None:
        if self.fd is not None:
            close_when_safe(self.fd)
        self.fd, self.identity = None, None


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None


PATH_CHECK_EVERY = 8  # see FileWatch.fingerprint


class FileWatch:
    """Keeps the fds of one database's files and reads their facts each poll."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.db = KeptFile(path)
        self.wal = KeptFile(sidecar(path, "wal"))
        self.shm = KeptFile(sidecar(path, "shm"))
        self.journal_path = sidecar(path, "journal")
        # Which fingerprints stat the -wal and -shm by path: spread over the databases by
        # their names, so a thousand of them do not all do it in the same cycle.
        self._fingerprints = sum(os.fsencode(path)) % PATH_CHECK_EVERY

    def close(self) -> None:
        for kept in (self.db, self.wal, self.shm):
            kept.release()

    def read(self, stats: Stats | None = None) -> tuple[FileFacts | None, DbError | None]:
        """stats: those of a fingerprint taken just before, so the files are not stat'ed
        twice in one poll."""
        try:
            return self._read(stats)
        except PermissionError as exc:
            return None, DbError(kind="permission",
                                 message=f"permission denied: {exc.filename or self.path}")
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return None, DbError(kind="missing", message=f"no such file: {self.path}")
            return None, DbError(kind="io", message=f"{os.strerror(exc.errno or 0)}: "
                                 f"{exc.filename or self.path}")

    def _read(self, stats: Stats | None) -> tuple[FileFacts | None, DbError | None]:
        db_st = stats.db if stats is not None else _stat(self.path)
        if db_st is None:
            self.close()
            return None, DbError(kind="missing", message=f"no such file: {self.path}")
        if stat.S_ISDIR(db_st.st_mode):
            return None, DbError(kind="is_directory",
                                 message=f"{self.path} is a directory, not a database file")
        if not stat.S_ISREG(db_st.st_mode):
            return None, DbError(kind="not_regular", message=f"{self.path} is a "
                                 f"{file_kind(db_st)}, not a regular file: not opened")
        self.db.refresh(db_st)
        header, error = parse_db_header(self.db.pread(100))
        wal_st, shm_st = (stats.wal, stats.shm) if stats is not None and \
            stats.sidecars_by_path else (_stat(self.wal.path), _stat(self.shm.path))
        # A -journal matters in rollback mode (or when the header cannot say); in WAL mode
        # it is not stat'ed every poll (sidecars_not_regular still checks it before any
        # SQLite open, where a FIFO would block).
        wal_mode = header is not None and header.write_version == 2
        journal_st = None if wal_mode else _stat(self.journal_path)
        for suffix, side in (("wal", wal_st), ("shm", shm_st), ("journal", journal_st)):
            if side is not None and not stat.S_ISREG(side.st_mode):
                return None, DbError(
                    kind="not_regular",
                    message=f"{sidecar(self.path, suffix)} is a {file_kind(side)}, not "
                    "a regular file: nothing of this database is opened (SQLite would block "
                    "on it or fail)")
        wal_header, wal_index, shm_error = None, None, None
        if error is None:  # a database file whose header is not SQLite's: nothing beside it
            self.wal.refresh(wal_st)
            self.shm.refresh(shm_st)
            wal_header = parse_wal_header(self.wal.pread(32)) if wal_st else None
            if shm_st is not None:
                wal_index, shm_error = self.read_wal_index()
        facts = FileFacts(
            db_bytes=db_st.st_size,
            wal_bytes=wal_st.st_size if wal_st else None,
            shm_bytes=shm_st.st_size if shm_st else None,
            journal_bytes=journal_st.st_size if journal_st else None,
            db_header=header,
            wal_header=wal_header,
            wal_index=wal_index,
            db_inode=(db_st.st_dev, db_st.st_ino),
            shm_inode=(shm_st.st_dev, shm_st.st_ino) if shm_st else None,
            db_links=db_st.st_nlink,
            db_mtime_ns=db_st.st_mtime_ns,
            journal_hot=db_st.st_size > 0 and journal_looks_hot(journal_st, self.journal_path),
        )
        return facts, error or shm_error

    def fingerprint(self) -> tuple[tuple[object, ...] | None, Stats | None]:
        """Everything a WAL database's reading is made of that can change, read as cheaply
        as it can be: three stats and the -shm header. Every commit moves the -shm's
        counters, every WAL restart its salts, and every checkpoint its nBackfill after it
        has written the database file (so a fingerprint taken before a full read can only
        be older than what that read saw). A change of journal mode removes the -shm. None
        where the kept fds do not name the files the paths do now, or there is no -shm
        (rollback mode): then only a full read can tell.

        The database is stat'ed by path every time (a file put in its place, or a folder
        above it renamed). The -wal and -shm are asked through their kept fds, which costs
        no path walk, on all but every PATH_CHECK_EVERY-th fingerprint: SQLite deletes
        them (a link count of 0 through the fd) and never renames them, and only a rename
        away leaves the fd's file linked while the path names another. Also the stats, for
        a full read that follows to use (the database's, and the others' if by path)."""
        self._fingerprints += 1
        by_path = self._fingerprints % PATH_CHECK_EVERY == 0 or self.shm.fd is None
        try:
            db = os.stat(self.path)
            if by_path:
                shm, wal = os.stat(self.shm.path), _stat(self.wal.path)
            else:
                shm = os.fstat(self.shm.fd)  # type: ignore[arg-type]
                wal = os.fstat(self.wal.fd) if self.wal.fd is not None else _stat(self.wal.path)
        except OSError:
            return None, None
        if not by_path and (shm.st_nlink == 0 or (wal is not None and wal.st_nlink == 0)):
            return None, Stats(db, None, None, False)  # deleted: read the paths in full
        stats = Stats(db, wal, shm, by_path)
        if (db.st_dev, db.st_ino) != self.db.identity or self.db.fd is None or \
                (shm.st_dev, shm.st_ino) != self.shm.identity or \
                (wal is not None and (wal.st_dev, wal.st_ino) != self.wal.identity):
            return None, stats
        try:
            header = os.pread(self.shm.fd, SHM_HEADER_BYTES, 0)  # type: ignore[arg-type]
        except OSError:
            return None, stats
        return (db.st_mode, db.st_nlink, db.st_size, db.st_mtime_ns, db.st_ctime_ns,
                shm.st_mode, shm.st_size,
                (wal.st_mode, wal.st_size, wal.st_mtime_ns) if wal is not None else None,
                header), stats

    def read_marks_raw(self) -> bytes:
        """The -shm's five read marks as bytes: cheap to compare before and after a query."""
        return self.shm.pread(4 * READ_SLOTS, READ_MARKS_AT)

    def read_wal_index(self) -> tuple[WalIndex | None, DbError | None]:
        """Both header copies must agree; differing copies mean a write in flight: read again."""
        for _ in range(5):
            raw = self.shm.pread(SHM_HEADER_BYTES)
            if len(raw) < SHM_HEADER_BYTES or not any(raw[:48]):
                return None, None  # being created, truncated or zeroed by SQLite right now
            if raw[:48] == raw[48:96]:
                index = parse_wal_index(raw)
                if index is None:
                    return None, DbError(
                        kind="corrupt",
                        message="-shm header is not a valid wal-index (SQLite rebuilds it "
                        "when the database is next opened with no other process holding it)")
                return index, None
        return None, DbError(kind="corrupt",
                             message="-shm header copies kept differing across 5 reads")


def journal_looks_hot(st: os.stat_result | None, path: str) -> bool:
    """pager.c's hasHotJournal, less its lock test: a non-empty -journal whose first byte is
    not zero. journal_mode=PERSIST zeroes the header of a finished journal and leaves the
    file: that one is not hot. SQLite takes no lock on the -journal, so this open and close
    cannot drop anybody's locks."""
    if st is None or not stat.S_ISREG(st.st_mode) or st.st_size == 0:
        return False
    try:
        fd = os.open(path, _O_PEEK)
    except OSError:
        return False
    try:
        return stat.S_ISREG(os.fstat(fd).st_mode) and os.pread(fd, 1, 0) not in (b"", b"\0")
    except OSError:
        return False
    finally:
        os.close(fd)


def parse_db_header(raw: bytes) -> tuple[DbHeader | None, DbError | None]:
    if not raw:
        return None, DbError(kind="empty", message="empty file (0 bytes): SQLite opens it as a "
                             "new, empty database; there is nothing to watch until something "
                             "writes it")
    if len(raw) < 100 or raw[:16] != SQLITE_MAGIC:
        return None, DbError(kind="not_sqlite",
                             message="not an SQLite database (no 'SQLite format 3' header)")
    (page_size,) = struct.unpack_from(">H", raw, 16)
    page_size = 65536 if page_size == 1 else page_size
    write_version, read_version = raw[18], raw[19]
    if page_size < 512 or page_size & (page_size - 1) or write_version not in (1, 2):
        return None, DbError(
            kind="corrupt", message=f"corrupt database header (page size {page_size}, "
            f"file format {write_version}/{read_version})")
    fields = struct.unpack_from(">IIIIII", raw, 24)  # change counter .. schema format
    change_counter, page_count, freelist_count = fields[0], fields[1], fields[3]
    largest_root, encoding, user_version, incremental = struct.unpack_from(">IIII", raw, 52)
    (application_id,) = struct.unpack_from(">I", raw, 68)
    return DbHeader(
        page_size=page_size, write_version=write_version, read_version=read_version,
        change_counter=change_counter, page_count=page_count, freelist_count=freelist_count,
        user_version=struct.unpack(">i", struct.pack(">I", user_version))[0],
        application_id=application_id, text_encoding=encoding,
        auto_vacuum=largest_root != 0, incremental_vacuum=incremental != 0,
        schema_cookie=fields[4],
    ), None


def parse_wal_header(raw: bytes) -> WalHeader | None:
    if len(raw) < 32:
        return None
    magic, version, page_size, seq, salt1, salt2 = struct.unpack_from(">6I", raw, 0)
    header = WalHeader(magic=magic, version=version, page_size=page_size, checkpoint_seq=seq,
                       salt1=salt1, salt2=salt2)
    return header if header.valid else None


def parse_wal_index(raw: bytes) -> WalIndex | None:
    version, _unused, change, is_init, _big_end, page_size, max_frame, db_pages = (
        struct.unpack_from("=IIIBBHII", raw, 0))
    if version != WAL_INDEX_VERSION:
        return None
    backfilled, *marks = struct.unpack_from(f"={1 + READ_SLOTS}I", raw, READ_MARKS_AT - 4)
    (attempted,) = struct.unpack_from("=I", raw, 128)
    return WalIndex(
        version=version, change_counter=change, initialised=bool(is_init),
        page_size=65536 if page_size == 1 else page_size, max_frame=max_frame,
        db_pages=db_pages, backfilled=backfilled, backfill_attempted=attempted,
        read_marks=tuple(None if m == READMARK_NOT_USED else m for m in marks),
    )


def file_kind(st: os.stat_result) -> str:
    for test, kind in ((stat.S_ISFIFO, "FIFO"), (stat.S_ISSOCK, "socket"),
                       (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"),
                       (stat.S_ISDIR, "directory"), (stat.S_ISREG, "regular file")):
        if test(st.st_mode):
            return kind
    return "special file"


def sidecars_not_regular(path: str) -> str | None:
    """Why SQLite must not open this database (it would block on a FIFO put in place of a
    file), or None. Asked before every connection waltui opens."""
    for name in (path, *(sidecar(path, s) for s in ("wal", "shm", "journal"))):
        if (why := not_regular(name)) is not None:
            return why
    return None


def not_regular(name: str) -> str | None:
    """Why a file SQLite would open is not to be opened, or None (absent or regular)."""
    st = _stat(name)
    if st is not None and not stat.S_ISREG(st.st_mode):
        return f"{name} is a {file_kind(st)}, not a regular file: not opened"
    return None


def looks_like_sqlite(path: str) -> bool:
    """Whether the file starts with SQLite's 16-byte magic (how a directory is scanned)."""
    try:
        fd = os.open(path, _O_PEEK)
    except OSError:
        return False
    try:
        return stat.S_ISREG(os.fstat(fd).st_mode) and os.pread(fd, 16, 0) == SQLITE_MAGIC
    except OSError:
        return False
    finally:
        close_when_safe(fd)
