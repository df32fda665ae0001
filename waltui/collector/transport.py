"""One client interface, two places for the collector to run: a thread in this process
(`check`, `snapshot --watch`, tests) or a child process over a pipe (the dashboard: the
poll's CPU then never competes with the UI for the interpreter lock).

The child is our own code, started by us: its batches come back as pickles. If it dies, the
client says so, starts another and hands it the same databases; the consumer's history is
on this side (consumer.Readings), so the charts go on."""

from __future__ import annotations

import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any, NamedTuple

from waltui.collector.changes import Batch
from waltui.collector.commands import (
    Attach,
    Command,
    Detach,
    Pause,
    PollNow,
    RecordCheckpoint,
    SetInterval,
    Stop,
)
from waltui.config import Config
from waltui.history import CheckpointResult
from waltui.probes.processes import add_own_pid
from waltui.support.state_dir import state_dir

Notice = Callable[[str, str], None]  # (severity, text)
RESTARTS_PER_MINUTE = 5
_HEADER = struct.Struct(">I")


def write_frame(stream: IO[bytes], value: object) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def read_frame(stream: IO[bytes]) -> Any:
    """The next value, or EOFError when the other side has gone."""
    return pickle.loads(read_frame_bytes(stream))


def read_frame_bytes(stream: IO[bytes]) -> bytes:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError
    size = _HEADER.unpack(header)[0]
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return data


@dataclass(frozen=True)
class Frame:
    """A batch as the collector process wrote it, not yet unpickled. A consumer with a loop
    of its own (the dashboard) unpickles it there, a part between two turns of the loop:
    unpickled in the pipe's thread, 1,000 changes a second held the interpreter lock
    against the UI thread, and a key press waited for both."""

    data: bytes


class Silence(NamedTuple):
    """Why a collector sends nothing: a few words for the status line, a sentence for the
    event log."""

    short: str
    long: str


class CollectorClient:
    """What every consumer calls; the state it shows (interval, paused, cycle time) is kept
    here, so it never reads the collector's own variables across a thread or process."""

    plays_a_recording = False  # True for recording.replay.ReplayClient

    def __init__(self, config: Config, on_batch: Callable[[Batch], None],
                 on_notice: Notice = lambda severity, text: None,
                 on_frame: Callable[[Frame], None] | None = None) -> None:
        """on_frame: where a child process's batches go still pickled, to be read with
        take() (a thread's batches are never pickled, and go to on_batch)."""
        self.config = config
        self.on_batch = on_batch
        self.on_frame = on_frame
        self.on_notice = on_notice
        self.interval = config.interval
        self.paused = False
        self.cycle_seconds = 0.0
        self.attached: dict[str, None] = {}
        self.stopped = False

    def start(self) -> None:
        raise NotImplementedError

    def _send(self, command: Command) -> None:
        raise NotImplementedError

    @property
    def running(self) -> bool:
        raise NotImplementedError

    def join(self, timeout: float) -> None:
        """Wait for the collector to finish after stop()."""
        raise NotImplementedError

    def silence_reason(self) -> Silence | None:
        """Why no batch may be coming (the collector stopped, ended, or not answering), as
        far as can be told from here; None when it looks alive."""
        return None

    def restart(self) -> None:
        """A new collector with the same databases, interval and pause: the operator's
        answer to a stale status line."""
        raise NotImplementedError

    def _received(self, batch: Batch) -> None:
        self._note(batch)
        self.on_batch(batch)

    def _note(self, batch: Batch) -> None:
        self.cycle_seconds = batch.cycle_seconds if batch.polled else self.cycle_seconds

    def take(self, frame: Frame) -> Batch:
        """A frame's batch, read in the consumer's own thread (pickle.UnpicklingError if
        damaged)."""
        batch: Batch = pickle.loads(frame.data)
        self._note(batch)
        return batch

    def attach(self, path: str) -> None:
        self.attached[path] = None
        self._send(Attach(path))

    def detach(self, path: str) -> None:
        self.attached.pop(path, None)
        self._send(Detach(path))

    def set_interval(self, seconds: float) -> None:
        self.interval = max(0.1, seconds)
        self._send(SetInterval(self.interval))

    def pause(self, paused: bool) -> None:
        self.paused = paused
        self._send(Pause(paused))

    def poll_now(self) -> None:
        self._send(PollNow())

    def record_checkpoint(self, path: str, result: CheckpointResult) -> None:
        self._send(RecordCheckpoint(path, result))

    def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            self._send(Stop())


class ThreadClient(CollectorClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Here, not at the top: a dashboard whose collector is a child process never
        # imports the probes and rules the loop brings (~25 ms of its first paint).
        from waltui.collector.loop import Collector

        super().__init__(*args, **kwargs)
        self.collector = Collector(self.config, self._received)
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self.collector.run, name="waltui-collector",
                                        daemon=True)
        self._thread.start()

    def restart(self) -> None:
        """A thread cannot be killed: the old one is told to stop and left; a new one
        starts from the same commands."""
        from waltui.collector.loop import Collector

        self.collector.send(Stop())
        self.collector = Collector(self.config, self._received)
        commands: list[Command] = [SetInterval(self.interval), Pause(self.paused),
                                   *(Attach(path) for path in self.attached)]
        for command in commands:
            self.collector.send(command)
        self.start()

    def silence_reason(self) -> Silence | None:
        return None if self.running else Silence("collector ended",
                                                  "the collector thread has ended")

    def _send(self, command: Command) -> None:
        self.collector.send(command)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def join(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout)


