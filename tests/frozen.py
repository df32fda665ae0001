"""Fixed readings for snapshot tests: the real app renders them, nothing varies run to run."""

from __future__ import annotations

from waltui.collector import Update
from waltui.config import Thresholds
from waltui.health import evaluate
from waltui.history import ChartHistory
from waltui.model import (
    DbError,
    DbHeader,
    FileFacts,
    Filesystem,
    HeldLock,
    Lock,
    ProcessInfo,
    QueueDepth,
    Reader,
    Reading,
    StaleMark,
    WalIndex,
)
from waltui.ui.state import Event

T0 = 1_790_000_000.0
FS = Filesystem(type="ext4", mount_point="/", network=False, fuse=False)


def _header(pages: int) -> DbHeader:
    return DbHeader(page_size=4096, write_version=2, read_version=2, change_counter=9, page_count=pages, freelist_count=0, user_version=0, application_id=0, text_encoding=1, auto_vacuum=False, incremental_vacuum=False)


def _reading(path: str, max_frame: int, backfilled: int, marks, held, readers=(), stale=(),
             wal_bytes=0, queue=0, t=T0) -> Reading:
    index = WalIndex(version=3007000, change_counter=1, initialised=True, page_size=4096, max_frame=max_frame, db_pages=300, backfilled=backfilled, backfill_attempted=backfilled, read_marks=marks)
    files = FileFacts(db_bytes=1_228_800, wal_bytes=wal_bytes, shm_bytes=32768, journal_bytes=None, db_header=_header(300), wal_header=None, wal_index=index, db_inode=(1, 1), shm_inode=(1, 2))
    return Reading(path=path, taken_at=t, error=None, files=files, journal_mode="wal", page_size=4096, held_locks=tuple(held), readers=tuple(readers), stale_marks=tuple(stale),
                   filesystem=FS, pragmas={"page_count": 300, "freelist_count": 0, "user_version": 3,
                        "application_id": 0, "encoding": "UTF-8", "auto_vacuum": 0,
                        "schema_version": 2},
                   queues=(QueueDepth(name="pending", depth=queue),), notes=(), sql_taken_at=0.4)


AGENT = ProcessInfo(pid=4121, name="python", cmdline="python agent.py --queue tasks", user="svc", state="sleeping")
REPORT = ProcessInfo(pid=4188, name="python", cmdline="python report.py --daily", user="svc", state="sleeping")
WRITER = ProcessInfo(pid=4122, name="python", cmdline="python worker.py", user="svc", state="sleeping")


def frozen_updates() -> list[Update]:
    updates = []
    # A healthy agent.
    healthy_hist = ChartHistory()
    def lock(pid, f, name, slot=None, mode="shared"):
        return Lock(pid=pid, file=f, lock=name, slot=slot, mode=mode)
    for i in range(20):
        r = _reading("/srv/agents/alpha.db", 200 + i * 10, 200 + i * 10, (0, 210, None, None, None),
                     [HeldLock(lock=lock(4121, "shm", "dms"), process=AGENT, held_seconds=600)], wal_bytes=4_153_432,
                     queue=12, t=T0 + i)
        healthy_hist.add(r)
    updates.append(Update(r.path, r, (), healthy_hist, (), ()))
    # A starved agent: a report pins the WAL at frame 151.
    starved_hist = ChartHistory()
    held = [HeldLock(lock=lock(4121, "shm", "dms"), process=AGENT, held_seconds=600),
            HeldLock(lock=lock(4122, "shm", "write", mode="exclusive"), process=WRITER, held_seconds=0.2),
            HeldLock(lock=lock(4122, "shm", "dms"), process=WRITER, held_seconds=600),
            HeldLock(lock=lock(4188, "shm", "read", 1), process=REPORT, held_seconds=252),
            HeldLock(lock=lock(4188, "shm", "dms"), process=REPORT, held_seconds=252)]
    for i in range(20):
        mx = 1500 + i * 120
        r = _reading("/srv/agents/gamma.db", mx, 151, (0, 151, mx, None, None), held,
                     readers=[Reader(pid=4188, slot=1, read_mark=151, process=REPORT.cmdline, held_seconds=252.0, pins=True)],
                     stale=[StaleMark(slot=2, read_mark=mx)], wal_bytes=32 + mx * 4120, queue=300 + 40 * i,
                     t=T0 + i)
        starved_hist.add(r)
    findings = tuple(evaluate(r, starved_hist, Thresholds()))
    updates.append(Update(r.path, r, findings, starved_hist, findings, ()))
    # A file that is not a database.
    junk = Reading(path="/srv/agents/notes.db", taken_at=T0, error=DbError(kind="not_sqlite", message="not an SQLite database "
                   "(no 'SQLite format 3' header)"))
    junk_hist = ChartHistory()
    junk_hist.add(junk)
    updates.append(Update(junk.path, junk, (), junk_hist, (), ()))
    return updates


def frozen_events() -> list[Event]:
    return [
        Event(T0, "/srv/agents/alpha.db", "attach", "attached"),
        Event(T0, "/srv/agents/gamma.db", "attach", "attached"),
        Event(T0, "/srv/agents/notes.db", "error", "not an SQLite database"),
        Event(T0 + 19, "/srv/agents/gamma.db", "critical",
              "Checkpoint starvation: 3629 frames pending of 3780"),
    ]
