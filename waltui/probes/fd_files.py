"""Which file another process's descriptor reaches, without touching that file.

stat() of /proc/PID/fd/N follows the link to the open file and asks its filesystem: on a hung
FUSE or NFS mount that call hangs, and every process on the host is walked when we look for
who has a database open. /proc/PID/fdinfo/N names the same file by mount id and inode number
(Linux 5.14 and later) and is answered by /proc alone; the mount id gives the device from
that process's own mountinfo. Only a descriptor whose inode number is one we look for, on a
local filesystem whose files may report another device than their mount (btrfs subvolumes,
overlayfs layers), is stat()ed as before.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

from waltui.probes.filesystem import is_network, mountinfo_line
from waltui.probes.locks import FileId
from waltui.probes.processes import read_proc

FDINFO_HEAD_BYTES = 256  # pos, flags, mnt_id and ino come first; lock lines are not needed
MOUNTINFO_MAX_BYTES = 8 << 20


def fd_inode(pid: int, fd: str) -> tuple[int, int] | None:
    """(mount id, inode number) of one descriptor; None if it is closed, or this kernel's
    fdinfo has no ino line."""
    try:
        head = read_proc(f"/proc/{pid}/fdinfo/{fd}", FDINFO_HEAD_BYTES)
    except OSError:
        return None
    mnt_id = ino = None
    for line in head.split(b"\n"):
        if line.startswith(b"mnt_id:"):
            mnt_id = int(line[7:])
        elif line.startswith(b"ino:"):
            ino = int(line[4:])
            break
    return None if mnt_id is None or ino is None else (mnt_id, ino)


def may_stat(fstype: str) -> bool:
    """A filesystem whose stat() is answered locally: not a network or FUSE mount, where a
    stat can wait for a server or a daemon that never answers."""
    return not (fstype.startswith("fuse") or is_network(fstype))


class Mounts:
    """One process's mount table (its namespace's), read when first asked."""

    def __init__(self, pid: int) -> None:
        self._pid = pid
        self._by_id: dict[int, tuple[int, str]] | None = None

    def get(self, mnt_id: int) -> tuple[int, str] | None:
        """(device, filesystem type) of a mount id."""
        if self._by_id is None:
            self._by_id = {}
            try:
                text = read_proc(f"/proc/{self._pid}/mountinfo", MOUNTINFO_MAX_BYTES)
            except OSError:
                text = b""
            for line in text.decode("utf-8", "replace").splitlines():
                parsed = mountinfo_line(line)
                if parsed is not None and parsed[3] is not None:
                    self._by_id[parsed[0]] = (parsed[3], parsed[2])
        return self._by_id.get(mnt_id)


def _stat_id(path: str) -> FileId | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def fds_reaching(pid: int, inodes: set[int] | frozenset[int]) -> Iterator[tuple[FileId, int]]:
    """(file, descriptor) for each of ``pid``'s descriptors on a file with one of these inode
    numbers. A descriptor on a network or FUSE mount is never stat()ed: its mount's device is
    the one its files report."""
    base = f"/proc/{pid}/fd"
    try:
        names = os.listdir(base)
    except OSError:
        return
    mounts: Mounts | None = None
    for name in names:
        found = fd_inode(pid, name)
        if found is None:  # closed since, or a kernel without ino in fdinfo
            if (file_id := _old_kernel_id(pid, name)) is not None and file_id[1] in inodes:
                yield file_id, int(name)
            continue
        mnt_id, ino = found
        if ino not in inodes:
            continue
        mounts = mounts or Mounts(pid)
        mount = mounts.get(mnt_id)
        if mount is not None and not may_stat(mount[1]):
            yield (mount[0], ino), int(name)
        elif (file_id := _stat_id(f"{base}/{name}")) is not None and file_id[1] == ino:
            yield file_id, int(name)


_fdinfo_has_ino: bool | None = None


def _old_kernel_id(pid: int, name: str) -> FileId | None:
    """Before Linux 5.14 fdinfo has no ino line: stat() the link, as lsof does. Asked only
    when this kernel is found to be such a one (our own fdinfo tells)."""
    global _fdinfo_has_ino
    if _fdinfo_has_ino is None:
        fd = os.open("/", os.O_RDONLY | os.O_CLOEXEC)
        try:
            _fdinfo_has_ino = fd_inode(os.getpid(), str(fd)) is not None
        finally:
            os.close(fd)
    return None if _fdinfo_has_ino else _stat_id(f"/proc/{pid}/fd/{name}")


def fds_on(pid: int, ids: Iterable[FileId]) -> dict[FileId, list[int]]:
    """Which of ``pid``'s descriptors reach these files (nothing is opened, so no lock of
    anyone's can be disturbed)."""
    wanted = set(ids)
    found: dict[FileId, list[int]] = {}
    for file_id, fd in fds_reaching(pid, {ino for _, ino in wanted}):
        if file_id in wanted:
            found.setdefault(file_id, []).append(fd)
    return found


def opened_names(pid: int, ids: Iterable[FileId]) -> list[tuple[int, str]]:
    """(fd, the path it was opened by) for each of ``pid``'s descriptors on these files:
    readlink() of a /proc fd link is answered by /proc, never by the file's filesystem."""
    found = []
    for fds in fds_on(pid, ids).values():
        for fd in fds:
            try:
                found.append((fd, os.readlink(f"/proc/{pid}/fd/{fd}")))
            except OSError:
                continue  # closed since
    return sorted(found)


def paths_opened_as(pid: int, file_id: FileId) -> set[str]:
    """The names under which a process has a file open (its /proc/PID/fd links): how a hard
    link's other name is found."""
    return {path for _, path in opened_names(pid, (file_id,))}
