"""Findings judged against real client libraries, each in its own processes.

The queues people run (huey, simplebroker, litequeue, persist-queue and Node.js better-sqlite3)
produce and consume with their own defaults; the faults come from the sqlite3 shell and from
better-sqlite3, as in an incident. For each library: a healthy load raises nothing, and each
fault raises the right finding naming the right pid and clears within two polls of its end.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.narrow import some
from waltui.collector import Poller
from waltui.collector.changes import Change
from waltui.config import Config, Thresholds
from waltui.model import Finding

CLIENTS = Path(__file__).parent / "clients"
NODE_DIR = CLIENTS / "node"
HEALTHY_SECONDS = float(os.environ.get("WALTUI_HEALTHY_SECONDS", "20"))
POLL = 0.5
# The table a fault's reader reads, per library (what its users' reports would read).
TABLES = {"huey": "task", "simplebroker": "messages", "litequeue": "Queue",
          "persistqueue": "ack_queue_default", "better-sqlite3": "jobs"}
LIBRARIES = list(TABLES)
# The first test to need better-sqlite3 builds it with npm (~2 minutes on 2 cores), inside
# that test's own time limit.
pytestmark = [pytest.mark.timeout(600), pytest.mark.system, pytest.mark.slow]


class Client:
    """A client process: started, waited for until it prints "ready", ended on request."""

    def __init__(self, argv: list[str]) -> None:
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        line = some(self.proc.stdout).readline()
        if line.strip() != "ready":
            self.proc.kill()
            raise RuntimeError(f"{argv} did not start: {line!r} {some(self.proc.stderr).read()}")
        self.pid = self.proc.pid

    def end(self) -> None:
        """Close stdin: a hold commits, a workload stops."""
        if self.proc.poll() is None:
            some(self.proc.stdin).close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        os.kill(self.pid, signal.SIGKILL)
        self.proc.wait()


class Shell(Client):
    """The sqlite3 command-line shell, driven over stdin like an operator typing."""

    def __init__(self, db: Path, *statements: str) -> None:
        # .timeout: the shell's default busy timeout is 0, so a BEGIN IMMEDIATE racing the
        # library's writer would fail; .bail: a failed statement ends the shell (and the test)
        script = ".timeout 5000\n.bail on\n" + "".join(f"{s};\n" for s in statements) \
            + ".print ready\n"
        self.proc = subprocess.Popen(["sqlite3", str(db)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        some(self.proc.stdin).write(script)
        some(self.proc.stdin).flush()
        while (line := some(self.proc.stdout).readline()) and line.strip() != "ready":
            pass
        if not line:
            raise RuntimeError(f"sqlite3 failed: {some(self.proc.stderr).read()}")
        self.pid = self.proc.pid

    def end(self) -> None:
        if self.proc.poll() is None:
            some(self.proc.stdin).write("COMMIT;\n.quit\n")
            some(self.proc.stdin).close()
            self.proc.wait(timeout=10)


@pytest.fixture(scope="session")
def node_clients() -> Path:
    """better-sqlite3 installed from tests/clients/node/package.json (npm builds it)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail("node and npm are needed for the better-sqlite3 client (.ci/run "
                    "installs them)")
    if not (NODE_DIR / "node_modules" / "better-sqlite3").exists():
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"],
                       cwd=NODE_DIR, check=True, timeout=900)
    return NODE_DIR / "client.js"


@pytest.fixture
def clients(node_clients: Path) -> Iterator[Callable[..., Client]]:
    started: list[Client] = []

    def start(kind: str, *args: str) -> Client:
        if kind == "better-sqlite3":
            client = Client(["node", str(node_clients), *args])
        elif kind == "shell":
            client = Shell(Path(args[0]), *args[1:])
        else:
            client = Client([sys.executable, str(CLIENTS / "workload.py"), kind, *args])
        started.append(client)
        return client

    yield start
    for client in reversed(started):
        client.end()


def database_of(library: str, tmp_path: Path) -> Path:
    folder = tmp_path / library
    folder.mkdir()
    return folder / ("data.db" if library == "persistqueue" else "queue.db")


