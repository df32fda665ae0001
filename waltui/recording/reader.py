"""Reading a recording: opened read-only and defensively (it may come from anyone), its
schema version checked before anything else, every value checked by the codec."""

from __future__ import annotations

import bisect
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import apsw

from waltui.collector.changes import Batch, Change
from waltui.history import CheckpointResult
from waltui.recording.codec import Damaged, from_json, inflate, unpack
from waltui.recording.schema import (
    KEYFRAME_EVERY,
    KIND,
    SCHEMA_VERSION,
    RecordingError,
    schema_problem,
)
from waltui.support.interrupts import INTERRUPTER
from waltui.units import visible

CACHE_BYTES = 32 * 1024 * 1024  # decoded JSON kept: a replay steps one poll at a time
READ_SECONDS = 10.0  # one read of ours (a poll's changes, a state) may take this long
MAX_POLLS = 2_000_000  # a poll a second for 23 days; a file claiming more is refused
T = TypeVar("T")


@dataclass(frozen=True)
class Poll:
    seq: int
    taken_at: float
    cycle_seconds: float
    polled: int
    raised: int


@dataclass(frozen=True)
class RecordedEvent:
    at: float
    path: str
    kind: str
    text: str
    checkpoint: CheckpointResult | None


def _open(path: str) -> apsw.Connection:
    if not os.path.isfile(path):
        raise RecordingError(f"{visible(path)}: no such recording" if not os.path.lexists(path)
                             else f"{visible(path)} is not a regular file")
    try:
        try:
            conn = apsw.Connection(path, flags=apsw.SQLITE_OPEN_READONLY)
            conn.execute("SELECT count(*) FROM sqlite_schema").fetchall()
        except apsw.CantOpenError:
            # A killed recorder's -wal copied without its -shm: only a read-write open can
            # rebuild the index (it reads the -wal into the file; nothing recorded changes).
            conn = apsw.Connection(path)
        conn.config(apsw.SQLITE_DBCONFIG_DEFENSIVE, 1)
        conn.config(apsw.SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0)
        conn.config(apsw.SQLITE_DBCONFIG_ENABLE_TRIGGER, 0)
        conn.config(apsw.SQLITE_DBCONFIG_ENABLE_VIEW, 0)
        conn.set_busy_timeout(2000)  # the recorder's commit is a moment
        conn.execute("SELECT count(*) FROM sqlite_schema").fetchall()
    except apsw.Error as exc:
        raise RecordingError(f"{visible(path)} is not a waltui recording (not a readable "
                             f"SQLite file: {visible(exc)})") from exc
    return conn


def _finite(meta: dict[str, str], key: str, default: float | None = None) -> float | None:
    """A number from the meta table: finite, or the recording is refused."""
    if key not in meta:
        return default
    try:
        value = float(meta[key])
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise RecordingError(f"damaged recording: meta {key} is {visible(meta[key])!r}, "
                             "not a number")
    return value


