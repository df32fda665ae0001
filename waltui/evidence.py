"""What a lock holder is doing, as /proc tells it at one moment: its state and the system
call it sits in, where it runs from, which descriptors reach the database, and the chain
of parents up to whatever may start it again. Shown before a signal is sent, so the
operator knows what they are about to stop."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from waltui.units import human_seconds

# System calls that reach a file system, and the kernel functions (wchan) in which a process
# waits for a disk or a network or FUSE file system to answer. In one of those calls and in
# D state, or sleeping in one of those functions, it is waiting on storage.
STORAGE_CALLS = frozenset({"fsync", "fdatasync", "sync_file_range", "write", "pwrite64",
                           "read", "pread64", "openat", "fcntl"})
STORAGE_WAITS = ("request_wait_answer", "fuse_", "nfs", "rpc_", "io_schedule", "folio_wait",
                 "wait_on_page", "bit_wait_io", "jbd2", "cifs", "smb2", "blk_", "xfs_",
                 "ext4_", "btrfs_")


@dataclass(frozen=True, kw_only=True)
class ProcessEvidence:
    pid: int
    state: str  # psutil's words: sleeping, disk-sleep, running, stopped, ...
    syscall: str | None  # "futex", "syscall 437", "running" (not in one), None: not readable
    wchan: str | None  # the kernel function it sleeps in, when the kernel says
    cwd: str | None
    fds: tuple[tuple[int, str], ...]  # (fd, path as the process opened it) on the database
    parents: tuple[tuple[int, str], ...]  # (pid, command) from its parent up to pid 1
    unit: str | None  # the systemd unit of its cgroup (agent.service), if any
    container: str | None  # a container id from its cgroup, if any
    # How long polls have seen it in this state (at least: since the first look), or None
    state_seconds: float | None = None

    @property
    def waits_on_storage(self) -> bool:
        return self.syscall in STORAGE_CALLS and (
            self.state == "disk-sleep" or (self.wchan or "").startswith(STORAGE_WAITS))

    def lines(self) -> list[str]:
        """Plain sentences (outside text in them still to be made visible by the caller)."""
        doing = f"state {self.state}"
        if self.state_seconds is not None:
            doing += f" (so at every poll for {human_seconds(self.state_seconds)})"
        if self.syscall and self.syscall != "running":
            doing += f", in the system call {self.syscall}"
        if self.wchan:
            doing += f" (kernel: {self.wchan})"
        out = [f"Now: {doing}."]
        if self.waits_on_storage:
            out.append("It is waiting on storage: a file system call the disk or mount has "
                       "not answered. " + ("In D state, no signal ends it while that storage "
                                           "does not answer. " if self.state == "disk-sleep"
                                           else "")
                       + "Look at the storage, not the program.")
        if self.fds:
            out.append("Holds the database through " + ", ".join(
                f"fd {fd} ({path})" for fd, path in self.fds) + ".")
        if self.cwd:
            out.append(f"Runs in {self.cwd}.")
        if self.parents:  # the nearest three: what started it, and what started that
            chain = [f"{command} ({pid})" for pid, command in self.parents[:3]]
            more = len(self.parents) - 3
            out.append("Started by " + " < ".join(chain) +
                       (f" < {more} more up to pid 1." if more > 0 else "."))
        if self.unit:
            out.append(f"Part of the systemd unit {self.unit}: if the unit has Restart=, "
                       f"systemd starts it again (systemctl status {self.unit}).")
        if self.container:
            out.append(f"Inside container {self.container}: its runtime may restart it.")
        return out


@dataclass(frozen=True, kw_only=True)
class PythonStack:
    """A Python holder's stack as py-spy read it without stopping it, or why it was not
    read. frames: (function, file, line), innermost first, of the thread that is in the
    database library if one is, else the main thread."""

    frames: tuple[tuple[str, str, int], ...] = ()
    in_database: int | None = None  # index of the innermost sqlite3 / apsw / SQLAlchemy frame
    application: int | None = None  # index of the application frame that called into it
    why_not: str | None = None

    @property
    def where(self) -> str | None:
        """The application's line: "worker.py:88 process_batch"."""
        if self.why_not is not None or self.application is None:
            return None
        name, file, line = self.frames[self.application]
        return f"{file.rsplit('/', 1)[-1]}:{line} {name}"

    def json(self) -> dict[str, object]:
        return {"where": self.where,
                "frames": [{"function": name, "file": file, "line": line}
                           for name, file, line in self.frames],
                "why_not": self.why_not}

    def lines(self) -> list[str]:
        if self.why_not is not None:
            return [f"Code: not read: {self.why_not}."]
        if self.where is None:
            return []
        said = f"Code: in {self.where}"
        if self.in_database is not None:
            db_name, db_file, _ = self.frames[self.in_database]
            said += f", inside {db_file.rsplit('/', 1)[-1]} {db_name}"
        return [said + "."]


class RoleEvidence(NamedTuple):
    """A holder's part in the trouble ("writer", "pinning reader") and what it is doing."""

    role: str
    evidence: ProcessEvidence
    stack: PythonStack | None = None

    def lines(self) -> list[str]:
        return self.evidence.lines() + (self.stack.lines() if self.stack is not None else [])

    def json(self) -> dict[str, object]:
        e = self.evidence
        return {"pid": e.pid, "role": self.role, "state": e.state,
                "state_seconds": None if e.state_seconds is None else round(e.state_seconds, 1),
                "syscall": e.syscall,
                "wchan": e.wchan, "cwd": e.cwd,
                "fds": [{"fd": fd, "path": path} for fd, path in e.fds],
                "parents": [{"pid": pid, "command": command} for pid, command in e.parents],
                "unit": e.unit, "container": e.container,
                "waits_on_storage": e.waits_on_storage,
                "stack": None if self.stack is None else self.stack.json()}
