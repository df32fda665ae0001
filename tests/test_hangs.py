"""Nothing outside can hang waltui: a FIFO put in a file's place, a mount that stops answering.

The hung mount is real: tests/helpers/stallfs.py is a FUSE filesystem, and SIGSTOP on its
server makes every call under the mount block in the kernel, as a dead NFS server does.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import apsw
import pytest

from tests.conftest import waltui_json
from tests.narrow import some
from tests.test_tmux import WALTUI, Session, needs_tmux, tmux
from waltui.actions.database import IntegrityRun, read_pragma_panel

pytestmark = [pytest.mark.system, pytest.mark.slow]

HELPERS = Path(__file__).parent / "helpers"


def make_database(path: Path) -> None:
    conn = apsw.Connection(str(path))
    conn.execute("PRAGMA journal_mode=wal").fetchall()
    conn.execute("CREATE TABLE t(x)")
    conn.execute("INSERT INTO t VALUES (1)")
    conn.close()


def run_waltui(*args: str, timeout: float = 20) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "waltui", *args], capture_output=True,
                         text=True, timeout=timeout)
    return out, time.monotonic() - started


def test_a_fifo_in_place_of_the_shm_is_refused_not_opened(tmp_path):
    trapped, healthy = tmp_path / "trapped.db", tmp_path / "healthy.db"
    make_database(trapped)
    make_database(healthy)
    os.mkfifo(f"{trapped}-shm")
    out, took = run_waltui("check", "--json", str(trapped), str(healthy))
    report = {Path(d["path"]).name: d for d in waltui_json(out.stdout)["databases"]}
    assert took < 10
    assert report["trapped.db"]["error"]["kind"] == "not_regular"
    assert "FIFO" in report["trapped.db"]["error"]["message"]
    assert report["healthy.db"]["error"] is None and out.returncode == 3
    with pytest.raises(apsw.CantOpenError, match="FIFO"):
        read_pragma_panel(str(trapped))  # what `p` runs: refused before SQLite opens
    assert IntegrityRun(str(trapped)).run()[0] == "error"  # what `i` runs


def test_a_fifo_in_place_of_a_live_wal_databases_journal_is_not_opened(live_db):
    """A poll stats a WAL database's db, -wal and -shm, not its -journal; SQLite's open
    looks for a hot journal there and would block opening a FIFO. The SQL part stats the
    -journal itself before it opens anything."""
    db, _app = live_db
    os.mkfifo(f"{db}-journal")
    out, took = run_waltui("check", "--json", "--queue",
                           "pending=SELECT count(*) FROM queue", str(db))
    [report] = waltui_json(out.stdout)["databases"]
    assert took < 10
    assert report["error"]["kind"] == "io" and "-journal is a FIFO" in report["error"]["message"]


@pytest.fixture
def hung_mount(tmp_path):
    """A database on a real FUSE mount, and a function that hangs the mount."""
    if not os.path.exists("/dev/fuse") or shutil.which("fusermount") is None:
        pytest.fail("FUSE is needed (/dev/fuse and fusermount; .ci/run installs fuse)")
    source, mountpoint = tmp_path / "source", tmp_path / "mnt"
    source.mkdir()
    mountpoint.mkdir()
    make_database(source / "remote.db")
    server = subprocess.Popen([sys.executable, str(HELPERS / "stallfs.py"), str(source),
                               str(mountpoint)], stdout=subprocess.PIPE, text=True)
    assert some(server.stdout).readline().strip() == "ready"
    yield mountpoint / "remote.db", lambda: os.kill(server.pid, signal.SIGSTOP)
    os.kill(server.pid, signal.SIGCONT)
    subprocess.run(["fusermount", "-u", "-z", str(mountpoint)], timeout=10)
    server.terminate()
    server.wait(timeout=10)


def test_a_hung_mount_costs_only_its_own_database(tmp_path, hung_mount):
    remote, hang = hung_mount
    healthy = tmp_path / "healthy.db"
    make_database(healthy)
    out, _ = run_waltui("check", "--json", str(remote), str(healthy))
    assert waltui_json(out.stdout)["databases"][0]["error"] is None  # it works while it answers
    hang()
    for command in (["check", "--json"], ["snapshot", "--json"]):
        out, took = run_waltui(*command, str(remote), str(healthy))
        report = {Path(d["path"]).name: d for d in waltui_json(out.stdout)["databases"]}
        assert took < 10, f"{command} took {took:.1f} s"
        assert report["remote.db"]["error"]["kind"] == "stuck"
        assert "has not answered" in report["remote.db"]["error"]["message"]
        assert report["healthy.db"]["error"] is None


def test_recordings_and_textfiles_on_a_hung_mount_are_a_line_not_a_hang(tmp_path, hung_mount):
    remote, hang = hung_mount
    healthy = tmp_path / "healthy.db"
    make_database(healthy)
    hang()
    where = remote.parent
    for command, code, said in (
            (["record", "--out", str(where / "r.waltui"), "--for", "1", str(healthy)], 73,
             "does not answer"),
            (["check", "--from", str(where / "old.waltui")], 65, "does not answer"),
            (["snapshot", "--textfile", str(where), str(healthy)], 73, "does not answer")):
        out, took = run_waltui(*command)
        assert took < 10, f"{command} took {took:.1f} s"
        assert out.returncode == code and said in out.stderr, (command, out.stderr)


@needs_tmux
def test_quit_quits_while_a_read_is_stuck_on_a_hung_mount(hung_mount):
    """The poll's read and the pragma panel's worker both block in the kernel on the hung
    mount; q still ends the process, and it is reaped (no fd on the mount is kept, so no
    FLUSH waits at exit)."""
    remote, hang = hung_mount
    session = Session(f"env TERM=xterm-256color {WALTUI} {remote}; echo WALTUI-EXITED-$?; "
                      "sleep 30")
    try:
        session.shows("remote.db")
        session.shows("WARN network fs")  # the first poll landed (FUSE is flagged)
        hang()
        tmux("send-keys", "-t", session.name, "p")  # opened before the poll knows: blocks
        session.shows("Pragmas of remote.db")
        time.sleep(1)
        tmux("send-keys", "-t", session.name, "Escape")
        time.sleep(1)
        screen = session.shows("has not answered")  # the poll gave up on it and says so
        time.sleep(2)
        events = tmux("capture-pane", "-p", "-t", session.name).count("has not answered")
        assert events == 1, screen  # one event while it lasts, not one every poll
        tmux("send-keys", "-t", session.name, "i")  # refused: nothing more is opened there
        session.shows("not opened")
        tmux("send-keys", "-t", session.name, "q")
        session.shows("WALTUI-EXITED-0", timeout=8)
    finally:
        session.close()


def test_who_has_a_file_open_is_found_while_a_mount_on_the_host_hangs(hung_mount):
    """Finding who has a database open walks every process's descriptors. A process with a
    file open on a hung mount must neither stop the walk (a stat() of its descriptor waits
    for the stopped server) nor be missed: /proc names its file by mount and inode."""
    remote, hang = hung_mount
    st = os.stat(remote)
    # O_PATH: its close sends the stopped server nothing, so the holder can end in teardown
    holder = subprocess.Popen([sys.executable, "-c", "import os, sys; fd = os.open(sys.argv[1], "
                               "os.O_PATH); print(fd, flush=True); sys.stdin.read()",
                               str(remote)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        fd = int(some(holder.stdout).readline())
        hang()
        time.sleep(1.5)  # past FUSE's attribute cache (1 s): a stat() would ask the server
        walk = ("import sys; from waltui.probes.holders import scan_openers_by_inode\n"
                "from waltui.probes.fd_files import opened_names\n"
                f"print(scan_openers_by_inode({{{st.st_ino}}}))\n"
                f"print(opened_names({holder.pid}, [({st.st_dev}, {st.st_ino})]))\n")
        out = subprocess.run([sys.executable, "-c", walk], capture_output=True, text=True,
                             timeout=20)
        assert out.returncode == 0, out.stderr
        openers, names = out.stdout.splitlines()
        assert f"({st.st_dev}, {st.st_ino}): {{{holder.pid}: ({fd},)" in openers
        assert names == f"[({fd}, '{remote}')]"
    finally:
        holder.kill()
        holder.wait(timeout=10)
