"""Numbers as an operator reads them: 1.4 GiB, 4m12s."""

from __future__ import annotations


def human_bytes(count: float | None) -> str:
    if count is None:
        return "-"
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def human_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"


def short_command(cmdline: str, width: int = 48) -> str:
    """'/usr/bin/python3 -m app.worker /srv/a/q.db' -> 'python3 -m app.worker q.db': the
    program's name and its arguments with directories dropped, cut to ``width``."""
    words = [w.rsplit("/", 1)[-1] if "/" in w and not w.endswith("/") else w
             for w in cmdline.split()]
    text = " ".join(words)
    return text if len(text) <= width else text[: width - 1] + "…"
