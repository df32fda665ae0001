"""What a lock holder is doing, read from /proc at the moment the operator asks (never per
poll): state, the system call it sits in and its wchan, cwd, the descriptors that reach
the database, its parents, and its systemd unit or container. Every read is a small /proc
file or a readlink, none of which waits on the holder's file systems; what cannot be read
(another user's process without privilege, a process that ended) is left out."""

from __future__ import annotations

import os
import platform
import re
import time
from dataclasses import replace

from waltui.evidence import ProcessEvidence, RoleEvidence
from waltui.model import ProcessInfo, Reading
from waltui.probes.fd_files import opened_names
from waltui.probes.processes import STATES, proc_static, read_proc, stat_fields
from waltui.probes.stacks import python_stack

# The system calls a holder is usually found in, by number (/proc/PID/syscall's first field)
SYSCALLS = {
    "x86_64": {0: "read", 1: "write", 3: "close", 7: "poll", 17: "pread64", 18: "pwrite64",
               23: "select", 35: "nanosleep", 61: "wait4", 72: "fcntl", 74: "fsync",
               75: "fdatasync", 202: "futex", 230: "clock_nanosleep", 232: "epoll_wait",
               257: "openat", 270: "pselect6", 271: "ppoll", 277: "sync_file_range",
               281: "epoll_pwait", 441: "epoll_pwait2"},
    "aarch64": {22: "epoll_pwait", 25: "fcntl", 56: "openat", 57: "close", 63: "read",
                64: "write", 67: "pread64", 68: "pwrite64", 72: "pselect6", 73: "ppoll",
                82: "fsync", 83: "fdatasync", 84: "sync_file_range", 98: "futex",
                101: "nanosleep", 115: "clock_nanosleep", 260: "wait4"},
}.get(platform.machine(), {})
MAX_PARENTS = 12
_UNIT = re.compile(r"([^/]+\.service)(?=/|$)")  # a login session's .scope restarts nothing
_CONTAINER = re.compile(r"(?:docker|containerd|crio|libpod|cri-containerd)[-/]([0-9a-f]{12})")


def _read(path: str, limit: int = 4096) -> str | None:
    try:
        return read_proc(path, limit).decode("utf-8", "surrogateescape")
    except OSError:
        return None


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, parent pid, start ticks)."""
    fields = stat_fields(pid)
    try:
        return None if fields is None else (STATES.get(fields[0].decode(), "unknown"),
                                            int(fields[1]), int(fields[19]))
    except (IndexError, ValueError):
        return None


def _command(pid: int) -> str:
    static = proc_static(pid)  # the command line as the Locks pane names it
    return (static[1] or static[0])[:60] if static is not None else "?"


def _syscall(pid: int) -> str | None:
    text = _read(f"/proc/{pid}/syscall")  # needs the right to ptrace it
    if not text:
        return None
    first = text.split()[0]
    if first == "running":
        return "running"
    if first.lstrip("-").isdigit():
        number = int(first)
        return None if number < 0 else SYSCALLS.get(number, f"syscall {number}")
    return None


def unit_and_container(cgroup: str) -> tuple[str | None, str | None]:
    """The systemd service and the container id named by /proc/PID/cgroup's text."""
    unit = container = None
    for line in cgroup.splitlines():
        path = line.split(":", 2)[-1]
        if unit is None and (units := _UNIT.findall(path)):
            unit = units[-1]  # the innermost: user@1000.service/app.slice/agent.service
        if container is None and (match := _CONTAINER.search(path)):
            container = match.group(1)
    return unit, container


def process_evidence(pid: int, start_ticks: int,
                     files: tuple[tuple[int, int], ...] = ()) -> ProcessEvidence | None:
    """The evidence for the process the reading named, or None when that process is gone
    (its pid now another's: the start time differs)."""
    stat = _stat(pid)
    if stat is None or (start_ticks and stat[2] != start_ticks):
        return None
    parents: list[tuple[int, str]] = []
    parent = stat[1]
    while parent > 0 and len(parents) < MAX_PARENTS:
        parents.append((parent, _command(parent)))
        above = _stat(parent)
        if above is None or parent == 1:
            break
        parent = above[1]
    try:
        cwd: str | None = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        cwd = None
    wchan = (_read(f"/proc/{pid}/wchan") or "").strip()
    unit, container = unit_and_container(_read(f"/proc/{pid}/cgroup", 16384) or "")
    return ProcessEvidence(pid=pid, state=stat[0], syscall=_syscall(pid),
                           wchan=wchan if wchan and wchan != "0" else None, cwd=cwd,
                           fds=tuple(opened_names(pid, files)), parents=tuple(parents), unit=unit,
                           container=container)


def seen_in_state(evidence: ProcessEvidence, info: ProcessInfo) -> ProcessEvidence:
    """The evidence with how long polls have seen the process in the state /proc shows now
    (it was so at every poll since info.state_since)."""
    if not info.state_since or evidence.state != info.state:
        return evidence
    return replace(evidence, state_seconds=max(0.0, time.time() - info.state_since))


def holders_evidence(reading: Reading) -> tuple[RoleEvidence, ...]:
    """The writer and each pinning reader, with what each is doing and, for Python, where
    in its code (py-spy, under a deadline); a process that ended since the reading (its
    start time differs) is left out."""
    files = tuple(ident for ident in (reading.files.db_inode if reading.files else None,
                                      reading.files.shm_inode if reading.files else None)
                  if ident is not None)
    roles = [("writer", reading.writer.lock.pid)] if reading.writer is not None else []
    roles += [("pinning reader", r.pid) for r in reading.pins]
    found = []
    for role, pid in dict.fromkeys(roles):
        info = reading.process(pid)
        if pid <= 0 or info is None or not info.start_ticks:
            continue
        if (evidence := process_evidence(pid, info.start_ticks, files)) is not None:
            found.append(RoleEvidence(role, seen_in_state(evidence, info), python_stack(pid)))
    return tuple(found)
