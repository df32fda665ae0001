"""Dashboard cost: CPU, RSS and key-to-repaint latency with 10 and 1,000 databases at a
1 s interval, each held open by a real process; at 1,000 both idle and all changing (a
process commits to every database once a second), with the collector in its own process
(the default) and in a thread of the dashboard, so each row is compared within one run.

Everything is measured on the real `waltui` in a real terminal (tmux, 80x24,
xterm-256color): CPU and RSS of the dashboard process and, apart, of its collector child;
latency from tmux send-keys until the repaint is in what the app writes to its terminal.
Targets (issue "One collector, many consumers"): key->repaint p90 <= 50 ms and max <= 100
ms at 1,000 changing databases; the dashboard <= 5 % of a core at 1,000 idle; (issue "A
poll at the syscall floor") dashboard and collector <= 2 % of a core for 10 idle databases
on a host with 10,000 unrelated locks.

    python -m bench.ui [--seconds 10] [--presses 30]"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from bench.floor import unrelated_locks
from bench.poll_cost import hold
from bench.terminal import pipe_output, seconds_until
from waltui.collector import raise_fd_limit

WALTUI = Path(sys.executable).with_name("waltui")
LOCKED = "idle+10k locks"  # 10 idle databases on a host with 10,000 unrelated locks


def capture(session: str) -> str:
    return subprocess.run(["tmux", "capture-pane", "-p", "-t", session],
                          capture_output=True, text=True).stdout


def wait_for_screen(session: str, shown: bool, marker: str = "waltui keys") -> None:
    """Until the marker is on the terminal (or gone), asking tmux every 20 ms: untimed."""
    deadline = time.monotonic() + 10
    while (marker in capture(session)) != shown:
        if time.monotonic() > deadline:
            raise SystemExit("the dashboard did not repaint within 10 s")
        time.sleep(0.02)


def key_latencies(session: str, presses: int, output: Path, marker: str = "waltui keys"
                  ) -> list[float]:
    """Key to repaint: `?` is sent, timed until the help screen's title is in what the app
    writes to its terminal (bench/terminal.py). Only openings are timed; each closes again
    untimed. (Not Esc: a terminal app must wait to tell a lone Esc from the start of a
    sequence.)"""
    samples = []
    with output.open("rb") as stream:
        for _ in range(presses):
            stream.seek(0, 2)  # only what is written after the press
            started = time.perf_counter()
            subprocess.run(["tmux", "send-keys", "-t", session, "?"])
            samples.append(seconds_until(stream, marker.encode(), started) * 1000)
            wait_for_screen(session, shown=True)
            subprocess.run(["tmux", "send-keys", "-t", session, "?"])
            wait_for_screen(session, shown=False)
            time.sleep(0.3)
    return samples


CHURNER = """
import apsw, resource, sys, time
resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
conns = []
for path in sys.argv[1:]:
    c = apsw.Connection(path)
    c.execute("PRAGMA journal_mode=wal").fetchall()
    c.execute("PRAGMA synchronous=OFF").fetchall()
    c.execute("CREATE TABLE IF NOT EXISTS q(id INTEGER PRIMARY KEY, state TEXT)")
    conns.append(c)
print("ready", flush=True)
while True:  # every database commits once a second, spread over the second
    started = time.monotonic()
    for c in conns:
        c.execute("INSERT INTO q(state) VALUES ('pending')")
    time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
"""


def churn(paths: list[str]) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", CHURNER, *paths], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def collector_of(proc: psutil.Process) -> psutil.Process | None:
    return next((c for c in proc.children() if "waltui.collector.child" in
                 " ".join(c.cmdline())), None)


def measure_in_tmux(directory: Path, count: int, seconds: float, presses: int,
                    collector: str) -> tuple[float, float, float, float, list[float]]:
    session = f"waltui-bench-{count}"
    subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    options = f"--collector {collector} "
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "80", "-y", "24",
                    f"env TERM=xterm-256color {WALTUI} {options}--interval 1 {directory}"],
                   check=True)
    try:
        proc = None
        deadline = time.monotonic() + 20
        while proc is None and time.monotonic() < deadline:
            proc = next((p for p in psutil.process_iter(["cmdline"])  # python3 .../waltui
                         if (p.info["cmdline"] or [])[1:2] == [str(WALTUI)]
                         and str(directory) in p.info["cmdline"]), None)  # not one quitting
            time.sleep(0.2)
        if proc is None:
            raise SystemExit("waltui did not start")
        output = directory.parent / f"{directory.name}.terminal"  # not among the databases
        pipe_output(session, output)
        time.sleep(max(5.0, count / 200))  # warm up: first polls, first paint
        child = collector_of(proc)
        cpu_before = sum(proc.cpu_times()[:2])
        child_before = sum(child.cpu_times()[:2]) if child else 0.0
        started = time.monotonic()
        time.sleep(seconds)
        took = time.monotonic() - started
        cpu = (sum(proc.cpu_times()[:2]) - cpu_before) / took * 100
        child_cpu = (sum(child.cpu_times()[:2]) - child_before) / took * 100 if child else 0.0
        rss = proc.memory_info().rss / 1024 / 1024
        status = capture(session).splitlines()[0]
        cycle = float(status.split("cycle ")[1].split(" ms")[0]) if "cycle " in status else -1
        return cpu, child_cpu, rss, cycle, key_latencies(session, presses, output)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


ECHO = """
import os, tty
tty.setraw(0)
shown = False
while os.read(0, 1):  # each `?` shows the marker or clears it, at once
    shown = not shown
    os.write(1, b"\\x1b[2J\\x1b[Hwaltui keys" if shown else b"\\x1b[2J\\x1b[H")
