"""Plain typed data that flows up from the probes: no behaviour beyond derived numbers.

Every layer (probes, monitor, health, UI, JSON) speaks these types, so a figure has one
definition. Frozen so a reading handed to the UI thread cannot change under it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypeVar

READ_SLOTS = 5
WAL_HEADER_BYTES = 32
WAL_FRAME_HEADER_BYTES = 24

ErrorKind = Literal[
    "missing", "is_directory", "permission", "empty", "not_sqlite", "corrupt", "io", "sqlite",
    "not_wal", "not_regular", "stuck", "internal",
]


@dataclass(frozen=True, kw_only=True)
class DbError:
    """Why a database could not be read; shown in its own pane, never as a traceback."""

    kind: ErrorKind
    message: str

    @property
    def fatal(self) -> bool:
        """False for a database we can still read, only not in WAL mode, and for an empty
        file, which SQLite opens as a new, empty database (nothing in it can be wrong)."""
        return self.kind not in ("not_wal", "empty")


@dataclass(frozen=True, kw_only=True)
class DbHeader:
    """The 100-byte database header. Values stored on page 1 can lag the WAL."""

    page_size: int
    write_version: int  # 1 rollback journal, 2 WAL
    read_version: int
    change_counter: int
    page_count: int
    freelist_count: int
    user_version: int
    application_id: int
    text_encoding: int
    auto_vacuum: bool
    incremental_vacuum: bool
    schema_cookie: int = 0  # PRAGMA schema_version: moves with every schema change

    @property
    def journal_mode(self) -> str:
        # Rollback sub-modes (delete/truncate/persist) live in the application's connection,
        # not in the file; only WAL is persistent.
        return "wal" if self.write_version == 2 else "rollback"


@dataclass(frozen=True, kw_only=True)
class WalHeader:
    """The -wal's 32-byte header: its salts change at every WAL restart."""

    magic: int
    version: int
    page_size: int
    checkpoint_seq: int
    salt1: int
    salt2: int

    @property
    def valid(self) -> bool:
        return self.magic in (0x377F0682, 0x377F0683) and self.version == 3007000


@dataclass(frozen=True, kw_only=True)
class WalIndex:
    """The -shm header (wal-index): SQLite's own view of the WAL, read without a lock."""

    version: int
    change_counter: int
    initialised: bool
    page_size: int
    max_frame: int
    db_pages: int
    backfilled: int
    backfill_attempted: int
    read_marks: tuple[int | None, ...]  # None: slot unused (0xFFFFFFFF)

    @property
    def frames_pending(self) -> int:
        return max(0, self.max_frame - self.backfilled)

    def limit_frame(self, slot: int, mark: int) -> int:
        """The last frame a checkpoint may copy while a reader holds this slot (slot 0 reads
        the database file itself, so nothing more may be copied while it lives)."""
        return self.backfilled if slot == 0 else mark


@dataclass(frozen=True, kw_only=True)
class FileFacts:
    """What the files say without SQLite: sizes, headers and the wal-index."""

    db_bytes: int
    wal_bytes: int | None  # None: no -wal file
    shm_bytes: int | None
    journal_bytes: int | None
    db_header: DbHeader | None
    wal_header: WalHeader | None
    wal_index: WalIndex | None
    db_inode: tuple[int, int]
    shm_inode: tuple[int, int] | None
    db_links: int = 1  # hard links: other names whose -wal/-shm sit beside them, not here
    # Moves with every commit in rollback mode, where the header's change counter does not
    # under locking_mode=EXCLUSIVE (SQLite bumps it once per lock, measured: 1 after 3 commits)
    db_mtime_ns: int = 0
    # A -journal SQLite would roll back on open: valid header, and no process held
    # RESERVED/PENDING when the locks were asked after the journal was read (pager.c's test).
    journal_hot: bool = False


LockFile = Literal["db", "shm"]
LockName = Literal[
    "write", "checkpoint", "recover", "read", "dms",
    "pending", "reserved", "shared", "exclusive",
]


# Lock.pid values that name no process here (a signal is never offered for them)
OUTSIDE_NAMESPACE = 0  # F_GETLK's l_pid for a holder in another pid namespace
OWNER_NOT_FOUND = -1  # an OFD lock (/proc/locks says -1) whose open file description's
#                       holders were not found in any /proc/PID/fdinfo


@dataclass(frozen=True, kw_only=True)
class Lock:
    """One SQLite lock held (or waited for) by one process, decoded from a byte range.
    pid > 0 is a process visible here; OUTSIDE_NAMESPACE and OWNER_NOT_FOUND say why no
    process can be named. ofd: an open-file-description lock (F_OFD_SETLK), attributed to
    each process that holds the description (a fork shares it)."""

    pid: int
    file: LockFile
    lock: LockName
    slot: int | None
    mode: Literal["shared", "exclusive"]
    waiting: bool = False
    ofd: bool = False

    @property
    def key(self) -> tuple[int, str, str, int | None, str]:
        return (self.pid, self.file, self.lock, self.slot, self.mode)

    @property
    def owner_known(self) -> bool:
        """A process visible from here holds it: one that can be named, and signalled."""
        return self.pid > 0


