"""`waltui snapshot` through the real command line: every bad input beside a healthy one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import apsw
import pytest

from tests.conftest import waltui_json
from tests.narrow import some

pytestmark = pytest.mark.system


def snapshot(*args: str, prefix: tuple[str, ...] = ()) -> dict[str, Any]:
    out = subprocess.run(
        [*prefix, sys.executable, "-m", "waltui", "snapshot", "--json", *args],
        capture_output=True, text=True, timeout=60,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    return {Path(d["path"]).name: d for d in waltui_json(out.stdout)["databases"]}


def make_wal_db(path: Path, rows: int = 3) -> None:
    conn = apsw.Connection(str(path))
    conn.execute("PRAGMA journal_mode=wal").fetchall()
    conn.execute("CREATE TABLE t(x)")
    for i in range(rows):
        conn.execute("INSERT INTO t VALUES (?)", (i,))
    conn.close()


def test_each_bad_input_has_its_kind_and_the_healthy_one_is_read(tmp_path):
    make_wal_db(tmp_path / "healthy.db")
    (tmp_path / "emptydir").mkdir()
    (tmp_path / "empty.db").write_bytes(b"")
    (tmp_path / "notes.db").write_text("just some text, not a database\n" * 10)
    header = bytearray((tmp_path / "healthy.db").read_bytes()[:4096])
    header[16:18] = (1000).to_bytes(2, "big")  # not a power of two
    (tmp_path / "badheader.db").write_bytes(bytes(header))
    make_wal_db(tmp_path / "badshm.db")
    (tmp_path / "badshm.db-wal").write_bytes(b"")
    (tmp_path / "badshm.db-shm").write_bytes(os.urandom(32768))
    conn = apsw.Connection(str(tmp_path / "rollback.db"))
    conn.execute("CREATE TABLE t(x)")
    conn.close()
    names = ["healthy.db", "missing.db", "emptydir", "empty.db", "notes.db", "badheader.db",
             "badshm.db", "rollback.db"]
    found = snapshot(*(str(tmp_path / n) for n in names))
    kinds = {name: (entry["error"] or {}).get("kind") for name, entry in found.items()}
    assert kinds == {
        "healthy.db": None, "missing.db": "missing", "emptydir": "is_directory",
        "empty.db": "empty", "notes.db": "not_sqlite", "badheader.db": "corrupt",
        "badshm.db": "corrupt", "rollback.db": "not_wal",
    }
    for name, entry in found.items():
        if entry["error"]:
            assert len(entry["error"]["message"]) > 10, name
    assert "new, empty database" in found["empty.db"]["error"]["message"]
    healthy = found["healthy.db"]
    assert healthy["journal_mode"] == "wal" and healthy["page_size"] == 4096
    assert healthy["pragmas"]["page_count"] == 2
    assert found["rollback.db"]["journal_mode"] == "rollback"
    assert found["rollback.db"]["pragmas"]["page_count"] == 2  # still read
    assert (tmp_path / "badshm.db-shm").stat().st_size == 32768  # never "repaired" by us


def test_permission_denied_is_reported_as_such(tmp_path):
    make_wal_db(tmp_path / "open.db")
    make_wal_db(tmp_path / "secret.db")
    (tmp_path / "secret.db").chmod(0)
    # Root reads anything; without the DAC override capabilities it meets the kernel's check.
    prefix = (("setpriv", "--bounding-set=-dac_override,-dac_read_search", "--")
              if os.geteuid() == 0 else ())
    found = snapshot(str(tmp_path / "open.db"), str(tmp_path / "secret.db"), prefix=prefix)
    assert found["secret.db"]["error"]["kind"] == "permission"
    assert "permission denied" in found["secret.db"]["error"]["message"]
    assert found["open.db"]["error"] is None
    assert found["open.db"]["pragmas"]["page_count"] == 2


def test_directory_argument_finds_databases_by_header_not_extension(tmp_path):
    make_wal_db(tmp_path / "queue.data")
    (tmp_path / "readme.db").write_text("not a database")
    found = snapshot(str(tmp_path))
    assert list(found) == ["queue.data"]


def test_text_output_and_usage_without_paths(tmp_path):
    make_wal_db(tmp_path / "a.db")
    (tmp_path / "notes.txt").write_text("not a database\n")
    out = subprocess.run([sys.executable, "-m", "waltui", "snapshot", str(tmp_path / "a.db"),
                          str(tmp_path / "notes.txt")], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "mode wal, page size 4096" in out.stdout
    assert "error: not_sqlite: not an SQLite database" in out.stdout
    assert "None" not in out.stdout  # a file with no header has no mode to print
    bare = subprocess.run([sys.executable, "-m", "waltui"], capture_output=True, text=True,
                          timeout=60)
    assert bare.returncode == 64 and "usage: waltui [OPTIONS] PATH" in bare.stderr


def test_a_reader_that_goes_away_and_ctrl_c_end_quietly(tmp_path):
    """`waltui snapshot --json | head` and Ctrl-C during `check --for`: an exit status, a
    plain line at most, never a traceback."""
    for i in range(60):  # more JSON than a pipe buffer holds
        make_wal_db(tmp_path / f"agent-{i:02d}.db")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    reader = subprocess.Popen([sys.executable, "-m", "waltui", "snapshot", "--json",
                               str(tmp_path)], cwd=root, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
    assert some(reader.stdout).read(9) == b'{\n  "kind'
    some(reader.stdout).close()  # as head does once it has its lines
    assert reader.wait(timeout=30) == 141
    assert some(reader.stderr).read() == b""
    # SIGINT as a terminal's Ctrl-C has it: a suite started in the background (`&`) runs
    # with SIGINT ignored, and Python then keeps it ignored in every child it starts.
    keeper = apsw.Connection(str(tmp_path / "agent-00.db"))
    keeper.execute("SELECT count(*) FROM t").fetchall()  # its -wal and -shm stay
    watcher = subprocess.Popen([sys.executable, "-m", "waltui", "check", "--for", "30",
                                str(tmp_path / "agent-00.db")], cwd=root,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    shm = str(tmp_path / "agent-00.db-shm")  # kept by our connection; the poller keeps an fd

    def polling() -> bool:
        fds = f"/proc/{watcher.pid}/fd"
        return any(os.path.realpath(f"{fds}/{fd}") == shm for fd in os.listdir(fds))

    deadline = time.monotonic() + 60
    while not polling():
        assert time.monotonic() < deadline and watcher.poll() is None
        time.sleep(0.05)
    watcher.send_signal(signal.SIGINT)
    assert watcher.wait(timeout=10) == 130
    assert some(watcher.stderr).read() == "waltui: interrupted\n"
    keeper.close()


def test_a_one_shot_command_that_ends_at_once_still_leaves_its_output_and_its_log(tmp_path):
    """snapshot and check end without the interpreter's teardown (launch.end_now): what they
    wrote to a pipe and to the --debug log is all there."""
    for i in range(40):  # JSON larger than stdout's buffer
        make_wal_db(tmp_path / f"agent-{i:02d}.db")
    state = tmp_path / "state"
    buffered = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    log_file = tmp_path / "debug.log"
    out = subprocess.run([sys.executable, "-m", "waltui", "snapshot", "--json", "--debug",
                          "--log-file", str(log_file), str(tmp_path)], capture_output=True,
                         text=True, timeout=60, env={**buffered, "XDG_STATE_HOME": str(state)})
    assert out.returncode == 0, out.stderr
    assert len(out.stdout) > 8192 and len(waltui_json(out.stdout)["databases"]) == 40
    log = log_file.read_text()
    assert "DEBUG waltui" in log and "'--debug'" in log
