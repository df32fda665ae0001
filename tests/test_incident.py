"""The incident screen in a real terminal: four `state.db` in different folders, as an
operator meets them (a sqlite3 shell in BEGIN IMMEDIATE with a worker waiting behind it, a
reader pinning a growing WAL, a healthy queue, an idle one), the real `waltui` in tmux."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import Helper
from tests.test_tmux import WALTUI, Session, tmux

pytestmark = pytest.mark.system

FOLDERS = ("alpha", "beta", "gamma", "delta")
GROWER = """\
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
while True:  # a commit every 50 ms: the pinned WAL keeps growing
    conn.execute("INSERT INTO queue(payload) VALUES ('more')")
    time.sleep(0.05)
"""
CONFIG = """\
[queues]
pending = "SELECT count(*) FROM queue WHERE state = 'pending'"

[thresholds]
write_hold_seconds = 1
starvation_seconds = 1
pin_seconds = 3
"""


@dataclass
class Incident:
    root: Path
    paths: dict[str, Path]
    shell: subprocess.Popen[str]
    waiter: Helper
    reader: Helper
    config: Path

    def command(self, env: str = "TERM=xterm-256color", extra: str = "") -> str:
        paths = " ".join(str(self.paths[f]) for f in FOLDERS)
        return (f"env -u COLORTERM {env} {WALTUI} --config {self.config} {extra} {paths}; "
                "echo WALTUI-EXITED-$?; sleep 30")


@pytest.fixture
def incident(tmp_path, spawn) -> Iterator[Incident]:
    if shutil.which("sqlite3") is None:
        pytest.fail("the sqlite3 shell is one of the real clients (Debian: sqlite3)")
    paths = {}
    for folder in FOLDERS:
        (tmp_path / folder).mkdir()
        paths[folder] = tmp_path / folder / "state.db"
        app = spawn(paths[folder])
        app.do("wal")
        app.do("setup")
        app.do("insert 5")
        if folder == "beta":
            reader = spawn(paths[folder])
            reader.do("begin_read")  # pins the WAL where it is now
            app.do("insert 1200")  # then it grows past 1,000 frames behind the reader
            grower = subprocess.Popen([sys.executable, "-c", GROWER, str(paths[folder])])
        elif folder == "delta":
            app.stop()  # idle: nobody has it open
    shell = subprocess.Popen(["sqlite3", str(paths["alpha"])], stdin=subprocess.PIPE,
                             text=True)
    assert shell.stdin is not None
    shell.stdin.write("BEGIN IMMEDIATE;\nINSERT INTO queue(payload) VALUES ('held');\n")
    shell.stdin.flush()
    waiter = spawn(paths["alpha"], busy_ms=120_000)
    waiter.stdin.write("write_row\n")  # waits in SQLite's busy handler behind the shell
    waiter.stdin.flush()
    config = tmp_path / "waltui.toml"
    config.write_text(CONFIG)
    yield Incident(tmp_path, paths, shell, waiter, reader, config)
    for process in (shell, grower):
        process.kill()
        process.wait()


def lines_of(screen: str) -> list[str]:
    return screen.rstrip("\n").split("\n")


def test_every_surface_names_a_database_by_its_folder(incident):
    """Four state.db: the table, the log, the checkpoint dialog, the detail title and the
    holder's command line all say alpha/state.db, never a bare state.db."""
    session = Session(incident.command())
    try:
        screen = session.shows("Write lock held")  # the finding, in the overview's log
        for folder in FOLDERS:
            assert f"{folder}/state.db" in screen
        log_line = next(line for line in lines_of(screen) if "Write lock held" in line)
        assert "alpha/state.db Write lock held" in log_line
        assert not re.search(r"(^|\s)state\.db", screen)  # never the bare name
        session.keys("c")  # the cursor starts on the first row: alpha
        session.shows("Checkpoint alpha/state.db")
        session.keys("Escape")
        session.gone("Checkpoint alpha/state.db")  # ESC and Enter at once are one key
        session.keys("Enter")
        session.shows("Locks  WAL")
        # The title under the status line names the folder; the screen can be caught half
        # drawn, so it is waited for, and a wrong title still fails at the deadline.
        detail = session.until("alpha/state.db under the status line", lambda shown: len(
            lines_of(shown)) > 1 and lines_of(shown)[1].lstrip().startswith("alpha/state.db"))
        session.until("the holder's command line", lambda shown: "sqlite3 …/alpha/state.db"
                      in shown or f"sqlite3 {incident.paths['alpha']}" in shown)
        assert not re.search(r"(^|\s)state\.db", detail)
    finally:
        session.close()


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 50)])
def test_the_overview_shows_every_column_that_fits_the_configured_queue_first(incident, size):
    """Columns are fitted by what their cells hold, not a guess: at 80 columns the
    configured queue and the writer of the held lock are there, and no line runs past the
    edge; at 120 and wider every column is."""
    session = Session(incident.command(), size=size)
    try:
        screen = session.shows("Write lock held")
        session.shows("starvation")
        screen = session.shows("? help")
        header = next(line for line in lines_of(screen) if line.lstrip().startswith("database"))
        assert "queue" in header and "writer" in header and "health" in header, header
        if size[0] >= 120:
            for label in ("-wal", "pending", "pinned by", "rd", "high", "ckpt"):
                assert label in header, screen
        assert all(len(line) <= size[0] for line in lines_of(screen))
        assert lines_of(screen)[0].rstrip().endswith("? help")
        session.keys("o", "o", "o")  # sort by the third column on screen
        deadline = time.monotonic() + 15
        while " by " not in (status := lines_of(session.screen())[0]):
            assert time.monotonic() < deadline, status
            time.sleep(0.2)
        assert status.rstrip().endswith("? help"), status
    finally:
        session.close()


