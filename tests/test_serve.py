"""`waltui serve`: the dashboard in a real headless Chromium through textual-serve. The check
that refuses a dashboard without a terminal lets textual-serve's web driver through."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import psutil
import pytest

from tests.helpers.chromium import CHROMIUM, Browser
from tests.test_snapshot_cli import make_wal_db

pytestmark = pytest.mark.system
T = TypeVar("T")

# The xterm text layer is a canvas: what it drew is read as the pixels of its top rows.
DRAWN_ROWS = """(() => {
  const canvas = document.querySelector('canvas.xterm-text-layer');
  if (!canvas || canvas.width === 0) return 0;
  const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, 60).data;
  let drawn = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) drawn++;
  return drawn;
})()"""


async def _more_than(count: Callable[[], Awaitable[int]], least: int) -> bool:
    return await count() > least


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def waltui(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "waltui", *args], capture_output=True,
                          text=True, timeout=60)


def dashboards_of(server: subprocess.Popen[str], db: Path) -> list[psutil.Process]:
    """The dashboard processes the server started for its tabs (not the shell around one)."""
    found = []
    for child in psutil.Process(server.pid).children(recursive=True):
        try:
            line = child.cmdline()
        except psutil.NoSuchProcess:
            continue
        if line[1:4] == ["-m", "waltui", str(db)]:
            found.append(child)
    return found


async def until(what: str, check: Callable[[], Awaitable[T]], timeout: float = 60) -> T:
    deadline = time.monotonic() + timeout
    while not (value := await check()):
        assert time.monotonic() < deadline, f"never {what}"
        await asyncio.sleep(0.3)
    return value


@pytest.mark.skipif(CHROMIUM is None, reason="chromium comes from Debian (.ci/run installs it)")
async def test_a_browser_shows_the_dashboard_and_drives_it(tmp_path):
    db = tmp_path / "agent.db"
    make_wal_db(db)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "waltui", "serve", "--listen",
                               f"127.0.0.1:{port}", str(db)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    try:
        async with Browser() as page:
            async def listening() -> bool:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                except OSError:
                    return server.poll() is not None  # ended: said below
                return True

            await until("the server listening", listening)
            assert server.poll() is None, server.communicate()[1]
            await page.call("Page.navigate", url=f"http://127.0.0.1:{port}/")

            async def loaded() -> bool:
                return bool(await page.evaluate("document.querySelector('.textual-terminal') "
                                                "!== null"))

            await until("the page loaded", loaded)

            async def tab_dashboard() -> list[psutil.Process]:
                return dashboards_of(server, db)

            [dashboard] = await until("a dashboard started for the tab", tab_dashboard)

            async def polling() -> bool:  # its collector has the database open
                family = [dashboard, *dashboard.children(recursive=True)]
                return any(str(db) == f.path for p in family for f in p.open_files())

            await until("the dashboard polled the database", polling)

            async def drawn() -> int:
                return int(await page.evaluate(DRAWN_ROWS) or 0)

            # the title and the table's header drawn on the xterm canvas: thousands of pixels
            await until("the overview drawn in the browser", lambda: _more_than(drawn, 1000))
            shot = await page.screenshot()
            (tmp_path / "browser.png").write_bytes(shot)  # kept with the test's files
            assert shot.startswith(b"\x89PNG") and int.from_bytes(shot[16:20], "big") == 1280
            # A key from the browser reaches the dashboard: it quits.
            await page.evaluate("document.querySelector('.xterm-helper-textarea').focus()")
            await page.key("q")
            dashboard.wait(timeout=30)
            assert not dashboard.is_running()
    finally:
        server.terminate()
        _, err = server.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/" in err and "no authentication" in err


def test_serve_refuses_a_public_address_without_no_auth_and_a_command_with_no_dashboard():
    public = waltui("serve", "--listen", "0.0.0.0:9852", "demo")
    assert public.returncode == 64 and "SSH tunnel" in public.stderr
    assert "Traceback" not in public.stderr
    nothing = waltui("serve")
    assert nothing.returncode == 64 and "say what to show" in nothing.stderr
    wrong = waltui("serve", "snapshot", "x.db")
    assert wrong.returncode == 64 and "has no dashboard to serve" in wrong.stderr
    bad = waltui("serve", "demo", "--interval", "zero")
    assert bad.returncode == 64 and "--interval" in bad.stderr
