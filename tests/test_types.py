"""waltui and its tests type-check under mypy --strict (pyproject.toml's [tool.mypy]; a test
need not annotate its fixtures), and ruff finds nothing: the layers' contracts (a Reading is
frozen, a mixin uses only what AppBase declares) are checked, not trusted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_mypy_strict_finds_nothing():
    out = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "Success: no issues found" in out.stdout


def test_ruff_finds_nothing():
    """The lint rules in [tool.ruff] (pycodestyle, pyflakes, import order, bugbear,
    pyupgrade) over waltui, tests, bench and scripts."""
    out = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