SGR = re.compile(r"\x1b\[([0-9;]*)m")


def colour_of(escaped_screen: str, word: str) -> set[str]:
    """The SGR codes in force where ``word`` first appears on the screen."""
    at = escaped_screen.index(word)
    codes: set[str] = set()
    for match in SGR.finditer(escaped_screen, 0, at):
        params = match.group(1).split(";")
        if params in ([""], ["0"]):
            codes = set()
        else:
            codes |= set(params)
    return codes


@pytest.mark.parametrize("term", ["screen", "xterm-16color"])
def test_in_16_colours_critical_is_red_and_warning_yellow(incident, term):
    """A truecolor theme's roles fell to the nearest of 16: critical came out grey. In a
    16-colour terminal the dashboard takes the ANSI theme, so the terminal's own red and
    yellow say critical and warning."""
    session = Session(incident.command(env=f"TERM={term}"))
    try:
        session.shows("CRIT starvation", timeout=20)
        session.shows("WARN lock held")
        session.keys("Down", "Down")  # the cursor row has colours of its own: off alpha
        time.sleep(0.5)
        escaped = tmux("capture-pane", "-p", "-e", "-t", session.name)
        assert colour_of(escaped, "CRIT") & {"31", "91"}, colour_of(escaped, "CRIT")
        assert colour_of(escaped, "WARN") & {"33", "93"}, colour_of(escaped, "WARN")
    finally:
        session.close()


def test_a_result_is_on_the_status_line_and_in_the_log_back_on_the_overview(incident):
    """A checkpoint run from the detail view: its result is on the status line there at
    once, and in the overview's log when the operator comes back, not minutes later."""
    session = Session(incident.command())
    try:
        session.shows("gamma/state.db")
        session.keys("Down", "Down", "Enter")  # gamma: the healthy one
        session.shows("Locks  WAL")
        session.keys("c")
        session.shows("Checkpoint gamma/state.db")
        session.keys("Enter")  # PASSIVE
        detail = session.shows("PASSIVE checkpoint")
        assert "gamma/state.db: PASSIVE checkpoint" in lines_of(detail)[0]
        session.keys("Escape")
        overview = session.shows("database ")
        assert any("gamma/state.db PASSIVE checkpoint" in line for line in lines_of(overview))
    finally:
        session.close()


def test_quitting_a_recorded_session_says_what_was_written_and_how_to_play_it(incident):
    recording = incident.root / "incident.waltui"
    session = Session(incident.command(extra=f"--record {recording}"))
    try:
        session.shows("REC")
        session.shows("Write lock held")
        session.keys("q")
        screen = session.shows("WALTUI-EXITED-0", timeout=20)
        said = "".join(screen.split())  # the terminal wraps the long path anywhere
        assert f"pollsto{recording};playthemwith:waltuireplay{recording}" in said
        polls = int(re.search(r"recorded(\d+)polls", said)[1])  # type: ignore[index]
        assert polls >= 1 and recording.exists()
    finally:
        session.close()
