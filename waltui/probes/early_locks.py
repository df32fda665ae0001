"""A one-shot command's first read of /proc/locks, started before Python imports the rest.

The first read of /proc/locks in a while sleeps in the kernel (5-20 ms measured on this
machine, no CPU; fs/locks.c takes a per-CPU rwsem for writing, which waits for an RCU
grace period). `snapshot` and `check` start that read in a thread as their first step, so
the sleep passes while the interpreter imports waltui, and their first poll takes the
bytes. A poll of 1,000 databases already judges its last one against a table read that
long before; bytes older than MAX_AGE_SECONDS are not used.

Nothing here imports anything of waltui: it must start before the imports it overlaps.
"""

from __future__ import annotations

import os
import threading
import time

MAX_AGE_SECONDS = 0.5

_lock = threading.Lock()
_started: dict[str, threading.Thread] = {}
_read: dict[str, tuple[float, bytes | None]] = {}  # path -> (monotonic when read, bytes)


def start(path: str = "/proc/locks") -> None:
    with _lock:
        if path in _started:
            return
        thread = threading.Thread(target=_read_now, args=(path,), daemon=True,
                                  name="waltui-early-locks")
        _started[path] = thread
    thread.start()


def read_whole(path: str) -> bytes:
    """A procfs file, with os.read: half the cost of open() and a buffered read. Here, not
    in locks.py, so that the early read needs nothing of waltui; every poll uses it too."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _read_now(path: str) -> None:
    try:
        data: bytes | None = read_whole(path)
    except OSError:
        data = None
    with _lock:
        _read[path] = (time.monotonic(), data)


def take(path: str) -> bytes | None:
    """The early read's bytes, once, if one was started and they are fresh: waits for it
    (a read started earlier ends no later than a new one would)."""
    with _lock:
        thread = _started.pop(path, None)
    if thread is None:
        return None
    thread.join()
    with _lock:
        read_at, data = _read.pop(path, (0.0, None))
    return data if time.monotonic() - read_at < MAX_AGE_SECONDS else None
