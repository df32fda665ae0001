"""The shipped deployment files: `waltui examples` lists and copies them, and the real tools
accept them (systemd-analyze verify for the units, promtool for the scrape config)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from waltui.cli.examples import DESCRIPTIONS, EXAMPLES, example_files

SYSTEMD_ANALYZE, PROMTOOL = shutil.which("systemd-analyze"), shutil.which("promtool")


def waltui(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "waltui", *args], capture_output=True,
                          text=True, timeout=60, cwd=cwd)


def test_every_example_is_described_and_listed():
    names = [str(name) for name in example_files()]
    assert sorted(DESCRIPTIONS) == names
    listed = waltui("examples")
    assert listed.returncode == 0
    for name in names:
        assert f"{name}" in listed.stdout and DESCRIPTIONS[name] in listed.stdout


def test_write_copies_every_file_and_never_writes_over_one(tmp_path):
    copied = waltui("examples", "--write", str(tmp_path / "out"))
    assert copied.returncode == 0, copied.stderr
    for name in example_files():
        assert (tmp_path / "out" / name).read_bytes() == (EXAMPLES / name).read_bytes()
    mine = tmp_path / "out" / "systemd" / "waltui-export.service"
    mine.write_text("my own edits")
    again = waltui("examples", "--write", str(tmp_path / "out"))
    assert again.returncode == 73 and "nothing was written" in again.stderr
    assert mine.read_text() == "my own edits"
    assert "Traceback" not in again.stderr


def test_write_into_an_unwritable_place_is_one_line_and_exit_73(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    refused = waltui("examples", "--write", str(blocker / "sub"))
    assert refused.returncode == 73 and refused.stderr.count("\n") == 1, refused.stderr


@pytest.mark.system
@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze comes from Debian's systemd")
@pytest.mark.parametrize("unit", ["waltui-export.service", "waltui-record.service"])
def test_systemd_units_pass_systemd_analyze_verify(tmp_path, unit):
    """verify checks every directive; ExecStart must name an executable that exists, so the
    installed path is replaced by this interpreter's waltui for the check."""
    text = (EXAMPLES / "systemd" / unit).read_text()
    assert "/usr/local/bin/waltui" in text
    waltui_bin = Path(sys.executable).parent / "waltui"
    (tmp_path / unit).write_text(text.replace("/usr/local/bin/waltui", str(waltui_bin)))
    verified = subprocess.run([str(SYSTEMD_ANALYZE), "verify", "--man=no", str(tmp_path / unit)],
                              capture_output=True, text=True, timeout=120)
    assert verified.returncode == 0 and verified.stderr.strip() == "", verified.stderr


@pytest.mark.system
@pytest.mark.skipif(PROMTOOL is None, reason="promtool comes from Debian's prometheus")
def test_the_scrape_config_passes_promtool_with_its_rules(tmp_path):
    for name in ("prometheus.yml", "waltui-rules.yml"):
        shutil.copyfile(EXAMPLES / "prometheus" / name, tmp_path / name)
    checked = subprocess.run([str(PROMTOOL), "check", "config", "prometheus.yml"],
                             cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 12 rules found" in checked.stdout
