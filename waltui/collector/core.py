"""Observers, histories and findings for a set of databases, one cycle at a time (the loop
that runs cycles every interval is loop.py). No threads of its own and no UI: `snapshot`
and `check` call it directly, a transport runs the loop (waltui/collector/transport.py)."""

from __future__ import annotations

import resource
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from operator import attrgetter

from waltui.collector.changes import Change
from waltui.collector.guarded_reads import GuardedReads
from waltui.config import Config
from waltui.health import Judge
from waltui.history import History
from waltui.model import Finding, Reading
from waltui.probes.discovery import canonical
from waltui.probes.lock_source import LockSource
from waltui.probes.reading import DatabaseObserver, PollContext, handed_out_again


@dataclass
class DatabaseState:
    """One attached database between polls: what the next poll is judged against."""

    path: str
    observer: DatabaseObserver
    history: History = field(default_factory=History)  # what the rules judge growth from
    judge: Judge = field(default_factory=Judge)
    reading: Reading | None = None
    findings: list[Finding] = field(default_factory=list)


def raise_fd_limit() -> None:
    """Each watched database keeps up to three fds open; 1,000 databases need more than 1,024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


_STEADY = attrgetter(*(f.name for f in fields(Reading)
                       if f.name not in ("taken_at", "poll_ms", "held_locks", "readers")))


def same_reading(new: Reading, old: Reading) -> bool:
    """Equal but for what changes at every poll whatever happens: when it was taken, and
    how long each lock has been held (at least, at most: a consumer ages those itself,
    consumer.aged; whether a hold began before the first look is what this observer knew
    of its time, not a different hold).
    Compared field by field, without building copies: at 1,000 databases this runs 1,000
    times a second."""
    if len(new.held_locks) != len(old.held_locks) or len(new.readers) != len(old.readers):
        return False
    for a, b in zip(new.held_locks, old.held_locks, strict=True):
        if a.lock != b.lock or a.process != b.process or a.ours != b.ours:
            return False
    for r, q in zip(new.readers, old.readers, strict=True):
        if (r.pid, r.slot, r.read_mark, r.process, r.pins, r.ours) != \
                (q.pid, q.slot, q.read_mark, q.process, q.pins, q.ours):
            return False
    return bool(_STEADY(new) == _STEADY(old))


def _change(state: DatabaseState, reading: Reading, findings: list[Finding]) -> Change:
    """The change against the state's last findings (not yet replaced by these)."""
    if not findings and not state.findings:  # most databases, every `snapshot` poll
        return Change(state.path, reading, (), (), ())
    before = {f.code for f in state.findings}
    now = {f.code for f in findings}
    return Change(state.path, reading, tuple(findings),
                  tuple(f for f in findings if f.code not in before),
                  tuple(f for f in state.findings if f.code not in now))


class Poller:
    """Polls every attached database once per call; returns what changed."""

    def __init__(self, config: Config) -> None:
        self.config = config
        # kept across polls: it learns the host's cost
        self.locks = LockSource(config.lock_source)
        self.states: dict[str, DatabaseState] = {}
        self.reads = GuardedReads()
        # The watched inodes as last gathered; gathered again only after a database came,
        # went, or was read in full (a reading handed out again has the same files).
        self._inodes: frozenset[int] | None = None

    def attach(self, path: str) -> bool:
        path = canonical(path)
        if path in self.states:
            return False
        observer = DatabaseObserver(path, self.config.observe_options())
        self.states[path] = DatabaseState(path, observer)
        self._inodes = None
        return True

    def detach(self, path: str) -> bool:
        state = self.states.pop(path, None)
        self._inodes = None
        if state is not None and path not in self.reads.stuck:  # a stuck read keeps its fds
            state.observer.close()
        return state is not None

    def close(self) -> None:
        for path in list(self.states):
            self.detach(path)
        self.reads.close()

    def _watched_inodes(self) -> frozenset[int] | None:
        """The inodes of every database and -shm as last seen; None while one has never
        been read (its locks must not be filtered out on its first poll)."""
        if self._inodes is not None:
            return self._inodes
        inodes: set[int] = set()
        for state in self.states.values():
            if state.reading is None:
                return None
            files = state.reading.files
            if files is not None:
                inodes.add(files.db_inode[1])
                if files.shm_inode is not None:
                    inodes.add(files.shm_inode[1])
        self._inodes = frozenset(inodes)
        return self._inodes

    @property
    def unconfirmed(self) -> bool:
        """Some finding was seen once, or a database could not be read, and one more poll
        should confirm it: a -shm caught mid-creation or a -wal removed between two calls is
        gone a moment later, and must never make `check` say "unreadable"."""
        return any(state.judge.pending or (state.reading is not None
                                           and state.reading.error is not None
                                           and state.reading.error.fatal)
                   for state in self.states.values())

    def poll_once(self, should_stop: Callable[[], bool] = lambda: False,
                  changed_only: bool = False) -> list[Change]:
        """Every database's change; with changed_only, only those whose reading (beyond
        its timestamps) or findings differ from the previous poll's."""
        ctx = PollContext.capture(self.locks, self._watched_inodes(), len(self.states))
        changes = []
        observers = ((path, state.observer) for path, state in list(self.states.items()))
        for path, reading in self.reads.read_all(observers, ctx, should_stop):
            state = self.states.get(path)
            if state is None:
                continue
            again = handed_out_again(reading, state.reading)
            if not again:
                self._inodes = None
            state.history.add(reading, again)
            findings = state.judge.judge(reading, state.history, self.config.thresholds, again)
            same = (changed_only and state.reading is not None and findings == state.findings
                    and (again or same_reading(reading, state.reading)))
            if not same:
                changes.append(_change(state, reading, findings))
            state.reading, state.findings = reading, findings
        return changes
