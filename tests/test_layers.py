"""The layers hold: what reads and judges never imports the UI, the config imports nothing
that reads, and `snapshot`/`check` run without Textual. Each import runs in a fresh
interpreter, so a module imported by an earlier test cannot hide a violation."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

HEADLESS = ["waltui.model", "waltui.options", "waltui.probes.reading", "waltui.probes.locks",
            "waltui.probes.files", "waltui.probes.processes", "waltui.health",
            "waltui.collector", "waltui.collector.child", "waltui.config", "waltui.cli.check",
            "waltui.outputs.report", "waltui.actions.database", "waltui.actions.recovery", "waltui.keys", "waltui.cli.main",
            "waltui.outputs.prometheus", "waltui.exporters.server", "waltui.recording.codec",
            "waltui.recording.writer", "waltui.recording.reader", "waltui.recording.replay",
            "waltui.cli.recording"]


def imported_by(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", f"{code}\nimport sys, json\n"
                          "print(json.dumps(sorted(sys.modules)))"],
                         capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.splitlines()[-1]))


@pytest.mark.parametrize("module", HEADLESS)
def test_headless_layers_never_import_textual_or_rich(module):
    loaded = imported_by(f"import {module}")
    assert {m.split(".")[0] for m in loaded} & {"textual", "rich", "plotext"} == set()


def test_the_contract_sees_a_violation():
    """The check above could pass by looking at nothing."""
    assert "textual" in {m.split(".")[0] for m in imported_by("import waltui.ui.app")}


def test_config_imports_nothing_that_reads():
    loaded = imported_by("import waltui.config")
    assert not [m for m in loaded if m.startswith(("waltui.probes", "waltui.collector",
                                                   "waltui.health", "apsw"))]


def test_snapshot_and_check_run_without_textual(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))  # no config file to read
    db = tmp_path / "q.db"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=wal")
    conn.execute("CREATE TABLE t(x)")
    conn.close()
    for command in (["snapshot", "--json"], ["check"]):
        loaded = imported_by(
            "import contextlib, io\nfrom waltui.cli.main import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            f"    main({[*command, str(db)]!r})")
        assert "waltui.collector" in loaded or "waltui.collector.core" in loaded
        assert {m.split(".")[0] for m in loaded} & {"textual", "rich"} == set(), command
        # Each of these cost `snapshot` 3-9 ms of start-up, and none is needed to poll once:
        # the collector's transport, logging (for a crash), tomllib (without a config file),
        # socket (the host name is os.uname's), difflib (for a mistyped command).
        slow = {"waltui.collector.transport", "logging", "tomllib", "socket", "difflib"}
        assert loaded & slow == set(), command


def test_the_dashboard_paints_before_it_loads_the_probes_rules_actions_or_recordings():
    """Its collector runs in a child process, and actions, recordings and signals wait for
    a key: the first paint imports none of them (together ~60 ms of it)."""
    loaded = imported_by("import waltui.ui.app")
    later = {"apsw", "psutil", "ctypes", "waltui.probes.reading", "waltui.probes.sqlite",
             "waltui.probes.holders", "waltui.actions.signals", "waltui.health",
             "waltui.collector.core", "waltui.collector.loop", "waltui.actions.database",
             "waltui.recording.reader", "waltui.recording.writer", "waltui.recording.replay"}
    assert "textual.app" in loaded and loaded & later == set()


def test_every_import_keeps_to_the_layer_table():
    """Every import in waltui, those inside functions and under TYPE_CHECKING included,
    against pyproject.toml's [tool.waltui.layers]; and apsw connections only where the
    table says."""
    from tests.layers import modules, violations

    found = [line for module, path in modules() for line in violations(module, path.read_text())]
    assert found == []


@pytest.mark.parametrize("module, source, says", [
    ("waltui.probes.example", "from waltui.recording.reader import Recording\n",
     "the probes layer imports waltui.recording.reader"),
    ("waltui.collector.example", "def f():\n    import waltui.ui.app\n",
     "the collector layer imports waltui.ui.app"),
    ("waltui.health.example", "def rule():\n    from textual.app import App\n",
     "the health layer imports textual"),
    ("waltui.outputs.example", "import apsw\nconn = apsw.Connection(':memory:')\n",
     "makes an apsw.Connection"),
    ("waltui.outputs.example", "from apsw import Connection\n", "makes an apsw.Connection"),
    ("waltui.model", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
     "    from waltui.probes.reading import PollContext\n",
     "the base layer imports waltui.probes.reading"),
    ("waltui.ui.example", "from waltui.probes.reading import DatabaseObserver\n",
     "the ui layer imports waltui.probes.reading"),
])
def test_the_table_catches_each_kind_of_violation(module, source, says):
    """The four the issue found passing (a probe importing recording, the collector a UI
    module, Textual inside a rule's function, an apsw.Connection outside its places), and
    a TYPE_CHECKING import and a consumer reaching into the probes."""
    from tests.layers import violations

    found = violations(module, source)
    assert len(found) == 1 and says in found[0], found
