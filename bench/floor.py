"""A poll against the syscall floor, measured in the same run (issue "A poll at the syscall
floor"). The floor does only what any poll must: stat the database, -wal and -shm, one
136-byte pread of the -shm (header and read marks), and one /proc/locks read shared by all
databases, matched by inode. waltui's rows run the real Poller (the collector's core):
without SQL, and the default (SQL values reused while a database is unchanged), both as
`snapshot` polls (every database's change built); "collector" is the default as the
dashboard's collector runs it, asking only what changed.

Rows for each number of databases, on a host with no other locks and with N unrelated
locks (a process holding them on another file). With many unrelated locks waltui stops
reading /proc/locks and asks fcntl(F_GETLK) about each watched byte instead (LockSource,
"auto"), so it can go below this floor, which always reads /proc/locks. Each cell is the
median of interleaved rounds of process CPU per database, with the spread; the ratio column
is waltui / floor. Each measure runs in a process of its own (as the collector does), so
5,000 databases fit the fd limit and no poller's heap or caches weigh on another's.

    python -m bench.floor [--sizes 10,100,1000] [--unrelated 0,20000] [--rounds 7]"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from bench.poll_cost import hold
from waltui.collector import Poller, raise_fd_limit
from waltui.config import Config
from waltui.support.heap import freeze_startup_heap, tune_collector

LOCKER = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
for i in range(int(sys.argv[2])):  # every other byte: ranges that never merge
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 2 * i)
print("ready", flush=True)
sys.stdin.read()
"""


def unrelated_locks(path: Path, count: int) -> subprocess.Popen[str] | None:
    if count == 0:
        return None
    proc = subprocess.Popen([sys.executable, "-c", LOCKER, str(path), str(count)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def floor_cycle(paths: list[str], fds: list[int]) -> None:
    """The least a poll can do, in Python."""
    inodes = set()
    for path, shm_fd in zip(paths, fds, strict=True):
        st = os.stat(path)
        inodes.add(b":%d " % st.st_ino)
        for suffix in ("-wal", "-shm"):
            try:
                os.stat(path + suffix)
            except OSError:
                pass
        os.pread(shm_fd, 136, 0)
    with open("/proc/locks", "rb") as handle:
        data = handle.read()
    for line in data.splitlines():
        fields = line.split(None, 8)
        if len(fields) > 6 and (fields[5] + b" " in inodes or fields[6] + b" " in inodes):
            pass


def per_db_us(cycle: Callable[[], object], count: int) -> float:
    """CPU of the whole process: the poller reads in a helper thread (waltui/support/deadline.py).
    This bench first timed only the calling thread's CPU, which left those reads out and
    made waltui look 2-3 times cheaper than it is."""
    started = time.process_time()
    cycle()
    return (time.process_time() - started) * 1e6 / count


LABELS = ("floor", "waltui, no SQL", "waltui, default", "collector")


def worker(label: str, paths_file: str) -> None:
    """One measured poller in a process of its own, as the collector runs: its heap, its fds
    (5,000 databases keep 15,000 open) and its caches are its own. Answers each line on
    stdin with the process CPU per database of one cycle."""
    raise_fd_limit()
    tune_collector()  # as the collector's process runs (waltui/collector/child.py)
    paths = Path(paths_file).read_text().splitlines()
    if label == "floor":
        fds = [os.open(p + "-shm", os.O_RDONLY) for p in paths]
        cycle: Callable[[], object] = partial(floor_cycle, paths, fds)
    else:
        poller = Poller(Config(sql=False) if label == "waltui, no SQL" else Config())
        for path in paths:
            poller.attach(path)
        poller.poll_once()  # opens the files each database keeps
        poller.poll_once()  # the first reading later polls may repeat
        # the collector's cycle asks only what changed (its Batch)
        cycle = partial(poller.poll_once, changed_only=label == "collector")
    freeze_startup_heap()  # as the collector does after its first cycle
    print("ready", flush=True)
    for _ in sys.stdin:
        print(f"{per_db_us(cycle, len(paths)):.3f}", flush=True)


def measure(paths: list[str], rounds: int, tmp: Path) -> dict[str, list[float]]:
    """Every label's worker, round by round in turn: noise hits all alike."""
    paths_file = tmp / "paths.txt"
    paths_file.write_text("\n".join(paths))
    workers = {label: subprocess.Popen(
        [sys.executable, "-m", "bench.floor", "--worker", label, str(paths_file)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for label in LABELS}
    try:
        for proc in workers.values():
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        samples: dict[str, list[float]] = {label: [] for label in LABELS}
        for _ in range(rounds):
            for label, proc in workers.items():
                assert proc.stdin is not None and proc.stdout is not None
                proc.stdin.write("round\n")
                proc.stdin.flush()
                samples[label].append(float(proc.stdout.readline()))
        return samples
    finally:
        for proc in workers.values():
            proc.kill()
            proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--unrelated", default="0,20000")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--worker", nargs=2, metavar=("LABEL", "PATHS_FILE"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    raise_fd_limit()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="waltui-floor-") as tmp:
        for unrelated in (int(u) for u in args.unrelated.split(",")):
            locker = unrelated_locks(Path(tmp) / "unrelated.bin", unrelated)
            try:
                for count in sizes:
                    paths = [str(Path(tmp) / f"u{unrelated}-n{count}-{i}.db")
                             for i in range(count)]
                    holder = hold(paths)
                    try:
                        rows.append((count, unrelated, measure(paths, args.rounds, Path(tmp))))
                    finally:
                        assert holder.stdin is not None
                        holder.stdin.close()
                        holder.wait()
            finally:
                if locker is not None:
                    locker.kill()
                    locker.wait()
    print(f"{'dbs':>6} {'other locks':>11} {'measure':>16} {'us/db median':>12} "
          f"{'spread':>15} {'vs floor':>8}")
    for count, unrelated, samples in rows:
        floor = statistics.median(samples["floor"])
        for label, values in samples.items():
            median = statistics.median(values)
            print(f"{count:>6} {unrelated:>11} {label:>16} {median:>12.1f} "
                  f"{min(values):>7.1f}-{max(values):<7.1f} {median / floor:>7.1f}x")
    print(f"\n{args.rounds} interleaved rounds; process CPU per database per cycle, each "
          "measure in its own process; one run on this machine (shared): read the ratios, "
          "not the absolute times")


if __name__ == "__main__":
    main()
