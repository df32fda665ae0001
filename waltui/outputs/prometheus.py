"""Readings as Prometheus metrics: base units, one `db` label (the absolute path, as
Litestream labels), no pid or process labels (they change with every restart and would
make a new series each time). The same families serve `waltui export`, `snapshot --format
prometheus` and `--textfile`.

Hold times are aged to the scrape: the collector does not resend a database whose only
change is that its reader pinned the WAL a second longer."""

from __future__ import annotations

import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import apsw
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from waltui import __version__
from waltui.model import Finding, Reading

TEXTFILE_NAME = "waltui.prom"


@dataclass(frozen=True)
class Exported:
    """One database as the exporter last saw it."""

    reading: Reading
    findings: tuple[Finding, ...]


@dataclass
class ExportState:
    """What a scrape reads; the exporter replaces it whole or mutates it under a lock."""

    databases: dict[str, Exported] = field(default_factory=dict)
    # (mode, outcome): checkpoints run through waltui; `export` never writes, so it has none
    checkpoints: Counter[tuple[str, str]] = field(default_factory=Counter)
    cycle_seconds: float | None = None
    last_poll_at: float | None = None  # Unix time of the collector's last whole cycle
    interval: float | None = None  # the collector's; None: not a running collector

    def stale(self, now: float) -> bool:
        """A collector that has not finished a cycle for three intervals (at least 10 s) is
        stopped or wedged: its last values are not served as live ones."""
        if self.interval is None:
            return False
        if self.last_poll_at is None:
            return False
        return now - self.last_poll_at > max(3 * self.interval, 10.0)


