"""A recording played back through the collector's client interface, so the same dashboard
(and every pane) shows it as it showed the live databases. Playing, stepping and jumping run
in one thread that owns the position; keys only send it commands."""

from __future__ import annotations

import bisect
import queue
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from waltui.collector.changes import Batch
from waltui.collector.commands import Command, Pause, PollNow, SetInterval, Stop
from waltui.collector.transport import CollectorClient
from waltui.config import Config
from waltui.recording.reader import Poll, RecordedEvent, Recording
from waltui.recording.schema import RecordingError

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 64.0)
CHART_POLLS = 120  # polls replayed before a jump's target, so its charts have a past
LONGEST_WAIT = 2.0  # seconds: polls where nothing changed are not stored; skip their quiet


MoveKind = Literal["step", "finding", "speed", "to"]


@dataclass(frozen=True)
class Move:
    """A replay command beside the collector's: step, jump to a finding or to a poll,
    change speed. Applied one at a time, in the order sent."""

    kind: MoveKind
    direction: int = 1  # -1 back, +1 on; for "to": the poll's index


class ReplayClient(CollectorClient):
    plays_a_recording = True

    def __init__(self, recording: Recording, on_batch: Callable[[Batch], None],
                 on_notice: Callable[[str, str], None] = lambda severity, text: None,
                 on_event: Callable[[RecordedEvent], None] = lambda event: None,
                 on_reset: Callable[[], None] = lambda: None,
                 on_failed: Callable[[str], None] = lambda text: None) -> None:
        super().__init__(Config(read_only=True, interval=recording.interval), on_batch,
                         on_notice)
        self.recording = recording
        self.on_event = on_event
        self.on_reset = on_reset  # a jump: what is shown (readings, events) starts afresh
        self.on_failed = on_failed  # the recording could not be read on: the replay ends
        self.index = -1  # the poll on screen; -1 before the first
        self.speed = 1.0
        self.paused = False
        self._commands: queue.SimpleQueue[Command | Move] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="waltui-replay", daemon=True)

    # --- the client interface -------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def _send(self, command: Command) -> None:
        self._commands.put(command)

    def move(self, kind: MoveKind, direction: int = 1) -> None:
        self._commands.put(Move(kind, direction))

    def attach(self, path: str) -> None:
        self.attached[path] = None  # the recording decides what is shown

    def detach(self, path: str) -> None:
        self.attached.pop(path, None)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def shown_at(self) -> float:
        polls = self.recording.polls
        if not polls:
            return time.time()
        return polls[min(max(self.index, 0), len(polls) - 1)].taken_at

    def position_text(self) -> str:
        polls = self.recording.polls
        if not polls:
            return "REPLAY · an empty recording"
        index = max(self.index, 0)
        shown = datetime.fromtimestamp(polls[index].taken_at).strftime("%Y-%m-%d %H:%M:%S")
        state = "paused" if self.paused else ("end" if index == len(polls) - 1 else "playing")
        return f"REPLAY {shown} · poll {polls[index].seq} · {state} {self.speed:g}x"

    # --- the replay's thread ----------------------------------------------------------------
    def _run(self) -> None:
        """A recording is outside data: one that turns out damaged deep inside (a value a
        later step decodes) ends the replay with its reason, never a traceback."""
        try:
            self._play()
        except Exception as exc:
            text = str(exc) if isinstance(exc, RecordingError) else \
                f"internal error: {type(exc).__name__}: {exc}"
            self.recording.failure = text
            self.on_notice("error", f"replay stopped: {text}")
            self.on_failed(text)

    def _play(self) -> None:
        polls = self.recording.polls
        self._forward()  # the first poll as recorded: what it raised is logged as it was
        while not self.stopped:
            wait = None
            if not self.paused and self.index < len(polls) - 1:
                gap = polls[self.index + 1].taken_at - polls[self.index].taken_at
                wait = min(max(gap, 0.0), LONGEST_WAIT * self.speed) / self.speed
            try:
                command = self._commands.get(timeout=wait)
            except queue.Empty:
                self._forward()
                continue
            self._obey(command)

    def _obey(self, command: Command | Move) -> None:
        if isinstance(command, Stop):
            self.stopped = True
        elif isinstance(command, Pause):
            self.paused = command.paused
        elif isinstance(command, PollNow):  # "poll now" on a recording: the next poll
            self._forward()
        elif isinstance(command, SetInterval):
            pass  # the recording's interval is what it was
        elif isinstance(command, Move):
            if command.kind == "speed":
                at = SPEEDS.index(self.speed) + command.direction
                self.speed = SPEEDS[min(max(at, 0), len(SPEEDS) - 1)]
            elif command.kind == "step":
                self.paused = True
                if command.direction > 0:
                    self._forward()
                elif self.index > 0:
                    self._go_to(self.index - 1)
            elif command.kind == "to":
                self.paused = True
                if 0 <= command.direction < len(self.recording.polls):
                    self._go_to(command.direction)
            elif command.kind == "finding":
                self.paused = True
                marks = self.recording.finding_indexes()
                target = (min([i for i in marks if i > self.index], default=None)
                          if command.direction > 0 else
                          max([i for i in marks if i < self.index], default=None))
                if target is None:
                    self.on_notice("info", "no finding raised " + (
                        "after this poll" if command.direction > 0 else "before this poll"))
                else:
                    self._go_to(target)

    def _forward(self, final: bool = True) -> None:
        """The next poll. final=False: one of a jump's polls before its target, applied
        but not drawn (drawn, they showed poll 19 on the way from 81 to 139)."""
        if self.index >= len(self.recording.polls) - 1:
            return
        before = self.shown_at if self.index >= 0 else 0.0
        self.index += 1
        batch = self.recording.batch(self.index)
        self._emit(batch if final else replace(batch, final=False), before)

    def _emit(self, batch: Batch, events_after: float) -> None:
        self.cycle_seconds = batch.cycle_seconds
        for event in self.recording.events(events_after, batch.taken_at):
            self.on_event(event)
        self.on_batch(batch)

    def _go_to(self, target: int) -> None:
        """Everything shown is forgotten and rebuilt: each database as it was CHART_POLLS
        polls before, then those polls one by one as recorded, so the charts have their
        past and the event log holds what those polls raised and cleared (and the actions
        recorded meanwhile), as it did live at the shown moment."""
        start = max(0, target - CHART_POLLS)
        base = self.recording.state_at(start)
        self.on_reset()  # the dashboard forgets every database shown, and its log
        self.index = start
        first = self.recording.polls[start]
        self.on_batch(Batch(tuple(replace(c, raised=(), cleared=()) for c in base.values()),
                            first.polled, first.cycle_seconds, first.taken_at,
                            final=start == target))
        while self.index < target:
            self._forward(final=self.index + 1 == target)


