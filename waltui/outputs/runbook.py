"""What to do about each finding and alert: one text, served by `waltui export` at /runbook
(the example alert rules' runbook_url points there, on the exporter that raised the alert)
and written to docs/runbook.md (tests/test_prometheus.py keeps the two the same)."""

from __future__ import annotations

import html
import textwrap
from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    anchor: str  # a finding's code, or an alert's own name for the alerts that are no finding
    title: str
    means: str
    look: str
    act: str


RUNBOOK: tuple[Entry, ...] = (
    Entry("write_lock_held", "One transaction holds the write lock",
          "Every other writer waits for its busy_timeout, then gets SQLITE_BUSY (\"database "
          "is locked\"). Usually a BEGIN IMMEDIATE left open on an error path, a process "
          "stopped in a debugger, or one hung in I/O.",
          "`waltui check DB` names the holder (pid and command line), how long it has held "
          "the lock, its state, and who waits. In the dashboard, the Locks pane.",
          "End that transaction in the application (commit or roll back). If the process is "
          "stuck, stop it: `k` (SIGTERM) in the dashboard, checked by pid and start time; its "
          "transaction rolls back and nothing it committed is lost. A holder in D state is "
          "a storage problem (see d_state_holder)."),
    Entry("checkpoint_starvation", "Checkpoints cannot keep up: the -wal grows",
          "A reader holds a snapshot, so no checkpoint may copy frames past its read mark, "
          "and the WAL cannot restart: the -wal file grows with every commit and reads get "
          "slower.",
          "`waltui check DB` names the reader that stops the checkpoint and how long it has "
          "read. The dashboard's Locks pane shows its slot and mark; the WAL pane the growth.",
          "End the long read transaction (an iterator left open, a report, a backup). Once it "
          "ends, a checkpoint copies everything; a TRUNCATE checkpoint (`c` in the dashboard) "
          "at a quiet moment shrinks the file."),
    Entry("wal_large", "The -wal file is large",
          "Past `wal_bytes` (or many times the database). Space, and reads that must search "
          "a long WAL index.",
          "The WAL pane: is it still growing (then see checkpoint_starvation), or only big "
          "from a past burst?",
          "A TRUNCATE checkpoint at a quiet moment gives the space back; PRAGMA "
          "journal_size_limit caps what later checkpoints leave."),
    Entry("wal_slack", "The -wal file is much larger than what it holds",
          "The WAL restarted and is reused from its start, but the file keeps the size of its "
          "largest burst.",
          "The detail view: -wal bytes against bytes in use.",
          "A TRUNCATE checkpoint, or journal_size_limit."),
    Entry("not_wal", "The database is not in WAL mode",
          "A rollback journal: readers block the writer and the writer blocks readers.",
          "`waltui snapshot DB` shows the journal mode.",
          "If the application expects WAL, set PRAGMA journal_mode=WAL once (it is "
          "persistent); not on a network filesystem."),
    Entry("hot_journal", "A hot journal: an interrupted transaction",
          "A -journal SQLite will roll back at the next open, and nobody holds RESERVED: the "
          "writer crashed mid-transaction.",
          "`waltui check DB`: the journal's size and that no process holds the database.",
          "Open the database with SQLite (any read does the rollback). Never delete the "
          "-journal: that corrupts the database."),
    Entry("network_filesystem", "The database is on a network filesystem",
          "WAL needs memory shared between the processes on one host; NFS, CIFS and sshfs "
          "cannot give that, and their locks are unreliable.",
          "`waltui snapshot DB` names the filesystem.",
          "Move the database to local storage, or use journal_mode=DELETE there."),
    Entry("d_state_holder", "A lock holder is stuck in uninterruptible I/O (D state)",
          "Its locks stay held until the I/O returns; no signal reaches it until then.",
          "The Locks pane marks its state `D (disk)`; the kernel's stack in "
          "/proc/PID/stack (as root) says where it waits.",
          "Look at the storage (a hung mount, a failing disk); killing the process does not "
          "help until the I/O returns."),
    Entry("many_writers", "Several processes take turns at the write lock",
          "Writes are serialised; each waits for the others.",
          "The Locks pane over a few polls.",
          "Usually fine; if writers time out, batch writes or give them a longer busy_timeout."),
    Entry("recovering", "The WAL index is being recovered",
          "A process rebuilds the -shm after a crash; everyone waits for it.",
          "The recover lock (-shm byte 122) in the Locks pane.",
          "Wait; if it lasts, see who holds it."),
    Entry("leftover_shm", "A -shm with nobody using the database",
          "Left by a crash: harmless, SQLite rebuilds it at the next open.",
          "No process in the Locks pane.", "Nothing."),
    Entry("wal_deleted", "The -wal was deleted while the database is in use",
          "Frames not yet checkpointed are lost for every new connection; the processes that "
          "had it open still see it.",
          "`waltui check DB`: who holds the database, how many frames were pending.",
          "Do not restart the processes yet: a checkpoint from one of them copies what it "
          "still sees. Find what deleted the file (a cleanup job matching *-wal)."),
    Entry("queue_growing", "A queue keeps growing",
          "Its depth (your queue query) rose for `queue_growth_seconds` without falling: "
          "consumers are slower than producers, or stopped.",
          "The Queue pane: the depth over time.", "Look at the consumers."),
    Entry("exclusive_locking_mode", "A connection holds the database in exclusive mode",
          "locking_mode=EXCLUSIVE: every other process gets \"database is locked\".",
          "The holder is named in the finding.",
          "Intended for single-process use; if other processes need the database, drop that "
          "pragma."),
    Entry("opened_by_another_name", "Processes use this file under another name",
          "A hard link or a bind mount: their -shm and -wal sit beside the other name, so "
          "this name's view is stale.",
          "The finding names the processes and the name they use.",
          "Watch the database by the name the processes use."),
    Entry("rule_failed", "A health rule failed",
          "A bug in waltui: the other rules still ran.",
          "`waltui check --debug DB` logs the traceback.", "Report it."),
    Entry("WaltuiExporterDown", "waltui export cannot be scraped",
          "No readings from that host.", "`systemctl status waltui-export` on the host.",
          "Start it again; its log says why it stopped."),
    Entry("SQLiteDatabaseUnreadable", "A database cannot be read",
          "Missing, not SQLite, or not readable by the exporter's user.",
          "The exporter's /findings page says which and why.",
          "Fix the path or the permissions (a systemd unit's ReadOnlyPaths)."),
    Entry("SQLiteReaderPinsWAL", "A read transaction has held its snapshot for long",
          "Checkpoints stop at its read mark until it ends (see checkpoint_starvation).",
          "The exporter's /findings page names the reader.",
          "End the read transaction in the application."),
)

