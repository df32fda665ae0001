"""Which live reader stops the checkpoint, and which read marks are leftovers.

A mark alone proves nothing: SQLite leaves marks behind when readers end. Only the shared lock
on the slot's byte says a reader is there now (wal-facts.md). Measured beyond the facts file: a
reader on slot 0 (it began when the WAL was fully checkpointed) reads the database file itself,
so no checkpoint may copy anything while it lives: it pins the WAL at nBackfill.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from waltui.model import Lock, Reader, StaleMark, WalIndex


def find_readers(
    index: WalIndex | None,
    locks: Iterable[Lock],
    describe: Callable[[int], str],
    hold: Callable[[tuple[object, ...], int], tuple[float, bool, float | None]],
    own: frozenset[int] = frozenset(),
) -> tuple[tuple[Reader, ...], tuple[StaleMark, ...]]:
    if index is None:
        return (), ()
    held: dict[int, set[int]] = {}
    touched: set[int] = set()  # slots any lock is on: an exclusive one is a mark being set
    for lock in locks:
        if lock.file == "shm" and lock.lock == "read" and not lock.waiting:
            touched.add(lock.slot or 0)
            if lock.mode == "shared":
                held.setdefault(lock.slot or 0, set()).add(lock.pid)
    readers = []
    for slot, pids in sorted(held.items()):
        mark = index.read_marks[slot] if slot < len(index.read_marks) else None
        if mark is None:
            continue  # a reader never holds an unused slot; a lock in flight
        stops_at = index.limit_frame(slot, mark)
        for pid in sorted(pids):
            seconds, at_least, at_most = hold(("pin", pid, slot, mark), pid)
            readers.append(Reader(
                pid=pid, slot=slot, read_mark=mark, process=describe(pid),
                held_seconds=seconds, pins=stops_at < index.max_frame, ours=pid in own,
                held_at_least=at_least, held_at_most=at_most,
            ))
    stale = tuple(
        StaleMark(slot=slot, read_mark=mark) for slot, mark in enumerate(index.read_marks)
        if slot > 0 and mark is not None and slot not in touched
    )
    return tuple(readers), stale
