"""Shared fixtures: real databases and real helper processes that hold real locks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

HELPER = Path(__file__).parent / "helpers" / "sqlite_helper.py"

# A test that uses one of these has a real process, mount, server or install behind it:
# it is in the `system` tier (pytest -m system), out of the fast one (-m "not system").
# Modules whose tests start such things without a fixture say `pytestmark = system`.
SYSTEM_FIXTURES = {
    "spawn", "live_db", "held_write_lock", "pinned_reader", "reader_change", "hostile_reader",
    "crashed", "ofd_writer", "shell_in_begin_immediate", "clients", "node_clients",
    "dstate_binary", "hung_mount", "small_disk", "btrfs_subvolume", "export", "served",
    "installers", "dist", "sleepers", "tls_files",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SYSTEM_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.system)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Iterator[None]:
    """Under CI (.ci/run sets WALTUI_CI), a test skipped for a missing tool, mount or
    interpreter fails instead: CI installs what the tests use, so a skip there is a test
    that silently stopped testing. Elsewhere a skip stays a skip, with its reason."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.skipped and os.environ.get("WALTUI_CI") and isinstance(report.longrepr, tuple):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI, where it must run: {report.longrepr[2]}"


@pytest.fixture(autouse=True)
def own_state_directory(tmp_path_factory, monkeypatch) -> Path:
    """Each test has its own $XDG_STATE_HOME: a sort or theme saved by one test must not
    reach the next, nor the user's own ~/.local/state."""
    state: Path = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    return state


@pytest.fixture(autouse=True)
def truecolor_terminal(monkeypatch) -> None:
    """An app a test starts in this process sees a truecolor terminal, whatever TERM the
    test runner has (xterm or none means 16 colours to Rich, and the dashboard then picks
    the ANSI theme): a test of 16 colours sets textual.constants.COLOR_SYSTEM itself."""
    import textual.constants

    monkeypatch.setattr(textual.constants, "COLOR_SYSTEM", "truecolor")


class Helper:
    """A separate process with its own SQLite connection; each call waits for its answer."""

    def __init__(self, db: Path, busy_ms: int = 0) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HELPER), str(db), str(busy_ms)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin, self.stdout = self.proc.stdin, self.proc.stdout
        self.pid: int = json.loads(self._line())["pid"]

    def _line(self) -> str:
        line = self.stdout.readline()
        if not line:
            raise RuntimeError("helper process died")
        return line

    def do(self, command: str) -> object:
        self.stdin.write(command + "\n")
        self.stdin.flush()
        answer = json.loads(self._line())
        if not answer["ok"]:
            raise RuntimeError(answer["error"])
        return answer["result"]

    def try_do(self, command: str) -> dict[str, Any]:
        self.stdin.write(command + "\n")
        self.stdin.flush()
        answer: dict[str, Any] = json.loads(self._line())
        return answer

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.stdin.close()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def spawn() -> Iterator[Callable[..., Helper]]:
    helpers: list[Helper] = []

    def make(db: Path, busy_ms: int = 0) -> Helper:
        helper = Helper(db, busy_ms)
        helpers.append(helper)
        return helper

    yield make
    for helper in helpers:
        helper.stop()


@pytest.fixture
def live_db(tmp_path: Path, spawn) -> tuple[Path, Helper]:
    """A WAL database kept open by an application process that has written 150 rows."""
    db = tmp_path / "agent.db"
    app = spawn(db)
    app.do("wal")
    app.do("setup")
    app.do("insert 150")
    return db, app


@pytest.fixture
def reader_change(live_db, spawn):
    """One poll's Change of a database with a live reader and held locks (a rich reading),
    through the real Poller."""
    from waltui.collector import Poller
    from waltui.config import Config

    db, app = live_db
    spawn(db).do("begin_read")
    app.do("insert 10")
    poller = Poller(Config())
    poller.attach(str(db))
    try:
        [change] = poller.poll_once()
    finally:
        poller.close()
    assert change.reading.readers and change.reading.held_locks
    return change


def our_locks_on(path: Path) -> list[str]:
    """Locks held by this test process on a file, as /proc/locks lines without their
    ordinal: the "12:" in front moves whenever any other process on the host takes or drops
    a lock, so lines compared across time must not carry it."""
    st = os.stat(path)
    ident = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino} "
    with open("/proc/locks") as handle:
        return sorted(lk.split(":", 1)[1].strip() for lk in handle
                      if ident in lk and f" {os.getpid()} " in lk)


SCHEMA = json.loads((Path(__file__).parent.parent / "waltui" / "schemas" /
                     "waltui.schema.json").read_text())


def waltui_json(text: str) -> dict[str, Any]:
    """waltui's JSON output, parsed and validated against the published schema (every line,
    for NDJSON): a test that reads the JSON also checks the contract."""
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(SCHEMA)
    documents = [json.loads(line) for line in text.splitlines() if line.strip()] \
        if text.lstrip().startswith("{\"kind\": \"reading\"") else [json.loads(text)]
    for each in documents:
        errors = sorted(validator.iter_errors(each), key=lambda e: e.path)
        assert not errors, "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:5])
    document: dict[str, Any] = documents[0] if len(documents) == 1 else {"lines": documents}
    return document
