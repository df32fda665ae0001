"""Garbage-collector settings of the dashboard and of its collector process. With 1,000
databases changing every poll, a full collection walked the whole heap (Textual, every
module, every reading) about once a second and held the UI thread for 85-240 ms: the
slowest key presses in bench/ui.py. In the collector, collections of the young generation
(every 700 objects: ~50 a cycle at 1,000 idle databases) cost a fifth of its CPU."""

from __future__ import annotations

import gc

YOUNG_GENERATION = 50_000  # container objects allocated between two young collections
_tuned = False  # only in the dashboard's and collector's processes, not in a test suite


def tune_collector() -> None:
    """At start: a poll's readings live about one cycle. With a larger young generation
    most are freed by reference counting before a collection sees them, so few are promoted
    to the old generation, whose growth is what triggers a full walk."""
    global _tuned
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION, middle, old)
    _tuned = True


def freeze_startup_heap() -> None:
    """Once the first poll is done (and on screen, in the dashboard): what exists then
    (modules, Textual, the widgets, the observers) lives as long as the process. Frozen,
    it is left out of every later collection, which then walks only what came after."""
    if not _tuned:
        return
    gc.collect()
    gc.freeze()


def collect_young() -> None:
    """After a screen change is drawn. Opening or closing a screen leaves thousands of
    objects in reference cycles (Textual's style nodes for every widget restyled), which
    took a collection 60-120 ms to free. Freed now, while the user reads what appeared,
    instead of at whatever moment a later key press would have to wait for."""
    if _tuned:
        gc.collect(1)
