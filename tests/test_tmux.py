"""The real `waltui` command in a real terminal: tmux at 80x24 with TERM=xterm-256color."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

WALTUI = Path(sys.executable).with_name("waltui")


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, timeout=10).stdout


def screen_shows(session: str, text: str, timeout: float = 15) -> str:
    deadline = time.monotonic() + timeout
    shown = ""
    while time.monotonic() < deadline:
        shown = tmux("capture-pane", "-p", "-t", session)
        if text in shown:
            return shown
        time.sleep(0.2)
    raise AssertionError(f"{text!r} not on screen:\n{shown}")


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is installed by .ci/run")
def test_overview_renders_at_80x24_and_q_exits(live_db):
    db, _app = live_db
    session = f"waltui-{uuid.uuid4().hex[:8]}"
    command = (f"env TERM=xterm-256color {WALTUI} {db}; echo WALTUI-EXITED-$?; sleep 30")
    tmux("new-session", "-d", "-s", session, "-x", "80", "-y", "24", command)
    try:
        screen = screen_shows(session, "agent.db")
        assert "database" in screen and "health" in screen and "pending" in screen
        assert "waltui · 1 database" in screen
        assert all(len(line) <= 80 for line in screen.splitlines())
        screen_shows(session, " ok ")  # the first poll landed
        tmux("send-keys", "-t", session, "q")
        screen_shows(session, "WALTUI-EXITED-0", timeout=5)
    finally:
        tmux("kill-session", "-t", session)
