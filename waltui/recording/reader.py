"""Reading a recording: opened read-only and defensively (it may come from anyone), its
schema version checked before anything else, every value checked by the codec."""

from __future__ import annotations

import bisect
import os
from dataclasses import dataclass

import apsw

from waltui.collector.changes import Batch, Change
from waltui.history import CheckpointResult
from waltui.recording.codec import Damaged, from_json, inflate, unpack
from waltui.recording.schema import KEYFRAME_EVERY, KIND, SCHEMA_VERSION, RecordingError

CACHED_VALUES = 4096  # decoded JSON kept: a replay steps forward one poll at a time
from waltui.units import visible


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
        conn.set_busy_timeout(2000)  # the recorder's commit is a moment
        conn.execute("SELECT count(*) FROM sqlite_schema").fetchall()
    except apsw.Error as exc:
        raise RecordingError(f"{visible(path)} is not a waltui recording (not a readable "
                             f"SQLite file: {visible(exc)})") from exc
    return conn


class Recording:
    def __init__(self, path: str) -> None:
        self.path = path
        self._conn = _open(path)
        try:
            meta = {str(k): str(v) for k, v in
                    self._conn.execute("SELECT key, value FROM meta").fetchall()}
        except apsw.Error as exc:
            raise RecordingError(f"{visible(path)} is a SQLite file but not a waltui "
                                 "recording (it has no meta table)") from exc
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
        self.interval = float(meta.get("interval", 1.0))
        try:
            self.polls = [Poll(int(s), float(t), c / 1000, int(n), int(r)) for s, t, c, n, r in
                          self._conn.execute("SELECT seq, taken_at, cycle_ms, polled, raised "
                                             "FROM polls ORDER BY seq")]
            self.paths = {int(i): str(p) for i, p in
                          self._conn.execute("SELECT id, path FROM databases")}
        except (apsw.Error, TypeError, ValueError) as exc:
            raise RecordingError(f"{visible(path)}: damaged recording ({visible(exc)})") from exc
        self._times = [p.taken_at for p in self.polls]
        try:  # how long it watched: quiet polls are not stored, so polls alone say less
            self.watched_seconds = float(meta["ended_at"]) - float(meta["started_at"])
        except (KeyError, ValueError):  # killed before it closed
            self.watched_seconds = self._times[-1] - self._times[0] if self._times else 0.0
        self._decoded: dict[tuple[int, int], bytes] = {}

    def close(self) -> None:
        self._conn.close()

    # --- positions ------------------------------------------------------------------------
    def index_at(self, when: float) -> int:
        """The last stored poll at or before ``when`` (the first if it is earlier)."""
        return max(0, bisect.bisect_right(self._times, when) - 1)

    def finding_indexes(self) -> list[int]:
        return [i for i, poll in enumerate(self.polls) if poll.raised]

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
        if len(self._decoded) >= CACHED_VALUES:
            self._decoded.clear()
        self._decoded[(db, seq)] = data
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
        found = []
        for at, path, kind, text, blob in self._conn.execute(
                "SELECT at, path, kind, text, checkpoint FROM events WHERE at > ? AND at <= ? "
                "ORDER BY at, id", (after, until)):
            try:
                result = unpack(CheckpointResult, blob) if blob is not None else None
            except Damaged as exc:
                raise RecordingError(f"{visible(self.path)}: damaged event at {at}: "
                                     f"{visible(exc)}") from exc
            found.append(RecordedEvent(float(at), str(path), str(kind), str(text), result))
        return found
