"""`waltui check`: the health rules without the UI, for cron, CI and alerting. Polls as
long as it must to judge; what it prints and its exit code are outputs/check.py's."""

from __future__ import annotations

import signal
import sys
import time

from waltui.collector import Poller, Readings, raise_fd_limit
from waltui.config import Config
from waltui.health.locks import SPAN_SECONDS
from waltui.outputs.check import exit_code, growth_notes, write_check
from waltui.outputs.nagios import UNKNOWN, Limits, unknown_line, verdict
from waltui.probes.culprit import holders_evidence

CONFIRM_PAUSE = 0.5  # seconds before the poll that confirms something seen once


class TimedOut(Exception):
    """-t: the check ran past its time (a plugin must end before its monitor kills it)."""


def run_check(paths: list[str], config: Config, *, output: str, watch_seconds: float,
              limits: Limits | None = None, timeout: float | None = None) -> int:
    if timeout:
        def out_of_time(_signal: int, _frame: object) -> None:
            raise TimedOut

        signal.signal(signal.SIGALRM, out_of_time)
        signal.setitimer(signal.ITIMER_REAL, timeout)
        try:
            return _judge(paths, config, output, watch_seconds, limits)
        except TimedOut:
            said = f"no verdict: check ran past its -t {timeout:g} s"
            if output == "nagios":
                print(unknown_line(said))
            else:
                print(f"waltui: {said}", file=sys.stderr)
            return UNKNOWN
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    return _judge(paths, config, output, watch_seconds, limits)


def _judge(paths: list[str], config: Config, output: str, watch_seconds: float,
           limits: Limits | None) -> int:
    raise_fd_limit()
    poller, readings = Poller(config), Readings()
    for path in paths:
        poller.attach(path)
    try:
        first = time.monotonic()
        deadline = first + watch_seconds
        updates = readings.apply_changes(poller.poll_once())
        # Timed from the first poll's end, not its start: a hold is timed from when a poll
        # saw it, and a poll slowed by a busy host sees it late.
        first_seen = time.monotonic()
        while time.monotonic() + config.interval <= deadline:
            time.sleep(config.interval)
            updates = readings.apply_changes(poller.poll_once())
        # One sample times nothing: a second at least SPAN_SECONDS after the first tells a
        # lock held all along (no commit in between) from a moment's transaction.
        if (waited := first_seen + SPAN_SECONDS - time.monotonic()) > 0 or \
                all(u.history.polls < 2 for u in updates):
            time.sleep(max(0.0, waited))
            updates = readings.apply_changes(poller.poll_once())
        if poller.unconfirmed:  # a finding is raised only when two polls agree
            time.sleep(min(config.interval, CONFIRM_PAUSE))
            updates = readings.apply_changes(poller.poll_once())
    finally:
        poller.close()
    limits = limits or Limits(config.thresholds)
    code = verdict(updates, exit_code(updates), limits)
    # What the writer and the pinning readers of a database with findings are doing, read
    # once at the end (never per poll), for the operator about to act on them
    holders = {u.path: holders_evidence(u.reading) for u in updates if u.findings}
    write_check(updates, code, growth_notes(updates, config.thresholds, config.interval),
                output, limits, holders)
    return code


