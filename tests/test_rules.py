"""The health rules, the model's derived numbers and the output formats on readings built
in the test (the fast tier: no process, file or terminal). The same rules against real
processes are in test_health.py, test_holds.py and test_truths.py."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SCHEMA
from tests.frozen import AGENT, REPORT, WRITER, _reading
from tests.narrow import some
from waltui.config import Thresholds
from waltui.health import evaluate
from waltui.history import History
from waltui.model import (
    OUTSIDE_NAMESPACE,
    OWNER_NOT_FOUND,
    Finding,
    HeldLock,
    Lock,
    Reader,
    Reading,
)

T = Thresholds()


def lock(pid: int, file: str, name: str, slot: int | None = None, mode: str = "shared",
         ofd: bool = False, waiting: bool = False) -> Lock:
    return Lock(pid=pid, file=file, lock=name, slot=slot, mode=mode, waiting=waiting, ofd=ofd)  # type: ignore[arg-type]


def writer_reading(held_seconds: float, *, at_least: bool = False,
                   at_most: float | None = None, pid: int = WRITER.pid,
                   waiters_seen: bool = True) -> Reading:
    info = WRITER if pid > 0 else None
    held = [HeldLock(lock=lock(pid, "shm", "write", mode="exclusive"), process=info, held_seconds=held_seconds,
                     held_at_least=at_least, held_at_most=at_most),
            HeldLock(lock=lock(AGENT.pid, "shm", "dms"), process=AGENT, held_seconds=600)]
    reading = _reading("/srv/a.db", 300, 300, (0, 300, None, None, None), held)
    return replace(reading, waiters_seen=waiters_seen)


def found(reading: Reading, history: History | None = None) -> dict[str, str]:
    return {f.code: f.severity for f in evaluate(reading, history or History(), T)}


def finding(reading: Reading, code: str) -> Finding:
    return next(f for f in evaluate(reading, History(), T) if f.code == code)


@pytest.mark.parametrize("held, at_least, at_most, expected", [
    (2.0, False, None, None),  # a short hold seen from its start
    (6.0, False, None, "warning"),
    (31.0, False, None, "critical"),
    (0.5, True, 3600.0, None),  # before waltui looked, one sample: nothing timed yet
    (1.2, True, 3600.0, "warning"),  # two samples a second apart, no commit: check's case
    (6.0, True, 3600.0, "critical"),  # may have lasted past 30 s: never lowered
    (6.0, True, 8.0, "warning"),  # its process is 8 s old: it cannot have reached 30 s
])
def test_write_lock_held_judges_what_can_be_proven(held, at_least, at_most, expected):
    reading = writer_reading(held, at_least=at_least, at_most=at_most)
    assert found(reading).get("write_lock_held") == expected
    if expected and at_least:
        words = finding(reading, "write_lock_held")
        assert ">=" in words.title and "already held when waltui started" in words.evidence


def test_a_hold_the_source_cannot_see_waiters_of_says_so():
    reading = writer_reading(6.0, waiters_seen=False)
    assert "cannot be seen with this lock source" in finding(reading, "write_lock_held").evidence
    assert "cannot be seen" not in finding(writer_reading(6.0), "write_lock_held").evidence


def test_a_writer_outside_the_namespace_is_held_not_leftover():
    reading = writer_reading(6.0, pid=OUTSIDE_NAMESPACE)
    assert reading.writer_pid == OUTSIDE_NAMESPACE
    result = found(reading)
    assert result.get("write_lock_held") == "warning" and "leftover_shm" not in result
    assert "a process outside this pid namespace" in \
        finding(reading, "write_lock_held").evidence


def test_an_ofd_lock_with_no_owner_is_named_for_it():
    reading = writer_reading(6.0, pid=OWNER_NOT_FOUND)
    assert "an open file description, owner not found" in \
        finding(reading, "write_lock_held").evidence


def pinned(max_frame: int, held_seconds: float, *, at_least: bool = False,
           at_most: float | None = None) -> Reading:
    mark = 151
    held = [HeldLock(lock=lock(REPORT.pid, "shm", "read", 1), process=REPORT, held_seconds=held_seconds),
            HeldLock(lock=lock(AGENT.pid, "shm", "dms"), process=AGENT, held_seconds=600)]
    readers = [Reader(pid=REPORT.pid, slot=1, read_mark=mark, process=REPORT.cmdline, held_seconds=held_seconds, pins=True,
                      held_at_least=at_least, held_at_most=at_most)]
    return _reading("/srv/g.db", max_frame, mark, (0, mark, None, None, None), held, readers)


@pytest.mark.parametrize("max_frame, held, at_least, at_most, expected", [
    (154, 600.0, False, None, None),  # 3 frames pinned for 10 minutes: not starvation
    (1500, 2.0, False, None, "warning"),  # a backlog behind a fresh pin
    (1500, 40.0, False, None, "critical"),
    (1500, 2.0, True, 3600.0, "critical"),  # may have pinned for an hour
    (1500, 2.0, True, 10.0, "warning"),
])
def test_starvation_needs_the_backlog_and_judges_the_pin_it_may_be(max_frame, held, at_least,
                                                                    at_most, expected):
    reading = pinned(max_frame, held, at_least=at_least, at_most=at_most)
    assert found(reading).get("checkpoint_starvation") == expected


def test_rollback_exclusive_mode_is_the_mode_once_seen_committing():
    """History sees the same pid keep EXCLUSIVE across a commit (the file changed): the
    mode, not a transaction; before that, a long EXCLUSIVE is a held write lock."""
    base = writer_reading(40.0)
    files = replace(some(base.files), wal_index=None, shm_bytes=None,
                    db_header=replace(some(some(base.files).db_header), write_version=1))
    held = (HeldLock(lock=lock(WRITER.pid, "db", "exclusive", mode="exclusive"), process=WRITER, held_seconds=40.0),)
    first = replace(base, files=files, journal_mode="rollback", held_locks=held)
    history = History()
    history.add(first)
    assert "write_lock_held" in found(first, history)
    later = replace(first, files=replace(files, db_mtime_ns=files.db_mtime_ns + 1))
    history.add(later)
    result = found(later, history)
    assert "write_lock_held" not in result and result["exclusive_locking_mode"] == "info"


def test_a_reading_aged_holds_longer_and_keeps_what_it_knew():
    reading = writer_reading(6.0, at_least=True, at_most=100.0)
    later = reading.later(10.0, reading.taken_at + 10)
    [write, _] = later.held_locks
    assert write.held_seconds == 16.0 and write.held_at_most == 110.0 and write.held_at_least
    assert reading.held_locks[0].held_seconds == 6.0  # the original is not changed


def test_the_json_of_every_owner_kind_validates_and_says_what_it_is():
    from jsonschema import Draft202012Validator

    from waltui.outputs.report import envelope, reading_json

    readings = [writer_reading(6.0, at_least=True, at_most=9.0),
                writer_reading(6.0, pid=OUTSIDE_NAMESPACE),
                writer_reading(6.0, pid=OWNER_NOT_FOUND, waiters_seen=False)]
    databases: list[dict[str, Any]] = [reading_json(r) for r in readings]
    document = {**envelope("snapshot"), "databases": databases}
    assert not list(Draft202012Validator(SCHEMA).iter_errors(document))
    owners = [db["locks"][0]["owner"] for db in databases]
    assert owners == ["process", "outside_namespace", "owner_not_found"]
    first = databases[0]["locks"][0]
    assert first["held_at_least"] is True and first["held_at_most"] == 9.0
    assert databases[2]["waiters_seen"] is False


def test_text_output_shows_a_lower_bound_as_such():
    from waltui.outputs.report import reading_text

    reading = pinned(1500, 4.0, at_least=True, at_most=3600.0)
    assert "for >=4s" in reading_text(reading)


def test_one_list_of_formats_for_the_parsers_and_the_writers():
    """The parsers offer exactly what the writers write, and a format no writer knows is
    an error, never text."""
    from waltui.cli.args import CHECK_FORMATS, SNAPSHOT_FORMATS
    from waltui.outputs import check, report

    assert SNAPSHOT_FORMATS == report.FORMATS and CHECK_FORMATS == check.FORMATS
    with pytest.raises(ValueError, match="unknown snapshot format 'yaml'"):
        report.write_snapshot([], "yaml")
    with pytest.raises(ValueError, match="unknown check format 'yaml'"):
        check.write_check([], 0, [], "yaml")


def test_every_operation_the_code_names_is_in_the_registry():
    """An action's key calls gate(NAME), perform(NAME, ...) or confirm(NAME, ...): a name
    the operations registry lacks was a KeyError that ended the dashboard. Every such
    literal in waltui/ui is found in the source and checked."""
    import ast
    from pathlib import Path

    from waltui.actions.operations import OPERATIONS

    named = set()
    for path in Path(__file__).parent.parent.joinpath("waltui", "ui").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                    node.func.attr in ("gate", "perform", "perform_steps", "confirm",
                                       "refusal", "_signal_culprit") and node.args and \
                    isinstance(node.args[0], ast.Constant):
                named.add(node.args[0].value)
    assert named and named <= set(OPERATIONS), named - set(OPERATIONS)
    assert {"integrity", "pragmas", "recover", "terminate", "kill"} <= named


def test_every_writing_key_is_an_operation_that_writes():
    from waltui.actions.operations import OPERATIONS
    from waltui.keys import KEYS

    for key in KEYS:
        if key.action in OPERATIONS:
            assert key.writes == OPERATIONS[key.action].writes
    assert {k.action for k in KEYS if k.writes} == {"checkpoint", "recover", "terminate",
                                                     "kill"}


def test_the_fast_copy_is_dataclasses_replace():
    """Every model dataclass, every field changed: the same value replace() builds (no
    __post_init__ or InitVar a fast copy would skip)."""
    import dataclasses

    import waltui.model as model
    from tests.frozen import frozen_updates

    reading = frozen_updates()[1].reading
    values = {type(v): v for v in (reading, some(reading.files), some(some(reading.files).wal_index),
                                   some(some(reading.files).db_header), reading.held_locks[0],
                                   reading.held_locks[0].lock, reading.readers[0],
                                   some(reading.filesystem), reading.queues[0],
                                   some(reading.held_locks[0].process))}
    classes = [c for c in vars(model).values() if isinstance(c, type)
               and dataclasses.is_dataclass(c) and c.__module__ == "waltui.model"]
    for cls in classes:  # keyword-only: a field added in the middle cannot shift values
        assert cls.__dataclass_params__.frozen, cls  # type: ignore[attr-defined]
        assert all(f.kw_only for f in dataclasses.fields(cls)), cls
        assert not hasattr(cls, "__post_init__"), cls
    for value in values.values():
        copy: Any = dataclasses.replace  # each value's own class: one signature per loop
        for field in dataclasses.fields(value):
            other = "x" if isinstance(getattr(value, field.name), str) else None
            assert model.fast_replace(value, {field.name: other}) == \
                copy(value, **{field.name: other})


def test_every_finding_code_has_a_short_health_label_of_at_most_11_cells():
    """The overview's health column is "CRIT " plus the label: 16 cells at most, so at 80
    columns it leaves room for the rest."""
    import re

    from waltui.ui.format import SHORT_CODE

    source = "".join(p.read_text() for p in (Path(__file__).parent.parent / "waltui" /
                                             "health").glob("*.py"))
    codes = set(re.findall(r'code="([a-z_]+)"', source))
    assert len(codes) > 10
    labels = {code: SHORT_CODE.get(code, code.replace("_", " ")) for code in codes}
    assert all(len(label) <= 11 for label in labels.values()), labels
