"""The filesystem under a database: WAL needs shared memory that network filesystems lack."""

from __future__ import annotations

import os
import select
import threading

from waltui.model import Filesystem

MOUNTINFO = "/proc/self/mountinfo"
NETWORK_TYPES = frozenset({
    "nfs", "nfs4", "cifs", "smb3", "smbfs", "ncpfs", "9p", "afs", "ceph", "glusterfs",
    "lustre", "gpfs", "ocfs2", "gfs2", "davfs", "fuse.sshfs", "fuse.glusterfs", "fuse.s3fs",
    "fuse.rclone", "fuse.gcsfuse", "fuse.juicefs", "virtiofs", "vboxsf", "prl_fs",
})


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash as octal escapes."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def is_network(fstype: str) -> bool:
    """A network filesystem (by its type, or the part before the dot: fuse.sshfs's "fuse"
    is not, nfs4's family is)."""
    return fstype in NETWORK_TYPES or fstype.split(".")[0] in NETWORK_TYPES


def mountinfo_line(line: str) -> tuple[int, str, str, int | None] | None:
    """(mount id, mount point, type, device of its superblock) of one mountinfo line."""
    left, sep, right = line.partition(" - ")
    fields, tail = left.split(), right.split()
    if not (sep and len(fields) >= 5 and tail and fields[0].isdigit()):
        return None
    return int(fields[0]), _unescape(fields[4]), tail[0], _device(fields[2])


class MountTable:
    """Mount points and their types, read once per poll and shared by every database."""

    def __init__(self, mounts: list[tuple[str, str, int | None]]) -> None:
        """mounts: (mount point, type, device of its superblock), in mountinfo order. Longest
        mount point first, and of two at one point the later (the one on top), so the first
        prefix that matches is the right one."""
        order = sorted(enumerate(mounts), key=lambda im: (len(im[1][0]), im[0]), reverse=True)
        self.mounts = [mount for _, mount in order]
        self._looked_up: dict[tuple[int, int], Filesystem | None] = {}

    @classmethod
    def capture(cls, path: str = MOUNTINFO) -> MountTable:
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                return cls.parse(handle.read())
        except OSError:
            return cls([])

    @classmethod
    def parse(cls, text: str) -> MountTable:
        mounts = []
        for line in text.splitlines():
            if (parsed := mountinfo_line(line)) is not None:
                mounts.append(parsed[1:])
        return cls(mounts)

    def lookup(self, path: str) -> Filesystem | None:
        """The filesystem a path's directory is on. Remembered by the directory's identity
        for as long as this table is current (MountWatch): resolving the path costs a stat
        per component, and every poll asks."""
        directory = os.path.dirname(os.path.abspath(path)) or "."
        try:
            st = os.stat(directory)
            identity: tuple[int, int] | None = (st.st_dev, st.st_ino)
        except OSError:
            identity = None
        if identity is not None and identity in self._looked_up:
            return self._looked_up[identity]
        found = self._find(os.path.realpath(directory))
        if identity is not None:
            self._looked_up[identity] = found
        return found

    def _find(self, where: str) -> Filesystem | None:
        for mount_point, fstype, device in self.mounts:
            if where == mount_point or where.startswith(mount_point.rstrip("/") + "/"):
                return Filesystem(
                    type=fstype, mount_point=mount_point,
                    network=is_network(fstype),
                    fuse=fstype.startswith("fuse"), device=device,
                )
        return None


class MountWatch:
    """The mount table, read again only when it has changed: the kernel marks an open
    mountinfo POLLPRI at every mount or unmount (proc(5)), so an unchanged table costs one
    poll() a cycle instead of reading and parsing the file (~100 us). Where that cannot be
    set up, the file is read every time."""

    def __init__(self, path: str = MOUNTINFO) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._poller: select.poll | None = None
        self._table: MountTable | None = None

    def current(self) -> MountTable:
        with self._lock:
            if self._table is not None and not self._changed():
                return self._table
            self._table = self._read()
            return self._table

    def _changed(self) -> bool:
        try:
            return self._poller is None or bool(self._poller.poll(0))
        except OSError:
            return True

    def _read(self) -> MountTable:
        try:
            if self._fd is None:
                self._fd = os.open(self._path, os.O_RDONLY | os.O_CLOEXEC)
                poller = select.poll()
                poller.register(self._fd, select.POLLPRI | select.POLLERR)
                poller.poll(0)  # takes in the present state: only later changes count
                self._poller = poller
            chunks, offset = [], 0
            while chunk := os.pread(self._fd, 65536, offset):
                chunks.append(chunk)
                offset += len(chunk)
            return MountTable.parse(b"".join(chunks).decode("utf-8", "replace"))
        except OSError:
            self.close()
            return MountTable.capture(self._path)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
        self._fd, self._poller = None, None


MOUNTS = MountWatch()  # one per process: every poll of every database shares it


def _device(major_minor: str) -> int | None:
    """mountinfo's MAJ:MIN (decimal) is the superblock's device: the one /proc/locks names.
    os.stat can differ: btrfs gives each subvolume a device of its own (measured: stat 0:40
    and 0:41, /proc/locks and mountinfo 0:39)."""
    major, sep, minor = major_minor.partition(":")
    try:
        return os.makedev(int(major), int(minor)) if sep else None
    except ValueError:
        return None
