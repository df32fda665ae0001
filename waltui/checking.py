"""`waltui check`: the health rules without the UI, for cron, CI and alerting.

Exit codes: 0 all findings info (or none), 1 any warning, 2 any critical, 3 a database could
not be read (it takes precedence: nothing can be vouched for it).
"""

from __future__ import annotations

import json
import sys
import time

from waltui.config import Config
from waltui.model import SEVERITY_RANK
from waltui.monitor import Poller, Update, raise_fd_limit

EXIT_UNREADABLE = 3


def exit_code(updates: list[Update]) -> int:
    if any(u.reading.error is not None and u.reading.error.fatal for u in updates):
        return EXIT_UNREADABLE
    return max((SEVERITY_RANK[f.severity] for u in updates for f in u.findings), default=0)


def run_check(paths: list[str], config: Config, *, as_json: bool, watch_seconds: float,
              lock_source: str = "auto") -> int:
    raise_fd_limit()
    poller = Poller(config, lock_source)
    for path in paths:
        poller.attach(path)
    try:
        deadline = time.monotonic() + watch_seconds
        updates = poller.poll_once()
        while time.monotonic() + config.interval <= deadline:
            time.sleep(config.interval)
            updates = poller.poll_once()
    finally:
        poller.close()
    code = exit_code(updates)
    if as_json:
        json.dump({"exit_code": code, "databases": [_update_json(u) for u in updates]},
                  sys.stdout, indent=2)
        print()
    else:
        print("\n\n".join(_update_text(u) for u in updates))
    return code


def _update_json(update: Update) -> dict[str, object]:
    error = update.reading.error
    return {
        "path": update.path,
        "error": {"kind": error.kind, "message": error.message} if error else None,
        "polls": update.history.polls,
        "findings": [{"code": f.code, "severity": f.severity, "title": f.title,
                      "evidence": f.evidence, "fix": f.fix} for f in update.findings],
    }


def _update_text(update: Update) -> str:
    lines = [update.path]
    error = update.reading.error
    if error is not None:
        lines.append(f"  {'UNREADABLE' if error.fatal else 'note'}: {error.kind}: {error.message}")
    if not update.findings and (error is None or not error.fatal):
        lines.append("  ok: no findings")
    for finding in update.findings:
        lines.append(f"  {finding.severity.upper()} {finding.code}: {finding.title}")
        lines.append(f"    evidence: {finding.evidence}")
        lines.append(f"    fix: {finding.fix}")
    return "\n".join(lines)
