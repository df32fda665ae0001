"""Where waltui keeps state that is not configuration (the XDG base directory spec):
$XDG_STATE_HOME/waltui, else ~/.local/state/waltui. Read when asked, not at import, so one
place decides it for the log, the collector's log and the saved settings."""

from __future__ import annotations

import os


def state_dir() -> str:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"),
                                                            ".local", "state")
    return os.path.join(base, "waltui")
