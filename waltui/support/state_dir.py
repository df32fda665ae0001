"""Where waltui reads its configuration and keeps its state, as the XDG base directory spec
says: $XDG_CONFIG_HOME/waltui (else ~/.config/waltui) and $XDG_STATE_HOME/waltui (else
~/.local/state/waltui). A variable that is empty or a relative path is ignored, as the spec
asks (an empty XDG_CONFIG_HOME read ./waltui/config.toml from the current directory). Read
when asked, not at import, so one place decides it for the config, the logs and the saved
settings."""

from __future__ import annotations

import os


def _base(variable: str, *default: str) -> str:
    value = os.environ.get(variable, "")
    return value if os.path.isabs(value) else os.path.join(os.path.expanduser("~"), *default)


def config_dir() -> str:
    return os.path.join(_base("XDG_CONFIG_HOME", ".config"), "waltui")


def state_dir() -> str:
    return os.path.join(_base("XDG_STATE_HOME", ".local", "state"), "waltui")


def settings_dir() -> str:
    """The dashboard's saved choices (theme, sort, interval, pane): per operator. Under
    sudo, root's home is everyone's, so each real user (SUDO_USER) gets a place of their
    own there instead of sharing one set of choices."""
    user = os.environ.get("SUDO_USER", "")
    plain = user not in ("", ".", "..", "root") and "/" not in user
    if os.geteuid() == 0 and plain:
        return os.path.join(state_dir(), "sudo", user)
    return state_dir()
