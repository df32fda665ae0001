"""`check --format nagios`: the monitoring-plugins development guidelines, followed.

One line `WALTUI STATUS - text | perfdata` and the status as exit code (0 OK, 1 WARNING,
2 CRITICAL, 3 UNKNOWN); a usage, configuration or internal error, and a run past -t, is
`WALTUI UNKNOWN - why` on stdout with 3 (a plugin's stderr is not shown to anyone). Perfdata
is `'label'=value[UOM];[warn];[crit];[min];[max]` with the thresholds waltui judges by.
-w/-c take the guidelines' ranges (10, 10:, ~:10, 10:20, @10:20) over the largest -wal in
bytes, with K, M, G or T for powers of 1024; they add to the findings' verdict."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from waltui.collector import Update
from waltui.config import Thresholds
from waltui.support import exits
from waltui.units import visible

STATUS = {exits.OK: "OK", exits.WARNING: "WARNING", exits.CRITICAL: "CRITICAL",
          exits.UNREADABLE: "UNKNOWN"}
UNKNOWN = exits.UNREADABLE  # 3: the plugin convention's UNKNOWN
NAMED = 3  # problems named in the line; the rest are counted
_NUMBER = re.compile(r"([+-]?\d+(?:\.\d+)?)([KMGT]?)i?B?", re.IGNORECASE)
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


@dataclass(frozen=True)
class Range:
    """A threshold range of the guidelines: alert when the value is outside start..end, or
    inside it with @."""

    start: float
    end: float
    inside: bool = False

    def alerts(self, value: float) -> bool:
        within = self.start <= value <= self.end
        return within if self.inside else not within

    @property
    def text(self) -> str:
        """As perfdata writes it."""
        start = "~" if self.start == -math.inf else _plain(self.start)
        end = "" if self.end == math.inf else _plain(self.end)
        body = end if start == "0" and end else f"{start}:{end}"
        return ("@" if self.inside else "") + body


def _number(text: str) -> float:
    match = _NUMBER.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not a number: {text!r}")
    return float(match[1]) * _UNITS[match[2].upper()]


def parse_range(text: str) -> Range:
    """10 (0..10), 10: (10 and up), ~:10 (up to 10), 10:20, @10:20 (alert inside)."""
    body = text.strip()
    inside = body.startswith("@")
    body = body.removeprefix("@")
    if not body:
        raise ValueError(f"an empty range: {text!r}")
    if ":" in body:
        low, high = body.split(":", 1)
        start = -math.inf if low.strip() == "~" else _number(low) if low.strip() else 0.0
        end = _number(high) if high.strip() else math.inf
    else:
        start, end = 0.0, _number(body)
    if start > end:
        raise ValueError(f"a range whose start is above its end: {text!r}")
    return Range(start, end, inside)


@dataclass(frozen=True)
class Limits:
    """What -w and -c asked of the largest -wal, and the thresholds the findings use."""

    thresholds: Thresholds
    warning: Range | None = None
    critical: Range | None = None


def _plain(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}".rstrip("0")


def perf(label: str, value: float, uom: str = "", warn: str = "", crit: str = "",
         minimum: str = "0", maximum: str = "") -> str:
    """One perfdata item; the label is quoted (and a ' in it doubled) where it needs."""
    if re.search(r"[\s'=]", label):
        label = "'" + label.replace("'", "''") + "'"
    return f"{label}={_plain(value)}{uom};{warn};{crit};{minimum};{maximum}".rstrip(";")


def verdict(updates: list[Update], code: int, limits: Limits) -> int:
    """The findings' exit code, raised by -w/-c over the largest -wal (an unreadable
    database's UNKNOWN stays: nothing can be vouched for it)."""
    if code == UNKNOWN:
        return code
    wal = _largest_wal(updates)
    if limits.critical is not None and limits.critical.alerts(wal):
        return exits.CRITICAL
    if limits.warning is not None and limits.warning.alerts(wal):
        return max(code, exits.WARNING)
    return code


def _largest_wal(updates: list[Update]) -> int:
    return max((u.reading.wal_bytes or 0 for u in updates if u.reading.files is not None),
               default=0)


def nagios_line(updates: list[Update], code: int, limits: Limits) -> str:
    """Paths and titles are made one-line and lose any `|`, which would start the perfdata."""
    t = limits.thresholds
    unreadable = [u for u in updates if u.reading.error is not None and u.reading.error.fatal]
    problems: list[tuple[int, str]] = [
        (9, f"{u.path} unreadable: {u.reading.error.kind}") for u in unreadable
        if u.reading.error is not None]
    problems += [(f.rank, f"{u.path} {f.code}: {f.title}") for u in updates
                 for f in u.findings if f.severity != "info"]
    problems.sort(key=lambda p: -p[0])
    wal = _largest_wal(updates)
    for name, limit in (("critical", limits.critical), ("warning", limits.warning)):
        if limit is not None and limit.alerts(wal):
            problems.insert(0, (10, f"largest -wal {wal:,} B is outside the {name} range "
                                    f"{limit.text}"))
            break
    counts = {s: sum(1 for u in updates for f in u.findings if f.severity == s)
              for s in ("critical", "warning")}
    text = f"{len(updates)} database(s)"
    if problems:
        named = "; ".join(p for _, p in problems[:NAMED])
        more = f"; {len(problems) - NAMED} more" if len(problems) > NAMED else ""
        text += f": {named}{more}"
    else:
        text += ", no findings above info"
    readings = [u.reading for u in updates if u.reading.files is not None]
    wal_warn = limits.warning.text if limits.warning else _plain(t.wal_bytes)
    wal_crit = limits.critical.text if limits.critical else _plain(16 * t.wal_bytes)
    items = [
        perf("databases", len(updates)), perf("unreadable", len(unreadable), crit="0"),
        perf("critical", counts["critical"], crit="0"),
        perf("warning", counts["warning"], warn="0"),
        perf("wal_bytes_max", wal, "B", wal_warn, wal_crit),
        perf("pending_frames_max", max((r.frames_pending or 0 for r in readings), default=0)),
        perf("oldest_pin_seconds", max((p.held_seconds for r in readings for p in r.pins),
                                       default=0.0), "s", crit=_plain(t.pin_seconds)),
        perf("write_lock_held_seconds", max(
            (r.writer.held_seconds for r in readings if r.writer is not None), default=0.0),
            "s", _plain(t.write_hold_seconds), _plain(t.write_hold_critical_seconds)),
    ]
    line = visible(text).replace("|", "/")
    return f"WALTUI {STATUS.get(code, 'UNKNOWN')} - {line} | {' '.join(items)}"


def unknown_line(reason: str) -> str:
    """Why the plugin could not judge: a bad option or config, an internal error, -t."""
    return "WALTUI UNKNOWN - " + " ".join(visible(reason).split()).replace("|", "/")
