"""A real separate process holding a real SQLite connection, driven line by line over stdin.

Commands: wal | autocheckpoint N | rollback | setup | insert N | begin_read | begin_write | write_row | end |
checkpoint MODE | count | sql SQL... | exit. Each answers one JSON line: {"ok": ..., ...}.
Exits when stdin closes, so a dying test never leaves it behind.
"""

import json
import sys

import apsw

path, busy_ms = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 0
conn = apsw.Connection(path)
conn.set_busy_timeout(busy_ms)


def run(cmd: str, args: list[str]) -> object:
    if cmd == "wal":
        conn.execute("PRAGMA journal_mode=wal").fetchall()
        return conn.execute("PRAGMA wal_autocheckpoint=0").fetchall()
    if cmd == "autocheckpoint":
        return conn.execute(f"PRAGMA wal_autocheckpoint={int(args[0])}").fetchall()
    if cmd == "rollback":
        return conn.execute("PRAGMA journal_mode=delete").fetchall()
    if cmd == "setup":
        conn.execute("CREATE TABLE IF NOT EXISTS queue(id INTEGER PRIMARY KEY, "
                     "payload TEXT, state TEXT NOT NULL DEFAULT 'pending')")
        return None
    if cmd == "insert":
        for i in range(int(args[0])):
            conn.execute("INSERT INTO queue(payload) VALUES (?)", (f"job {i}" * 4,))
        return None
    if cmd == "begin_read":
        conn.execute("BEGIN")
        return conn.execute("SELECT count(*) FROM queue").fetchall()[0][0]
    if cmd == "begin_write":
        conn.execute("BEGIN IMMEDIATE")
        return None
    if cmd == "write_row":
        conn.execute("INSERT INTO queue(payload) VALUES ('in txn')")
        return None
    if cmd == "end":
        conn.execute("COMMIT")
        return None
    if cmd == "checkpoint":
        return conn.execute(f"PRAGMA wal_checkpoint({args[0]})").fetchall()[0]
    if cmd == "count":
        return conn.execute("SELECT count(*) FROM queue WHERE state = 'pending'").fetchall()[0][0]
    if cmd == "sql":
        return conn.execute(" ".join(args)).fetchall()
    raise ValueError(f"unknown command {cmd}")


print(json.dumps({"ok": True, "pid": __import__("os").getpid()}), flush=True)
for line in sys.stdin:
    cmd, *args = line.split()
    if cmd == "exit":
        break
    try:
        print(json.dumps({"ok": True, "result": run(cmd, args)}), flush=True)
    except Exception as exc:  # reported to the test, which asserts on it
        print(json.dumps({"ok": False, "error": f"{type(exc).__name__}: {exc}"}), flush=True)
