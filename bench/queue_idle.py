"""What a queue query costs on idle databases (issue "The last factor", item 1): the
collector's CPU over real seconds of polling, without a query, with a plain one (read again
only when a database commits) and with one that reads the clock (read again every
sql_max_age, as every query was before). The databases are held open by a real separate
process and never written.

Each measure runs the collector's core (Poller, changed_only, as the collector's process
runs it) in a process of its own for --seconds of wall time at --interval, and reports its
process CPU as a share of one core; rounds are interleaved, medians with their spread.

    python -m bench.queue_idle [--count 1000] [--rounds 3] [--seconds 20] [--interval 1]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.poll_cost import QUERY, hold, release
from waltui.collector import Poller, raise_fd_limit
from waltui.config import Config
from waltui.options import QueueQuery
from waltui.support.heap import freeze_startup_heap, tune_collector

CLOCK_QUERY = QueueQuery("due", "SELECT count(*) FROM q WHERE state = 'pending' AND "
                         "unixepoch('now') > 0")
CONFIGS = {
    "no query": Config(),
    "plain query": Config(queries=(QUERY,)),
    "clock query": Config(queries=(CLOCK_QUERY,)),
}


def worker(label: str, paths_file: str, seconds: float, interval: float) -> None:
    raise_fd_limit()
    tune_collector()
    poller = Poller(CONFIGS[label])
    for path in Path(paths_file).read_text().splitlines():
        poller.attach(path)
    poller.poll_once()
    poller.poll_once()
    freeze_startup_heap()
    print("ready", flush=True)
    for _ in sys.stdin:
        cpu, end = time.process_time(), time.monotonic() + seconds
        changes = 0
        while (now := time.monotonic()) < end:
            changes += len(poller.poll_once(changed_only=True))
            time.sleep(max(0.0, min(interval, end - now)))
        print(f"{(time.process_time() - cpu) / seconds * 100:.3f} {changes}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        label, paths_file = args.worker
        worker(label, paths_file, args.seconds, args.interval)
        return
    raise_fd_limit()
    with tempfile.TemporaryDirectory(prefix="waltui-queue-idle-") as tmp:
        # Each measure watches databases of its own: one collector's queries move read
        # marks that another would see as changes.
        paths = {label: [str(Path(tmp) / f"{n}-idle-{i}.db") for i in range(args.count)]
                 for n, label in enumerate(CONFIGS)}
        holder = hold([path for some in paths.values() for path in some])
        for n, label in enumerate(CONFIGS):
            (Path(tmp) / f"paths-{n}").write_text("\n".join(paths[label]))
        workers = {label: subprocess.Popen(
            [sys.executable, "-m", "bench.queue_idle", "--seconds", str(args.seconds),
             "--interval", str(args.interval), "--worker", label, str(Path(tmp) / f"paths-{n}")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            for n, label in enumerate(CONFIGS)}
        try:
            for proc in workers.values():
                assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
            cpu: dict[str, list[float]] = {label: [] for label in CONFIGS}
            sent: dict[str, list[int]] = {label: [] for label in CONFIGS}
            for _ in range(args.rounds):
                for label, proc in workers.items():
                    assert proc.stdin is not None and proc.stdout is not None
                    proc.stdin.write("go\n")
                    proc.stdin.flush()
                    share, changes = proc.stdout.readline().split()
                    cpu[label].append(float(share))
                    sent[label].append(int(changes))
        finally:
            for proc in workers.values():
                assert proc.stdin is not None
                proc.stdin.close()
                proc.wait()
            release(holder)
    base = statistics.median(cpu["no query"])
    print(f"{'measure':>12} {'% of a core':>12} {'spread':>13} {'vs no query':>11} "
          f"{'changes/s':>9}")
    for label in CONFIGS:
        median = statistics.median(cpu[label])
        print(f"{label:>12} {median:>12.2f} {min(cpu[label]):>6.2f}-{max(cpu[label]):<6.2f} "
              f"{median / base:>10.2f}x {statistics.median(sent[label]) / args.seconds:>9.1f}")
    print(f"\n{args.count} idle databases, {args.rounds} interleaved rounds of "
          f"{args.seconds:g} s at --interval {args.interval:g}; the collector's process CPU; "
          "one run on a shared machine: read the ratios")


if __name__ == "__main__":
    main()
