"""The command line as a new user meets it: help, typos, config mistakes, exit codes."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from typing import Any

import pytest

from tests.conftest import waltui_json
from tests.test_hostile import CORPUS
from waltui.cli.args import COMMANDS, build_parser
from waltui.support import exits


def waltui(*args: str, env: dict[str, str] | None = None, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "waltui", *args], capture_output=True,
                          text=True, timeout=60, env={**os.environ, **(env or {})}, **kwargs)


def test_main_help_lists_every_command_option_exit_code_and_the_config_path():
    out = waltui("--help")
    assert out.returncode == 0
    for command in COMMANDS:
        for action in build_parser(command)._actions:
            for option in action.option_strings:
                if option not in ("-h", "--help", "--version"):
                    assert option in out.stdout, (command, option)
        assert command in out.stdout
    for code in exits.DESCRIPTIONS:
        assert f"\n  {code} " in out.stdout
    assert "config.toml" in out.stdout and "press ? in the dashboard" in out.stdout


@pytest.mark.parametrize("command", ["snapshot", "check"])
def test_one_shot_commands_offer_no_option_that_means_nothing_there(command):
    text = waltui(command, "--help").stdout
    assert "--read-only" not in text
    if command == "snapshot":
        assert "with --watch" in text  # --interval only with --watch


def test_a_typo_is_caught_before_any_dashboard_starts(tmp_path):
    out_file = tmp_path / "out"
    with open(out_file, "w") as handle:
        out = subprocess.run([sys.executable, "-m", "waltui", "chek", "t.db"], stdout=handle,
                             stderr=subprocess.PIPE, text=True, timeout=30, cwd=tmp_path)
    assert out.returncode == exits.USAGE
    assert "did you mean `waltui check`?" in out.stderr
    assert out_file.read_text() == ""


def test_the_dashboard_refuses_to_run_without_a_terminal(live_db):
    db, _app = live_db
    out = waltui(str(db), stdin=subprocess.DEVNULL)
    assert out.returncode == exits.USAGE and out.stdout == ""
    assert "needs a terminal" in out.stderr and "waltui snapshot" in out.stderr


@pytest.mark.parametrize("text, says", CORPUS["configs"])
def test_every_config_mistake_is_one_line_naming_the_file_and_the_key(tmp_path, live_db, text,
                                                                      says):
    db, _app = live_db
    config = tmp_path / "waltui.toml"
    config.write_text(text + "\n")
    for args in (["check", "--config", str(config), str(db)], ["config", "check", str(config)]):
        out = waltui(*args)
        assert out.returncode == exits.CONFIG, out.stderr
        [line] = out.stderr.splitlines()
        assert str(config) in line and says in line and "Traceback" not in out.stderr


def test_config_check_prints_each_effective_setting_and_where_it_came_from(tmp_path):
    config = tmp_path / "waltui.toml"
    config.write_text("interval = 2.5\n[thresholds]\npin_seconds = 12\n"
                      "[queues]\npending = \"SELECT 1\"\n")
    out = waltui("config", "check", str(config))
    rows = {line.split()[0]: line for line in out.stdout.splitlines()}
    assert out.returncode == 0
    assert "2.5" in rows["interval"] and str(config) in rows["interval"]
    assert "12.0" in rows["thresholds.pin_seconds"] and str(config) in rows["thresholds.pin_seconds"]
    assert rows["read_only"].rstrip().endswith("default")
    assert "SELECT 1" in rows["queues.pending"]


def test_a_crash_exits_70_with_one_line_and_leaves_its_traceback(tmp_path):
    """A headless command (as a service runs it) logs to stderr, which journald keeps; with
    --log-file the traceback goes there and stderr holds the one line; the dashboard, which
    owns the terminal, logs to a file in the state directory."""
    crash = ("import sys, waltui.cli.main as cli\n"
             "def broken(*args, **kwargs): raise RuntimeError('a bug')\n"
             "import waltui.ui.app as app\n"
             "cli.config_check = cli.snapshot = app.run_dashboard = broken\n"
             "sys.exit(cli.main(sys.argv[1:]))\n")
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    db = tmp_path / "q.db"
    db.write_bytes(b"")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", crash, *args], capture_output=True,
                              text=True, timeout=60, env=env)

    out = run("config", "check")
    assert out.returncode == exits.INTERNAL
    *traceback, line = out.stderr.splitlines()
    assert "internal error: RuntimeError: a bug (traceback above, on stderr)" in line
    assert "Traceback" in "\n".join(traceback) and "in broken" in "\n".join(traceback)
    log_file = tmp_path / "mine.log"
    out = run("snapshot", "--log-file", str(log_file), str(db))
    assert out.returncode == exits.INTERNAL
    [line] = out.stderr.splitlines()
    assert f"(traceback in {log_file})" in line
    log = log_file.read_text()
    assert "Traceback" in log and "in broken" in log and "'snapshot'" in log
    assert not (tmp_path / "state").exists()  # neither wrote into the state directory
    # The dashboard: its terminal is Textual's, so a file. On pipes it runs only under a
    # Textual driver that someone named (textual-serve's web driver).
    env["TEXTUAL_DRIVER"] = "textual.drivers.web_driver:WebDriver"
    out = run(str(db))
    assert out.returncode == exits.INTERNAL
    [line] = out.stderr.splitlines()
    assert f"(traceback in {tmp_path / 'state' / 'waltui' / 'waltui.log'})" in line
    assert "in broken" in (tmp_path / "state" / "waltui" / "waltui.log").read_text()


def test_snapshot_watch_streams_one_valid_line_per_database_per_poll(live_db, tmp_path):
    db, _app = live_db
    out = waltui("snapshot", "--watch", "--interval", "0.2", "--count", "3", str(db))
    assert out.returncode == 0
    lines = waltui_json(out.stdout)["lines"]
    assert len(lines) == 3 and {line["path"] for line in lines} == {str(db)}
    assert lines[0]["taken_at"] < lines[-1]["taken_at"] and "findings" in lines[0]


def test_shell_completions_are_generated_from_the_parsers():
    for shell in ("bash", "zsh", "fish"):
        script = waltui("completion", shell).stdout
        assert all(command in script for command in COMMANDS if command)
        for option in ("lock-source", "threshold", "read-only"):
            assert f"--{option}" in script or f"-l {option}" in script, (shell, option)


def needs_shell(name: str) -> str:
    found = shutil.which(name)
    if found is None:  # .ci/run installs bash, zsh and fish: a missing one is a failure
        pytest.fail(f"{name} is not installed; the completion for it cannot be checked")
    return found


def test_bash_completes_commands_choices_and_names_with_spaces(tmp_path):
    """Sourced into a real bash: the choices of --format and --collector, a command from
    its first letters, and a file name with a space kept as one word."""
    needs_shell("bash")
    (tmp_path / "agent one.db").touch()
    script = tmp_path / "waltui.bash"
    script.write_text(waltui("completion", "bash").stdout)
    probe = ("source waltui.bash\n"
             "ask() { COMP_WORDS=(\"$@\"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); "
             "COMPREPLY=(); _waltui; printf '%s|' \"${COMPREPLY[@]}\"; echo; }\n"
             "ask waltui check --format ''\nask waltui ch\nask waltui check agent\n"
             "ask waltui --collector ''\nask waltui export --lock-source g\n")
    out = subprocess.run(["bash", "-c", probe], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["text|json|nagios|", "check|", "agent one.db|",
                                       "process|thread|", "getlk|"]


def test_zsh_completion_parses_and_offers_the_choices():
    needs_shell("zsh")
    script = waltui("completion", "zsh").stdout
    assert subprocess.run(["zsh", "-n"], input=script, text=True).returncode == 0
    assert "'--format[" in script and ":format:(text json nagios)'" in script
    assert ":lock_source:(auto proc getlk)'" in script
    assert "'record:record the databases'\\''" in script  # an apostrophe, quoted


def test_fish_completes_commands_and_choices():
    needs_shell("fish")
    script = waltui("completion", "fish").stdout
    probe = (script + "\ncomplete -C 'waltui check --format '\n"
             "complete -C 'waltui sn'\ncomplete -C 'waltui snapshot --lock-source '\n")
    out = subprocess.run(["fish", "--no-config", "-c", probe], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    offered = [line.split("\t")[0] for line in out.stdout.splitlines()]
    assert offered[:3] == ["json", "nagios", "text"]
    assert "snapshot" in offered and {"auto", "getlk", "proc"} <= set(offered)


def test_a_directory_says_what_it_skipped(tmp_path):
    conn = sqlite3.connect(tmp_path / "queue.db")
    conn.execute("PRAGMA journal_mode=wal")
    conn.execute("CREATE TABLE t(x)")
    conn.close()
    (tmp_path / "README").write_text("notes")
    (tmp_path / "exports").mkdir()
    out = waltui("snapshot", "--json", str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert [d["path"] for d in json.loads(out.stdout)["databases"]] == [
        str(tmp_path / "queue.db")]
    assert out.stderr == (f"waltui: {tmp_path}: 2 files skipped: 1 not SQLite (no \"SQLite "
                          "format 3\" header), 1 directory (not searched)\n")


def test_a_directory_reached_through_links_names_each_database_as_sqlite_would(tmp_path):
    """SQLite resolves every link in a database's path (its -wal and -shm sit beside the
    target); a directory's files resolve their directory once, and a file that is itself a
    link its own way."""
    from waltui.probes.discovery import discover

    real, elsewhere = tmp_path / "real", tmp_path / "elsewhere"
    real.mkdir()
    elsewhere.mkdir()
    (tmp_path / "via").symlink_to(real)
    for db in (real / "a.db", elsewhere / "target.db"):
        sqlite3.connect(db).execute("CREATE TABLE t(x)").connection.close()
    (real / "b.db").symlink_to(elsewhere / "target.db")
    found = discover([str(tmp_path / "via")]).paths
    assert found == [os.path.realpath(real / "a.db"), os.path.realpath(elsewhere / "target.db")]
    assert found == [os.path.realpath(tmp_path / "via" / name) for name in ("a.db", "b.db")]


ODD_CONFIGS = {
    "fifo": None,  # made with mkfifo: it hung for ever at open()
    "zero": None,  # a link to /dev/zero: read without end, MemoryError, exit 70
    "binary": bytes(range(256)) * 4,
    "latin1": "interval = 1  # caf\xe9\n".encode("latin-1"),
    "nested": b"x = " + b"[" * 100_000 + b"]" * 100_000 + b"\n",
    "huge": b"# " + b"x" * (2 << 20) + b"\n",
}
assert set(ODD_CONFIGS) == set(CORPUS["odd_files"])  # the corpus names them, built here


@pytest.mark.parametrize("kind", CORPUS["odd_files"])
def test_an_odd_file_as_config_is_one_line_and_exit_78_in_bounded_time(tmp_path, live_db,
                                                                         kind):
    db, _app = live_db
    config = tmp_path / "waltui.toml"
    if kind == "fifo":
        os.mkfifo(config)
    elif kind == "zero":
        config.symlink_to("/dev/zero")
    else:
        config.write_bytes(ODD_CONFIGS[kind])
    for args in (["check", "--config", str(config), str(db)], ["config", "check", str(config)]):
        out = waltui(*args)
        assert out.returncode == exits.CONFIG, (kind, out.returncode, out.stderr)
        [line] = out.stderr.splitlines()
        assert str(config) in line and "Traceback" not in out.stderr


@pytest.mark.parametrize("kind", ["fifo", "zero", "nested"])
async def test_an_odd_ui_state_file_is_ignored_and_the_dashboard_runs(own_state_directory,
                                                                      live_db, kind):
    from waltui.config import Config
    from waltui.ui.app import WaltuiApp

    state = own_state_directory / "waltui" / "ui.json"
    state.parent.mkdir(parents=True)
    if kind == "fifo":
        os.mkfifo(state)
    elif kind == "zero":
        state.symlink_to("/dev/zero")
    else:
        state.write_text('{"version": 1, "x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    db, _app = live_db
    app = WaltuiApp([str(db)], Config(interval=0.2))
    async with app.run_test(size=(80, 24)) as pilot:
        deadline = time.monotonic() + 10
        while str(db) not in app.latest:
            assert time.monotonic() < deadline
            await pilot.pause(0.05)
        assert app.saved.theme is None


def test_the_man_page_is_generated_from_the_parsers():
    from waltui.cli.manpage import MAN_FILE, manpage

    assert MAN_FILE.read_text() == manpage(), "python -m waltui.cli.manpage"
    for command in COMMANDS:
        for action in build_parser(command)._actions:
            for option in action.option_strings:
                if option not in ("-h", "--help"):
                    assert option.replace("-", "\\-") in manpage(), (command, option)
    for code in exits.DESCRIPTIONS:
        assert f".TP\n\\fB{code}\\fR\n" in manpage()


@pytest.mark.system
@pytest.mark.skipif(shutil.which("groff") is None, reason="groff comes from Debian's groff-base")
def test_the_man_page_renders_without_a_warning():
    from waltui.cli.manpage import MAN_FILE

    rendered = subprocess.run(["groff", "-man", "-ww", "-Tutf8", str(MAN_FILE)],
                              capture_output=True, text=True, timeout=60)
    assert rendered.returncode == 0 and rendered.stderr == "", rendered.stderr
    text = re.sub(r".\x08", "", rendered.stdout)  # overstrike bold and underline
    assert "waltui - a live dashboard" in text and "--lock-source" in text