def _log_path() -> str:
    return os.path.join(state_dir(), "collector.log")


_CLOSE = object()  # the end of a child's commands: its stdin is closed


class _PipeWriter:
    """Frames to one child's stdin, written by a thread of its own. The pipe holds 64 KB
    and a child still importing (or in a long cycle) does not read it: 1,000 attaches at
    start held the dashboard's UI thread ~100 ms in write() until the child read them."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        threading.Thread(target=self._run, name="waltui-collector-commands",
                         daemon=True).start()

    def put(self, value: object) -> None:
        self._queue.put(value)

    def close(self) -> None:
        """After what was put before: EOF, and the child stops after its cycle."""
        self._queue.put(_CLOSE)

    def _run(self) -> None:
        while (value := self._queue.get()) is not _CLOSE:
            try:
                write_frame(self._stream, value)
            except (OSError, ValueError):  # it died: the reader thread restarts it
                break
        try:
            self._stream.close()
        except OSError:
            pass


class ProcessClient(CollectorClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.process: subprocess.Popen[bytes] | None = None
        self._writer: _PipeWriter | None = None
        self._deaths: list[float] = []
        self.restarts = 0

    def start(self) -> None:
        self._spawn()

    def _spawn(self) -> None:
        if self._writer is not None:
            self._writer.close()  # a dead child's: its thread ends
        try:
            os.makedirs(os.path.dirname(_log_path()), exist_ok=True)
            errors: IO[bytes] | int = open(_log_path(), "ab")  # noqa: SIM115 (child's stderr)
        except OSError:
            errors = subprocess.DEVNULL
        process = subprocess.Popen(
            [sys.executable, "-m", "waltui.collector.child"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=errors, close_fds=True,
            start_new_session=True)  # the terminal's ^C and hangup are the dashboard's to handle
        if not isinstance(errors, int):
            errors.close()
        add_own_pid(process.pid)  # its brief reads must never be blamed for a checkpoint
        assert process.stdin is not None
        writer = _PipeWriter(process.stdin)
        writer.put((self.config, os.getpid()))
        for command in self._replay():
            writer.put(command)
        self.process, self._writer = process, writer
        threading.Thread(target=self._read, args=(process,), name="waltui-collector-pipe",
                         daemon=True).start()

    def _replay(self) -> list[Command]:
        """A new child starts where the dead one was."""
        return [SetInterval(self.interval), Pause(self.paused),
                *(Attach(path) for path in self.attached)]

    def _read(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        try:
            while True:
                data = read_frame_bytes(process.stdout)
                if self.on_frame is not None:
                    self.on_frame(Frame(data))
                else:
                    self._received(pickle.loads(data))
        except (EOFError, OSError, pickle.UnpicklingError):
            pass
        code = process.wait()
        if self.stopped or process is not self.process:
            return
        now = time.monotonic()
        self._deaths = [t for t in self._deaths if now - t < 60] + [now]
        if len(self._deaths) > RESTARTS_PER_MINUTE:
            self.on_notice("error", f"the collector process died {len(self._deaths)} times "
                           f"in a minute (exit code {code}); not restarted: see "
                           f"{_log_path()}")
            return
        self.restarts += 1
        self.on_notice("warning", f"the collector process ended (exit code {code}); "
                       "restarted, with the same databases; the charts keep their history")
        self._spawn()

    def restart(self) -> None:
        """The child (stopped, stuck or gone) is killed and a new one started, with the
        deaths of the last minute forgotten."""
        old = self.process
        self.process = None  # its reader thread then leaves the restarting to us
        if old is not None and old.poll() is None:
            old.kill()  # SIGKILL ends a stopped process too
        self._deaths = []
        self.restarts += 1
        self._spawn()

    def silence_reason(self) -> Silence | None:
        process = self.process
        if process is None:
            return Silence("collector not started", "the collector process has not started")
        code = process.poll()
        if code is not None:
            return Silence("collector ended", f"the collector process (pid {process.pid}) "
                           f"has ended (exit code {code}) and was not restarted")
        try:
            with open(f"/proc/{process.pid}/stat", "rb") as handle:
                state = handle.read().rsplit(b")", 1)[1].split()[0]
        except (OSError, IndexError):
            state = b"?"
        if state in (b"T", b"t"):
            return Silence("collector stopped", f"the collector process (pid {process.pid}) "
                           "is stopped (SIGSTOP or a debugger)")
        if state == b"D":
            return Silence("collector stuck", f"the collector process (pid {process.pid}) "
                           "is stuck in the kernel (D state)")
        return Silence("collector not answering", f"the collector process (pid "
                       f"{process.pid}) runs but sends nothing")

    def _send(self, command: Command) -> None:
        if self._writer is not None:
            self._writer.put(command)  # a dead child's are dropped: a new one gets _replay()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        super().stop()
        if self._writer is not None:
            self._writer.close()

    def join(self, timeout: float) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def make_client(kind: str, config: Config, on_batch: Callable[[Batch], None],
                on_notice: Notice = lambda severity, text: None,
                on_frame: Callable[[Frame], None] | None = None) -> CollectorClient:
    cls = {"thread": ThreadClient, "process": ProcessClient}[kind]
    return cls(config, on_batch, on_notice, on_frame)