def start_load(library: str, db: Path, start: Callable[..., Client]) -> list[Client]:
    """A producer and a consumer; returns once the library has made its database in WAL
    mode, so a fault injected next meets the library's schema, not an empty file."""
    workers = [start(library, role, str(db)) for role in ("produce", "consume")]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if db.exists() and db.stat().st_size >= 100 and db.read_bytes()[18:20] == b"\2\2":
            return workers
        time.sleep(0.05)
    raise AssertionError(f"{library} made no WAL database at {db}")


def poller_for(paths: list[Path], **thresholds: Any) -> Poller:
    poller = Poller(Config(thresholds=replace(Thresholds(), **thresholds)))
    for path in paths:
        poller.attach(str(path))
    return poller


def poll_until(poller: Poller, path: Path, wanted: Callable[[Change], bool],
               timeout: float = 20.0) -> Change:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for update in poller.poll_once():
            if update.path == str(path) and wanted(update):
                return update
        time.sleep(POLL)
    raise AssertionError(f"not seen within {timeout} s; last findings: "
                         f"{[f.code for f in poller.states[str(path)].findings]}")


def finding(update: Change, code: str) -> Finding | None:
    return next((f for f in update.findings if f.code == code), None)


def clears_within_two_polls(poller: Poller, path: Path, code: str) -> None:
    for _ in range(2):
        [update] = [u for u in poller.poll_once() if u.path == str(path)]
        time.sleep(POLL)
    assert finding(update, code) is None, f"{code} still raised two polls after its cause"


def test_healthy_loads_raise_nothing(tmp_path, clients):
    """Every library producing and consuming at once, for HEALTHY_SECONDS: no warning and
    no critical, although each poll sees writers and readers come and go."""
    dbs = {library: database_of(library, tmp_path) for library in LIBRARIES}
    workers = {library: start_load(library, db, clients) for library, db in dbs.items()}
    poller = poller_for(list(dbs.values()))
    alarms: dict[str, set[str]] = {library: set() for library in dbs}
    seen_open: dict[str, set[int]] = {library: set() for library in dbs}
    commits: dict[str, set[int]] = {library: set() for library in dbs}
    by_path = {str(db): library for library, db in dbs.items()}
    deadline = time.monotonic() + HEALTHY_SECONDS
    while time.monotonic() < deadline:
        for update in poller.poll_once():
            library = by_path[update.path]
            alarms[library] |= {f"{f.code}: {f.evidence}" for f in update.findings
                                if f.severity != "info"}
            seen_open[library] |= update.reading.open_by
            if update.reading.wal_index is not None:
                commits[library].add(update.reading.wal_index.change_counter)
        time.sleep(POLL)
    for library in dbs:
        pids = {client.pid for client in workers[library]}
        assert pids <= seen_open[library], f"{library}: its processes were not seen"
        assert len(commits[library]) > 3, f"{library}: no load ran"
    assert alarms == {library: set() for library in dbs}


@pytest.mark.parametrize("library", LIBRARIES)
def test_a_long_write_lock_is_named_and_clears(tmp_path, clients, library):
    db = database_of(library, tmp_path)
    workers = start_load(library, db, clients)
    holder = (clients("better-sqlite3", "hold_write", str(db)) if library == "better-sqlite3"
              else clients("shell", str(db), "BEGIN IMMEDIATE"))
    poller = poller_for([db], write_hold_seconds=1.0)
    update = poll_until(poller, db, lambda u: finding(u, "write_lock_held") is not None)
    held = some(finding(update, "write_lock_held"))
    assert f"pid {holder.pid}" in held.title
    assert all(f"pid {w.pid}" in held.evidence for w in workers)  # who is kept waiting
    holder.end()
    clears_within_two_polls(poller, db, "write_lock_held")


@pytest.mark.parametrize("library", LIBRARIES)
def test_a_pinning_reader_is_named_and_clears(tmp_path, clients, library):
    db = database_of(library, tmp_path)
    workers = start_load(library, db, clients)
    table = TABLES[library]
    reader = (clients("better-sqlite3", "hold_read", str(db), table)
              if library == "better-sqlite3"
              else clients("shell", str(db), "BEGIN", f'SELECT count(*) FROM "{table}"'))
    poller = poller_for([db], starvation_seconds=2.0)
    update = poll_until(poller, db, lambda u: finding(u, "checkpoint_starvation") is not None,
                        timeout=40)
    starving = some(finding(update, "checkpoint_starvation"))
    assert f"pid {reader.pid}" in starving.evidence
    for worker in workers:  # caught mid-read by a poll at most: never the one named
        assert f"pid {worker.pid}" not in starving.evidence
    reader.end()
    clears_within_two_polls(poller, db, "checkpoint_starvation")


