"""Render screenshots/ from the real app on the real demo workload (seed 7, 80x24).

    python scripts/screenshots.py

Starts the demo's processes, waits until agent-gamma's long reader really pins its WAL and the
starvation finding is raised, then saves SVGs from the running app and converts them to PNG
with rsvg-convert (Debian: librsvg2-bin, fonts-firacode, fonts-symbola), which renders
Textual's SVG faithfully once told to keep its spaces.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import TabbedContent

from waltui.cli.demo import demo_config, start_workload
from waltui.config import Config
from waltui.recording.reader import Recording
from waltui.recording.writer import Recorder
from waltui.ui.app import WaltuiApp
from waltui.ui.widgets.overview_table import OverviewTable

OUT = Path(__file__).resolve().parent.parent / "screenshots"
SIZE = (80, 24)


async def wait_for(pilot: Pilot[Any], condition: Callable[[], object],
                   timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("the demo did not reach the expected state in time")
        await pilot.pause(0.2)


def starving(app: WaltuiApp) -> bool:
    gamma = [u for p, u in app.latest.items() if p.endswith("agent-gamma.db")]
    return bool(gamma and gamma[0].reading.pins and gamma[0].history.polls > 20
                and any(f.code == "checkpoint_starvation" for f in gamma[0].findings))


def saver(app: WaltuiApp, saved: list[Path]) -> Callable[[str], None]:
    def save(name: str) -> None:
        svg = Path(app.save_screenshot(f"{name}.svg", str(OUT)))
        # Without xml:space="preserve" rsvg collapses the &#160; that pads a cell: every
        # span that starts with one is drawn a cell to the left of where the terminal has it.
        svg.write_text(svg.read_text().replace("<svg ", '<svg xml:space="preserve" ', 1))
        saved.append(svg)
    return save


def signal_body(app: WaltuiApp) -> str:
    from textual.widgets import Static

    from waltui.ui.screens.dialogs import ConfirmScreen
    if not isinstance(app.screen, ConfirmScreen):
        return ""
    return str(app.screen.query_one("#confirm-body", Static).render())


async def capture(workload_paths: list[str], recording: Path) -> list[Path]:
    """The live dashboard, recording as it goes (the replay screenshot plays it back)."""
    app = WaltuiApp(workload_paths, demo_config(Config(interval=0.5)),
                    recorder=Recorder(str(recording), interval=0.5), keep_settings=False)
    saved: list[Path] = []
    save = saver(app, saved)

    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: starving(app))
        save("overview")
        table = app.screen.query_one(OverviewTable)
        gamma = next(p for p in app.attached if p.endswith("agent-gamma.db"))
        table.move_cursor(row=table.get_row_index(gamma))
        await pilot.press("enter")
        await pilot.pause(1.5)
        save("detail-locks")
        app.screen.query_one("#tabs", TabbedContent).active = "tab-wal"
        await pilot.pause(6)  # a few more samples on the plot
        save("detail-wal")
        app.screen.query_one("#tabs", TabbedContent).active = "tab-findings"
        await pilot.pause(1)
        save("detail-findings")
        await pilot.press("c")
        await pilot.pause(0.5)
        save("checkpoint-dialog")
        await pilot.press("escape", "k")  # the signal dialog: answered with Esc, never y
        await wait_for(pilot, lambda: "Code: " in signal_body(app))  # py-spy has read it
        save("signal-dialog")
        await pilot.press("escape", "question_mark")
        await pilot.pause(0.5)
        save("help")
        await pilot.press("q")
    return saved


async def capture_replay(recording: Path) -> list[Path]:
    """`waltui replay` of that recording, paused at the first poll that raised a finding."""
    app = WaltuiApp([], Config(), replay=Recording(str(recording)), keep_settings=False)
    saved: list[Path] = []
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space", "right_square_bracket")
        await wait_for(pilot, lambda: any(u.findings for u in app.latest.values()))
        await pilot.pause(0.5)
        saver(app, saved)("replay")
        await pilot.press("q")
    return saved


def main() -> int:
    OUT.mkdir(exist_ok=True)
    workload = start_workload(seed=7)
    recording = Path(tempfile.mkdtemp(prefix="waltui-screenshots-")) / "demo.waltui"
    try:
        svgs = asyncio.run(capture(workload.paths, recording))
    finally:
        workload.stop()
    svgs += asyncio.run(capture_replay(recording))
    converter = shutil.which("rsvg-convert")
    for svg in svgs:
        if converter:
            subprocess.run([converter, "-o", str(svg.with_suffix(".png")), str(svg)], check=True)
        print(svg.with_suffix(".png" if converter else ".svg").relative_to(OUT.parent))
    if not converter:
        print("rsvg-convert not found: SVG only (apt-get install librsvg2-bin fonts-firacode "
              "fonts-symbola)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
