"""Readings as table cells and styled text for the widgets; pure functions, easy to test."""

from __future__ import annotations

from rich.text import Text

from waltui.collector.consumer import Update
from waltui.history import CheckpointResult
from waltui.model import Finding, Reading
from waltui.ui.palette import Palette
from waltui.units import human_bytes, visible

SHORT_SEVERITY = {"info": "info", "warning": "WARN", "critical": "CRIT"}
# The overview's health column at 80 columns: the finding's code in a word or two, never
# more than 11 cells (tests/test_rules.py). The detail view, `check` and the JSON use the
# code itself.
SHORT_CODE = {"checkpoint_starvation": "starvation", "network_filesystem": "network fs",
              "d_state_holder": "D state", "write_lock_held": "lock held",
              "exclusive_locking_mode": "exclusive", "opened_by_another_name": "other name",
              "queue_growing": "queue grows", "leftover_shm": "stale -shm",
              "many_writers": "writers"}

def worst(findings: tuple[Finding, ...] | list[Finding]) -> Finding | None:
    return max(findings, key=lambda f: f.rank, default=None)


def health_cell(reading: Reading, findings: tuple[Finding, ...], palette: Palette) -> Text:
    if reading.error is not None and reading.error.fatal:
        return Text(f"ERR {reading.error.kind}", style=palette.critical)
    top = worst(findings)
    if top is None:
        return Text("ok", style=palette.ok)
    label = SHORT_CODE.get(top.code, top.code.replace("_", " "))
    return Text(f"{SHORT_SEVERITY[top.severity]} {label}", style=palette.severity(top.severity))


def queue_total(reading: Reading) -> int | None:
    depths = [q.depth for q in reading.queues if q.depth is not None]
    return sum(depths) if depths else None


def summary_text(update: Update, name: str, interval: float, paused: bool,
                 palette: Palette) -> Text:
    """The detail view's head: the database by the name the table gives it, then its path."""
    r = update.reading
    text = Text()
    text.append(name, style=palette.strong)
    text.append(f"  {visible(r.path)}\n", style=palette.muted)
    if r.error is not None:
        text.append(f"{'error' if r.error.fatal else 'note'}: {visible(r.error.message)}\n",
                    style=palette.critical if r.error.fatal else palette.warning)
    if r.files is None:
        return text
    index = r.wal_index
    text.append(f"{r.journal_mode or '?'} · -wal {human_bytes(r.wal_bytes)} "
                f"({human_bytes(r.wal_bytes_in_use)} in use) · high "
                f"{human_bytes(update.history.wal_high_water)} · "
                f"db {human_bytes(r.files.db_bytes)}\n")
    if index is not None:
        text.append(f"frames {index.max_frame} · ckpt {index.backfilled} · ")
        text.append(f"pending {index.frames_pending}",
                    style=palette.warning if index.frames_pending else "")
        text.append(f" · writer {r.writer_pid or '-'} · readers {len(r.readers)}")
    last = update.history.checkpoints[-1] if update.history.checkpoints else None
    if last is not None:
        text.append(" · last checkpoint ")
        text.append(f"{last.mode} {last.outcome}", style=palette.outcome(last.outcome))
    if (total := queue_total(r)) is not None:
        text.append(f" · queue {total}")
    text.append(f" · {'PAUSED' if paused else f'every {interval:g}s'}", style=palette.muted)
    return text


def finding_text(finding: Finding, palette: Palette) -> Text:
    text = Text()
    text.append(f"{finding.severity.upper():<8}", style=palette.severity(finding.severity))
    text.append(f" {visible(finding.title)}\n", style=palette.strong)
    text.append(f"  {visible(finding.evidence)}\n")
    text.append(f"  fix: {visible(finding.fix)}\n", style=palette.muted)
    return text


def checkpoint_row(result: CheckpointResult, palette: Palette) -> tuple[object, ...]:
    import time
    return (
        time.strftime("%H:%M:%S", time.localtime(result.finished_at)), result.mode,
        Text(result.outcome, style=palette.outcome(result.outcome)),
        "-" if result.busy is None else str(result.busy),
        "-" if result.log is None else str(result.log),
        "-" if result.checkpointed is None else str(result.checkpointed),
        str(result.attempts), f"{result.elapsed:.2f}s",
        f"{human_bytes(result.wal_bytes_before)} -> {human_bytes(result.wal_bytes_after)}",
    )