ANCHORS = frozenset(entry.anchor for entry in RUNBOOK)


def runbook_markdown() -> str:
    def para(text: str) -> list[str]:
        return [textwrap.fill(text, 90, break_on_hyphens=False), ""]

    lines = ["# Runbook", "", *para(
        "What each waltui finding and example alert means, how to look, and what to do. "
        "`waltui export` serves this at /runbook, where the example alert rules' runbook_url "
        "points. Generated from waltui/outputs/runbook.py (python -m waltui.outputs.runbook "
        "> docs/runbook.md).")]
    for entry in RUNBOOK:
        lines += [f"## {entry.anchor}", "", *para(f"**{entry.title}.** {entry.means}"),
                  *para(f"Look: {entry.look}"), *para(f"Do: {entry.act}")]
    return "\n".join(lines)


def runbook_html() -> bytes:
    parts = ["<!doctype html><meta charset=utf-8><title>waltui runbook</title>",
             "<h1>waltui runbook</h1>"]
    for entry in RUNBOOK:
        parts += [f'<h2 id="{entry.anchor}">{html.escape(entry.anchor)}: '
                  f"{html.escape(entry.title)}</h2>", f"<p>{html.escape(entry.means)}</p>",
                  f"<p><b>Look:</b> {html.escape(entry.look)}</p>",
                  f"<p><b>Do:</b> {html.escape(entry.act)}</p>"]
    return "\n".join(parts).encode() + b"\n"


if __name__ == "__main__":
    print(runbook_markdown(), end="")
