"""`waltui export` at 1,000 databases scraped every 15 s (issue "Watching a fleet").

Two exporters run side by side on the same databases (held open by a real process, as in
production): one polling every second (the default) and one polling at the scrape
interval (`--interval 15`). Each window of `--scrape` seconds starts with one scrape of
each; the table gives the median and spread over the windows of each exporter's CPU (user +
system, from /proc/PID/stat, its whole process), its scrape time, and the exposition's size
and series count.

    python -m bench.exporter [--databases 1000] [--windows 4] [--scrape 15]"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.poll_cost import hold, release
from bench.spread import spread

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", "rb") as handle:
        fields = handle.read().rsplit(b")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def start_export(paths: list[str], interval: float) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "waltui", "export", "--listen",
                             "127.0.0.1:0", "--interval", str(interval), *paths],
                            stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    banner = proc.stderr.readline()
    match = re.search(r"(http://[\d.]+:\d+)/metrics", banner)
    assert match, banner
    return proc, match[1] + "/metrics"


def scrape(url: str) -> tuple[float, bytes]:
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as response:
        body = response.read()
    return time.perf_counter() - started, body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", type=int, default=1000)
    parser.add_argument("--windows", type=int, default=4)
    parser.add_argument("--scrape", type=float, default=15.0)
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="waltui-bench-export-"))
    paths = [str(directory / f"agent-{i:04d}.db") for i in range(args.databases)]
    holder = hold(paths)
    exporters = {label: start_export(paths, interval)
                 for label, interval in (("--interval 1", 1.0),
                                         (f"--interval {args.scrape:g}", args.scrape))}
    try:
        for _, url in exporters.values():  # until every database has had its first poll
            while scrape(url)[1].count(b"waltui_up{") < args.databases:
                time.sleep(1)
        cpu: dict[str, list[float]] = {label: [] for label in exporters}
        scrapes: dict[str, list[float]] = {label: [] for label in exporters}
        body = b""
        for _ in range(args.windows):
            before = {label: cpu_seconds(proc.pid) for label, (proc, _) in exporters.items()}
            started = time.monotonic()
            for label, (_, url) in exporters.items():
                seconds, body = scrape(url)
                scrapes[label].append(seconds)
            time.sleep(max(0.0, args.scrape - (time.monotonic() - started)))
            elapsed = time.monotonic() - started
            for label, (proc, _) in exporters.items():
                cpu[label].append((cpu_seconds(proc.pid) - before[label]) / elapsed)
        series = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
        print(f"waltui export, {args.databases} databases, a scrape every {args.scrape:g} s, "
              f"{args.windows} windows; median (min-max)")
        print(f"{'exporter':<16} {'CPU % of a core':>20} {'scrape ms':>22}")
        for label in exporters:
            print(f"{label:<16} {spread(cpu[label], 100):>20} "
                  f"{spread(scrapes[label], 1000, 0):>22}")
        print(f"exposition: {len(body):,} bytes, {series:,} series "
              f"({series / args.databases:.1f} per database)")
        slow = statistics.median(cpu[f"--interval {args.scrape:g}"])
        print(f"ratio of CPU, --interval 1 / --interval {args.scrape:g}: "
              f"{statistics.median(cpu['--interval 1']) / max(1e-9, slow):.1f}x")
    finally:
        for proc, _ in exporters.values():
            proc.terminate()
            proc.wait()
        release(holder)


if __name__ == "__main__":
    main()