def label(text: str) -> str:
    """A label value Prometheus can hold: a path that is not valid UTF-8 (a file name is
    bytes) keeps its odd bytes as \\xNN instead of failing the whole scrape."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _gauge(name: str, doc: str, labels: Iterable[str] = ("db",)) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=list(labels))


def families(state: ExportState, now: float | None = None) -> list[Metric]:
    now = time.time() if now is None else now
    db_bytes = _gauge("sqlite_db_bytes", "Size of the database file.")
    wal_bytes = _gauge("sqlite_wal_bytes", "Size of the -wal file (0 when there is none).")
    in_use = _gauge("sqlite_wal_in_use_bytes",
                    "Bytes of the -wal holding frames of the current WAL generation.")
    shm_bytes = _gauge("sqlite_shm_bytes", "Size of the -shm file (0 when there is none).")
    frames = _gauge("sqlite_wal_frames", "Frames in the WAL (mxFrame of the wal-index).")
    backfilled = _gauge("sqlite_wal_backfilled_frames",
                        "Frames already copied into the database (nBackfill).")
    pending = _gauge("sqlite_wal_pending_frames", "Frames not yet checkpointed.")
    sequence = _gauge("sqlite_wal_checkpoint_sequence",
                      "The -wal header's checkpoint sequence: moves when the WAL restarts.")
    readers = _gauge("sqlite_wal_readers", "Read transactions holding a read mark.")
    oldest_pin = _gauge("sqlite_wal_oldest_pin_seconds",
                        "How long the oldest reader that stops a checkpoint short has held "
                        "its snapshot (0 when none does).")
    writer = _gauge("sqlite_write_lock_held_seconds",
                    "How long the write lock has been held (0 when free).")
    queue = _gauge("sqlite_queue_depth", "Pending rows counted by a configured queue query.",
                   ("db", "queue"))
    info = _gauge("sqlite_database_info", "Journal mode and filesystem type of a database.",
                  ("db", "journal_mode", "fstype"))
    up = _gauge("waltui_up", "1 when the last poll could read the database (0 for every "
                "database while the collector has finished no poll for three intervals).")
    finding = _gauge("waltui_finding", "1 for every finding the health rules raise now.",
                     ("db", "code", "severity"))
    stale = state.stale(now)
    for path, exported in sorted(state.databases.items()):
        db = label(path)
        reading = exported.reading
        if stale:  # old values are not served as if live
            up.add_metric([db], 0)
            continue
        # hold times as of the scrape: added here, not by copying the reading (1,000 a scrape)
        age = max(0.0, now - reading.taken_at) if reading.held_locks or reading.readers else 0.0
        fatal = reading.error is not None and reading.error.fatal
        up.add_metric([db], 0 if fatal else 1)
        for found in exported.findings:
            finding.add_metric([db, found.code, found.severity], 1)
        files = reading.files
        if fatal or files is None:
            continue
        db_bytes.add_metric([db], files.db_bytes)
        wal_bytes.add_metric([db], files.wal_bytes or 0)
        shm_bytes.add_metric([db], files.shm_bytes or 0)
        info.add_metric([db, label(reading.journal_mode or "unknown"),
                         label(reading.filesystem.type if reading.filesystem else "unknown")], 1)
        writer_held = reading.writer
        writer.add_metric([db], writer_held.held_seconds + age if writer_held else 0.0)
        for depth in reading.queues:
            if depth.depth is not None:
                queue.add_metric([db, label(depth.name)], depth.depth)
        index = files.wal_index
        if index is not None:
            in_use.add_metric([db], reading.wal_bytes_in_use or 0)
            frames.add_metric([db], index.max_frame)
            backfilled.add_metric([db], index.backfilled)
            pending.add_metric([db], index.frames_pending)
        elif reading.journal_mode == "wal" and files.shm_bytes is None \
                and not reading.exclusive_mode:  # closed by everyone: the WAL is empty
            for family in (in_use, frames, backfilled, pending):
                family.add_metric([db], 0)
        else:  # rollback mode, or exclusive locking (its wal-index is in one process's heap)
            continue
        if files.wal_header is not None:
            sequence.add_metric([db], files.wal_header.checkpoint_seq)
        readers.add_metric([db], sum(1 for r in reading.readers if not r.ours))
        oldest_pin.add_metric([db], max((r.held_seconds + age for r in reading.pins),
                                        default=0.0))
    checkpoints = CounterMetricFamily("waltui_checkpoints",
                                      "Checkpoints waltui ran, by mode and outcome.",
                                      labels=["mode", "outcome"])
    for (mode, outcome), count in sorted(state.checkpoints.items()):
        checkpoints.add_metric([mode, outcome], count)
    poll = GaugeMetricFamily("waltui_poll_duration_seconds",
                             "How long the last poll of every database took.")
    if state.cycle_seconds is not None:
        poll.add_metric([], state.cycle_seconds)
    last_poll = GaugeMetricFamily("waltui_last_poll_timestamp_seconds",
                                  "When the collector last finished a poll of every database "
                                  "(Unix time): stale means stopped or wedged.")
    if state.last_poll_at is not None:
        last_poll.add_metric([], state.last_poll_at)
    build = _gauge("waltui_build_info", "The waltui version and the SQLite it reads with.",
                   ("version", "sqlite_version"))
    build.add_metric([__version__, apsw.sqlite_lib_version()], 1)
    return [db_bytes, wal_bytes, in_use, shm_bytes, frames, backfilled, pending, sequence,
            readers, oldest_pin, writer, queue, info, up, finding, checkpoints, poll, last_poll,
            build]


class StateCollector(Collector):
    """prometheus_client asks this at every scrape; `snapshot` asks it once."""

    def __init__(self, read_state: Callable[[], ExportState]) -> None:
        self.read_state = read_state

    def collect(self) -> Iterator[Metric]:
        yield from families(self.read_state())


def registry_for(read_state: Callable[[], ExportState]) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StateCollector(read_state))
    return registry


def exposition(state: ExportState) -> bytes:
    from prometheus_client.exposition import generate_latest

    return generate_latest(registry_for(lambda: state))


def write_textfile(directory: str, text: bytes) -> str:
    """For node_exporter's textfile collector: it reads every *.prom file in a directory, so
    the new file is written beside it under another name and renamed over the old one (a
    scrape never sees half a file)."""
    target = os.path.join(directory, TEXTFILE_NAME)
    fd, temporary = tempfile.mkstemp(prefix=".waltui.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        os.unlink(temporary)
        raise
    return target
