"""What a program writes to its tmux terminal, read as it is written: tmux pipe-pane into a
file that the bench reads as it grows. Asking `tmux capture-pane` every few ms instead cost
~65 % of a core in tmux clients on a 2-core machine, and slowed the app being timed."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import BinaryIO


def pipe_output(session: str, output: Path) -> None:
    """From now on, everything the session's program writes is appended to ``output``."""
    output.write_bytes(b"")
    subprocess.run(["tmux", "pipe-pane", "-t", session, "-o", f"cat >> {output}"],
                   check=True)


def seconds_until(stream: BinaryIO, marker: bytes, started: float,
                  timeout: float = 10.0) -> float:
    """Seconds from ``started`` (perf_counter) until ``marker`` is among what is written
    from the stream's position on."""
    seen = b""
    while marker not in seen:
        if time.perf_counter() - started > timeout:
            raise SystemExit(f"{marker!r} did not appear within {timeout:.0f} s")
        chunk = stream.read()
        if chunk:
            seen = seen[-len(marker):] + chunk
        else:
            time.sleep(0.0005)
    return time.perf_counter() - started
