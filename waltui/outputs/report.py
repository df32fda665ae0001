"""Readings as the public JSON contract and as a plain table, for `snapshot` and `check`.

The JSON field names are a contract (docs/json.md): add fields, never rename them.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from waltui import __version__
from waltui.model import (
    OUTSIDE_NAMESPACE,
    OWNER_NOT_FOUND,
    HeldLock,
    Reader,
    Reading,
)
from waltui.naming import named_process, reader_sentence
from waltui.support import exits
from waltui.units import human_bytes, literal_lines, visible

if TYPE_CHECKING:
    from waltui.collector.changes import Change

FORMATS = ("text", "json", "ndjson", "prometheus")  # snapshot's; check's: outputs/check.py
JSON_SCHEMA_VERSION = 1  # bumped only when a field changes meaning; fields are only added


def envelope(kind: str) -> dict[str, object]:
    """What every JSON document starts with (JSON Schema: waltui/schemas/waltui.schema.json):
    kind is snapshot, check or reading (one NDJSON line)."""
    return {"kind": kind, "schema_version": JSON_SCHEMA_VERSION, "waltui_version": __version__,
            "host": os.uname().nodename, "taken_at": round(time.time(), 3)}


def reading_json(reading: Reading) -> dict[str, object]:
    files, index = reading.files, reading.wal_index
    wal_header = files.wal_header if files else None
    return {
        "path": reading.path,
        "taken_at": round(reading.taken_at, 3),
        "error": ({"kind": reading.error.kind, "message": reading.error.message}
                  if reading.error else None),
        "journal_mode": reading.journal_mode,
        "page_size": reading.page_size,
        "db_bytes": files.db_bytes if files else None,
        "shm_bytes": files.shm_bytes if files else None,
        "journal_bytes": files.journal_bytes if files else None,
        "wal": {
            "exists": bool(files and files.wal_bytes is not None),
            "bytes": files.wal_bytes if files else None,
            "bytes_in_use": reading.wal_bytes_in_use,
            "frames_in_use": index.max_frame if index else None,
            "checkpoint_seq": wal_header.checkpoint_seq if wal_header else None,
            "salts": [wal_header.salt1, wal_header.salt2] if wal_header else None,
        },
        "wal_index": None if index is None else {
            "max_frame": index.max_frame, "backfilled": index.backfilled,
            "backfill_attempted": index.backfill_attempted,
            "read_marks": list(index.read_marks), "db_pages": index.db_pages,
            "change_counter": index.change_counter,
        },
        "frames_pending": reading.frames_pending,
        "locks": [
            {"pid": h.lock.pid, "file": h.lock.file, "lock": h.lock.lock, "slot": h.lock.slot,
             "mode": h.lock.mode, "waiting": h.lock.waiting,
             "held_seconds": round(h.held_seconds, 3), **_bounds(h),
             "process": h.process.label if h.process else None,
             "state": h.process.state if h.process else None, "ours": h.ours,
             "ofd": h.lock.ofd, "owner": OWNERS.get(h.lock.pid, "process")}
            for h in reading.held_locks
        ],
        "writer_pid": reading.writer_pid,
        "readers": [_reader_json(r) for r in reading.readers],
        "pinned_by": [_reader_json(r) for r in reading.pins],
        "stale_marks": [{"slot": m.slot, "read_mark": m.read_mark, "ours": m.ours}
                        for m in reading.stale_marks],
        "filesystem": None if reading.filesystem is None else {
            "type": reading.filesystem.type, "network": reading.filesystem.network,
            "fuse": reading.filesystem.fuse, "mount_point": reading.filesystem.mount_point,
        },
        "pragmas": reading.pragmas,
        "queue_depth": {q.name: q.depth for q in reading.queues},
        "queue_errors": {q.name: q.error for q in reading.queues if q.error},
        "notes": list(reading.notes),
        "opened_as": list(reading.opened_as),
        "journal_hot": bool(files and files.journal_hot),
        "sql_age_seconds": None if reading.sql_taken_at is None
        else round(reading.taken_at - reading.sql_taken_at, 3),
        "poll_ms": round(reading.poll_ms, 3),
        "waiters_seen": reading.waiters_seen,
    }


OWNERS = {OUTSIDE_NAMESPACE: "outside_namespace", OWNER_NOT_FOUND: "owner_not_found"}


def _bounds(held: HeldLock | Reader) -> dict[str, object]:
    return {"held_at_least": held.held_at_least,
            "held_at_most": None if held.held_at_most is None else round(held.held_at_most, 3)}


def _reader_json(reader: Reader) -> dict[str, object]:
    return {"pid": reader.pid, "slot": reader.slot, "read_mark": reader.read_mark,
            "process": reader.process, "held_seconds": round(reader.held_seconds, 3),
            **_bounds(reader), "ours": reader.ours}


def reading_text(reading: Reading) -> str:
    """A short, readable block per database, as an operator would read it in a terminal."""
    lines = [visible(reading.path)]
    if reading.error:
        lines.append(f"  {'error' if reading.error.fatal else 'note'}: "
                     f"{reading.error.kind}: {visible(reading.error.message)}")
    if reading.files is None:
        return "\n".join(lines)
    files, index = reading.files, reading.wal_index
    if reading.journal_mode is None:  # not an SQLite file, or its header is unreadable
        lines.append(f"  file {human_bytes(files.db_bytes)}")
    else:
        lines.append(f"  mode {reading.journal_mode}, page size {reading.page_size}, "
                     f"db {human_bytes(files.db_bytes)}")
    if files.wal_bytes is not None:
        lines.append(f"  -wal {human_bytes(files.wal_bytes)} "
                     f"({human_bytes(reading.wal_bytes_in_use or 0)} in use)")
    if index is not None:
        marks = " ".join("-" if m is None else str(m) for m in index.read_marks)
        lines.append(f"  frames {index.max_frame}, checkpointed {index.backfilled}, "
                     f"pending {index.frames_pending}; read marks [{marks}]")
    if reading.writer_pid:
        lines.append(f"  writer: {named_process(reading, reading.writer_pid)}")
    lines += [f"  reader: {reader_sentence(reader, index)}" for reader in reading.readers]
    if reading.filesystem:
        flag = " (network)" if reading.filesystem.network else ""
        lines.append(f"  filesystem {visible(reading.filesystem.type)}{flag}")
    for queue in reading.queues:
        lines.append(f"  queue {visible(queue.name)}: "
                     + (str(queue.depth) if queue.error is None else visible(queue.error)))
    lines += [f"  note: {visible(note)}" for note in reading.notes]
    return "\n".join(lines)


def write_snapshot(changes: Sequence[Change], output: str, textfile: str | None = None) -> int:
    """A snapshot's output, from a live poll or a recording (`snapshot --at`)."""
    readings = [change.reading for change in changes]
    if output == "prometheus":
        from waltui.outputs.prometheus import (
            Exported,
            ExportState,
            exposition,
            write_textfile,
        )
        from waltui.support.deadline import within_deadline
        text = exposition(ExportState({c.path: Exported(c.reading, c.findings) for c in changes},
                                      cycle_seconds=sum(r.poll_ms for r in readings) / 1000))
        if textfile is None:
            sys.stdout.write(text.decode())
            return exits.OK
        directory = textfile
        try:  # under a deadline: a timer's run on a hung mount must end, and say why
            if within_deadline(lambda: write_textfile(directory, text), None) is None:
                raise OSError(f"{directory}: the filesystem does not answer")
        except OSError as exc:
            print(f"waltui: cannot write into {visible(textfile)}: "
                  f"{visible(exc.strerror or exc)}", file=sys.stderr)
            return exits.CANNOT_CREATE
        return exits.OK
    if output == "json":
        json.dump({**envelope("snapshot"), "databases": [reading_json(r) for r in readings]},
                  sys.stdout, indent=2)
        print()
    elif output == "ndjson":
        for reading in readings:
            print(json.dumps({**envelope("reading"), **reading_json(reading)}))
    elif output == "text":
        print(literal_lines("\n\n".join(reading_text(r) for r in readings)))
    else:
        raise ValueError(f"unknown snapshot format {output!r}; known: {', '.join(FORMATS)}")
    return exits.OK
