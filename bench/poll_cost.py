"""Cost of one poll per database: 1, 100 and 1,000 databases, and a small (tens of KB) vs
a 1 GB -wal.

Every database is held open by a real separate process (as in production), so each poll sees
live -shm files and real locks. Prints medians and spreads of interleaved rounds, beside a
peer measured in the same rounds (the stdlib's sqlite3 opening each database and asking five
pragmas); absolute times vary on a shared machine, ratios are what to compare. Times are
this process's CPU per database, as the issue measured them (the wall time beside them adds
the kernel's sleep in the first /proc/locks read of a while, and the host's noise). Targets:
the SQL part no dearer than that peer, the full poll < 0.5 ms per database, flat in -wal size. "Full
poll" rows open SQLite every poll (every database changed); "idle" rows are databases with
no commit since the last poll, whose reading is repeated.

    python -m bench.poll_cost [--rounds 7]
"""

from __future__ import annotations

import argparse
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from waltui.options import QueueQuery
from waltui.probes.reading import DatabaseObserver, ObserveOptions, PollContext
from waltui.support.heap import tune_collector

HOLDER = """
import apsw, resource, sys, time
resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
conns = []
for path in sys.argv[1:]:
    c = apsw.Connection(path)
    c.execute("PRAGMA journal_mode=wal").fetchall()
    c.execute("PRAGMA wal_autocheckpoint=0").fetchall()
    c.execute("CREATE TABLE IF NOT EXISTS q(id INTEGER PRIMARY KEY, state TEXT)")
    for i in range(20):
        c.execute("INSERT INTO q(state) VALUES ('pending')")
    conns.append(c)
print("ready", flush=True)
sys.stdin.read()
"""
QUERY = QueueQuery("pending", "SELECT count(*) FROM q WHERE state = 'pending'")
# Every poll opens SQLite, as when every database commits between polls: the worst case.
# The holders never write, so with the default the SQL values would be reused ("idle" rows).
ALWAYS_SQL = ObserveOptions(queries=(QUERY,), sql_max_age=0)
NO_SQL = ObserveOptions(sql=False)


def hold(paths: list[str]) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, *paths],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


PEER_PRAGMAS = ("page_count", "freelist_count", "user_version", "application_id",
                "schema_version")


def release(holder: subprocess.Popen[str]) -> None:
    """The holder closes its connections and exits once its stdin closes."""
    if holder.stdin is not None:
        holder.stdin.close()
    holder.wait()


def peer_read(path: str) -> None:
    """The peer the issue set the SQL part against: the stdlib's sqlite3, opening the
    database read-only and asking five pragmas."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    for pragma in PEER_PRAGMAS:
        conn.execute(f"PRAGMA {pragma}").fetchall()
    conn.close()


def observers_cycle(paths: list[str], options: ObserveOptions) -> tuple[Callable[[], None],
                                                                         Callable[[], None]]:
    """(one poll of every database, close): observers kept across rounds, as a collector's."""
    observers = [DatabaseObserver(p, options) for p in paths]

    def cycle() -> None:
        ctx = PollContext.capture()
        for observer in observers:
            observer.read(ctx)

    def close() -> None:
        for observer in observers:
            observer.close()

    for _ in range(2):  # the first poll opens the files, the second is the first to repeat
        cycle()
    return cycle, close


def sql_part_cycle(paths: list[str]) -> tuple[Callable[[], None], Callable[[], None]]:
    """The SQL part alone, as a changed database's poll runs it (check the sidecars, open
    read-only and sandboxed, run the queue query, close): what the issue sets against the
    peer, without the files, locks and pins a poll also reads."""
    observers = [DatabaseObserver(p, ALWAYS_SQL) for p in paths]
    ctx = PollContext.capture()
    readings = [observer.read(ctx) for observer in observers]

    def cycle() -> None:
        for observer, reading in zip(observers, readings, strict=True):
            assert reading.files is not None
            observer.sql.values(reading.files, reading.held_locks, reading.pragmas)

    def close() -> None:
        for observer in observers:
            observer.close()

    return cycle, close


