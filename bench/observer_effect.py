"""What watching costs the watched: writer throughput and -wal size with and without waltui.

Two writer processes commit as fast as they can (BEGIN IMMEDIATE, one row per transaction,
busy_timeout 5 s, autocheckpoint on) while a separate observer process runs waltui's real
poller (files, locks, pins, processes, pragmas and a queue query) at 1 s and at 0.1 s. The
observer never writes and never holds a read transaction beyond one statement, so the
writers' commit rate should not move beyond noise and the autocheckpoint should keep the
-wal as small as without it (sampled every 20 ms during the run). Scenarios are interleaved
over several rounds; the table shows medians and the ratio to no observer, measured in this
one run.

    python -m bench.observer_effect [--seconds 4] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WRITER = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=5)
db.execute("PRAGMA journal_mode=wal")
deadline, commits = float(sys.argv[2]), 0
while time.time() < deadline:
    db.execute("BEGIN IMMEDIATE")
    db.execute("INSERT INTO q(state, body) VALUES ('pending', randomblob(200))")
    db.execute("COMMIT")
    commits += 1
print(commits)
"""

OBSERVER = """
import sys, time
from waltui.config import Config
from waltui.collector import Poller
from waltui.probes.sqlite import QueueQuery
interval, deadline, mode = float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
queries = (QueueQuery("pending", "SELECT count(*) FROM q WHERE state = 'pending'"),)
poller = Poller(Config(interval=interval, sql=mode != "no-sql",
                       queries=queries if mode == "queue" else ()))
poller.attach(sys.argv[1])
polls = 0
while time.time() < deadline:
    started = time.monotonic()
    poller.poll_once()
    polls += 1
    time.sleep(max(0.0, interval - (time.monotonic() - started)))
poller.close()
print(polls)
"""

# (name, poll interval or no observer, what the poll reads): "queue" runs a queue query (the
# only poll that opens SQLite), "pragmas" is the default with no queue query (page 1 is
# read from the files), "no-sql" is --no-sql.
SCENARIOS = (("no observer", None, "none"), ("queue query, 1 s", 1.0, "queue"),
             ("queue query, 0.1 s", 0.1, "queue"), ("no queue query, 0.1 s", 0.1, "pragmas"),
             ("--no-sql, 0.1 s", 0.1, "no-sql"))


def fresh_database(directory: Path, name: str) -> Path:
    import sqlite3

    path = directory / f"{name}.db"
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=wal")
    db.execute("CREATE TABLE q(id INTEGER PRIMARY KEY, state TEXT, body BLOB)")
    db.commit()
    db.close()
    return path


def run(path: Path, interval: float | None, mode: str, seconds: float,
        writers: int = 2) -> tuple[float, int, int]:
    """Commits per second of all writers, the largest -wal seen, and polls done."""
    start_at = time.time() + 0.5  # every process starts its clock together
    deadline = start_at + seconds
    observer = None
    if interval is not None:
        observer = subprocess.Popen([sys.executable, "-c", OBSERVER, str(path), str(interval),
                                     str(deadline), mode],
                                    stdout=subprocess.PIPE, text=True)
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(deadline)],
                              stdout=subprocess.PIPE, text=True) for _ in range(writers)]
    wal = path.with_name(path.name + "-wal")
    largest_wal = 0
    while any(p.poll() is None for p in procs):
        # the last writer to close checkpoints and deletes the -wal, so watch it during the run
        try:
            largest_wal = max(largest_wal, wal.stat().st_size)
        except FileNotFoundError:
            pass
        time.sleep(0.02)
    commits = sum(int(p.communicate()[0]) for p in procs)
    polls = int(observer.communicate()[0]) if observer else 0
    return commits / (deadline - start_at), largest_wal, polls


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    results: dict[str, list[tuple[float, int, int]]] = {name: [] for name, *_ in SCENARIOS}
    with tempfile.TemporaryDirectory(prefix="waltui-observer-") as tmp:
        for round_number in range(args.rounds):
            for index, (name, interval, mode) in enumerate(SCENARIOS):
                path = fresh_database(Path(tmp), f"r{round_number}-s{index}")
                results[name].append(run(path, interval, mode, args.seconds))
                for suffix in ("", "-wal", "-shm"):
                    Path(str(path) + suffix).unlink(missing_ok=True)
    base = statistics.median(r[0] for r in results["no observer"])
    print(f"{'scenario':<24} {'commits/s (median)':>18} {'spread':>13} {'vs none':>8} "
          f"{'largest -wal, frames (median, max)':>35} {'polls':>6}")
    for name, *_ in SCENARIOS:
        rates = [r[0] for r in results[name]]
        rate = statistics.median(rates)
        frames = [wal_frames(r[1]) for r in results[name]]
        polls = statistics.median(r[2] for r in results[name])
        spread = f"{min(rates):.0f}-{max(rates):.0f}"
        print(f"{name:<24} {rate:>18.0f} {spread:>13} {rate / base:>7.2f}x "
              f"{statistics.median(frames):>26.0f} {max(frames):>8} {polls:>6.0f}")
    print(f"\n{args.rounds} interleaved rounds of {args.seconds:.0f} s, 2 writers, "
          f"{os.cpu_count()} CPUs; -wal sampled every 20 ms; the autocheckpoint runs at 1,000 "
          "frames")


def wal_frames(wal_bytes: int, page_size: int = 4096) -> int:
    return max(0, (wal_bytes - 32) // (page_size + 24))

if __name__ == "__main__":
    main()
