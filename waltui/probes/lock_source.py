"""Where a poll's locks come from, and what that source cannot see, said on every reading.

"auto" reads /proc/locks while reading it costs less than asking the kernel byte by byte
would. On a host with tens of thousands of unrelated locks the kernel's /proc/locks walk
(superlinear: ~4 KB a read(), each from the list's start) costs more than the poll itself;
then F_GETLK per watched byte, completed from the holders' fdinfo (holders.PerByteSource),
scales with the watched databases instead. Both costs are measured as they run (CPU, not
wall: a loaded host's pauses are not their cost); /proc/locks is looked at again every
PROC_RECHECK_SECONDS, and the two are never mixed within a stretch. The one thing the
per-byte source cannot see is a process blocked waiting for a lock: the reading says so.

A pid namespace of our own (a container) hides from /proc/locks every lock whose owner is
outside it, while F_GETLK still reports them with pid 0 (wal-facts.md): there the bytes no
visible process holds are asked too.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from functools import cache

from waltui.probes.holders import PerByteSource
from waltui.probes.locks import LockTable, who_blocks

PROC_CHEAP_SECONDS = 0.005  # a /proc/locks read below this is never worth avoiding
PROC_RECHECK_SECONDS = 60.0
INITIAL_PID_NAMESPACE = "pid:[4026531836]"  # PROC_PID_INIT_INO, fixed by the kernel

PER_BYTE_LIMIT = "processes blocked waiting for a lock are not seen (only /proc/locks lists them)"
CHOSEN_NOTE = ("locks asked of the kernel byte by byte (fcntl F_GETLK) and of each holder's "
               "/proc/PID/fdinfo: /proc/locks is too large on this host to read every poll; "
               + PER_BYTE_LIMIT)
ASKED_NOTE = ("locks asked of the kernel byte by byte (--lock-source getlk) and of each "
              "holder's /proc/PID/fdinfo; " + PER_BYTE_LIMIT)
NO_PROC_NOTE = ("locks asked of the kernel byte by byte (fcntl F_GETLK; no /proc here): one "
                "holder a byte, so readers sharing a read slot show as one, and processes "
                "waiting for a lock are not seen")
NAMESPACE_NOTE = ("waltui runs in a pid namespace of its own: a process outside it holding a "
                  "lock is shown as 'a process outside this pid namespace', and only where no "
                  "process inside holds the same byte; run waltui in the host's (or the "
                  "application's) pid namespace to see every holder")


@cache
def outside_holders_possible() -> bool:
    """Whether processes outside our pid namespace can hold locks we cannot name."""
    try:
        return os.readlink("/proc/self/ns/pid") != INITIAL_PID_NAMESPACE
    except OSError:
        return False


def proc_speaks_our_pids() -> bool:
    """Whether /proc numbers processes as kill() and pidfd_open() do here. A /proc mounted
    by another pid namespace (a container given the host's /proc) names other processes by
    the same numbers: then no pid read from it may be signalled."""
    try:
        return int(os.readlink("/proc/self")) == os.getpid()
    except (OSError, ValueError):
        return False


def _calibrate_per_byte() -> float:
    """The CPU of one database's per-byte ask on this host before any has run: 13 F_GETLK
    calls and two fdinfo reads (an idle database held open by one process), timed on a
    memfd of our own. Replaced by what the per-byte source measures once it runs."""
    try:
        fd = os.memfd_create("waltui-calibrate", os.MFD_CLOEXEC)
    except (AttributeError, OSError):
        return 10e-6
    try:
        best = math.inf
        for _ in range(3):
            started = time.thread_time()
            for byte in range(13):
                who_blocks(fd, 120 + byte, 1)
            for _ in range(2):
                try:
                    with open(f"/proc/self/fdinfo/{fd}", "rb") as handle:
                        handle.read()
                except OSError:
                    pass
            best = min(best, time.thread_time() - started)
        return best
    finally:
        os.close(fd)


class LockSource:
    """Chooses, poll by poll, between /proc/locks and the per-byte source (see above)."""

    def __init__(self, source: str = "auto", recheck_seconds: float = PROC_RECHECK_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.source = source
        self.per_byte = source == "getlk"
        self.prober = PerByteSource()
        self.last_proc_seconds: float | None = None
        self._recheck = recheck_seconds
        self._clock = clock
        self._next_look = 0.0
        self._estimate: float | None = None  # per-byte CPU a database, before it has run
        self._has_proc = os.path.isdir("/proc/self/fdinfo")

    @property
    def per_byte_seconds(self) -> float:
        """What asking one database byte by byte costs: measured when it last ran, else
        calibrated once on this host."""
        measured = self.prober.seconds_per_database
        if measured is not None:
            return measured
        if self._estimate is None:
            self._estimate = _calibrate_per_byte()
        return self._estimate

    def table(self, inodes: frozenset[int] | None, watched: int) -> LockTable | None:
        """This poll's lock table, or None: ask each database byte by byte (self.prober)."""
        self.prober.begin_cycle(inodes)  # opens seen since the last cycle (OFD owners too)
        return self._choose(inodes, watched)

    def _choose(self, inodes: frozenset[int] | None, watched: int) -> LockTable | None:
        if self.source == "getlk":
            return None
        if self.source == "proc":
            return LockTable.capture(inodes=inodes)
        if self.per_byte and self._clock() < self._next_look:
            return None
        per_byte_cost = 2 * watched * self.per_byte_seconds  # read before this read's cost
        started = time.thread_time()
        table = LockTable.capture(inodes=inodes)
        self.last_proc_seconds = time.thread_time() - started
        if table is None:  # no /proc/locks at all (a container without it, BSD)
            self.per_byte, self._next_look = True, math.inf
            return None
        was_per_byte = self.per_byte
        self.per_byte = self.last_proc_seconds > max(PROC_CHEAP_SECONDS, per_byte_cost)
        if self.per_byte:
            self._next_look = self._clock() + self._recheck
        return None if was_per_byte and self.per_byte else table

    def note(self, table: LockTable | None) -> str | None:
        """What a reading from this poll's source cannot see; None for /proc/locks."""
        if table is not None:
            return None
        if not self._has_proc:
            return NO_PROC_NOTE
        return ASKED_NOTE if self.source == "getlk" else CHOSEN_NOTE