class Sample(NamedTuple):
    cpu_ms: float  # this process's CPU per database: what the issue measured
    wall_ms: float  # with the kernel's sleeps (the first /proc/locks read) and the host's noise


def interleaved(cycles: dict[str, Callable[[], None]], count: int, rounds: int
                ) -> dict[str, list[Sample]]:
    """ms per database of each cycle, round by round in turn: noise hits all alike."""
    samples: dict[str, list[Sample]] = {label: [] for label in cycles}
    for _ in range(rounds):
        for label, cycle in cycles.items():
            cpu, wall = time.process_time(), time.perf_counter()
            cycle()
            samples[label].append(Sample((time.process_time() - cpu) * 1000 / count,
                                         (time.perf_counter() - wall) * 1000 / count))
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    tune_collector()  # the garbage collector's settings of the collector process
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    rows: list[tuple[str, list[Sample]]] = []
    with tempfile.TemporaryDirectory(prefix="waltui-bench-") as tmp:
        base = Path(tmp)
        for count in (1, 100, 1000):
            paths = [str(base / f"n{count}-{i}.db") for i in range(count)]
            holder = hold(paths)
            closers = []
            try:

                def peer_cycle(paths: list[str] = paths) -> None:
                    for path in paths:
                        peer_read(path)

                cycles: dict[str, Callable[[], None]] = {
                    "stdlib sqlite3: open read-only + 5 pragmas (peer)": peer_cycle}
                for label, options in (("full poll (every database changed)", ALWAYS_SQL),
                                       ("idle (no commit since the last poll)",
                                        ObserveOptions(queries=(QUERY,))),
                                       ("files + locks + pins, no SQL", NO_SQL)):
                    cycle, close = observers_cycle(paths, options)
                    cycles[label] = cycle
                    closers.append(close)
                cycles["SQL part alone (no files, locks, pins)"], close = sql_part_cycle(paths)
                closers.append(close)
                for label, values in interleaved(cycles, count, args.rounds).items():
                    rows.append((f"{label}, {count:,} db", values))
            finally:
                for close in closers:
                    close()
                release(holder)
        # the small -wal is whatever the holder's writes left (tens of KB, real frames)
        sized: dict[str, Callable[[], None]] = {}
        holders, closers = [], []
        try:
            for label, size in (("small", 0), ("1 GB (sparse)", 1 << 30)):
                path = str(base / f"wal-{size}.db")
                holders.append(hold([path]))
                os.truncate(f"{path}-wal", max(size, os.stat(f"{path}-wal").st_size))
                wal = os.stat(f"{path}-wal").st_size
                cycle, close = observers_cycle([path], ALWAYS_SQL)
                sized[f"full poll, -wal {label} ({wal:,} B)"] = cycle
                closers.append(close)
            rows += interleaved(sized, 1, args.rounds * 5).items()
        finally:
            for close in closers:
                close()
            for holder in holders:
                release(holder)
    print(f"{'scenario':<58} {'CPU ms/db':>9} {'spread':>13} {'wall ms/db':>10}")
    for name, values in rows:
        cpu = [v.cpu_ms for v in values]
        print(f"{name:<58} {statistics.median(cpu):>9.3f} {min(cpu):>6.3f}-{max(cpu):<6.3f} "
              f"{statistics.median(v.wall_ms for v in values):>10.3f}")
    medians = {name: (statistics.median(v.cpu_ms for v in values),
                      statistics.median(v.wall_ms for v in values)) for name, values in rows}
    print()
    for count in (1, 100, 1000):
        peer = medians[f"stdlib sqlite3: open read-only + 5 pragmas (peer), {count:,} db"]
        part = medians[f"SQL part alone (no files, locks, pins), {count:,} db"]
        print(f"SQL part / peer, {count:,} db: CPU {part[0] / peer[0]:.2f}, "
              f"wall {part[1] / peer[1]:.2f}")
    small, large = (medians[name][0] for name, _ in rows[-2:])
    print(f"\n1 GB -wal / small -wal poll CPU ratio: {large / small:.2f}; interleaved rounds; "
          "one run on this machine (shared): read the ratios")


if __name__ == "__main__":
    main()
