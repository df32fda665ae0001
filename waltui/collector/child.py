"""The collector process: `python -m waltui.collector.child`, started by ProcessClient.

Reads (config, lock source, parent pid) and then commands as frames on stdin; writes
batches as frames on stdout; stops at EOF (the dashboard closed the pipe, or died).
Nothing else may write to stdout: it is the protocol."""

from __future__ import annotations

import os
import signal
import sys
import threading
from dataclasses import replace

from waltui.collector.changes import Batch
from waltui.collector.commands import Stop
from waltui.collector.loop import Collector
from waltui.collector.transport import read_frame, write_frame
from waltui.probes.processes import add_own_pid
from waltui.support.heap import freeze_startup_heap, tune_collector

PART_SIZE = 40  # changes per frame: ~2 ms to unpickle


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the dashboard decides when we stop
    try:
        os.nice(10)  # the operator's keys and the watched applications come first
    except OSError:
        pass
    commands, batches = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not corrupt the protocol
    try:
        config, parent = read_frame(commands)
    except EOFError:
        return 0
    add_own_pid(parent)  # the dashboard's checkpoints and checks are ours, not suspects
    tune_collector()
    out_lock = threading.Lock()

    first_cycle = [True]  # emptied once the first batch is out

    def emit(batch: Batch) -> None:
        """In parts of PART_SIZE changes: unpickling 1,000 changes at once held the
        dashboard's interpreter lock for ~60 ms in one C call, and a key waited for it.
        After the first cycle's batch, what it built (observers, kept fds) lives on: frozen
        here, in the collector's own process; a collector in the dashboard's thread is
        frozen with the dashboard's heap (ui/batch_intake.py), not twice."""
        changes = batch.changes
        starts = range(0, max(len(changes), 1), PART_SIZE)
        with out_lock:
            try:
                for start in starts:
                    write_frame(batches, replace(
                        batch, changes=changes[start:start + PART_SIZE],
                        detached=batch.detached if start == 0 else (),
                        final=start + PART_SIZE >= len(changes)))
            except (BrokenPipeError, OSError):
                collector.send(Stop())
        if first_cycle:
            first_cycle.clear()
            freeze_startup_heap()

    collector = Collector(config, emit)

    def listen() -> None:
        try:
            while True:
                collector.send(read_frame(commands))
        except (EOFError, OSError):
            pass
        collector.send(Stop())

    threading.Thread(target=listen, name="commands", daemon=True).start()
    collector.run()
    return 0


if __name__ == "__main__":
    code = main()
    sys.stderr.flush()
    os._exit(code)  # daemon threads blocked on a read must not hold the exit
