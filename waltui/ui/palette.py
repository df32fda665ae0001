"""Meaning, not colour: the styles the widgets use by role, resolved from the theme.

Each role is a component class styled in waltui.tcss with theme variables ($error,
$warning, ...), so a theme change, a 16-colour terminal and NO_COLOR (`App:nocolor`, where
roles become bold/reverse/italic instead of greys) restyle every widget. No colour name or
number is written in Python (a test greps for them)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from rich.style import Style
from textual.color import Color
from textual.widget import Widget
from textual.widgets import Static


@dataclass(frozen=True)
class Palette:
    critical: Style = Style()
    warning: Style = Style()
    ok: Style = Style()
    info: Style = Style()
    refused: Style = Style()
    muted: Style = Style()
    strong: Style = Style()
    heading: Style = Style()
    key: Style = Style()

    def severity(self, severity: str) -> Style:
        return {"critical": self.critical, "warning": self.warning}.get(severity, self.info)

    def outcome(self, outcome: str) -> Style:
        """A checkpoint's outcome: done, partial, busy, error, refused."""
        return {"done": self.ok, "partial": self.warning, "busy": self.critical,
                "error": self.critical, "refused": self.refused}.get(outcome, Style())

    def event(self, kind: str) -> Style:
        return {"error": self.critical, "critical": self.critical, "warning": self.warning,
                "cleared": self.ok, "action": self.info, "attach": self.muted,
                "detach": self.muted}.get(kind, Style())


PLAIN = Palette()  # for text built where no widget is (tests, the CLI's plain output)
ROLES = tuple(f.name for f in fields(Palette))


def _role_style(full: Style, own: Style) -> Style:
    """The role's colour as blended over the widget (full) if the role sets one (own), and
    never a background: a table cell's own background (cursor, zebra stripes) shows
    through, and a role without a colour keeps the text colour of the place it is in."""
    return Style(color=full.color if own.color is not None else None, bold=own.bold,
                 italic=own.italic, underline=own.underline, reverse=own.reverse)


if TYPE_CHECKING:
    _WidgetBase = Widget
else:
    _WidgetBase = object

ROLE_CLASSES = frozenset(f"waltui--{role}" for role in ROLES)


class Themed(_WidgetBase):
    """Mixed into a widget (first among its bases) to draw with the palette and draw again
    when the theme changes. Textual collects component classes along a widget's first base
    only, so each subclass gets the role classes added to its own."""

    _palette: tuple[str, Palette] | None = None  # (the theme it was made for, palette)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.COMPONENT_CLASSES = set(cls.__dict__.get("COMPONENT_CLASSES", set())) | ROLE_CLASSES

    @property
    def palette(self) -> Palette:
        if self._palette is None or self._palette[0] != self.app.theme:
            self._palette = (self.app.theme, Palette(**{
                role: _role_style(self.get_component_rich_style(f"waltui--{role}"),
                                  self.get_component_rich_style(f"waltui--{role}", partial=True))
                for role in ROLES}))
        return self._palette[1]

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)

    def _theme_changed(self, _theme: object) -> None:
        self.redraw_in_theme()

    def redraw_in_theme(self) -> None:
        """After the new CSS has reached this widget's component styles (for a widget on a
        hidden screen, when the screen is shown again)."""
        self._palette = None
        self.call_after_refresh(self.restyle)

    def restyle(self) -> None:
        """Draw again with the new palette (each widget knows what it last showed)."""
        self.refresh()


class ThemedStatic(Themed, Static):
    """A Static drawn with the palette (the detail view's summary, help)."""


def theme_rgb(widget: Widget, variable: str) -> tuple[int, int, int]:
    """A theme colour as plotext takes it (charts are not drawn through the CSS)."""
    variables = widget.app.theme_variables
    return Color.parse(variables.get(variable) or variables["foreground"]).rgb
