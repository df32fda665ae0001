"""What one poll cycle reads once for all databases: the lock source's answer, the mount
table, and each pid's details and each directory's filesystem, looked up once per cycle."""

from __future__ import annotations

import os
from collections.abc import Iterable

from waltui.model import Filesystem, ProcessInfo
from waltui.probes.filesystem import MOUNTS, MountTable
from waltui.probes.holders import Openers, PerByteSource
from waltui.probes.lock_readers import LockReader, PerByteReader, TableReader
from waltui.probes.lock_source import NAMESPACE_NOTE, LockSource, outside_holders_possible
from waltui.probes.locks import LockTable
from waltui.probes.processes import ProcessProbe

_SHARED_PROCESS_PROBE = ProcessProbe()
_SHARED_OPENERS: Openers | None = None


def _shared_openers() -> Openers:
    global _SHARED_OPENERS
    if _SHARED_OPENERS is None:
        _SHARED_OPENERS = Openers()
    return _SHARED_OPENERS


class PollContext:
    """reader: how this cycle reads locks (lock_readers.LockReader); a LockTable is read
    as one (a test's, or a one-off read's)."""

    def __init__(self, reader: LockReader | LockTable, mounts: MountTable,
                 processes: ProcessProbe = _SHARED_PROCESS_PROBE) -> None:
        self.reader: LockReader = TableReader(reader, _shared_openers()) \
            if isinstance(reader, LockTable) else reader
        self.mounts = mounts
        self._processes = processes
        self._process_memo: dict[int, ProcessInfo | None] = {}
        self._fs_memo: dict[str, Filesystem | None] = {}
        self.lock_note: str | None = None  # what this poll's lock source cannot see
        # Processes outside our pid namespace may hold locks /proc/locks does not list
        self.outside_possible = outside_holders_possible()

    @classmethod
    def capture(cls, lock_source: str | LockSource = "auto",
                inodes: frozenset[int] | None = None, watched: int = 1) -> PollContext:
        """inodes: the watched files' (None: every lock on the host is decoded); a
        LockSource kept across polls chooses between /proc/locks and F_GETLK."""
        source = lock_source if isinstance(lock_source, LockSource) else LockSource(lock_source)
        table = source.table(inodes, watched)
        reader: LockReader = TableReader(table, source.prober.openers) if table is not None \
            else PerByteReader(source.prober)
        context = cls(reader, MOUNTS.current())
        context.lock_note = source.note(table)
        if context.outside_possible:
            context.lock_note = "; ".join(filter(None, (context.lock_note, NAMESPACE_NOTE)))
        return context

    @property
    def waiters_seen(self) -> bool:
        return self.reader.waiters_seen

    @classmethod
    def per_byte(cls) -> PollContext:
        """A context that asks each database byte by byte (tests, one-off reads)."""
        return cls(PerByteReader(PerByteSource()), MOUNTS.current())

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