@pytest.mark.parametrize("library", ["better-sqlite3", "huey"])
def test_a_killed_writer_leaves_no_false_finding(tmp_path, clients, library):
    """kill -9 in the middle of a write: in WAL mode the lock dies with the process and
    nothing is left to report; the load goes on, healthy."""
    db = database_of(library, tmp_path)
    start_load(library, db, clients)
    holder = (clients("better-sqlite3", "hold_write", str(db)) if library == "better-sqlite3"
              else clients("shell", str(db), "BEGIN IMMEDIATE"))
    poller = poller_for([db], write_hold_seconds=1.0)
    poll_until(poller, db, lambda u: finding(u, "write_lock_held") is not None)
    holder.kill()
    clears_within_two_polls(poller, db, "write_lock_held")
    for _ in range(4):
        [update] = poller.poll_once()
        time.sleep(POLL)
    assert [f.code for f in update.findings if f.severity != "info"] == []


@pytest.mark.parametrize("culprit", ["better-sqlite3", "shell"])
def test_a_hot_journal_from_a_killed_rollback_writer(tmp_path, clients, culprit):
    db = tmp_path / "legacy.db"
    if culprit == "better-sqlite3":
        writer = clients("better-sqlite3", "crash_in_rollback", str(db))
    else:
        rows = ",".join(["(printf('%.200c', 'x'))"] * 50)
        writer = clients("shell", str(db), "PRAGMA journal_mode=DELETE",
                         "CREATE TABLE big(x)", *[f"INSERT INTO big VALUES {rows}"] * 60,
                         "PRAGMA cache_size=10", "BEGIN", "UPDATE big SET x = x || x")
    poller = poller_for([db])
    poller.poll_once()
    [update] = poller.poll_once()
    assert finding(update, "hot_journal") is None  # alive and holding RESERVED: not hot
    assert finding(update, "not_wal") is not None
    writer.kill()
    poller.poll_once()
    [update] = poller.poll_once()
    assert some(finding(update, "hot_journal")).severity == "critical"


def test_a_database_opened_through_a_symlink(tmp_path, clients):
    (tmp_path / "real").mkdir()
    (tmp_path / "links").mkdir()
    real, link = tmp_path / "real" / "queue.db", tmp_path / "links" / "queue.db"
    link.symlink_to(real)
    start_load("litequeue", link, clients)
    reader = clients("shell", str(link), "BEGIN", 'SELECT count(*) FROM "Queue"')
    poller = poller_for([link], starvation_seconds=2.0)
    update = poll_until(poller, real, lambda u: finding(u, "checkpoint_starvation") is not None,
                        timeout=40)
    assert f"pid {reader.pid}" in some(finding(update, "checkpoint_starvation")).evidence
    assert some(update.reading.wal_index).max_frame > 1000


def test_a_slot_zero_reader_from_node(tmp_path, clients):
    """A reader that began on a fully checkpointed WAL reads the database file (slot 0) and
    stops every checkpoint: named, and cleared when it ends."""
    db = database_of("better-sqlite3", tmp_path)
    producer = clients("better-sqlite3", "produce", str(db))
    time.sleep(0.3)
    producer.end()
    import apsw
    apsw.Connection(str(db)).execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    reader = clients("better-sqlite3", "hold_read", str(db), "jobs")
    clients("better-sqlite3", "produce", str(db))
    poller = poller_for([db], starvation_seconds=2.0)
    update = poll_until(poller, db, lambda u: finding(u, "checkpoint_starvation") is not None,
                        timeout=40)
    [pin] = update.reading.pins
    assert pin.pid == reader.pid and pin.slot == 0
    assert "read slot 0" in some(finding(update, "checkpoint_starvation")).evidence
    reader.end()
    clears_within_two_polls(poller, db, "checkpoint_starvation")