@dataclass(frozen=True, kw_only=True)
class ProcessInfo:
    """A lock holder, named for the operator: who to ask, or to stop."""

    pid: int
    name: str
    cmdline: str
    user: str
    state: str  # psutil status: running, sleeping, disk-sleep, zombie, ...
    # When it started, in clock ticks since boot (/proc/PID/stat field 22): with the pid,
    # the identity a signal is checked against. 0: unknown (a recording made before it).
    start_ticks: int = 0
    # time.time() when polls first saw it in this state (0: unknown); since the first look
    # at most, so how long it has been so is at least now minus this
    state_since: float = 0.0

    @property
    def uninterruptible(self) -> bool:
        return self.state == "disk-sleep"

    @property
    def label(self) -> str:
        return self.cmdline or self.name


@dataclass(frozen=True, kw_only=True)
class Reader:
    """A live reader: a process holding the read lock of a slot, and the mark it reads at."""

    pid: int
    slot: int
    read_mark: int
    process: str
    held_seconds: float = 0.0
    pins: bool = False  # True when its mark stops a checkpoint short of max_frame
    ours: bool = False  # waltui's own read transaction (an integrity check)
    held_at_least: bool = False  # see HeldLock
    held_at_most: float | None = None


@dataclass(frozen=True, kw_only=True)
class StaleMark:
    """A mark left behind by a reader that has ended: no process holds its slot."""

    slot: int
    read_mark: int
    ours: bool = False  # left by waltui's own queue query, not by the application


@dataclass(frozen=True, kw_only=True)
class Filesystem:
    """Where a database lives: WAL needs shared memory that network filesystems lack."""

    type: str
    mount_point: str
    network: bool
    fuse: bool
    device: int | None = None  # the superblock's, as /proc/locks names files


@dataclass(frozen=True, kw_only=True)
class QueueDepth:
    """One queue query's answer, or why there is none."""

    name: str
    depth: int | None
    error: str | None = None
    elapsed_ms: float = 0.0


@dataclass(frozen=True, kw_only=True)
class HeldLock:
    """A lock with the process that holds it and how long we have seen it held."""

    lock: Lock
    process: ProcessInfo | None
    held_seconds: float
    ours: bool = False  # held by waltui itself (a checkpoint, an integrity check): no suspect
    # True: the hold was already there when waltui first looked, so held_seconds is how long
    # waltui has watched it, a lower bound (shown ">=13s"); held_at_most, where known, is
    # the most it can be (the holder's age).
    held_at_least: bool = False
    held_at_most: float | None = None


