"""A Python lock holder's current stack, from py-spy (`py-spy dump --nonblocking`: read
from its memory without pausing it), run only when asked and under a deadline. py-spy is an
optional extra (`pip install 'waltui[stacks]'`) or found on PATH; without it, or without
the right to read the process, the answer says why and how to allow it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from typing import Any

from waltui.evidence import PythonStack
from waltui.probes.processes import read_proc

DEADLINE = 3.0  # seconds py-spy may take; a dump takes ~30 ms here
# Frames inside these are the database library; the frame that called into them is the
# application's line that holds the transaction open.
DATABASE_PARTS = ("/sqlite3/", "apsw", "/sqlalchemy/", "/peewee", "/django/db/")
LIBRARY_PARTS = ("/lib/python3", "site-packages", "dist-packages", "<frozen")


def py_spy() -> str | None:
    beside = os.path.join(os.path.dirname(sys.executable), "py-spy")
    return beside if os.access(beside, os.X_OK) else shutil.which("py-spy")


def _frames(threads: Any) -> tuple[tuple[str, str, int], ...]:
    """(function, file, line) of the thread in the database library, else of the first
    thread; whatever py-spy's JSON holds is checked, not trusted."""
    stacks = []
    for thread in threads if isinstance(threads, list) else []:
        raw = thread.get("frames") if isinstance(thread, dict) else None
        frames = tuple((str(f.get("name", "?")), str(f.get("filename", "?")),
                        f["line"] if isinstance(f.get("line"), int) else 0)
                       for f in raw or () if isinstance(f, dict)) if isinstance(raw, list) else ()
        stacks.append(frames)
    for frames in stacks:
        if any(any(part in file for part in DATABASE_PARTS) for _, file, _ in frames):
            return frames
    return stacks[0] if stacks else ()


MAPS_MAX_BYTES = 8 << 20


def runs_python(pid: int) -> bool | None:
    """Whether a process runs CPython: its program is python*, or it has libpython mapped
    (uWSGI, an embedded interpreter). None: not ours to read (then py-spy says why)."""
    try:
        if os.path.basename(os.readlink(f"/proc/{pid}/exe")).startswith("python"):
            return True
        return b"libpython" in read_proc(f"/proc/{pid}/maps", MAPS_MAX_BYTES)
    except PermissionError:
        return None
    except OSError:
        return False  # ended


def python_stack(pid: int, deadline: float = DEADLINE) -> PythonStack | None:
    """None for a process that does not run Python: py-spy is not asked about a sqlite3
    CLI or a Node worker (it took up to its deadline to say it found no interpreter)."""
    if runs_python(pid) is False:
        return None
    tool = py_spy()
    if tool is None:
        return PythonStack(why_not="py-spy is not installed (pip install 'waltui[stacks]', "
                                   "or put py-spy on PATH)")
    try:
        done = subprocess.run([tool, "dump", "--pid", str(pid), "--nonblocking", "--json"],
                              capture_output=True, text=True, timeout=deadline,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return PythonStack(why_not=f"py-spy gave no answer within {deadline:g} s")
    except OSError as exc:
        return PythonStack(why_not=f"py-spy could not run: {exc.strerror or exc}")
    if done.returncode != 0:
        said = (done.stderr.strip().splitlines() or ["no reason given"])[-1][:200]
        if "ermission" in said or "ptrace" in said.lower():
            said = ("permission denied: reading another process needs root, "
                    "CAP_SYS_PTRACE, or kernel.yama.ptrace_scope = 0 for the same user")
        return PythonStack(why_not=f"py-spy: {said}")
    try:
        threads = json.loads(done.stdout)
    except ValueError:
        return PythonStack(why_not="py-spy's answer was not JSON")
    frames = _frames(threads)
    database = next((i for i, (_, file, _) in enumerate(frames)
                     if any(p in file for p in DATABASE_PARTS)), None)
    start = 0 if database is None else database + 1
    application = next((i for i in range(start, len(frames))
                        if not any(p in frames[i][1] for p in (*LIBRARY_PARTS, *DATABASE_PARTS))),
                       None)
    return PythonStack(frames=frames, in_database=database, application=application)
