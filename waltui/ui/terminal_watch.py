"""Ending the app when its terminal goes away, so a dropped SSH session leaves nothing behind.

Two ways a terminal is lost, both measured with Textual 8.2.8:
- SIGHUP arrives. Textual's output thread dies on its first write to the closed terminal
  (EIO) and the shutdown then waits on that thread forever: a process left at 0 % CPU,
  demo agents still running. /dev/null takes the terminal's fds first, and a watchdog cleans
  up and exits if the shutdown hangs all the same.
- No SIGHUP comes (setsid, runners that keep the app out of the terminal's foreground
  group). Textual spins on the dead terminal at 70-99 % of a core. A hung-up terminal
  answers tcgetattr with EIO, so it is asked once a second.
SIGTERM quits the ordinary way: the terminal is still there.

Quit always quits: Textual runs thread workers on asyncio's default executor, whose shutdown
joins every thread after the terminal is restored, so an action stuck in the kernel (a hung
mount) would keep the process alive for ever. Every quit arms a hard exit for that case.
"""

from __future__ import annotations

import asyncio
import os
import signal
import termios
import threading
import time
from collections.abc import Callable

from textual.app import App

HARD_EXIT_AFTER_SECONDS = 2.0
QUIT_HARD_EXIT_SECONDS = 3.0


class TerminalWatch:
    def __init__(self, app: App[None], quit_app: Callable[[], None],
                 clean_up: Callable[[], None]) -> None:
        self.app, self.quit_app, self.clean_up = app, quit_app, clean_up
        self.lost = False

    def start(self) -> None:
        try:
            loop = asyncio.get_running_loop()
            loop.add_signal_handler(signal.SIGHUP, self.terminal_gone)
            loop.add_signal_handler(signal.SIGTERM, self.quit_app)
        except (NotImplementedError, RuntimeError):
            pass
        if not self.app.is_headless and os.isatty(0):
            self.app.set_interval(1.0, self._check)

    def _check(self) -> None:
        try:
            termios.tcgetattr(0)
        except termios.error:
            self.terminal_gone()

    def terminal_gone(self) -> None:
        if self.lost:
            return
        self.lost = True
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        self._exit_hard_after(HARD_EXIT_AFTER_SECONDS, 128 + signal.SIGHUP)
        self.quit_app()

    def quitting(self) -> None:
        """Called on every quit: end the process even if a worker thread never returns."""
        if not self.app.is_headless:  # never under a test's Pilot: it would end pytest
            self._exit_hard_after(QUIT_HARD_EXIT_SECONDS, 0)

    def _exit_hard_after(self, seconds: float, code: int) -> None:
        def exit_hard() -> None:
            time.sleep(seconds)
            self.clean_up()
            os._exit(code)

        threading.Thread(target=exit_hard, daemon=True, name="waltui-hard-exit").start()