@dataclass(frozen=True, kw_only=True)
class Reading:
    """Everything one poll learned about one database."""

    path: str
    taken_at: float
    error: DbError | None = None
    files: FileFacts | None = None
    journal_mode: str | None = None
    page_size: int | None = None
    held_locks: tuple[HeldLock, ...] = ()
    readers: tuple[Reader, ...] = ()
    stale_marks: tuple[StaleMark, ...] = ()
    filesystem: Filesystem | None = None
    pragmas: dict[str, object] = field(default_factory=dict)
    queues: tuple[QueueDepth, ...] = ()
    notes: tuple[str, ...] = ()  # what was deliberately not read, and why
    sql_taken_at: float | None = None  # when pragmas and queues were read (may be reused)
    poll_ms: float = 0.0
    # Paths other processes opened this database file by, when that is not this path (a
    # hard link): their -wal and -shm sit beside that name, so this one shows none.
    opened_as: tuple[str, ...] = ()
    # False where the lock source cannot see processes blocked waiting for a lock (F_GETLK
    # byte by byte): "no waiter" then means "none seen", and findings say so
    waiters_seen: bool = True

    def later(self, seconds: float, taken_at: float, poll_ms: float | None = None) -> Reading:
        """The same reading ``seconds`` later: every lock and pin held that much longer.
        What an observer hands out while nothing it reads has changed, and what a consumer
        shows between two changes. Copied without __init__ (dataclasses.replace costs ~10 us
        and runs for every unchanged database every poll); the fields are those of self."""
        changes: dict[str, object] = {"taken_at": taken_at}
        if poll_ms is not None:
            changes["poll_ms"] = poll_ms
        if seconds:
            changes["held_locks"] = tuple(_held_longer(h, seconds) for h in self.held_locks)
            changes["readers"] = tuple(_held_longer(r, seconds) for r in self.readers)
        return fast_replace(self, changes)

    @property
    def locks(self) -> tuple[Lock, ...]:
        return tuple(h.lock for h in self.held_locks)

    @property
    def wal_index(self) -> WalIndex | None:
        return self.files.wal_index if self.files else None

    @property
    def frames_pending(self) -> int | None:
        return self.wal_index.frames_pending if self.wal_index else None

    @property
    def wal_bytes(self) -> int | None:
        return self.files.wal_bytes if self.files else None

    @property
    def wal_bytes_in_use(self) -> int | None:
        idx, ps = self.wal_index, self.page_size
        if idx is None or not ps or self.wal_bytes is None:
            return None
        if not idx.max_frame:
            return 0
        return WAL_HEADER_BYTES + idx.max_frame * (ps + WAL_FRAME_HEADER_BYTES)

    @property
    def theirs(self) -> tuple[HeldLock, ...]:
        """Locks held by other processes: what findings judge (waltui is never a suspect)."""
        return tuple(h for h in self.held_locks if not h.ours)

    @property
    def writer(self) -> HeldLock | None:
        """The write lock's holder: -shm byte 120 in WAL mode, RESERVED, PENDING or
        EXCLUSIVE on the database file in rollback mode (and in exclusive locking mode)."""
        for held in self.held_locks:
            lock = held.lock
            if lock.waiting or held.ours:
                continue
            if lock.file == "shm" and lock.lock == "write":
                return held
            if lock.file == "db" and lock.lock in ("reserved", "pending", "exclusive") \
                    and lock.mode == "exclusive":
                return held
        return None

    @property
    def writer_pid(self) -> int | None:
        writer = self.writer
        return writer.lock.pid if writer else None

    @property
    def waiters(self) -> tuple[HeldLock, ...]:
        """Processes blocked in the kernel for a lock (F_SETLKW / F_OFD_SETLKW). SQLite's own
        busy handler sleeps and retries instead, so such waiters show only where a blocking
        lock is used (SQLITE_ENABLE_SETLK_TIMEOUT)."""
        return tuple(h for h in self.theirs if h.lock.waiting)

    @property
    def exclusive_mode(self) -> bool:
        """WAL in locking_mode=EXCLUSIVE: no -shm, and one process holds the database file's
        whole lock range; the wal-index lives in that process's heap, out of our sight."""
        return (self.journal_mode == "wal" and self.files is not None
                and self.files.shm_bytes is None and any(
                    h.lock.file == "db" and h.lock.lock == "exclusive" and not h.lock.waiting
                    for h in self.theirs))

    @property
    def pins(self) -> tuple[Reader, ...]:
        return tuple(r for r in self.readers if r.pins and not r.ours)

    @property
    def stopping(self) -> tuple[Reader, ...]:
        """Pinning readers that stop checkpoints now: a checkpoint has copied up to their mark
        and can go no further. A pin no checkpoint has reached yet is no cause."""
        index = self.wal_index
        return () if index is None else tuple(
            r for r in self.pins if index.limit_frame(r.slot, r.read_mark) <= index.backfilled)

    @property
    def open_by(self) -> frozenset[int]:
        """Other pids that have the database open (hold the DMS byte, or any db-file lock)."""
        return frozenset(h.lock.pid for h in self.theirs
                         if h.lock.lock == "dms" or h.lock.file == "db")

    def process(self, pid: int) -> ProcessInfo | None:
        for held in self.held_locks:
            if held.lock.pid == pid and held.process is not None:
                return held.process
        return None


Frozen = TypeVar("Frozen")
Held = TypeVar("Held", HeldLock, Reader)


def fast_replace(value: Frozen, changes: dict[str, object]) -> Frozen:
    """dataclasses.replace(value, **changes) without __init__ and its checks (~10 us
    against ~1 us): the one fast copy of a frozen model value, for the paths that copy one
    per unchanged database per poll. Only for these plain dataclasses (no __post_init__,
    no InitVar), which tests/test_rules.py checks it matches replace() on."""
    copy = object.__new__(type(value))
    fields = copy.__dict__
    fields.update(value.__dict__)
    fields.update(changes)
    return copy


def _held_longer(held: Held, seconds: float) -> Held:
    """A copy held ``seconds`` longer."""
    if held.held_at_most is None:
        return fast_replace(held, {"held_seconds": held.held_seconds + seconds})
    return fast_replace(held, {"held_seconds": held.held_seconds + seconds,
                               "held_at_most": held.held_at_most + seconds})


Severity = Literal["info", "warning", "critical"]
SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "critical": 2}


@dataclass(frozen=True, kw_only=True)
class Finding:
    """A health verdict: what, how bad, the numbers behind it, and what to do."""

    code: str
    severity: Severity
    title: str
    evidence: str
    fix: str

    @property
    def rank(self) -> int:
        return SEVERITY_RANK[self.severity]
