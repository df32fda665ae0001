"""The registry of keys (waltui.keys) as Textual bindings. Each binding's id is its action,
so the config's [keys] table remaps it with App.set_keymap (as posting does)."""

from __future__ import annotations

from textual.binding import Binding

from waltui.keys import KEYS, MOVES, KeyAction

__all__ = ["KEYS", "MOVES", "KeyAction", "bindings"]


def bindings() -> list[Binding]:
    return [Binding(k.key, k.action, k.footer or k.description, show=k.show,
                    key_display=k.display or None, tooltip=k.description, id=k.action,
                    priority=k.priority)
            for k in sorted(KEYS, key=lambda k: not k.replay)]  # replay's first: they are
    # shown only in `waltui replay`, and there they must fit an 80-column footer
