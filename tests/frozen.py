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
FS = Filesystem("ext4", "/", False, False)


def _header(pages: int) -> DbHeader:
    return DbHeader(4096, 2, 2, 9, pages, 0, 0, 0, 1, False, False)


def _reading(path: str, max_frame: int, backfilled: int, marks, held, readers=(), stale=(),
             wal_bytes=0, queue=0, t=T0) -> Reading:
    index = WalIndex(3007000, 1, True, 4096, max_frame, 300, backfilled, backfilled, marks)
    files = FileFacts(1_228_800, wal_bytes, 32768, None, _header(300), None, index, (1, 1), (1, 2))
    return Reading(path, t, None, files, "wal", 4096, tuple(held), tuple(readers), tuple(stale),
                   FS, {"page_count": 300, "freelist_count": 0, "user_version": 3,
                        "application_id": 0, "encoding": "UTF-8", "auto_vacuum": 0,
                        "schema_version": 2},
                   (QueueDepth("pending", queue),), (), 0.4)


AGENT = ProcessInfo(4121, "python", "python agent.py --queue tasks", "svc", "sleeping")
REPORT = ProcessInfo(4188, "python", "python report.py --daily", "svc", "sleeping")
WRITER = ProcessInfo(4122, "python", "python worker.py", "svc", "sleeping")


def frozen_updates() -> list[Update]:
    updates = []
    # A healthy agent.
    healthy_hist = ChartHistory()
    def lock(pid, f, name, slot=None, mode="shared"):
        return Lock(pid, f, name, slot, mode)
    for i in range(20):
        r = _reading("/srv/agents/alpha.db", 200 + i * 10, 200 + i * 10, (0, 210, None, None, None),
                     [HeldLock(lock(4121, "shm", "dms"), AGENT, 600)], wal_bytes=4_153_432,
                     queue=12, t=T0 + i)
        healthy_hist.add(r)
    updates.append(Update(r.path, r, (), healthy_hist, (), ()))
    # A starved agent: a report pins the WAL at frame 151.
    starved_hist = ChartHistory()
    held = [HeldLock(lock(4121, "shm", "dms"), AGENT, 600),
            HeldLock(lock(4122, "shm", "write", mode="exclusive"), WRITER, 0.2),
            HeldLock(lock(4122, "shm", "dms"), WRITER, 600),
            HeldLock(lock(4188, "shm", "read", 1), REPORT, 252),
            HeldLock(lock(4188, "shm", "dms"), REPORT, 252)]
    for i in range(20):
        mx = 1500 + i * 120
        r = _reading("/srv/agents/gamma.db", mx, 151, (0, 151, mx, None, None), held,
                     readers=[Reader(4188, 1, 151, REPORT.cmdline, 252.0, True)],
                     stale=[StaleMark(2, mx)], wal_bytes=32 + mx * 4120, queue=300 + 40 * i,
                     t=T0 + i)
        starved_hist.add(r)
    findings = tuple(evaluate(r, starved_hist, Thresholds()))
    updates.append(Update(r.path, r, findings, starved_hist, findings, ()))
    # A file that is not a database.
    junk = Reading("/srv/agents/notes.db", T0, DbError("not_sqlite", "not an SQLite database "
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
