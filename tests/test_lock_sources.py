"""Locks the lock table does not show plainly (wal-facts.md), each made by a real process:
an OFD lock (F_OFD_SETLK), a holder outside waltui's pid namespace (unshare --pid), and a
/proc/locks line the kernel's listing skipped."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import waltui_json
from tests.narrow import some
from waltui.actions.signals import culprit, describe
from waltui.collector import Poller
from waltui.config import Config
from waltui.model import Reading
from waltui.options import LockSourceName

pytestmark = pytest.mark.system

OFD_HOLDER = Path(__file__).parent / "helpers" / "ofd_holder.py"


class OfdHolder:
    def __init__(self, path: Path, byte: int, fork: bool = False) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(OFD_HOLDER), str(path), str(byte), *(["fork"] if fork else [])],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.pids = json.loads(some(self.proc.stdout).readline())["pids"]

    def stop(self) -> None:
        some(self.proc.stdin).close()
        self.proc.wait(timeout=10)


@pytest.fixture
def ofd_writer(live_db):
    """A live WAL database whose write lock (-shm byte 120) is held as an OFD lock by a
    process and the child it forked (both hold the one description)."""
    db, app = live_db
    holder = OfdHolder(Path(f"{db}-shm"), 120, fork=True)
    yield db, app, holder
    holder.stop()


def one_poll(db: Path, lock_source: LockSourceName = "auto") -> Reading:
    poller = Poller(Config(lock_source=lock_source))
    poller.attach(str(db))
    try:
        [change] = poller.poll_once()
    finally:
        poller.close()
    return change.reading


@pytest.mark.parametrize("lock_source", ["proc", "getlk"])
def test_an_ofd_lock_is_given_to_the_processes_that_hold_its_description(ofd_writer,
                                                                        lock_source):
    """/proc/locks and F_GETLK both say pid -1; the holders' fdinfo names them: the writer
    is the process (and its child), never -1, and the dialog says a signal to one of them
    leaves the lock with the other."""
    db, _app, holder = ofd_writer
    reading = one_poll(db, lock_source)
    writers = sorted(h.lock.pid for h in reading.held_locks
                     if h.lock.file == "shm" and h.lock.lock == "write")
    assert writers == sorted(holder.pids)
    assert all(h.lock.ofd for h in reading.held_locks if h.lock.lock == "write")
    assert reading.writer_pid in holder.pids
    held = some(culprit(reading))
    target = describe(reading, held)
    assert not isinstance(target, str)
    assert target.sharers == tuple(p for p in sorted(holder.pids) if p != target.pid)


def test_the_cli_names_the_ofd_holder_and_never_pid_minus_one(ofd_writer):
    db, _app, holder = ofd_writer
    out = subprocess.run([sys.executable, "-m", "waltui", "snapshot", "--json", str(db)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    doc = waltui_json(out.stdout)["databases"][0]
    assert doc["writer_pid"] in holder.pids
    assert {lock["pid"] for lock in doc["locks"] if lock["lock"] == "write"} == set(holder.pids)
    assert all(lock["pid"] != -1 for lock in doc["locks"])


NAMESPACE_POLL = """
import json, sys
from waltui.collector import Poller
from waltui.config import Config
from waltui.actions.signals import culprit, describe
from waltui.units import who
poller = Poller(Config(lock_source=sys.argv[2]))
poller.attach(sys.argv[1])
[change] = poller.poll_once()
reading = change.reading
held = culprit(reading)
print(json.dumps({
    "me": __import__("os").getpid(),
    "locks": [[h.lock.pid, h.lock.file, h.lock.lock, h.lock.ofd] for h in reading.held_locks],
    "writer": reading.writer_pid,
    "writer_named": who(reading.writer_pid, None) if reading.writer_pid is not None else None,
    "culprit": held.lock.pid if held else None,
    "describe": describe(reading, reading.writer) if reading.writer else None,
    "notes": list(reading.notes),
}))
"""


def in_own_pid_namespace(*args: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("unshare") is None:
        pytest.fail("unshare (util-linux) is needed to make a pid namespace")
    return subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", sys.executable, *args],
                          capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).parent.parent)


@pytest.mark.parametrize("lock_source", ["proc", "getlk"])
def test_a_writer_outside_our_pid_namespace_is_held_by_someone_not_nobody(live_db, spawn,
                                                                         lock_source):
    """From inside `unshare --pid --mount-proc`, /proc/locks leaves the writer's locks out
    altogether; F_GETLK still sees them (pid 0). The write lock is held "by a process outside
    this pid namespace", the reading says what cannot be seen, and no signal is offered."""
    db, app = live_db
    holder = spawn(db)
    holder.do("begin_write")
    out = in_own_pid_namespace("-c", NAMESPACE_POLL, str(db), lock_source)
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout)
    assert seen["me"] == 1  # really inside a namespace of its own
    assert seen["writer"] == 0 and seen["writer_named"] == "a process outside this pid namespace"
    assert seen["culprit"] is None and "no process to signal" in seen["describe"]
    assert any("pid namespace of its own" in note for note in seen["notes"])