class Recording:
    """A recording read as untrusted data: its schema must be the one waltui writes (real
    tables, the expected columns and indexes, no views or triggers), every read of ours is
    cut off after READ_SECONDS (and by Ctrl-C), and what it decodes is held within
    CACHE_BYTES. Anything else is a RecordingError: one line, exit 65."""

    failure: str | None = None  # why a replay of it stopped (replay.ReplayClient)

    def __init__(self, path: str) -> None:
        self.path = path
        self._conn = _open(path)
        self._deadline = math.inf
        self._conn.set_progress_handler(self._past_deadline, 1000)
        try:
            self._init(path)
        except BaseException:
            self._conn.close()
            raise

    def _past_deadline(self) -> bool:
        """SQLite's progress handler: a Python call, so Ctrl-C is seen here too."""
        return time.monotonic() > self._deadline

    def _bounded(self, read: Callable[[], T]) -> T:
        self._deadline = time.monotonic() + READ_SECONDS
        token = INTERRUPTER.arm(self._deadline, self._conn.interrupt)  # one long opcode too
        try:
            return read()
        except apsw.InterruptError as exc:
            raise RecordingError(f"{visible(self.path)}: a read took over {READ_SECONDS:g} s "
                                 "(a damaged or hostile recording)") from exc
        except (apsw.Error, TypeError, ValueError, OverflowError) as exc:
            raise RecordingError(f"{visible(self.path)}: damaged recording "
                                 f"({visible(exc)})") from exc
        finally:
            INTERRUPTER.disarm(token)
            self._deadline = math.inf

    def _init(self, path: str) -> None:
        if not self._bounded(lambda: self._conn.execute(
                "SELECT 1 FROM sqlite_schema WHERE name = 'meta'").fetchall()):
            raise RecordingError(f"{visible(path)} is a SQLite file but not a waltui "
                                 "recording (it has no meta table)")
        if (problem := self._bounded(lambda: schema_problem(self._conn))) is not None:
            raise RecordingError(f"{visible(path)} is not a recording waltui wrote: "
                                 f"{visible(problem)}")
        meta = self._bounded(lambda: {str(k): str(v) for k, v in self._conn.execute(
            "SELECT key, value FROM meta LIMIT 1000").fetchall()})
        if meta.get("kind") != KIND:
            raise RecordingError(f"{visible(path)} is not a waltui recording")
        version = str(meta.get("schema_version", "?"))
        if version != str(SCHEMA_VERSION):
            newer = version.isdigit() and int(version) > SCHEMA_VERSION
            raise RecordingError(
                f"{visible(path)} is a recording of schema version {visible(version)} "
                f"(waltui {visible(meta.get('waltui_version', '?'))}); this waltui reads "
                f"version {SCHEMA_VERSION}" + ("; upgrade waltui to read it" if newer else
                                               "; no conversion from that version exists"))
        self.meta = meta
        self.interval = _finite(meta, "interval", 1.0) or 0.0
        if self.interval <= 0:
            raise RecordingError(f"damaged recording: its interval is {self.interval:g}")
        count = self._bounded(lambda: int(str(self._conn.execute(
            "SELECT count(*) FROM polls").fetchall()[0][0])))
        if count > MAX_POLLS:
            raise RecordingError(f"{visible(path)} holds {count:,} polls, more than waltui "
                                 f"reads ({MAX_POLLS:,})")
        try:
            self.polls = self._bounded(lambda: [
                Poll(int(s), _number(t), _number(c) / 1000, int(n), int(r))
                for s, t, c, n, r in self._conn.execute(
                    "SELECT seq, taken_at, cycle_ms, polled, raised FROM polls ORDER BY seq")])
            self.paths = self._bounded(lambda: {int(i): str(p) for i, p in self._conn.execute(
                "SELECT id, path FROM databases")})
        except (TypeError, ValueError) as exc:
            raise RecordingError(f"{visible(path)}: damaged recording ({visible(exc)})") from exc
        self._times = [p.taken_at for p in self.polls]
        self._findings: list[int] | None = None
        started, ended = _finite(meta, "started_at"), _finite(meta, "ended_at")
        if started is not None and ended is not None:
            self.watched_seconds = ended - started
        else:  # killed before it closed: quiet polls are not stored, so polls say less
            self.watched_seconds = self._times[-1] - self._times[0] if self._times else 0.0
        self._decoded: dict[tuple[int, int], bytes] = {}
        self._decoded_bytes = 0

    def close(self) -> None:
        self._conn.close()

    # --- positions ------------------------------------------------------------------------
    def index_at(self, when: float) -> int:
        """The last stored poll at or before ``when`` (the first if it is earlier)."""
        return max(0, bisect.bisect_right(self._times, when) - 1)

    def finding_indexes(self) -> list[int]:
        """The polls that raised a finding (the timeline marks them; ] and [ jump to them)."""
        if self._findings is None:
            self._findings = [i for i, poll in enumerate(self.polls) if poll.raised]
        return self._findings

    @property
    def times(self) -> list[float]:
        """Each poll's time, in order."""
        return self._times

    # --- contents -------------------------------------------------------------------------
    def _json(self, db: int, seq: int, blob: object, base: int | None,
               depth: int = 0) -> bytes:
        """A change's JSON; one compressed against an earlier change of the same database
        needs that one's JSON first (a chain of at most KEYFRAME_EVERY, cached)."""
        if (known := self._decoded.get((db, seq))) is not None:
            return known
        if depth > KEYFRAME_EVERY + 1 or (base is not None and base >= seq):
            raise Damaged(f"change {seq} of database {db} refers back in a loop")
        base_json = b""
        if base is not None:
            row = self._conn.execute("SELECT base, change FROM changes WHERE seq = ? AND db = ?",
                                     (base, db)).fetchone()
            if row is None:
                raise Damaged(f"change {seq} of database {db} needs change {base}, missing")
            base_json = self._json(db, base, row[1], row[0], depth + 1)
        data = inflate(blob, base_json)
        if self._decoded_bytes + len(data) > CACHE_BYTES:
            self._decoded.clear()
            self._decoded_bytes = 0
        self._decoded[(db, seq)] = data
        self._decoded_bytes += len(data)
        return data

    def _change(self, db: int, seq: int, blob: object, base: object) -> Change:
        try:
            if base is not None and not isinstance(base, int):
                raise Damaged("base is not a poll number")
            return from_json(Change, self._json(db, seq, blob, base))
        except Damaged as exc:
            raise RecordingError(f"{visible(self.path)}: damaged at poll {seq}: "
                                 f"{visible(exc)}") from exc

    def batch(self, index: int) -> Batch:
        """The stored poll as the collector sent it."""
        return self._bounded(lambda: self._batch(index))

    def _batch(self, index: int) -> Batch:
        poll = self.polls[index]
        changes = tuple(self._change(int(db), poll.seq, blob, base)
                        for db, base, blob in self._conn.execute(
                            "SELECT db, base, change FROM changes WHERE seq = ? ORDER BY db",
                            (poll.seq,)))
        detached = tuple(self.paths.get(db, "?") for (db,) in self._conn.execute(
            "SELECT db FROM detaches WHERE seq = ?", (poll.seq,)))
        return Batch(changes, poll.polled, poll.cycle_seconds, poll.taken_at, detached)

    def state_at(self, index: int) -> dict[str, Change]:
        """Each database's latest change at or before a poll (unless detached since)."""
        return self._bounded(lambda: self._state_at(index))

    def _state_at(self, index: int) -> dict[str, Change]:
        seq = self.polls[index].seq if self.polls else 0
        rows = self._conn.execute(
            "SELECT c.db, c.seq, c.base, c.change FROM changes c WHERE c.seq = (SELECT max(seq) "
            "FROM changes WHERE db = c.db AND seq <= ?)", (seq,)).fetchall()
        gone = {int(db): int(at) for db, at in self._conn.execute(
            "SELECT db, max(seq) FROM detaches WHERE seq <= ? GROUP BY db", (seq,))}
        state = {}
        for db, changed_at, base, blob in rows:
            if gone.get(int(db), -1) >= int(changed_at):  # type: ignore[arg-type]
                continue
            change = self._change(int(db), int(changed_at), blob, base)  # type: ignore[arg-type]
            state[change.path] = change
        return state

    def events(self, after: float, until: float) -> list[RecordedEvent]:
        """Events in (after, until]."""
        return self._bounded(lambda: self._events(after, until))

    def _events(self, after: float, until: float) -> list[RecordedEvent]:
        found = []
        for at, path, kind, text, blob in self._conn.execute(
                "SELECT at, path, kind, text, checkpoint FROM events WHERE at > ? AND at <= ? "
                "ORDER BY at, id", (after, until)):
            try:
                result = unpack(CheckpointResult, blob) if blob is not None else None
            except Damaged as exc:
                raise RecordingError(f"{visible(self.path)}: damaged event at {at}: "
                                     f"{visible(exc)}") from exc
            found.append(RecordedEvent(_number(at), str(path), str(kind), str(text), result))
        return found


def _number(value: object) -> float:
    """A stored time or duration: a finite number, or the row is damaged."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not math.isfinite(value):
        raise ValueError(f"{value!r} is not a finite number")
    return float(value)
