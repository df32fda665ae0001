"""How every bench prints a measure taken in several rounds: the median and the spread."""

from __future__ import annotations

import statistics


def spread(values: list[float], scale: float = 1.0, digits: int = 1, sep: str = "") -> str:
    """ "median (min-max)", each times ``scale``; sep="," groups thousands."""
    fmt = f"{sep}.{digits}f"
    median, low, high = (v * scale for v in (statistics.median(values), min(values), max(values)))
    return f"{median:{fmt}} ({low:{fmt}}-{high:{fmt}})"
