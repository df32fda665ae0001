"""A real headless Chromium driven over the DevTools protocol (aiohttp's websocket client,
which textual-serve already brings): open a page, read its DOM, draw and press keys, take a
screenshot. Used by tests/test_serve.py on the browser view."""

from __future__ import annotations

import base64
import os
import re
import shutil
import signal
import subprocess
import tempfile
from types import TracebackType
from typing import Any

import aiohttp

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    """`async with Browser() as page:` one tab of a headless Chromium, killed on exit."""

    def __init__(self, width: int = 1280, height: int = 800) -> None:
        self._size = f"--window-size={width},{height}"
        self._calls = 0

    async def __aenter__(self) -> Browser:
        assert CHROMIUM is not None, "chromium is installed by .ci/run"
        # Chromium's helper processes may still be writing the profile as it is removed
        self._profile = tempfile.TemporaryDirectory(ignore_cleanup_errors=True)
        self._process = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--remote-debugging-port=0", f"--user-data-dir={self._profile.name}", self._size,
             "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            start_new_session=True)  # its own group: every helper it starts ends with it
        assert self._process.stderr is not None
        for line in self._process.stderr:  # its first lines say where DevTools listens
            if found := re.search(r"DevTools listening on ws://[^/]+:(\d+)/", line):
                break
        else:
            raise AssertionError("chromium ended without opening DevTools")
        self._session = aiohttp.ClientSession()
        listing = await self._session.get(f"http://127.0.0.1:{found.group(1)}/json/list")
        page = next(t for t in await listing.json() if t["type"] == "page")
        self._ws = await self._session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0)
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self._ws.close()
        await self._session.close()
        try:
            os.killpg(self._process.pid, signal.SIGKILL)  # the browser and its helpers
        except ProcessLookupError:
            pass
        self._process.wait(timeout=30)
        self._profile.cleanup()

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._calls += 1
        mine = self._calls
        await self._ws.send_json({"id": mine, "method": method, "params": params})
        while True:  # events arrive between the answers; only ours is wanted
            message = await self._ws.receive_json()
            if message.get("id") == mine:
                assert "error" not in message, message
                result: dict[str, Any] = message.get("result", {})
                return result

    async def evaluate(self, expression: str) -> Any:
        answer = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return answer["result"].get("value")

    async def key(self, text: str) -> None:
        for kind in ("keyDown", "keyUp"):
            await self.call("Input.dispatchKeyEvent", type=kind, text=text, key=text,
                            unmodifiedText=text)

    async def screenshot(self) -> bytes:
        return base64.b64decode((await self.call("Page.captureScreenshot", format="png"))["data"])
