"""A call that cannot hang its caller: a stat, open or read on a hung mount (NFS, FUSE)
blocks in the kernel and cannot be interrupted, so it runs in a daemon helper thread and
the caller waits only so long (the poll's own reads: collector/guarded_reads.py)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

READ_DEADLINE_SECONDS = 2.0
T = TypeVar("T")


def within_deadline(work: Callable[[], T], fallback: T,
                    seconds: float = READ_DEADLINE_SECONDS) -> T:
    """work() if it returns within the deadline, else fallback (the call stays blocked in
    a daemon thread). For the few file system calls made outside a poll: argument
    expansion and path resolution at start-up and attach."""
    box: list[tuple[bool, object]] = []

    def run() -> None:
        try:
            box.append((True, work()))
        except BaseException as exc:  # handed to the caller's thread
            box.append((False, exc))

    helper = threading.Thread(target=run, daemon=True, name="waltui-deadline")
    helper.start()
    helper.join(seconds)
    if not box:
        return fallback
    ok, value = box[0]
    if not ok:
        raise value  # type: ignore[misc]
    return value  # type: ignore[return-value]
