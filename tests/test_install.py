"""Installing as a user does: the built wheel into a fresh venv on the oldest and newest
Pythons the machine has, and the sdist, whose own tests must be able to run."""

from __future__ import annotations

import glob
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import apsw
import pytest

from tests.conftest import waltui_json
from waltui import __version__

ROOT = Path(__file__).parent.parent
pytestmark = [pytest.mark.timeout(900), pytest.mark.system, pytest.mark.slow]


def interpreter(version: str) -> str | None:
    """A Python of that version: on PATH, or among pyenv's builds."""
    found = sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python3")))
    for candidate in [f"/usr/bin/python{version}", *found]:
        if os.path.exists(candidate):
            return candidate
    return None


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out: Path = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", str(out),
                    str(ROOT)], check=True, capture_output=True, timeout=600)
    return out


@pytest.mark.parametrize("version", ["3.10", "3.11", "3.13"])
def test_the_wheel_installs_and_runs_in_a_fresh_venv(dist, tmp_path, version):
    python = interpreter(version)
    if python is None:
        pytest.skip(f"no Python {version} on this machine (pyenv's builds are looked for)")
    venv = tmp_path / "venv"
    subprocess.run([python, "-m", "venv", str(venv)], check=True, timeout=120)
    [wheel] = dist.glob("*.whl")
    install = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(wheel)],
                             capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr[-2000:]
    waltui = str(venv / "bin" / "waltui")
    assert subprocess.run([waltui, "--version"], capture_output=True, text=True,
                          timeout=60).stdout.strip() == f"waltui {__version__}"
    db = tmp_path / "q.db"
    conn = apsw.Connection(str(db))
    conn.execute("PRAGMA journal_mode=wal").fetchall()
    conn.execute("CREATE TABLE t(x)")
    snapshot = subprocess.run([waltui, "snapshot", "--json", str(db)], capture_output=True,
                              text=True, timeout=60)
    conn.close()
    assert snapshot.returncode == 0, snapshot.stderr
    [reading] = waltui_json(snapshot.stdout)["databases"]
    assert reading["journal_mode"] == "wal" and reading["error"] is None
    # The deployment files travel in the wheel: an operator without a checkout has them.
    written = subprocess.run([waltui, "examples", "--write", str(tmp_path / "ex")],
                             capture_output=True, text=True, timeout=60)
    assert written.returncode == 0, written.stderr
    assert (tmp_path / "ex" / "systemd" / "waltui-export.service").is_file()
    assert (tmp_path / "ex" / "prometheus" / "waltui-rules.yml").is_file()


def test_the_sdist_carries_what_its_tests_need_and_they_run(dist, tmp_path):
    [sdist] = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
        archive.extractall(tmp_path, filter="data")
    for needed in ("LICENSE", "tests/conftest.py", "tests/helpers/sqlite_helper.py",
                   "tests/frozen.py", "tests/data/hostile.json",
                   "waltui/schemas/waltui.schema.json", "tests/clients/node/package.json"):
        assert needed in names, needed
    assert any(n.startswith("tests/__snapshots__/") for n in names)
    [source] = tmp_path.glob("waltui-*")
    # The fast tier: no process, terminal or mount, so what it needs is the sdist's files
    # (snapshots, frozen readings, the layer table, the schemas) and nothing else.
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "-m", "not system and not slow"], cwd=source,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:]
    assert " passed" in run.stdout and " failed" not in run.stdout


@pytest.fixture(scope="module")
def installers(tmp_path_factory) -> Path:
    """A venv holding pipx and uv, as a user would have them."""
    home = tmp_path_factory.mktemp("installers")
    subprocess.run([sys.executable, "-m", "venv", str(home / "venv")], check=True, timeout=120)
    subprocess.run([str(home / "venv" / "bin" / "pip"), "install", "-q", "pipx", "uv"],
                   check=True, capture_output=True, timeout=600)
    return Path(home) / "venv" / "bin"


@pytest.mark.parametrize("tool", ["pipx", "uv"])
def test_pipx_and_uv_install_it_as_a_tool(dist, installers, tmp_path, tool):
    [wheel] = dist.glob("*.whl")
    env = {**os.environ, "PIPX_HOME": str(tmp_path / "home"), "PIPX_BIN_DIR": str(tmp_path / "bin"),
           "UV_TOOL_DIR": str(tmp_path / "home"), "UV_TOOL_BIN_DIR": str(tmp_path / "bin")}
    command = [str(installers / "pipx"), "install"] if tool == "pipx" else \
        [str(installers / "uv"), "tool", "install"]
    done = subprocess.run([*command, "--python", sys.executable, str(wheel)], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    version = subprocess.run([str(tmp_path / "bin" / "waltui"), "--version"],
                             capture_output=True, text=True, timeout=60)
    assert version.stdout.strip() == f"waltui {__version__}"
