"""Details of the processes seen holding locks, and how long each hold has lasted."""

from __future__ import annotations

import os
import pwd
import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import replace

from waltui.model import ProcessInfo

_extra_own_pids: set[int] = set()


def own_pids() -> frozenset[int]:
    """waltui's own processes (this one, and a parent that runs the UI for a collector child):
    their locks come from our checkpoints and checks, never from the application."""
    return frozenset({os.getpid(), *_extra_own_pids})


def add_own_pid(pid: int) -> None:
    _extra_own_pids.add(pid)


class ProcessProbe:
    """Who a lock holder is, from /proc (its stat every poll; its name, command line and user
    once per process, cached by pid and start time). psutil, which reads the same files, is
    not imported by a poll: it costs ~50 ms at every start of `snapshot`, `check` and the
    collector, and 153 us a process against /proc/PID/stat's 23. Entries of processes that
    have ended are dropped once the cache passes PRUNE_ABOVE, so a host where short-lived
    processes take locks all day does not grow it for ever."""

    PRUNE_ABOVE = 128

    def __init__(self) -> None:
        # The last description of each process: handed out again, the very same object,
        # while its state is the same (a repeated reading compares holders by identity).
        self._known: dict[tuple[int, int], ProcessInfo] = {}

    def describe(self, pids: Iterable[int]) -> dict[int, ProcessInfo]:
        found: dict[int, ProcessInfo] = {}
        now = time.time()
        live_keys = set()
        for pid in set(pids):
            if pid <= 0:
                continue  # OFD locks carry no pid
            state = _proc_stat(pid)
            if state is None:
                continue  # gone since /proc/locks named it (or not ours to see)
            key = (pid, state[1])
            live_keys.add(key)
            known = self._known.get(key)
            if known is None:
                static = proc_static(pid)
                if static is None:
                    found[pid] = ProcessInfo(pid=pid, name="?", cmdline="", user="?",
                                             state=state[0], start_ticks=state[1],
                                             state_since=now)
                    continue
                name, cmdline, user = static
                known = self._known[key] = ProcessInfo(pid=pid, name=name, cmdline=cmdline,
                                                       user=user, state=state[0],
                                                       start_ticks=state[1], state_since=now)
            elif known.state != state[0]:
                known = self._known[key] = replace(known, state=state[0], state_since=now)
            found[pid] = known
        for key in [k for k in self._known if k[0] in found and k not in live_keys]:
            del self._known[key]
        if len(self._known) > self.PRUNE_ABOVE:
            for key in [k for k in self._known if not os.path.exists(f"/proc/{k[0]}")]:
                del self._known[key]
        return found


# /proc/PID/stat's state letters, as psutil names them
STATES = {"R": "running", "S": "sleeping", "D": "disk-sleep", "T": "stopped",
          "t": "tracing-stop", "Z": "zombie", "X": "dead", "I": "idle", "K": "wake-kill",
          "W": "waking", "P": "parked"}


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def age_seconds(start_ticks: int) -> float:
    """How long a process has run: /proc/PID/stat counts its start in ticks of the boot
    clock (suspend included), which CLOCK_BOOTTIME reads."""
    return max(0.0, time.clock_gettime(time.CLOCK_BOOTTIME) - start_ticks / CLOCK_TICKS)


def start_ticks(pid: int) -> int | None:
    """The process's start time, its identity beside the pid; None if there is no such pid."""
    stat = _proc_stat(pid)
    return stat[1] if stat is not None else None


def read_proc(path: str, limit: int = 65536) -> bytes:
    """A /proc file, at most ``limit`` bytes: os.open and os.read, no io stack (13 us a
    process for a stat line rather than 32, every holder every poll). Raises OSError."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        chunks, size = [], 0
        while size < limit and (chunk := os.read(fd, min(65536, limit - size))):
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def stat_fields(pid: int) -> list[bytes] | None:
    """/proc/PID/stat's fields after the command name (state first, then ppid, ...), from
    one read (the kernel writes the line whole); None if there is no such process."""
    try:
        data = read_proc(f"/proc/{pid}/stat", 4096)
        return data[data.rindex(b")") + 2:].split()
    except (OSError, ValueError):
        return None


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, start time in clock ticks since boot). The start time tells a reused pid
    from the process that was cached."""
    fields = stat_fields(pid)
    try:
        return None if fields is None else (STATES.get(fields[0].decode(), "unknown"),
                                            int(fields[19]))
    except (ValueError, IndexError):
        return None


def proc_static(pid: int) -> tuple[str, str, str] | None:
    """(name, command line, user) as psutil gives them on Linux: comm, the NUL-separated
    cmdline joined by spaces (a kernel thread has none), the owner of /proc/PID; None when
    they cannot be read (hidepid, another namespace), which the pane shows as "?"."""
    base = f"/proc/{pid}"
    try:
        with open(f"{base}/comm", "rb") as handle:
            name = handle.read().rstrip(b"\n").decode("utf-8", "surrogateescape")
        with open(f"{base}/cmdline", "rb") as handle:
            argv = handle.read().rstrip(b"\0").split(b"\0")
        uid = os.stat(base).st_uid
    except OSError:
        return None
    args = [a.decode("utf-8", "surrogateescape") for a in argv if a]
    cmdline = " ".join(args)
    if len(name) >= 15 and args:  # comm is cut at 15 bytes: the full name, as psutil finds it
        full = os.path.basename(args[0])
        name = full if full.startswith(name) else name
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = str(uid)
    return name, cmdline, user


class HoldTracker:
    """Remembers when each hold (a lock, a pin) was first seen; forgets those that ended.
    A hold seen at the first poll began before waltui looked: its time is a lower bound."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._first_seen: dict[Hashable, tuple[float, bool]] = {}
        self._seen_now: set[Hashable] = set()
        self._polls = 0

    def begin_poll(self) -> None:
        self._seen_now = set()

    def hold(self, key: Hashable) -> tuple[float, bool]:
        """(seconds seen held, whether it was already held at the first look)."""
        now = self._clock()
        self._seen_now.add(key)
        first, at_least = self._first_seen.setdefault(key, (now, self._polls == 0))
        return now - first, at_least

    def end_poll(self) -> None:
        self._polls += 1
        for key in [k for k in self._first_seen if k not in self._seen_now]:
            del self._first_seen[key]
