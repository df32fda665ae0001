"""Reading a small file waltui is given (a config, the UI state, a token, a web config):
it must be a regular file, it is opened without blocking, and it is read up to a cap.

A FIFO in a config file's place hung waltui for ever at its open(); /dev/zero read without
end until MemoryError. O_NONBLOCK makes the open of a FIFO return at once, fstat() then
says what it is, and nothing but a regular file is read.
"""

from __future__ import annotations

import os
import stat

SMALL_FILE_BYTES = 1 << 20  # a config or a state file is a few KB


class FileRefused(OSError):
    """Not a regular file, or larger than the cap: the message says which."""


def read_small(path: str, limit: int = SMALL_FILE_BYTES) -> bytes:
    """The whole file, if it is a regular file of at most ``limit`` bytes. Raises
    FileRefused (an OSError) otherwise, and any OSError of the open or read."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise FileRefused(f"{path} is not a regular file ({_kind(mode)})")
        chunks, size = [], 0
        while chunk := os.read(fd, 65536):
            size += len(chunk)
            if size > limit:
                raise FileRefused(f"{path} is larger than {limit // 1024} KB: not read")
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _kind(mode: int) -> str:
    for test, kind in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISDIR, "a directory")):
        if test(mode):
            return kind
    return "a special file"
