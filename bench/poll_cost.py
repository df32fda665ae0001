"""Cost of one poll per database: 1, 100 and 1,000 databases, and a small (tens of KB) vs
a 1 GB -wal.

Every database is held open by a real separate process (as in production), so each poll sees
live -shm files and real locks. Prints a table of medians and ratios measured in this one run;
absolute times vary on a shared machine, ratios are what to compare. Target: < 0.5 ms per
database, flat in -wal size. "Full poll" rows open SQLite every poll (every database changed);
"idle" rows are databases with no commit since the last poll, whose SQL values are reused.

    python -m bench.poll_cost [--rounds 7]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from waltui.probes.reading import DatabaseObserver, ObserveOptions, PollContext
from waltui.probes.sqlite import QueueQuery

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


def hold(paths: list[str]) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, *paths],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc


def per_db_ms(paths: list[str], options: ObserveOptions, rounds: int) -> float:
    observers = [DatabaseObserver(p, options) for p in paths]
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        ctx = PollContext.capture()
        for observer in observers:
            observer.read(ctx)
        samples.append((time.perf_counter() - started) * 1000 / len(paths))
    for observer in observers:
        observer.close()
    return statistics.median(samples[1:])  # the first round warms caches


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    rows: list[tuple[str, int, float]] = []
    with tempfile.TemporaryDirectory(prefix="waltui-bench-") as tmp:
        base = Path(tmp)
        for count in (1, 100, 1000):
            paths = [str(base / f"n{count}-{i}.db") for i in range(count)]
            holder = hold(paths)
            try:
                rows.append((f"files+locks+pins, no SQL, {count} db", count,
                             per_db_ms(paths, ObserveOptions(sql=False), args.rounds)))
                rows.append((f"full poll (pragmas + 1 query), {count} db", count,
                             per_db_ms(paths, ALWAYS_SQL, args.rounds)))
                rows.append((f"idle: unchanged since last poll, {count} db", count,
                             per_db_ms(paths, ObserveOptions(queries=(QUERY,)), args.rounds)))
            finally:
                holder.stdin.close()
                holder.wait()
        # the small -wal is whatever the holder's writes left (tens of KB, real frames)
        for label, size in (("small", 0), ("1 GB (sparse)", 1 << 30)):
            path = str(base / f"wal-{size}.db")
            holder = hold([path])
            try:
                os.truncate(f"{path}-wal", max(size, os.stat(f"{path}-wal").st_size))
                wal = os.stat(f"{path}-wal").st_size
                rows.append((f"-wal {label} ({wal:,} B), full poll", 1,
                             per_db_ms([path], ALWAYS_SQL, args.rounds * 5)))
            finally:
                holder.stdin.close()
                holder.wait()
    baseline = rows[0][2]
    print(f"{'scenario':<48} {'ms/db (median)':>15} {'vs first row':>13}")
    for name, _count, ms in rows:
        print(f"{name:<48} {ms:>15.3f} {ms / baseline:>12.2f}x")
    small, large = rows[-2][2], rows[-1][2]
    print(f"\n1 GB -wal / small -wal poll cost ratio: {large / small:.2f}")


if __name__ == "__main__":
    main()
