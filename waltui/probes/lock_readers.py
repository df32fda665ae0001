"""The two ways a poll reads locks, behind one protocol: the whole host's /proc/locks
read once a cycle (TableReader), or each database asked byte by byte (PerByteReader,
holders.PerByteSource). The lock source (lock_source.py) picks one each cycle; everything
downstream asks the reader, never which kind it is."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from waltui.model import Lock, LockFile
from waltui.probes.holders import Openers, PerByteSource, attribute_ofd
from waltui.probes.locks import FileId, LockTable

KeptFiles = Sequence[tuple[LockFile, int, FileId, str]]  # which, kept fd, (dev, ino), path


class LockReader(Protocol):
    # False where processes blocked waiting for a lock cannot be seen (only /proc/locks
    # lists them)
    waiters_seen: bool
    # True where a database's lines from this cycle's read can be compared with the last
    # ones to tell nothing changed; False: its locks themselves are compared
    has_lines: bool

    def locks(self, files: KeptFiles, ids: tuple[list[FileId], list[FileId]]) -> list[Lock]:
        """Every lock on a database (ids: its db and -shm as /proc/locks may name them)."""

    def lines(self, ids: Sequence[FileId]) -> tuple[object, ...]:
        """What tells, cheaply, that these files' locks are as they were."""

    def same_read(self, other: object) -> bool:
        """Whether ``other`` (an earlier cycle's reader) read the very same bytes: then
        nothing on the host changed at all."""


class TableReader:
    """/proc/locks, read once for the cycle; OFD locks given to their holders."""

    waiters_seen = True
    has_lines = True

    def __init__(self, table: LockTable, openers: Openers | None = None) -> None:
        self.table = table
        self.openers = openers or Openers()

    def locks(self, files: KeptFiles, ids: tuple[list[FileId], list[FileId]]) -> list[Lock]:
        found = self.table.locks_for(*ids)
        return attribute_ofd(found, [(file, file_id, path) for file, _fd, file_id, path
                                     in files], self.openers)

    def lines(self, ids: Sequence[FileId]) -> tuple[object, ...]:
        return self.table.raw_for(ids)

    def same_read(self, other: object) -> bool:
        return isinstance(other, TableReader) and other.table is self.table


class PerByteReader:
    """F_GETLK on each lock byte, completed from the holders' fdinfo (no waiters)."""

    waiters_seen = False
    has_lines = False

    def __init__(self, source: PerByteSource) -> None:
        self.source = source

    def locks(self, files: KeptFiles, ids: tuple[list[FileId], list[FileId]]) -> list[Lock]:
        return self.source.locks(files)

    def lines(self, ids: Sequence[FileId]) -> tuple[object, ...]:
        return ()

    def same_read(self, other: object) -> bool:
        return False