def replay_paths(recording: Recording) -> list[str]:
    return sorted(set(recording.paths.values()))


_RELATIVE = re.compile(r"([+-])\s*(\d+(?:\.\d+)?)\s*([smh])")
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")


def jump_target(text: str, polls: list[Poll], shown: int) -> int:
    """The poll a `g` jump asks for: #SEQ (a poll's number), +30s / -5m / -1h from the
    shown poll, HH:MM[:SS] on the shown poll's day, or YYYY-MM-DD HH:MM[:SS] (local time,
    as the status line shows it); the poll nearest that moment. ValueError says what is
    accepted."""
    text = text.strip()
    if not polls:
        raise ValueError("the recording has no polls")
    if text.startswith("#") and text[1:].isdigit():
        seq = int(text[1:])
        return min(range(len(polls)), key=lambda i: abs(polls[i].seq - seq))
    now = polls[min(max(shown, 0), len(polls) - 1)].taken_at
    if (relative := _RELATIVE.fullmatch(text)):
        sign, amount, unit = relative.groups()
        seconds = float(amount) * {"s": 1, "m": 60, "h": 3600}[unit]
        when = now + seconds if sign == "+" else now - seconds
    elif (clock := _CLOCK.fullmatch(text)):
        day = datetime.fromtimestamp(now)
        hour, minute, second = (int(g or 0) for g in clock.groups())
        if hour > 23 or minute > 59 or second > 59:
            raise ValueError(f"no such time: {text}")
        when = day.replace(hour=hour, minute=minute, second=second, microsecond=0).timestamp()
    else:
        try:
            when = datetime.fromisoformat(text).timestamp()
        except ValueError:
            raise ValueError("a time is HH:MM[:SS], YYYY-MM-DD HH:MM[:SS], +30s / -5m / "
                             "-1h from here, or #SEQ (a poll)") from None
    at = bisect.bisect_left([p.taken_at for p in polls], when)
    candidates = [i for i in (at - 1, at) if 0 <= i < len(polls)]
    return min(candidates, key=lambda i: abs(polls[i].taken_at - when))


