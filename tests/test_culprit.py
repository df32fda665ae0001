"""What the culprit is doing, read from /proc when the operator is about to signal it: real
lock holders, a real process blocked on a stopped FUSE mount, a real parent shell, the real
app's dialog at 80x24."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from textual.widgets import Static

from tests.conftest import waltui_json
from tests.narrow import some
from tests.test_hangs import hung_mount  # noqa: F401  (the fixture)
from tests.test_tmux import WALTUI, Session, needs_tmux
from tests.test_ui import FAST, open_screen, sees_writer, wait_for
from waltui.evidence import ProcessEvidence
from waltui.probes.culprit import process_evidence, unit_and_container
from waltui.probes.processes import start_ticks
from waltui.ui.app import WaltuiApp
from waltui.ui.screens.dialogs import ConfirmScreen


def file_ids(db: Path) -> tuple[tuple[int, int], ...]:
    return tuple((st.st_dev, st.st_ino) for st in (os.stat(db), os.stat(f"{db}-shm")))


def back_in_read(pid: int, files: tuple[tuple[int, int], ...] = ()) -> ProcessEvidence:
    """The helper answered and is on its way back to reading its stdin: on a busy host it
    can be caught running for a moment, so that is waited for, with a deadline."""
    deadline = time.monotonic() + 30
    while (evidence := some(process_evidence(pid, some(start_ticks(pid)), files))).syscall \
            != "read":
        assert time.monotonic() < deadline, evidence
        time.sleep(0.05)
    return evidence


@pytest.mark.system
def test_a_holder_is_described_by_its_state_call_descriptors_and_parents(live_db, spawn):
    db, _app = live_db
    holder = spawn(db)
    holder.do("begin_write")
    evidence = back_in_read(holder.pid, file_ids(db))
    assert evidence.state == "sleeping"
    assert evidence.syscall == "read"  # the helper waits on its stdin for the next command
    assert {path for _, path in evidence.fds} == {str(db), f"{db}-shm"}
    assert evidence.parents[0][0] == os.getpid()  # this test started it
    assert evidence.cwd == os.getcwd()
    # Another process's start time: not the one the reading named, so nothing is said of it
    assert process_evidence(holder.pid, some(start_ticks(holder.pid)) + 1) is None


@pytest.mark.system
def test_a_holder_started_by_a_shell_shows_the_chain(tmp_path):
    shell = subprocess.Popen(["bash", "-c", "sleep 60; echo done"], stdout=subprocess.DEVNULL)
    try:
        def child() -> int | None:
            kids = Path(f"/proc/{shell.pid}/task/{shell.pid}/children").read_text().split()
            return int(kids[0]) if kids else None

        deadline = time.monotonic() + 30
        while (pid := child()) is None or \
                some(process_evidence(pid, 0)).syscall not in ("clock_nanosleep", "nanosleep"):
            assert time.monotonic() < deadline  # forked, then exec'd, then asleep
            time.sleep(0.05)
        evidence = some(process_evidence(pid, some(start_ticks(pid))))
        assert evidence.parents[:2] == ((shell.pid, "bash -c sleep 60; echo done"),
                                        (os.getpid(), evidence.parents[1][1]))
        said = "\n".join(evidence.lines())
        assert f"Started by bash -c sleep 60; echo done ({shell.pid}) < " in said
    finally:
        shell.kill()
        shell.wait()


@pytest.mark.system
def test_a_holder_blocked_on_a_stopped_mount_is_waiting_on_storage(hung_mount):  # noqa: F811
    """An open on a FUSE file system whose server is stopped: the system call, the kernel's
    wait for the server, and the evidence says the storage is where to look."""
    remote, hang = hung_mount
    script = ("import os, sys\n"
              "print('ready', flush=True)\n"
              "sys.stdin.readline()\n"
              "os.open(sys.argv[1] + '-journal', os.O_RDONLY)\n")  # a name not looked up yet
    writer = subprocess.Popen([sys.executable, "-c", script, str(remote)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert some(writer.stdout).readline().strip() == "ready"
        hang()
        some(writer.stdin).write("go\n")
        some(writer.stdin).flush()
        deadline = time.monotonic() + 30
        while True:
            evidence = some(process_evidence(writer.pid, some(start_ticks(writer.pid))))
            if evidence.wchan == "request_wait_answer":  # FUSE's wait for its server
                break  # (before it blocks there, the open is on its way: wchan is 0)
            assert time.monotonic() < deadline, evidence
            time.sleep(0.05)
        assert evidence.syscall == "openat", evidence
        assert evidence.waits_on_storage
        assert any("waiting on storage" in line for line in evidence.lines())
    finally:
        writer.kill()


def test_a_holder_in_fsync_on_a_stopped_mount_shows_d_state_and_the_call(hung_mount):  # noqa: F811
    """fsync on a FUSE mount whose server is stopped: the kernel waits for the server, first
    interruptibly (S); once a signal is pending, killably, which /proc shows as D. The
    evidence names the call and the state and points at the storage."""
    remote, hang = hung_mount
    script = ("import os, signal, sys\n"
              "signal.signal(signal.SIGUSR1, lambda *_: None)\n"
              "fd = os.open(sys.argv[1], os.O_RDONLY)\n"
              "print('ready', flush=True)\n"
              "sys.stdin.readline()\n"
              "os.fsync(fd)\n")
    syncer = subprocess.Popen([sys.executable, "-c", script, str(remote)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert some(syncer.stdout).readline().strip() == "ready"
        ticks = some(start_ticks(syncer.pid))
        hang()
        some(syncer.stdin).write("go\n")
        some(syncer.stdin).flush()
        deadline = time.monotonic() + 30
        while ((evidence := some(process_evidence(syncer.pid, ticks))).wchan,
               evidence.state) != ("request_wait_answer", "sleeping"):  # not on its way in
            assert time.monotonic() < deadline, evidence
            time.sleep(0.05)
        assert evidence.syscall == "fsync", evidence
        os.kill(syncer.pid, signal.SIGUSR1)  # pending: FUSE now waits killably
        while (evidence := some(process_evidence(syncer.pid, ticks))).state != "disk-sleep":
            assert time.monotonic() < deadline, evidence
            time.sleep(0.05)
        assert evidence.syscall == "fsync" and evidence.waits_on_storage
        said = " ".join(evidence.lines())
        assert "state disk-sleep, in the system call fsync" in said
        assert "waiting on storage" in said and "Look at the storage" in said
        assert "no signal ends it while that storage does not answer" in said
        # What that sentence rests on: SIGKILL ends FUSE's killable wait, but the process
        # then waits at exit, closing its file (a FLUSH the stopped server never answers)
        syncer.kill()
        with pytest.raises(subprocess.TimeoutExpired):
            syncer.wait(timeout=2)
    finally:
        syncer.kill()  # it ends once the fixture lets the server answer again


@pytest.mark.system
async def test_the_signal_dialog_says_what_the_holder_is_doing_at_80x24(live_db, spawn):
    db, _app = live_db
    holder = spawn(db)
    holder.do("begin_write")
    back_in_read(holder.pid)
    app = WaltuiApp([str(db)], FAST)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, sees_writer(app, db, holder.pid))
        confirm = await open_screen(pilot, "k", ConfirmScreen)
        body = str(confirm.query_one("#confirm-body", Static).render())
        assert re.search(r"Now: state sleeping \(so at every poll for [0-9hms]+\), in the "
                         r"system call read", body), body
        assert f"Started by {sys.executable}" in body or "Started by " in body
        assert "fd " in body and str(db.name) in body
        hint = confirm.query_one("#confirm-hint", Static)
        assert hint.region.height > 0 and hint.region.bottom <= 24  # y/n still on screen
        await pilot.press("escape")


@pytest.mark.parametrize("cgroup, unit, container", [
    ("0::/system.slice/agent-worker.service\n", "agent-worker.service", None),
    ("0::/user.slice/user-1000.slice/user@1000.service/app.slice/agent.service\n",
     "agent.service", None),
    ("0::/user.slice/user-1000.slice/session-4.scope\n", None, None),
    ("12:pids:/docker/3f2a9c1e7b5d0a1b2c3d4e5f\n0::/\n", None, "3f2a9c1e7b5d"),
    ("0::/system.slice/docker-0123456789abcdef0123.scope\n", None, "0123456789ab"),
    ("0::/kubepods.slice/kubepods-pod1.slice/cri-containerd-aabbccddeeff0011.scope\n", None,
     "aabbccddeeff"),
])
def test_the_service_or_container_is_read_from_the_cgroup(cgroup, unit, container):
    assert unit_and_container(cgroup) == (unit, container)


def test_evidence_lines_name_the_unit_that_may_restart_it():
    evidence = ProcessEvidence(pid=7, state="sleeping", syscall="futex", wchan="futex_wait",
                               cwd="/srv/agent", fds=((5, "/srv/agent/q.db"),),
                               parents=((1, "/sbin/init"),), unit="agent.service",
                               container=None)
    said = evidence.lines()
    assert said[0] == "Now: state sleeping, in the system call futex (kernel: futex_wait)."
    assert "Holds the database through fd 5 (/srv/agent/q.db)." in said
    assert any("systemctl status agent.service" in line for line in said)
    assert not evidence.waits_on_storage


def test_a_holder_in_d_state_in_fsync_is_a_storage_problem_and_a_sleeper_is_not():
    base = ProcessEvidence(pid=7, state="sleeping", syscall=None, wchan=None, cwd=None, fds=(),
                           parents=(), unit=None, container=None)
    stuck = replace(base, state="disk-sleep", syscall="fsync", wchan="folio_wait_bit")
    assert stuck.waits_on_storage
    assert any("In D state, no signal ends it" in line for line in stuck.lines())
    idle = replace(base, syscall="clock_nanosleep", wchan="hrtimer_nanosleep")
    assert not idle.waits_on_storage
    assert not any("storage" in line for line in idle.lines())


@pytest.mark.system
def test_check_json_says_what_the_writer_is_doing(live_db, spawn):
    db, _app = live_db
    holder = spawn(db)
    holder.do("begin_write")
    back_in_read(holder.pid)
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "waltui", "check", "--json", "--threshold",
                          "write_hold_seconds=0.2", str(db)], capture_output=True, text=True,
                         timeout=120)
    took = time.monotonic() - started
    [database] = waltui_json(out.stdout)["databases"]  # validated against the schema
    assert "write_lock_held" in {f["code"] for f in database["findings"]}, out.stdout
    [writer] = [h for h in database["holders"] if h["role"] == "writer"]
    assert writer["pid"] == holder.pid and writer["syscall"] == "read"
    assert str(db) in {fd["path"] for fd in writer["fds"]}
    assert writer["parents"][0]["pid"] == os.getpid()
    assert writer["waits_on_storage"] is False
    assert 0 <= writer["state_seconds"] <= took  # seen sleeping at every poll of this run
    text = subprocess.run([sys.executable, "-m", "waltui", "check", "--threshold",
                           "write_hold_seconds=0.2", str(db)], capture_output=True, text=True,
                          timeout=120)
    assert re.search(rf"writer pid {holder.pid}: Now: state sleeping \(so at every poll for "
                     r"[0-9hms]+\), in the system call read", text.stdout), text.stdout


@pytest.fixture
def python_holder(tmp_path):
    db = tmp_path / "billing.db"
    proc = subprocess.Popen([sys.executable, str(Path(__file__).parent / "helpers" /
                                                 "python_holder.py"), str(db)],
                            stdout=subprocess.PIPE, text=True)
    assert some(proc.stdout).readline().strip() == "ready"
    yield db, proc
    proc.kill()
    proc.wait()


@pytest.mark.system
def test_check_names_the_function_that_holds_the_transaction_open(python_holder):
    db, proc = python_holder
    out = subprocess.run([sys.executable, "-m", "waltui", "check", "--json", "--threshold",
                          "write_hold_seconds=0.2", str(db)], capture_output=True, text=True,
                         timeout=120)
    [database] = waltui_json(out.stdout)["databases"]
    [writer] = [h for h in database["holders"] if h["role"] == "writer"]
    assert writer["pid"] == proc.pid
    stack = writer["stack"]
    assert stack["why_not"] is None, stack
    assert stack["where"].startswith("python_holder.py:")
    assert stack["where"].endswith(" settle_invoices_for_billing_run")
    assert stack["frames"][-1]["function"] == "<module>"


@pytest.mark.system
def test_a_recording_keeps_what_the_holder_was_doing_when_the_finding_was_raised(
        python_holder, tmp_path):
    """`record` describes a raised finding's holders once, in its own thread: replay and
    check --from then show the function that held the transaction, as it was then."""
    from waltui.recording.reader import Recording
    db, proc = python_holder
    out = tmp_path / "incident.waltui"
    done = subprocess.run([sys.executable, "-m", "waltui", "record", "--out", str(out),
                           "--for", "3", "--interval", "0.2", "--threshold",
                           "write_hold_seconds=0.2", str(db)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    recording = Recording(str(out))
    try:
        evidence = [e for e in recording.events(0, time.time()) if e.kind == "evidence"]
    finally:
        recording.close()
    assert len(evidence) == 1, evidence  # one raise, one description
    [event] = evidence
    assert event.path == str(db) and event.text.startswith(f"writer pid {proc.pid}: Now: state")
    assert "settle_invoices_for_billing_run" in event.text


@pytest.mark.system
def test_py_spy_is_asked_only_about_processes_that_run_python(python_holder):
    from waltui.probes.stacks import python_stack, runs_python
    _db, proc = python_holder
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        assert runs_python(sleeper.pid) is False and python_stack(sleeper.pid) is None
        assert runs_python(proc.pid) is True
        assert some(python_stack(proc.pid)).where is not None
    finally:
        sleeper.kill()
        sleeper.wait()


@pytest.mark.system
def test_a_process_waltui_may_not_read_gets_the_reason(python_holder):
    """py-spy run as an unprivileged user against another user's process: the reason and
    how to allow it, not an error."""
    _db, proc = python_holder
    script = ("import sys; sys.path.insert(0, sys.argv[2]); "
              "from waltui.probes.stacks import python_stack; "
              "print(python_stack(int(sys.argv[1])).why_not)")
    out = subprocess.run(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
                          sys.executable, "-c", script, str(proc.pid),
                          str(Path(__file__).parent.parent)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("py-spy: permission denied: reading another process needs "
                                 "root, CAP_SYS_PTRACE"), out.stdout


@pytest.mark.system
async def test_the_signal_dialog_names_the_function_once_py_spy_has_read_it(python_holder):
    db, proc = python_holder
    app = WaltuiApp([str(db)], FAST)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, sees_writer(app, db, proc.pid))
        confirm = await open_screen(pilot, "k", ConfirmScreen)
        await wait_for(pilot, lambda: "settle_invoices_for_billing_run" in str(
            confirm.query_one("#confirm-body", Static).render()))
        body = str(confirm.query_one("#confirm-body", Static).render())
        assert "Code: in python_holder.py:" in body
        hint = confirm.query_one("#confirm-hint", Static)
        assert hint.region.height > 0 and hint.region.bottom <= 24  # y/n still on screen
        await pilot.press("escape")
    assert proc.poll() is None  # nothing was sent


@needs_tmux
@pytest.mark.system
def test_the_signal_dialog_in_a_real_terminal_names_the_function(python_holder):
    """The real app in tmux at 80x24: k on the database whose transaction a Python worker
    left open shows that worker's function, and the y/n line, on screen; n sends nothing."""
    db, proc = python_holder
    session = Session(f"env TERM=xterm-256color {WALTUI} {db}")
    try:
        session.shows("billing.db")
        deadline = time.monotonic() + 30
        while "y: send it" not in (screen := session.screen()):  # k before the first poll:
            assert time.monotonic() < deadline, screen  # nothing to offer yet
            session.keys("k")
            time.sleep(0.5)
        screen = session.shows("settle_invoices_for_billing_run", timeout=30, wrapped=True)
        assert f"pid {proc.pid}" in screen and "y: send it" in screen
        session.keys("n")
        session.gone("y: send it")
        assert proc.poll() is None
    finally:
        session.close()
