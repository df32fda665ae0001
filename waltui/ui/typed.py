"""The app as its own type, for screens and widgets (Textual types ``self.app`` as App[Any],
so mypy could not check a single attribute of ours)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.dom import DOMNode

if TYPE_CHECKING:
    from waltui.ui.app import WaltuiApp


def app_of(node: DOMNode) -> WaltuiApp:
    return cast("WaltuiApp", node.app)
