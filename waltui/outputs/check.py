"""The verdict of `check` (live, or over a recording with --from) in each of its formats:
text, JSON (the schema's "check" document) and one Nagios plugin line; and its exit code:
0 all findings info (or none), 1 any warning, 2 any critical, 3 a database could not be
read (it takes precedence: nothing can be vouched for it)."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping

from waltui.collector import Update
from waltui.config import Thresholds
from waltui.evidence import RoleEvidence
from waltui.model import SEVERITY_RANK, Reading
from waltui.naming import named_process, reader_sentence
from waltui.outputs.nagios import Limits, nagios_line
from waltui.outputs.report import envelope
from waltui.support import exits
from waltui.units import literal_lines, visible

FORMATS = ("text", "json", "nagios")
EXIT_UNREADABLE = exits.UNREADABLE


def exit_code(updates: list[Update]) -> int:
    if any(u.reading.error is not None and u.reading.error.fatal for u in updates):
        return EXIT_UNREADABLE
    return max((SEVERITY_RANK[f.severity] for u in updates for f in u.findings), default=0)


def write_check(updates: list[Update], code: int, notes: list[str], output: str,
                limits: Limits | None = None,
                holders: Mapping[str, tuple[RoleEvidence, ...]] | None = None) -> None:
    """The one writer of a check's result, live or from a recording. limits: the Nagios
    line's thresholds (-w, -c and the config's); holders: what the writer and pinning
    readers of each database with findings were doing (a live check only)."""
    holders = holders or {}
    if output == "nagios":
        print(nagios_line(updates, code, limits or Limits(Thresholds())))
    elif output == "json":
        json.dump({**envelope("check"), "exit_code": code,
                   "databases": [update_json(u, holders.get(u.path)) for u in updates],
                   "notes": notes},
                  sys.stdout, indent=2)
        print()
    elif output == "text":
        print(literal_lines("\n\n".join([update_text(u, holders.get(u.path)) for u in updates]
                                         + [f"note: {n}" for n in notes])))
    else:
        raise ValueError(f"unknown check format {output!r}; known: {', '.join(FORMATS)}")


def growth_notes(updates: list[Update], thresholds: Thresholds, interval: float) -> list[str]:
    """Rules that judge growth need a window of poll time; say when a run was too short."""
    need = max(thresholds.starvation_seconds, thresholds.queue_growth_seconds)
    watched = min((u.history.span_seconds for u in updates), default=0.0)
    if watched >= need:
        return []
    return [f"growth not judged: watched {watched:.1f} s, the growth rules need {need:g} s "
            f"of polls (check --for {need + interval:g})"]


def holder_lines(reading: Reading) -> list[str]:
    """What one sample can say without timing anything: who writes, who pins, now."""
    lines = []
    if (writer := reading.writer) is not None:
        lines.append(f"  writer now: {named_process(reading, writer.lock.pid)} holds the "
                     "write lock")
    lines += [f"  pinning reader: {reader_sentence(r, reading.wal_index)}" for r in reading.pins]
    return lines


def update_json(update: Update, holders: tuple[RoleEvidence, ...] | None = None
                ) -> dict[str, object]:
    error = update.reading.error
    extra = {"holders": [h.json() for h in holders]} if holders is not None else {}
    return {
        "path": update.path,
        "error": {"kind": error.kind, "message": error.message} if error else None,
        "polls": update.history.polls,
        "watched_seconds": round(update.history.span_seconds, 3),
        "writer_pid": update.reading.writer_pid,
        "pinned_by": [r.pid for r in update.reading.pins],
        "findings": [{"code": f.code, "severity": f.severity, "title": f.title,
                      "evidence": f.evidence, "fix": f.fix} for f in update.findings],
        **extra,
    }


def update_text(update: Update, holders: tuple[RoleEvidence, ...] | None = None) -> str:
    lines = [visible(update.path)]
    error = update.reading.error
    if error is not None:
        lines.append(f"  {'UNREADABLE' if error.fatal else 'note'}: {error.kind}: "
                     f"{visible(error.message)}")
    lines += holder_lines(update.reading)
    for holder in holders or ():
        lines += [f"    {holder.role} pid {holder.evidence.pid}: {visible(line)}"
                  for line in holder.lines()]
    if not update.findings and (error is None or not error.fatal):
        lines.append("  ok: no findings")
    for finding in update.findings:
        lines.append(f"  {finding.severity.upper()} {finding.code}: {visible(finding.title)}")
        lines.append(f"    evidence: {visible(finding.evidence)}")
        lines.append(f"    fix: {visible(finding.fix)}")
    return "\n".join(lines)


