"""`waltui record`, `replay`, `snapshot --at` and `check --from`: the command-line side of
recordings. Textual is imported only by replay."""

from __future__ import annotations

import re
import signal
import sys
import threading
import time
from datetime import datetime
from typing import TYPE_CHECKING

from waltui.collector import ThreadClient, Update, raise_fd_limit
from waltui.config import Config
from waltui.history import ChartHistory
from waltui.model import Finding
from waltui.recording.reader import Recording
from waltui.recording.schema import RecordingError
from waltui.recording.writer import create_recorder
from waltui.support import exits
from waltui.support.deadline import within_deadline
from waltui.units import visible

if TYPE_CHECKING:
    from waltui.outputs.nagios import Limits

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """30, 30s, 10m, 1h30m."""
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parts = re.findall(r"(\d+(?:\.\d+)?)([smhd])", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"{text!r} is not a duration (like 90, 30s, 10m or 1h30m)")
    return sum(float(n) * _UNITS[u] for n, u in parts)


def parse_when(text: str, recording: Recording) -> float:
    """An ISO time (local unless it says its zone), a Unix time, or +DURATION from the
    recording's first poll."""
    if text.startswith("+"):
        start = recording.polls[0].taken_at if recording.polls else 0.0
        return start + parse_duration(text[1:])
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError as exc:
        raise ValueError(f"--at {text!r}: give an ISO time (2026-11-25T23:50:00), a Unix "
                         "time, or +DURATION from the start (+90s)") from exc


def run_record(paths: list[str], config: Config, *, out: str, seconds: float | None,
               ) -> int:
    raise_fd_limit()
    try:
        from waltui.probes.culprit import holders_evidence
        recorder = create_recorder(out, interval=config.interval, describe=holders_evidence)
    except RecordingError as exc:
        print(f"waltui record: {exc}", file=sys.stderr)
        return exits.CANNOT_CREATE
    done = threading.Event()

    def failed(text: str) -> None:
        print(f"waltui record: {text}", file=sys.stderr, flush=True)
        done.set()

    recorder.on_failure = failed
    client = ThreadClient(config, recorder.batch,
                          lambda severity, text: recorder.event("", "notice", text))
    for path in paths:
        client.attach(path)
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    print(f"waltui record: {len(paths)} database(s) every {config.interval:g} s into "
          f"{visible(out)}" + (f" for {seconds:g} s" if seconds else " until Ctrl-C") +
          " (WAL while recording, so `waltui replay` can read it as it grows; one file "
          "when done)", file=sys.stderr, flush=True)
    client.start()
    try:
        done.wait(seconds)
    except KeyboardInterrupt:
        pass
    client.stop()
    client.join(10)
    recorder.close()
    print(f"waltui record: {recorder.polls_written} poll(s) stored of {recorder.cycles} "
          f"(polls where nothing changed are not stored) in {visible(out)}",
          file=sys.stderr)
    return exits.IO_ERROR if recorder.failed else exits.OK


def open_recording(path: str) -> Recording | None:
    """Opened under a deadline: a recording on a hung mount is a line, not a hang."""
    try:
        recording = within_deadline(lambda: Recording(path), None)
        if recording is None:
            raise RecordingError(f"{visible(path)}: its filesystem does not answer")
        return recording
    except RecordingError as exc:
        print(f"waltui: {exc}", file=sys.stderr)
        return None


def run_replay(path: str, config: Config) -> int:
    recording = open_recording(path)
    if recording is None:
        return exits.DATA_ERROR
    from waltui.ui.app import run_dashboard

    try:
        code = run_dashboard([], config, replay=recording)
    finally:
        recording.close()
    if recording.failure is not None:
        print(f"waltui: {recording.failure}", file=sys.stderr)
        return exits.DATA_ERROR
    return code


def snapshot_at(path: str, when: str, output: str, textfile: str | None) -> int:
    from waltui.outputs.report import write_snapshot

    recording = open_recording(path)
    if recording is None:
        return exits.DATA_ERROR
    try:
        moment = parse_when(when, recording)
        if not recording.polls:
            print(f"waltui: {visible(path)} holds no polls", file=sys.stderr)
            return exits.DATA_ERROR
        state = recording.state_at(recording.index_at(moment))
        return write_snapshot([state[p] for p in sorted(state)], output, textfile)
    except ValueError as exc:
        print(f"waltui: {visible(exc)}", file=sys.stderr)
        return exits.USAGE
    except RecordingError as exc:
        print(f"waltui: {exc}", file=sys.stderr)
        return exits.DATA_ERROR
    finally:
        recording.close()


def check_from(path: str, *, output: str, limits: Limits | None = None) -> int:
    """A recorded run judged as a whole: every finding raised at any poll, with the time it
    was first raised and its evidence then (the pid it named), the exit code from the worst.
    So CI can fail a load test whose database starved for a minute in the middle."""
    from waltui.outputs.check import exit_code, write_check
    from waltui.outputs.nagios import verdict

    recording = open_recording(path)
    if recording is None:
        return exits.DATA_ERROR
    histories: dict[str, ChartHistory] = {}
    latest: dict[str, Update] = {}
    seen: dict[str, dict[str, tuple[Finding, float]]] = {}
    try:
        for index in range(len(recording.polls)):
            batch = recording.batch(index)
            for change in batch.changes:
                history = histories.get(change.path)
                if history is None:  # not setdefault: four rings built at every change
                    history = histories[change.path] = ChartHistory()
                history.add(change.reading)
                firsts = seen.setdefault(change.path, {})
                for finding in change.findings:
                    known = firsts.get(finding.code)
                    if known is None or finding.rank > known[0].rank:
                        firsts[finding.code] = (finding, batch.taken_at)
                latest[change.path] = Update(change.path, change.reading, (), history, (), ())
    except RecordingError as exc:
        print(f"waltui: {exc}", file=sys.stderr)
        return exits.DATA_ERROR
    finally:
        recording.close()
    updates = []
    for path_, update in sorted(latest.items()):
        found = tuple(
            Finding(code=f.code, severity=f.severity, title=f.title,
                    evidence=f"{f.evidence} (first at "
                             f"{time.strftime('%H:%M:%S', time.localtime(at))})",
                    fix=f.fix)
            for f, at in sorted(seen.get(path_, {}).values(), key=lambda fa: fa[1]))
        updates.append(Update(path_, update.reading, found, update.history, (), ()))
    code = exit_code(updates) if limits is None else verdict(updates, exit_code(updates),
                                                             limits)
    note = (f"from the recording {path}: {recording.watched_seconds:.0f} s watched, "
            f"{len(recording.polls)} poll(s) stored (those where something changed); a "
            "finding counts if any poll raised it")
    write_check(updates, code, [note], output, limits)
    return code
