"""Start-up: exec to the dashboard's first paint (1 and 1,000 databases, in a real tmux
terminal, until the overview's header is on screen) and `waltui snapshot --json` of one
database as a whole process, beside the floors measured in the same rounds: this
interpreter doing nothing, and importing Textual's App. Goals (issue "A poll at the syscall
floor"): first paint <= 0.5 s, snapshot <= 100 ms.

    python -m bench.startup [--rounds 5]"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.poll_cost import hold
from bench.spread import spread
from bench.terminal import pipe_output, seconds_until

WALTUI = Path(sys.executable).with_name("waltui")
SESSION = "waltui-bench-startup"
# As installed: bytecode is cached. A shell that sets PYTHONDONTWRITEBYTECODE (this
# machine's does) made every start compile waltui's modules again, ~70 ms of each figure.
AS_INSTALLED = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def wall(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                   env=AS_INSTALLED)
    return time.perf_counter() - started


def first_paint(paths: list[str], output: Path) -> float:
    """From the Enter that execs the dashboard until the table's header is in what it has
    written to its terminal (bench/terminal.py)."""
    subprocess.run(["tmux", "kill-session", "-t", SESSION], stderr=subprocess.DEVNULL)
    command = " ".join(["exec env -u PYTHONDONTWRITEBYTECODE TERM=xterm-256color",
                        str(WALTUI), *paths])
    subprocess.run(["tmux", "new-session", "-d", "-s", SESSION, "-x", "80", "-y", "24",
                    f"read go; {command}"], check=True)
    pane = subprocess.run(["tmux", "list-panes", "-t", SESSION, "-F", "#{pane_pid}"],
                          capture_output=True, text=True, check=True).stdout.split()
    try:
        pipe_output(SESSION, output)
        with output.open("rb") as stream:
            started = time.perf_counter()
            subprocess.run(["tmux", "send-keys", "-t", SESSION, "Enter"], check=True)
            return seconds_until(stream, b"pinned by", started, timeout=30)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", SESSION], stderr=subprocess.DEVNULL)
        gone(pane)


def gone(pids: list[str], timeout: float = 10.0) -> None:
    """Wait until the dashboard (exec'd in the pane's shell) and its collector process
    have exited: a collector still polling 1,000 databases while the next measure runs
    made the interpreter's own start (the floor) measure 2-3x slower."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = [p for p in pids if os.path.exists(f"/proc/{p}")]
        collectors = subprocess.run(["pgrep", "-f", "waltui.collector.child"],
                                    capture_output=True).stdout
        if not alive and not collectors:
            return
        time.sleep(0.01)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="waltui-bench-startup-"))
    many = [str(directory / f"agent-{i:04d}.db") for i in range(1000)]
    holder = hold(many)
    one = many[:1]
    output = Path(tempfile.mkdtemp(prefix="waltui-bench-terminal-")) / "terminal"
    measures: dict[str, Callable[[], float]] = {
        "python -c pass (floor)": lambda: wall([sys.executable, "-c", "pass"]),
        "import textual.app (floor)": lambda: wall([sys.executable, "-c", "import textual.app"]),
        "snapshot --json, 1 db": lambda: wall([str(WALTUI), "snapshot", "--json", *one]),
        "first paint, 1 db": lambda: first_paint(one, output),
        "first paint, 1,000 dbs": lambda: first_paint([str(directory)], output),
    }
    samples: dict[str, list[float]] = {name: [] for name in measures}
    try:
        for measure in measures.values():  # warm the caches (.pyc, page cache)
            measure()
        for _ in range(args.rounds):  # interleaved: the machine's noise hits all alike
            for name, measure in measures.items():
                samples[name].append(measure())
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait()
    print(f"start-up, {args.rounds} interleaved rounds; median (min-max), seconds")
    for name, values in samples.items():
        print(f"{name:<28} {spread(values, digits=3)}")


if __name__ == "__main__":
    main()
