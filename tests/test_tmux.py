"""The real `waltui` command in a real terminal: tmux at 80x24 with TERM=xterm-256color."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.system

WALTUI = Path(sys.executable).with_name("waltui")


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, timeout=10).stdout


def screen_shows(session: str, text: str, timeout: float = 15, wrapped: bool = False) -> str:
    """The screen once it shows ``text``; wrapped: as words, which may wrap across lines."""
    deadline = time.monotonic() + timeout
    shown = ""
    while time.monotonic() < deadline:
        shown = tmux("capture-pane", "-p", "-t", session)
        if text in shown or (wrapped and " ".join(text.split()) in " ".join(shown.split())):
            return shown
        time.sleep(0.2)
    raise AssertionError(f"{text!r} not on screen:\n{shown}")


needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is installed by .ci/run")
SGR = re.compile(r"\x1b\[([0-9;]*)m")
GREYS = {0, 7, 8, 15, 16, 231, *range(232, 256)}


def colours_used(session: str) -> set[str]:
    """Every colour in the SGR codes tmux holds for the pane: '5;N' (256), '2;...' (24-bit),
    or the 16-colour code itself."""
    found: set[str] = set()
    for params in SGR.findall(tmux("capture-pane", "-p", "-e", "-t", session)):
        codes = params.split(";")
        i = 0
        while i < len(codes):
            if codes[i] in ("38", "48") and i + 1 < len(codes):
                width = 3 if codes[i + 1] == "5" else 5
                found.add(";".join(codes[i + 1:i + width]))
                i += width
                continue
            if codes[i] and (30 <= int(codes[i]) <= 37 or 40 <= int(codes[i]) <= 47
                             or 90 <= int(codes[i]) <= 107):
                found.add(codes[i])
            i += 1
    return found


class Session:
    """A detached tmux session (80x24 unless told) running one shell command."""

    def __init__(self, command: str, size: tuple[int, int] = (80, 24)) -> None:
        self.name = f"waltui-{uuid.uuid4().hex[:8]}"
        width, height = size
        # A pane is made 80x24 and then resized: a program started at once can read the
        # first size and miss the change, so it starts once the terminal has its size. And
        # tmux started without a terminal sets COLUMNS=80 LINES=24, which every terminal
        # program (shutil.get_terminal_size) believes over the terminal itself.
        wait = ('unset COLUMNS LINES; '
                f'while [ "$(stty size)" != "{height} {width}" ]; do sleep 0.05; done; ')
        tmux("new-session", "-d", "-s", self.name, "-x", str(width), "-y", str(height),
             wait + command)

    def gone(self, text: str, timeout: float = 15) -> str:
        deadline = time.monotonic() + timeout
        while text in (shown := self.screen()):
            assert time.monotonic() < deadline, f"{text!r} still on screen:\n{shown}"
            time.sleep(0.2)
        return shown

    def until(self, what: str, condition: Callable[[str], bool], timeout: float = 15) -> str:
        """The screen once condition holds: a partly drawn screen is waited out."""
        deadline = time.monotonic() + timeout
        while not condition(shown := self.screen()):
            assert time.monotonic() < deadline, f"never {what}:\n{shown}"
            time.sleep(0.2)
        return shown

    def keys(self, *keys: str) -> None:
        tmux("send-keys", "-t", self.name, *keys)

    def screen(self) -> str:
        return tmux("capture-pane", "-p", "-t", self.name)

    def shows(self, text: str, timeout: float = 15, wrapped: bool = False) -> str:
        return screen_shows(self.name, text, timeout, wrapped)

    def waltui_process(self) -> psutil.Process:
        shell = psutil.Process(int(tmux("display", "-p", "-t", self.name, "#{pane_pid}")))
        return next(p for p in [shell, *shell.children(recursive=True)]  # python3 .../waltui,
                    if p.cmdline()[1:2] == [str(WALTUI)])  # not a shell or setsid naming it

    def close(self) -> None:
        tmux("kill-session", "-t", self.name)


@needs_tmux
@pytest.mark.parametrize("env, palette", [
    ("TERM=xterm-256color", "256"),
    ("TERM=screen", "16"),
    ("TERM=xterm-256color NO_COLOR=1", "grey"),
])
def test_overview_renders_at_80x24_and_q_exits(live_db, env, palette):
    db, _app = live_db
    session = Session(f"env -u COLORTERM {env} {WALTUI} {db}; echo WALTUI-EXITED-$?; sleep 30")
    try:
        screen = session.shows("agent.db")
        assert "database" in screen and "health" in screen and "pending" in screen
        assert "waltui · 1 database" in screen
        assert all(len(line) <= 80 for line in screen.splitlines())
        session.shows(" ok ")  # the first poll landed
        colours = colours_used(session.name)
        if palette == "16":
            assert colours and not any(";" in c for c in colours), colours
        elif palette == "grey":
            indexed = {int(c.split(";")[1]) for c in colours if c.startswith("5;")}
            assert indexed <= GREYS and not any(c.startswith("2;") for c in colours), colours
        else:
            assert any(c.startswith("5;") and int(c[2:]) not in GREYS for c in colours)
        tmux("send-keys", "-t", session.name, "q")
        session.shows("WALTUI-EXITED-0", timeout=5)
    finally:
        session.close()


@needs_tmux
@pytest.mark.parametrize("start", [
    pytest.param("trap '' HUP;", id="SIGHUP-ignored"),
    pytest.param("setsid -w", id="no-SIGHUP-at-all"),
])
def test_a_terminal_that_goes_away_ends_the_process(live_db, start):
    """A dropped SSH session: the terminal closes under the app, nobody presses q. Started
    with SIGHUP ignored (nohup, some job runners), Textual alone keeps running on the dead
    terminal at most of a core: waltui takes SIGHUP back and quits. Started in a session of
    its own (setsid), no SIGHUP comes at all: waltui notices the terminal is gone."""
    db, _app = live_db
    session = Session(f"{start} env TERM=xterm-256color {WALTUI} {db}")
    try:
        session.shows(" ok ")
        process = session.waltui_process()
    finally:
        session.close()
    try:
        process.wait(timeout=5)
    except psutil.TimeoutExpired as gone:
        cpu = process.cpu_percent(interval=0.5)
        process.kill()
        raise AssertionError(f"waltui still ran ({cpu:.0f} % CPU) after its terminal went "
                             "away") from gone


@needs_tmux
def test_a_dropped_session_also_stops_the_demo_workload():
    """The hangup path must clean up like q does: Textual's shutdown used to hang on the
    dead terminal, leaving waltui and every demo agent running."""
    session = Session(f"trap '' HUP; env TERM=xterm-256color {WALTUI} demo")
    try:
        session.shows("agent-gamma.db")
        waltui = session.waltui_process()
        deadline = time.monotonic() + 15
        while len(agents := [p for p in waltui.children() if "waltui.cli.demo_agent" in p.cmdline()]) < 8:
            assert time.monotonic() < deadline, "the demo agents did not start"
            time.sleep(0.2)
        directory = Path(agents[0].cmdline()[-3]).parent
    finally:
        session.close()
    waltui.wait(timeout=8)
    gone, alive = psutil.wait_procs(agents, timeout=5)
    assert not alive and not directory.exists()


@needs_tmux
def test_demo_starts_its_workload_and_quitting_stops_it():
    session = Session(f"env TERM=xterm-256color {WALTUI} demo; echo WALTUI-EXITED-$?; sleep 30")
    try:
        session.shows("agent-gamma.db")
        waltui = session.waltui_process()
        deadline = time.monotonic() + 15
        while not (agents := [p for p in waltui.children() if "waltui.cli.demo_agent" in p.cmdline()]):
            assert time.monotonic() < deadline, "no demo agent started"
            time.sleep(0.2)
        assert len(agents) == 8
        directory = Path(agents[0].cmdline()[-3]).parent
        assert directory.name.startswith("waltui-demo-") and directory.is_dir()
        session.shows("pending")
        assert "agent-alpha.db" in session.shows("agent-beta.db")
        tmux("send-keys", "-t", session.name, "q")
        session.shows("WALTUI-EXITED-0", timeout=10)
        gone, alive = psutil.wait_procs(agents, timeout=5)
        assert not alive and not directory.exists()
    finally:
        session.close()


@needs_tmux
def test_signalling_the_writer_from_the_locks_pane_frees_the_lock(live_db, spawn):
    db, _app = live_db
    holder = spawn(db)
    holder.do("begin_write")
    session = Session(f"env TERM=xterm-256color {WALTUI} --interval 0.5 {db}; sleep 30")
    try:
        session.shows("agent.db")
        tmux("send-keys", "-t", session.name, "Enter")
        session.shows(f"pid {holder.pid}")
        session.shows("holds the write lock", wrapped=True)
        tmux("send-keys", "-t", session.name, "k")
        session.shows(f"Send SIGTERM to pid {holder.pid}")
        tmux("send-keys", "-t", session.name, "y")
        session.shows("writer - ", timeout=10)  # the lock went with the process
        assert holder.proc.wait(timeout=5) == -15
    finally:
        session.close()