def test_check_inside_a_pid_namespace_raises_the_held_write_lock(live_db, spawn):
    """The sidecar case: `waltui check` in its own pid namespace beside an application
    holding the write lock. Not a harmless leftover -shm: a held write lock, exit 1."""
    db, app = live_db
    holder = spawn(db)
    holder.do("begin_write")
    out = in_own_pid_namespace("-m", "waltui", "check", "--json", str(db))
    doc = waltui_json(out.stdout)
    codes = {f["code"] for f in doc["databases"][0]["findings"]}
    assert "leftover_shm" not in codes
    assert "write_lock_held" in codes, out.stdout
    assert out.returncode == 1
    [finding] = [f for f in doc["databases"][0]["findings"] if f["code"] == "write_lock_held"]
    assert "outside this pid namespace" in finding["evidence"]


def test_an_ofd_lock_whose_owner_cannot_be_found_is_said_so_and_offers_no_signal(live_db):
    """Inside a pid namespace the OFD holder outside is in no /proc/PID/fdinfo we can read:
    its lock stays "an open file description, owner not found"."""
    db, _app = live_db
    holder = OfdHolder(Path(f"{db}-shm"), 120)
    try:
        out = in_own_pid_namespace("-c", NAMESPACE_POLL, str(db), "proc")
    finally:
        holder.stop()
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout)
    assert [-1, "shm", "write", True] in seen["locks"]
    assert seen["writer_named"] == "an open file description, owner not found"
    assert seen["culprit"] is None and "no process to signal" in seen["describe"]


def test_a_line_the_kernel_listing_skipped_is_confirmed_before_a_lock_is_called_gone(
        live_db, spawn):
    """/proc/locks is handed out ~4 KB at a time from fresh walks: under churn a held lock's
    line can be missing from one read. The next poll is given the real table with the
    writer's line taken out; its holder still lives, so the kernel is asked (F_GETLK) and
    the write lock stays. When the writer really commits, it goes."""
    from waltui.probes.filesystem import MOUNTS
    from waltui.probes.locks import LockTable
    from waltui.probes.reading import DatabaseObserver, PollContext

    db, _app = live_db
    writer = spawn(db)
    writer.do("begin_write")
    observer = DatabaseObserver(str(db))
    try:
        first = observer.read(PollContext(some(LockTable.capture()), MOUNTS.current()))
        assert first.writer_pid == writer.pid
        shm_ino = os.stat(f"{db}-shm").st_ino
        real = Path("/proc/locks").read_bytes().splitlines()
        skipped = b"\n".join(line for line in real
                             if not (f":{shm_ino} 120 120".encode() in line
                                     and f" {writer.pid} ".encode() in line))
        assert len(skipped.splitlines()) == len(real) - 1
        second = observer.read(PollContext(LockTable.parse(skipped), MOUNTS.current()))
        assert second.writer_pid == writer.pid
        writer.do("end")
        third = observer.read(PollContext(LockTable.parse(Path("/proc/locks").read_bytes()),
                                          MOUNTS.current()))
        assert third.writer_pid is None
    finally:
        observer.close()


def test_per_byte_finds_a_reader_that_opened_after_the_openers_were_walked(live_db, spawn):
    """Asked byte by byte, a second reader of a slot another reader holds is invisible to
    F_GETLK; it is found in its fdinfo because its open() of the -shm (inotify) sends the
    next poll to walk /proc for openers again."""
    db, app = live_db
    first = spawn(db)
    first.do("begin_read")
    poller = Poller(Config(lock_source="getlk"))
    poller.attach(str(db))
    try:
        [before] = poller.poll_once()
        assert [r.pid for r in before.reading.readers] == [first.pid]
        second = spawn(db)  # a new process: opens the database after the walk
        second.do("begin_read")  # the same mark, the same slot as the first
        [after] = poller.poll_once()
    finally:
        poller.close()
    assert sorted(r.pid for r in after.reading.readers) == sorted([first.pid, second.pid])
    assert len({r.slot for r in after.reading.readers}) == 1
