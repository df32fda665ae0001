"""What the operator's keys do to a database: checkpoint, integrity check, pragmas, recovery.

Plain functions, no Textual: the UI runs them in worker threads and renders their results.
Each opens its own connection through probes.sqlite (inside the close-hazard guard), and each
writing action refuses under read-only mode and reports exactly what it did.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import apsw

from waltui.actions.blame import checkpoint_blockers
from waltui.actions.operations import READ_ONLY_REFUSAL
from waltui.history import CheckpointResult
from waltui.model import Reading
from waltui.options import ObserveOptions
from waltui.probes.reading import DatabaseObserver, PollContext
from waltui.probes.sql_values import opens_immutable
from waltui.probes.sqlite import action_connection, observer_connection

CHECKPOINT_MODES: dict[str, tuple[int, str]] = {
    "PASSIVE": (apsw.SQLITE_CHECKPOINT_PASSIVE,
                "Copies what it can without waiting; never blocks readers or writers. Stops at "
                "the oldest live reader's mark."),
    "FULL": (apsw.SQLITE_CHECKPOINT_FULL,
             "Waits for the writer and takes the write lock, then copies everything readers "
             "allow. Writers wait while it runs."),
    "RESTART": (apsw.SQLITE_CHECKPOINT_RESTART,
                "As FULL, then waits for every reader to finish so the next writer starts "
                "the -wal from the beginning. Writers are blocked while it waits."),
    "TRUNCATE": (apsw.SQLITE_CHECKPOINT_TRUNCATE,
                 "As RESTART, then truncates the -wal to 0 bytes: gives the disk back. "
                 "Writers are blocked while it waits."),
}


class Refused(Exception):
    """A writing action asked for under read-only mode."""


class ActionFailed(Exception):
    """SQLite refused or failed the action: the message says what was tried and why."""


def wal_size(path: str) -> int | None:
    try:
        return os.stat(f"{path}-wal").st_size
    except OSError:
        return None


def locks_now(path: str) -> Reading:
    """Locks, marks and holders right now, without SQL: what stopped an action."""
    observer = DatabaseObserver(path, ObserveOptions(sql=False))
    try:
        return observer.read(PollContext.capture())
    finally:
        observer.close()


def checkpoint(path: str, mode: str, *, deadline: float = 10.0, read_only: bool = False,
               journal_size_limit: int | None = None,
               cancelled: Callable[[], bool] = lambda: False) -> CheckpointResult:
    """Retry with backoff until done or the deadline. busy_timeout makes each try wait for
    readers (wal-facts.md), capped by the time left, so the deadline holds within ~50 ms."""
    started = time.monotonic()
    before = wal_size(path)

    def result(outcome: str, row: tuple[int, int, int] | None, attempts: int, message: str = "",
               blockers: tuple[str, ...] = ()) -> CheckpointResult:
        busy, log, done = row if row else (None, None, None)
        return CheckpointResult(mode, outcome, busy, log, done, attempts,
                                time.monotonic() - started, before, wal_size(path), time.time(),
                                message, blockers)

    if read_only:
        return result("refused", None, 0, READ_ONLY_REFUSAL)
    if mode not in CHECKPOINT_MODES:  # it is spliced into the PRAGMA below
        raise ValueError(f"unknown checkpoint mode {mode!r}")
    attempts, backoff, row = 0, 0.05, None
    # Nobody had the WAL open (no -shm): let SQLite tidy up on our close as the last
    # connection always does, so our own checkpoint leaves no -shm behind to report.
    tidy = not os.path.exists(f"{path}-shm")
    try:
        with action_connection(path, busy_timeout_ms=0, checkpoint_on_close=tidy) as conn:
            if journal_size_limit is not None:
                conn.execute(f"PRAGMA journal_size_limit={int(journal_size_limit)}").fetchall()
            while True:
                attempts += 1
                left = deadline - (time.monotonic() - started)
                conn.set_busy_timeout(max(0, int(min(left, 2.0) * 1000)))
                try:
                    row = conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
                except apsw.BusyError:
                    row = None
                if row is not None and row[0] == 0 and row[1] == row[2]:
                    return result("done", row, attempts)
                left = deadline - (time.monotonic() - started)
                passive_partial = row is not None and row[0] == 0 and mode == "PASSIVE"
                if passive_partial or left <= 0 or cancelled():
                    # Asked at once, while the cause most likely still holds on.
                    blamed = checkpoint_blockers(mode, row, locks_now(path))
                    break
                time.sleep(min(backoff, left))
                backoff = min(backoff * 2, 1.0)
    except apsw.Error as exc:
        return result("error", row, attempts, f"{type(exc).__name__}: {exc}")
    outcome = "busy" if row is None or row[0] else "partial"
    message = "" if passive_partial else \
        "cancelled" if cancelled() else f"deadline of {deadline:g} s reached"
    if not blamed:
        message = "; ".join(filter(None, [message, "what stopped it had ended before waltui "
                                          "looked at the locks"]))
    return result(outcome, row, attempts, message, blamed)


PROGRESS_OPCODES = 50_000


@dataclass
class IntegrityRun:
    """An integrity check that the UI can watch (progress) and cancel (apsw interrupt)."""

    path: str
    full: bool = False
    immutable: bool = False  # probes.sql_values.opens_immutable of the latest reading
    progress_steps: int = 0  # thousands of SQLite opcodes run so far
    pinned_frame: int | None = None
    _conn: apsw.Connection | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _cancelled: bool = False

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            if self._conn is not None:
                self._conn.interrupt()

    def run(self) -> tuple[str, list[str]]:
        """Returns (outcome, messages): ok | problems | cancelled | error."""
        pragma = "integrity_check" if self.full else "quick_check"
        try:
            with observer_connection(self.path, immutable=self.immutable) as conn:
                with self._lock:
                    if self._cancelled:
                        return "cancelled", []
                    self._conn = conn
                # A Python call every 1,000 opcodes held the interpreter lock so often that
                # the dashboard answered a key in ~1.3 s during a check: every 50,000. The
                # cancel is an interrupt, which does not wait for this handler.
                conn.set_progress_handler(self._tick, PROGRESS_OPCODES)
                try:
                    rows = [r[0] for r in conn.execute(f"PRAGMA {pragma}(100)")]
                finally:
                    with self._lock:
                        self._conn = None
        except apsw.InterruptError:
            return "cancelled", []
        except apsw.Error as exc:
            return "error", [f"{type(exc).__name__}: {exc}"]
        return ("ok", rows) if rows == ["ok"] else ("problems", rows)

    def _tick(self) -> bool:
        self.progress_steps += PROGRESS_OPCODES // 1000
        return False


PERSISTENT_PRAGMAS = ("journal_mode", "page_size", "auto_vacuum", "user_version",
                      "application_id")
CONNECTION_PRAGMAS = ("busy_timeout", "synchronous", "wal_autocheckpoint", "journal_size_limit",
                      "cache_size", "mmap_size", "temp_store", "foreign_keys")
ADVICE: dict[str, str] = {
    "journal_mode": "WAL",
    "busy_timeout": "5000 (0 makes every conflict an immediate SQLITE_BUSY)",
    "synchronous": "NORMAL (1) is durable enough in WAL mode and much faster than FULL",
    "wal_autocheckpoint": "1000 (the default); never 0 unless you checkpoint yourself",
    "journal_size_limit": "e.g. 67108864, so the -wal shrinks back after a big burst",
    "foreign_keys": "ON if the schema uses them",
}


def read_pragma_panel(path: str, *, immutable: bool = False) -> dict[str, object]:
    """Current values: persistent ones as stored, per-connection ones as a new connection
    (waltui's) sees them. The application's own connections may differ."""
    with observer_connection(path, immutable=immutable) as conn:
        return {name: (conn.execute(f"PRAGMA {name}").fetchone() or [None])[0]
                for name in PERSISTENT_PRAGMAS + CONNECTION_PRAGMAS}


# Words a pragma takes besides numbers; SQLite ignores a word it does not know (and
# journal_mode=7 left the mode as it was while the panel said "now wal").
PRAGMA_WORDS: dict[str, tuple[str, ...]] = {
    "journal_mode": ("delete", "truncate", "persist", "memory", "wal", "off"),
    "synchronous": ("off", "normal", "full", "extra"),
    "temp_store": ("default", "file", "memory"),
    "auto_vacuum": ("none", "full", "incremental"),
    "foreign_keys": ("on", "off", "true", "false"),
}


def check_pragma_value(name: str, value: str) -> str:
    """The value as SQLite should get it, or ValueError saying what is accepted: one of the
    pragma's words, or a whole number (journal_mode takes words only)."""
    words = PRAGMA_WORDS.get(name, ())
    if value.lower() in words:
        return value.lower()
    if name != "journal_mode":
        try:
            return str(int(value))
        except ValueError:
            pass
    accepted = " or ".join(filter(None, ["a whole number" if name != "journal_mode" else "",
                                         f"one of {', '.join(words)}" if words else ""]))
    raise ValueError(f"{name} takes {accepted}, got {value!r}")


def set_pragma(path: str, name: str, value: str, *, read_only: bool) -> str:
    """Apply one pragma; the answer says what was written and where it takes effect, and
    when SQLite kept another value than the one asked for."""
    if read_only:
        raise Refused(READ_ONLY_REFUSAL)
    if name not in PERSISTENT_PRAGMAS + CONNECTION_PRAGMAS + ("optimize",):
        raise ValueError(f"unknown pragma {name}")
    if name != "optimize":
        value = check_pragma_value(name, value)
    try:
        with action_connection(path, busy_timeout_ms=2000) as conn:
            statement = "PRAGMA optimize" if name == "optimize" else f"PRAGMA {name}={value}"
            rows = conn.execute(statement).fetchall()
            now = rows[0][0] if rows else \
                (conn.execute(f"PRAGMA {name}").fetchone() or [None])[0] \
                if name != "optimize" else None
    except apsw.Error as exc:  # said in the panel, never a traceback
        raise ActionFailed(f"PRAGMA {name} failed: {exc}") from exc
    if name in CONNECTION_PRAGMAS:
        return (f"{name}={now} set on waltui's own connection only (closed again): it does not "
                f"change the application. Put PRAGMA {name}={value} in the application's code.")
    if name == "optimize":
        return "PRAGMA optimize ran: statistics refreshed where SQLite judged it useful."
    if name == "journal_mode" and str(now).lower() != value:
        return (f"journal_mode stays {now}: SQLite did not switch it to {value} (another "
                "connection may hold the database, or the mode cannot change now)")
    return f"{name} is now {now}: stored in the database file, every connection sees it."


def opens_immutable_now(reading: Reading | None) -> bool:
    """Whether an integrity check or a pragma read of this database opens it immutable=1:
    a WAL database with no -wal and no -shm, which a plain open would create."""
    return bool(reading is not None and reading.files is not None
                and opens_immutable(reading.files))