"""


def harness_floor(tmp: Path, presses: int) -> list[float]:
    """The same timing of a program that writes the marker as soon as it reads the key:
    what tmux, the pty and this harness add to every row."""
    session, output = "waltui-bench-floor", tmp / "floor.terminal"
    subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "80", "-y", "24",
                    f"{sys.executable} -c '{ECHO}'"], check=True)
    try:
        pipe_output(session, output)
        time.sleep(1)
        return key_latencies(session, presses, output)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--presses", type=int, default=60)
    parser.add_argument("--only", choices=("changing",), default=None,
                        help="only the 1,000 changing rows (to iterate on latency)")
    args = parser.parse_args()
    raise_fd_limit()
    rows = []
    cases = [(10, "idle", "process"), (10, LOCKED, "process"), (1000, "idle", "process"),
             (1000, "idle", "thread"), (1000, "all changing", "process"),
             (1000, "all changing", "thread")]
    if args.only == "changing":
        cases = [case for case in cases if case[1] == "all changing"]
    with tempfile.TemporaryDirectory(prefix="waltui-uibench-") as tmp:
        floor = harness_floor(Path(tmp), args.presses)
        for count, label, collector in cases:
            directory = Path(tmp) / f"n{count}-{label.replace(' ', '-')}-{collector}"
            directory.mkdir()
            paths = [str(directory / f"agent-{i:04d}.db") for i in range(count)]
            holder = churn(paths) if label == "all changing" else hold(paths)
            # a host where another program holds 10,000 locks on a file of its own
            locker = unrelated_locks(Path(tmp) / "unrelated.bin", 10_000) \
                if label == LOCKED else None
            try:
                rows.append((count, label, collector, *measure_in_tmux(
                    directory, count, args.seconds, args.presses, collector)))
            finally:
                if label == "all changing":
                    holder.kill()
                elif holder.stdin is not None:
                    holder.stdin.close()
                holder.wait()
                if locker is not None:
                    locker.kill()
                    locker.wait()
    print(f"{'dbs':>5} {'databases are':>13} {'collector':>9} {'UI CPU %':>8} "
          f"{'collector %':>11} {'UI RSS MB':>9} {'cycle ms':>8} {'key ms: median':>14} "
          f"{'p90':>5} {'max':>5}")
    for count, label, collector, cpu, child_cpu, rss, cycle, keys in rows:
        keys.sort()
        print(f"{count:>5} {label:>13} {collector:>9} {cpu:>8.1f} "
              f"{child_cpu if collector == 'process' else float('nan'):>11.1f} {rss:>9.1f} "
              f"{cycle:>8.0f} {statistics.median(keys):>14.0f} "
              f"{keys[int(len(keys) * 0.9)]:>5.0f} {keys[-1]:>5.0f}")
    floor.sort()
    print(f"{'harness floor: a program that answers at once':>52} "
          f"{statistics.median(floor):>31.0f} {floor[int(len(floor) * 0.9)]:>5.0f} "
          f"{floor[-1]:>5.0f}")
    by = {(r[0], r[1], r[2]): r for r in rows}

    def p90(keys: list[float]) -> float:
        return sorted(keys)[int(len(keys) * 0.9)]

    for label in ("idle", "all changing"):
        if (1000, label, "process") not in by:
            continue
        own, shared = by[(1000, label, "process")], by[(1000, label, "thread")]
        print(f"1,000 {label}: process / thread collector: UI CPU "
              f"{own[3] / max(shared[3], 0.01):.2f}x, key p90 "
              f"{p90(own[-1]) / max(p90(shared[-1]), 0.01):.2f}x")
    print("CPU is % of one core (the thread collector's polls count as the UI's); key->repaint "
          "is `?` sent by tmux until the app has written the help screen; one run on a shared "
          "2-core machine")


if __name__ == "__main__":
    main()
