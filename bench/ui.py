"""Dashboard cost: idle CPU, RSS and key-to-repaint latency with 10 and 1,000 databases
attached at a 1 s interval, each database held open by a real process.

Everything is measured on the real `waltui` in a real terminal (tmux, 80x24,
xterm-256color): CPU and RSS from the process, latency from tmux send-keys until
capture-pane shows the repaint (the harness itself adds ~7 ms). Targets: idle <= 2 % of a
core at 10 databases, RSS <= 120 MB at 1,000, key latency <= 100 ms. One run on a shared
machine: compare rows with each other.

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

from bench.poll_cost import hold
from waltui.collector import raise_fd_limit

WALTUI = Path(sys.executable).with_name("waltui")


def capture(session: str) -> str:
    return subprocess.run(["tmux", "capture-pane", "-p", "-t", session],
                          capture_output=True, text=True).stdout


def wait_for_screen(session: str, shown: bool, marker: str = "waltui keys") -> float:
    """Seconds until the marker appears (or goes), polling the terminal as fast as tmux allows."""
    started = time.perf_counter()
    while (marker in capture(session)) != shown:
        if time.perf_counter() - started > 10:
            raise SystemExit("the dashboard did not repaint within 10 s")
    return time.perf_counter() - started


def key_latencies(session: str, presses: int) -> list[float]:
    """Key to repaint in the real terminal: `?` opens help and closes it again, each timed.
    (Not Esc: a terminal app must wait to tell a lone Esc from the start of a sequence.)"""
    samples = []
    for i in range(presses):
        opening = i % 2 == 0
        subprocess.run(["tmux", "send-keys", "-t", session, "?"])
        samples.append(wait_for_screen(session, shown=opening) * 1000)
        time.sleep(0.3)
    return samples


def measure_in_tmux(directory: Path, count: int, seconds: float, presses: int,
                    config: Path | None = None) -> tuple[float, float, float, list[float]]:
    session = f"waltui-bench-{count}"
    subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    options = f"--config {config} " if config else ""
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
        time.sleep(max(5.0, count / 200))  # warm up: first polls, first paint
        cpu_before = sum(proc.cpu_times()[:2])
        started = time.monotonic()
        time.sleep(seconds)
        cpu = (sum(proc.cpu_times()[:2]) - cpu_before) / (time.monotonic() - started) * 100
        rss = proc.memory_info().rss / 1024 / 1024
        status = capture(session).splitlines()[0]
        cycle = float(status.split("cycle ")[1].split(" ms")[0]) if "cycle " in status else -1
        return cpu, rss, cycle, key_latencies(session, presses)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--presses", type=int, default=30)
    args = parser.parse_args()
    raise_fd_limit()
    rows = []
    with tempfile.TemporaryDirectory(prefix="waltui-uibench-") as tmp:
        # The holders never commit, so by default each poll reuses the SQL values; the last
        # row opens SQLite every poll, as if every database had committed since the last.
        always_sql = Path(tmp) / "always-sql.toml"
        always_sql.write_text("sql_max_age = 0\n")
        for count, config, label in ((10, None, "idle"), (1000, None, "idle"),
                                     (1000, always_sql, "all changing")):
            directory = Path(tmp) / f"n{count}-{label.replace(' ', '-')}"
            directory.mkdir()
            holder = hold([str(directory / f"agent-{i:04d}.db") for i in range(count)])
            try:
                rows.append((count, label, *measure_in_tmux(directory, count, args.seconds,
                                                            args.presses, config)))
            finally:
                holder.stdin.close()
                holder.wait()
    print(f"{'databases':>9} {'databases are':>13} {'CPU %':>6} {'RSS MB':>7} {'cycle ms':>8} "
          f"{'key->repaint ms: median':>23} {'p90':>5} {'max':>5}")
    for count, label, cpu, rss, cycle, keys in rows:
        keys.sort()
        print(f"{count:>9} {label:>13} {cpu:>6.1f} {rss:>7.1f} {cycle:>8.0f} "
              f"{statistics.median(keys):>23.0f} {keys[int(len(keys) * 0.9)]:>5.0f} "
              f"{keys[-1]:>5.0f}")
    print(f"\nratios 1,000 / 10 idle databases: CPU {rows[1][2] / max(rows[0][2], 0.01):.1f}x, "
          f"median key latency {statistics.median(rows[1][5]) / statistics.median(rows[0][5]):.1f}x")
    print("CPU is % of one core; key->repaint is `?` sent by tmux until the screen shows it")


if __name__ == "__main__":
    main()
