"""A Python application that leaves a write transaction open inside a function with a
distinctive name, as a worker that forgot to commit would: py-spy must name that function."""

import sqlite3
import sys
import time


def settle_invoices_for_billing_run(path: str) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=wal")
    conn.execute("CREATE TABLE IF NOT EXISTS invoices(id INTEGER PRIMARY KEY, state TEXT)")
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO invoices(state) VALUES ('open')")
    print("ready", flush=True)
    while True:  # the transaction stays open: the bug an operator is looking for
        time.sleep(0.1)


if __name__ == "__main__":
    settle_invoices_for_billing_run(sys.argv[1])
