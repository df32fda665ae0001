"""Checkpoints, integrity checks, pragmas and recovery against real databases and processes."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import apsw
import pytest

from tests.narrow import some
from waltui.actions.database import (
    IntegrityRun,
    Refused,
    checkpoint,
    set_pragma,
)
from waltui.actions.recovery import guided_recovery
from waltui.history import describe_checkpoint

pytestmark = pytest.mark.system


def test_checkpoint_that_succeeds(live_db):
    db, _app = live_db
    result = checkpoint(str(db), "PASSIVE")
    assert result.outcome == "done"
    assert result.busy == 0 and result.log == result.checkpointed and some(result.log) > 0
    assert "done" in describe_checkpoint(result)


def test_partial_checkpoint_under_a_pinned_reader_names_it(live_db, spawn):
    db, app = live_db
    reader = spawn(db)
    reader.do("begin_read")
    app.do("insert 100")
    result = checkpoint(str(db), "PASSIVE")
    assert result.outcome == "partial"
    assert result.busy == 0 and some(result.checkpointed) < some(result.log)
    assert any(f"pid {reader.pid}" in b for b in result.blockers)
    assert f"pid {reader.pid}" in describe_checkpoint(result)


def test_a_passive_checkpoint_blames_only_the_reader_at_its_stopping_frame(live_db, spawn):
    """Two readers pin at different frames: the checkpoint stops at the older mark, and only
    that reader stopped it (the newer one would have let it go further)."""
    db, app = live_db
    older, newer = spawn(db), spawn(db)
    older.do("begin_read")
    app.do("insert 50")
    newer.do("begin_read")
    app.do("insert 50")
    result = checkpoint(str(db), "PASSIVE")
    assert result.outcome == "partial"
    [blamed] = result.blockers
    assert f"pid {older.pid}" in blamed and f"at frame {result.checkpointed}" in blamed


def test_a_full_checkpoint_stopped_by_the_writer_blames_the_writer(live_db, spawn):
    """FULL waits for the write lock first: a held write lock stops it, and no reader can be
    blamed for that (a reader at the last frame was blamed before)."""
    db, app = live_db
    reader, writer = spawn(db), spawn(db)
    reader.do("begin_read")  # reads at the last frame: stops nothing
    writer.do("begin_write")
    result = checkpoint(str(db), "FULL", deadline=0.5)
    assert result.outcome == "busy" and result.busy == 1
    assert result.blockers == (f"pid {writer.pid} `{_program(writer)}` (held the write lock)",)


def _program(helper) -> str:
    from waltui.units import short_command
    with open(f"/proc/{helper.pid}/cmdline", "rb") as handle:
        return short_command(handle.read().replace(b"\0", b" ").decode().strip())


def test_a_restart_that_cannot_restart_the_wal_blames_the_readers(live_db, spawn):
    db, app = live_db
    reader = spawn(db)
    reader.do("begin_read")  # at the last frame: everything can be copied, no restart
    result = checkpoint(str(db), "RESTART", deadline=0.3)
    assert result.outcome == "busy" and result.log == result.checkpointed
    [blamed] = result.blockers
    assert f"pid {reader.pid}" in blamed and "could not restart" in blamed


def test_our_checkpoint_of_a_closed_wal_database_leaves_no_shm(tmp_path):
    db = tmp_path / "closed.db"
    conn = apsw.Connection(str(db))
    conn.execute("PRAGMA journal_mode=wal").fetchall()
    conn.execute("PRAGMA wal_autocheckpoint=0").fetchall()
    conn.execute("CREATE TABLE t(x)")
    conn.execute("INSERT INTO t VALUES (1)")
    conn.config(apsw.SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1)
    conn.close()  # an application that died: -wal with a frame, no holder
    os.unlink(f"{db}-shm")
    result = checkpoint(str(db), "PASSIVE")
    assert result.outcome == "done"
    assert not os.path.exists(f"{db}-shm") and not os.path.exists(f"{db}-wal")
    check = apsw.Connection(str(db))
    assert check.execute("SELECT x FROM t").fetchall() == [(1,)]  # nothing was lost


def test_truncate_shrinks_the_wal_to_zero(live_db):
    db, _app = live_db
    assert os.stat(f"{db}-wal").st_size > 0
    result = checkpoint(str(db), "TRUNCATE")
    assert result.outcome == "done" and some(result.wal_bytes_before) > 0
    assert result.wal_bytes_after == 0 == os.stat(f"{db}-wal").st_size


def test_deadline_is_honoured_while_a_reader_stays(live_db, spawn):
    db, app = live_db
    reader = spawn(db)
    reader.do("begin_read")
    app.do("insert 10")
    started = time.monotonic()
    result = checkpoint(str(db), "RESTART", deadline=1.5)
    elapsed = time.monotonic() - started
    assert 1.5 <= elapsed < 30  # it waited out its deadline, and then gave up
    assert result.outcome in ("busy", "partial") and result.attempts >= 1
    assert any(f"pid {reader.pid}" in b for b in result.blockers)
    assert "deadline of 1.5 s reached" in result.message


def test_restart_succeeds_once_the_reader_ends_within_the_deadline(live_db, spawn):
    db, app = live_db
    reader = spawn(db)
    reader.do("begin_read")
    app.do("insert 10")
    threading.Timer(0.5, lambda: reader.do("end")).start()
    result = checkpoint(str(db), "RESTART", deadline=5)
    assert result.outcome == "done" and result.elapsed < 3


def make_table_db(path: Path, rows: int, blob: int = 50) -> None:
    conn = apsw.Connection(str(path))
    conn.execute("CREATE TABLE t(x)")
    conn.execute("CREATE INDEX i ON t(x)")
    conn.execute(f"WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < "
                 f"{rows}) INSERT INTO t SELECT randomblob({blob}) FROM n")
    conn.close()


def test_integrity_of_a_good_and_a_corrupted_database(tmp_path):
    good, bad = tmp_path / "good.db", tmp_path / "bad.db"
    make_table_db(good, 2000)
    make_table_db(bad, 2000)
    conn = apsw.Connection(str(bad))  # orphan the index's pages: a real, detectable corruption
    conn.execute("PRAGMA writable_schema=ON")
    conn.execute("DELETE FROM sqlite_schema WHERE name = 'i'")
    conn.close()
    assert IntegrityRun(str(good)).run() == ("ok", ["ok"])
    outcome, messages = IntegrityRun(str(bad), full=True).run()
    assert outcome == "problems" and "never used" in messages[0]


def test_cancel_of_a_long_integrity_check(tmp_path):
    big = tmp_path / "big.db"
    make_table_db(big, 300_000, blob=200)
    check = IntegrityRun(str(big), full=True)
    outcome: list[tuple[str, list[str]]] = []
    thread = threading.Thread(target=lambda: outcome.append(check.run()))
    thread.start()
    while check.progress_steps < 100:
        time.sleep(0.01)
    check.cancel()
    thread.join(timeout=60)
    assert outcome == [("cancelled", [])]
    full = IntegrityRun(str(big), full=True)
    assert full.run()[0] == "ok"
    # counted in SQLite's opcodes, not seconds: the cancelled one stopped well short
    assert check.progress_steps < full.progress_steps / 2


def test_read_only_refuses_every_writing_action(live_db):
    db, _app = live_db
    before = os.stat(f"{db}-wal").st_size
    assert checkpoint(str(db), "TRUNCATE", read_only=True).outcome == "refused"
    with pytest.raises(Refused):
        set_pragma(str(db), "journal_mode", "delete", read_only=True)
    with pytest.raises(Refused):
        set_pragma(str(db), "optimize", "", read_only=True)
    assert os.stat(f"{db}-wal").st_size == before
    assert Path(db).read_bytes()[18:20] == b"\x02\x02"  # still WAL
    _app.stop()  # its close checkpoints and removes the -wal: SQLite's doing, not ours
    steps = guided_recovery(str(db), read_only=True)
    assert [(s.name, s.outcome) for s in steps] == [("holders", "ok"), ("checkpoint", "stopped")]
    assert "read-only" in steps[-1].detail


def test_per_connection_pragma_changes_only_waltui(live_db):
    db, app = live_db
    app.do("sql PRAGMA busy_timeout=0")
    message = set_pragma(str(db), "busy_timeout", "1234", read_only=False)
    assert "waltui's own connection only" in message and "does not change the application" \
        in message
    assert app.do("sql PRAGMA busy_timeout") == [[0]]


def test_persistent_pragma_change_is_stored(tmp_path, spawn):
    db = tmp_path / "legacy.db"
    app = spawn(db)
    app.do("rollback")
    app.do("setup")
    app.stop()
    message = set_pragma(str(db), "journal_mode", "wal", read_only=False)
    assert "now wal" in message and "stored in the database file" in message
    assert Path(db).read_bytes()[18:20] == b"\x02\x02"


def test_guided_recovery_stops_while_held_and_runs_when_free(live_db):
    db, app = live_db
    steps = guided_recovery(str(db), read_only=False)
    assert [s.outcome for s in steps] == ["stopped"] and f"pid {app.pid}" in steps[0].detail
    app.stop()
    steps = guided_recovery(str(db), read_only=False)
    assert [(s.name, s.outcome) for s in steps] == [
        ("holders", "ok"), ("checkpoint", "ok"), ("integrity_check", "ok")]
    assert os.path.exists(f"{db}-wal") and os.stat(f"{db}-wal").st_size == 0
