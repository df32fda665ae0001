"""One demo workload process: a producer, a consumer or a long reader on one agent database.

Run by `waltui demo` as `python -m waltui.cli.demo_agent ROLE DB SEED`. Writers use BEGIN
IMMEDIATE and busy_timeout 5000, as a well-behaved queue should; the `hog` role is the
misbehaving agent that opens a long read transaction every so often.
"""

from __future__ import annotations

import ctypes
import os
import random
import signal
import sys
import time

import apsw

SCHEMA = ("CREATE TABLE IF NOT EXISTS tasks(id INTEGER PRIMARY KEY, payload TEXT NOT NULL, "
          "state TEXT NOT NULL DEFAULT 'pending', claimed_at REAL, done_at REAL)",
          "CREATE INDEX IF NOT EXISTS tasks_state ON tasks(state, id)")
PENDING_SQL = "SELECT count(*) FROM tasks WHERE state = 'pending'"


def die_with_parent() -> None:
    """Linux: SIGTERM when waltui goes away, however it goes."""
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def connect(path: str) -> apsw.Connection:
    conn = apsw.Connection(path)
    conn.set_busy_timeout(5000)
    conn.execute("PRAGMA journal_mode=wal").fetchall()
    conn.execute("PRAGMA synchronous=NORMAL").fetchall()
    return conn


def create(path: str) -> None:
    conn = connect(path)
    for statement in SCHEMA:
        conn.execute(statement)
    conn.close()


def produce(conn: apsw.Connection, rng: random.Random, rate: float) -> None:
    while True:
        with conn:  # BEGIN ... COMMIT; apsw makes it a savepoint-free transaction
            conn.execute("INSERT INTO tasks(payload) VALUES (?)",
                         ("x" * rng.randint(400, 1600),))
        time.sleep(rng.expovariate(rate))


def consume(conn: apsw.Connection, rng: random.Random, rate: float) -> None:
    while True:
        conn.execute("BEGIN IMMEDIATE")
        row = conn.execute("SELECT id FROM tasks WHERE state = 'pending' ORDER BY id LIMIT 1"
                           ).fetchone()
        if row:
            conn.execute("UPDATE tasks SET state = 'done', done_at = ? WHERE id = ?",
                         (time.time(), row[0]))
        conn.execute("COMMIT")
        time.sleep(rng.expovariate(rate))


def hog(conn: apsw.Connection, rng: random.Random, hold: float) -> None:
    """A report that reads inside one long transaction: it pins the WAL while it runs."""
    while True:
        time.sleep(rng.uniform(4, 8))
        conn.execute("BEGIN")
        conn.execute("SELECT count(*), sum(length(payload)) FROM tasks").fetchall()
        time.sleep(rng.uniform(hold * 0.8, hold * 1.2))
        conn.execute("COMMIT")


def main() -> int:
    role, path, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rate = float(sys.argv[4]) if len(sys.argv) > 4 else 20.0
    die_with_parent()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    rng = random.Random(seed)
    conn = connect(path)
    try:
        {"producer": produce, "consumer": consume, "hog": hog}[role](conn, rng, rate)
    except (KeyboardInterrupt, SystemExit):
        pass
    except apsw.Error as exc:
        print(f"demo {role} {os.path.basename(path)}: {exc}", file=sys.stderr)
        return 1
    finally:
        conn.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
