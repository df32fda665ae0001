"""Which watched files some process has opened since we last asked: inotify's IN_OPEN.

F_GETLK names one holder of a byte, so a process that holds only shared locks others also
hold (a second reader of a slot, every idle connection's DMS byte) is invisible to it. Its
locks are in its /proc/PID/fdinfo, once we know it has the file open, and that set of
processes can only grow by an open() of the file, which inotify reports (never who). So
the openers are looked up again only after an open. A fork shares fds without an open,
but POSIX locks are not inherited, so a child holds none of its parent's.

The standard library has no inotify; these are the three libc calls, through ctypes.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import struct

IN_OPEN = 0x00000020
IN_IGNORED = 0x00008000  # the watch went (the file was deleted, or unwatched)
IN_Q_OVERFLOW = 0x00004000  # events were lost: treat every file as opened
_IN_NONBLOCK = os.O_NONBLOCK
_IN_CLOEXEC = os.O_CLOEXEC
_EVENT = struct.Struct("iIII")  # wd, mask, cookie, len (then len bytes of name)


def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None


class OpenWatch:
    """One inotify instance: watches added by path, opens reported by watch descriptor.
    ``available`` is False where inotify cannot be had (no libc symbol, no instances
    left): the caller then assumes any file may have new openers at every poll."""

    def __init__(self) -> None:
        self._libc = _libc()
        self.fd = -1
        if self._libc is not None and hasattr(self._libc, "inotify_init1"):
            self.fd = self._libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)

    @property
    def available(self) -> bool:
        return self.fd >= 0

    def add(self, path: str) -> int | None:
        """A watch for opens of the file at path (its inode, whatever name opens it)."""
        if self._libc is None or self.fd < 0:
            return None
        wd = int(self._libc.inotify_add_watch(self.fd, os.fsencode(path), IN_OPEN))
        return wd if wd >= 0 else None

    def remove(self, wd: int) -> None:
        if self._libc is not None and self.fd >= 0:
            self._libc.inotify_rm_watch(self.fd, wd)

    def opened(self) -> tuple[set[int], bool]:
        """(watches whose file was opened, whether events were lost) since the last call.
        Never blocks: the fd is non-blocking, and the kernel's queue is bounded."""
        fired: set[int] = set()
        overflow = False
        if self.fd < 0:
            return fired, True
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return fired, overflow
            except OSError:
                return fired, True
            offset = 0
            while offset + _EVENT.size <= len(data):
                wd, mask, _cookie, length = _EVENT.unpack_from(data, offset)
                offset += _EVENT.size + length
                if mask & IN_Q_OVERFLOW:
                    overflow = True
                elif mask & IN_OPEN:
                    fired.add(wd)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
