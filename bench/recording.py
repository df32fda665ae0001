"""Bytes a recording costs per database per hour, idle and busy (issue "Record and replay").

Idle: databases held open by a real process that never writes (the collector finds nothing
changed, so nothing is stored but a heartbeat poll a minute). Busy: databases a real process
commits to every 20 ms (every poll stores each of them). Both recorders run at the same time
for each round, polling every second; the size is the finished file's (one file, rollback
mode) less the size of one closed after its first poll (the schema and the first reading of
each database: a fixed cost, printed apart). Budget: idle <= 2 KB and busy <= 4 MB per
database per hour.

    python -m bench.recording [--databases 10] [--seconds 30] [--rounds 3]"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.poll_cost import hold, release
from bench.spread import spread
from waltui.collector import ThreadClient
from waltui.config import Config
from waltui.recording.writer import Recorder

BUDGET = {"idle": 2 * 1024, "busy": 4 * 1024 * 1024}
WRITER = """
import sqlite3, sys, time
conns = [sqlite3.connect(p, isolation_level=None) for p in sys.argv[1:]]
for c in conns:
    c.execute("CREATE TABLE IF NOT EXISTS q(x)")
print("ready", flush=True)
while True:
    for c in conns:
        c.execute("INSERT INTO q(state) VALUES (hex(randomblob(50)))")
    time.sleep(0.02)
"""


def record(paths: list[str], out: Path, client_config: Config) -> tuple[Recorder, ThreadClient]:
    recorder = Recorder(str(out), interval=client_config.interval)
    client = ThreadClient(client_config, recorder.batch)
    for path in paths:
        client.attach(path)
    client.start()
    return recorder, client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--databases", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="waltui-bench-recording-"))
    groups = {kind: [str(directory / f"{kind}-{i}.db") for i in range(args.databases)]
              for kind in BUDGET}
    holder = hold(groups["idle"] + groups["busy"])
    writer = subprocess.Popen([sys.executable, "-c", WRITER, *groups["busy"]],
                              stdout=subprocess.PIPE, text=True)
    assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
    per_hour: dict[str, list[float]] = {kind: [] for kind in BUDGET}
    config = Config(interval=1.0)
    try:
        fixed = {}  # a recording closed after its first polls: the schema and first readings
        for kind, paths in groups.items():
            recorder, client = record(paths, directory / f"{kind}-fixed.waltui", config)
            time.sleep(1.5)
            client.stop()
            client.join(10)
            recorder.close()
            fixed[kind] = os.path.getsize(recorder.path)
        for round_ in range(args.rounds):
            running = {kind: record(paths, directory / f"{kind}-{round_}.waltui", config)
                       for kind, paths in groups.items()}
            time.sleep(args.seconds)
            for kind, (recorder, client) in running.items():
                client.stop()
                client.join(10)
                recorder.close()
                grown = os.path.getsize(recorder.path) - fixed[kind]
                per_hour[kind].append(max(grown, 0) / args.databases * 3600 / args.seconds)
    finally:
        writer.kill()
        release(holder)
    print(f"recording, {args.databases} databases a kind, a poll a second, {args.rounds} rounds "
          f"of {args.seconds:g} s; median (min-max) bytes per database per hour")
    print(f"{'databases':<10} {'bytes/db/hour':>28} {'budget':>12} {'within':>7}")
    for kind, values in per_hour.items():
        median = statistics.median(values)
        print(f"{kind:<10} {spread(values, digits=0, sep=','):>28} "
              f"{BUDGET[kind]:>12,} {'yes' if median <= BUDGET[kind] else 'NO':>7}")
    print("fixed cost, a recording closed after its first poll: " +
          ", ".join(f"{kind} {size:,} bytes" for kind, size in fixed.items()) +
          " (not in the rates above)")


if __name__ == "__main__":
    main()
