"""What the operator chose last time (theme, sort, interval, detail pane), kept across runs
in $XDG_STATE_HOME/waltui/ui.json (the XDG base directory spec's place for state that is
not configuration). A state file that is missing, unreadable or from another version is
ignored, never an error: it only saves keystrokes."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from waltui.support.small_files import read_small
from waltui.support.state_dir import settings_dir

STATE_VERSION = 1


def state_path() -> Path:
    return Path(settings_dir()) / "ui.json"


@dataclass(frozen=True)
class SavedState:
    theme: str | None = None
    sort_key: str | None = None
    sort_descending: bool = False
    interval: float | None = None
    detail_pane: str | None = None

    def but(self, **changes: Any) -> SavedState:
        return replace(self, **changes)


EXPECTED: dict[str, tuple[type, ...]] = {
    "theme": (str, type(None)), "sort_key": (str, type(None)), "sort_descending": (bool,),
    "interval": (int, float, type(None)), "detail_pane": (str, type(None)),
}


def load_state(path: Path | None = None) -> SavedState:
    """A FIFO, a device, a huge or deeply nested file in its place is ignored like a
    damaged one (read non-blocking, regular files only, 1 MB at most)."""
    try:
        data = json.loads(read_small(str(path or state_path())).decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return SavedState()
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
        return SavedState()
    kept = {f.name: data[f.name] for f in fields(SavedState)
            if f.name in data and isinstance(data[f.name], EXPECTED[f.name])
            and not (f.name == "interval" and data[f.name] is not None
                     and not 0 < data[f.name] <= 3600)}
    return SavedState(**kept)


def save_state(state: SavedState, path: Path | None = None) -> str | None:
    """Written whole and renamed into place, so a crash never leaves half a file. Returns
    why it could not be saved (a read-only home), or None."""
    target = path or state_path()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=target.parent, prefix=".ui.",
                                         suffix=".tmp", delete=False) as handle:
            json.dump({"version": STATE_VERSION, **asdict(state)}, handle, indent=1)
        os.replace(handle.name, target)
    except OSError as exc:
        return f"settings not saved to {target}: {exc.strerror}"
    return None
