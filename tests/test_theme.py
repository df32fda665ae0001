"""Colours come from the theme, and every screen stays legible in each theme, in a
16-colour terminal and under NO_COLOR: each character's foreground against its background,
after Textual's own filters, as the terminal would draw it."""

from __future__ import annotations

import colorsys
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
import textual.constants
from rich.color import Color as RichColor
from rich.color import ColorSystem, ColorType
from rich.style import Style
from rich.text import Text
from textual.color import Color
from textual.coordinate import Coordinate
from textual.filter import ANSIToTruecolor

from tests.narrow import some
from tests.test_snapshots import load_frozen
from waltui.config import Config
from waltui.ui.app import WaltuiApp
from waltui.ui.widgets.overview_table import OverviewTable

UI = Path(__file__).parent.parent / "waltui" / "ui"
PATHS = ["/srv/agents/alpha.db", "/srv/agents/gamma.db", "/srv/agents/notes.db"]
# below this a character can't be read; the invisible "pinned by" cell under NO_COLOR
# (grey 237 on 234) measured 1.1
MIN_CONTRAST = 2.5
DECORATION = re.compile("[\u2500-\u259f]")  # box drawing and blocks: tab underlines, bars

COLOUR_LITERAL = re.compile(
    r"""["'](?:bold\ |dim\ |italic\ |on\ )*(?:red|green|yellow|blue|magenta|cyan|white|black|grey\d*|
    gray\d*|bright_\w+|color\(\d+\)|\#[0-9a-fA-F]{6}|rgb\([^)]*\))["']""", re.X)


def test_no_colour_is_written_in_python():
    found = [f"{path.relative_to(UI)}:{number}: {line.strip()}"
             for path in sorted(UI.rglob("*.py"))
             for number, line in enumerate(path.read_text().splitlines(), 1)
             if COLOUR_LITERAL.search(line)]
    assert found == []


def test_the_colour_literal_pattern_finds_colours():
    """The test above could pass by matching nothing."""
    for literal in ('style="bold red"', "color='cyan'", 'Text("x", style="#ff0000")',
                    'style="color(237)"'):
        assert COLOUR_LITERAL.search(literal), literal


def contrast(fore: Color, back: Color) -> float:
    """WCAG contrast ratio: 1 (same) to 21 (black on white)."""
    light, dark = sorted((_luminance(fore), _luminance(back)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _luminance(color: Color) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = color.rgb
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def _is_ansi(color: RichColor | None) -> bool:
    return color is not None and color.type in (ColorType.STANDARD, ColorType.DEFAULT)


def _as_terminal(color: RichColor | None, default: Color, system: ColorSystem) -> Color:
    """As a terminal with ``system`` colours shows it (ANSI colours in Rich's default
    terminal palette)."""
    if color is None or color.is_default:
        return default
    return Color(*color.downgrade(system).get_truecolor())


def illegible(app: WaltuiApp, system: ColorSystem) -> list[str]:
    """The characters on screen whose colours are too close to read, as "row: text". Over
    a dialog, only the dialog: the screen behind it is dimmed on purpose."""
    dialog = app.screen.query(".dialog, #help-box")
    region = dialog.first().region if dialog else app.screen.region
    variables = app.theme_variables
    back = Color.parse(variables["background"])
    fore = Color.parse(variables["foreground"])
    bad: list[str] = []
    for row, strip in enumerate(app.screen._compositor.render_strips()):
        for line_filter in app._filters:  # NO_COLOR's greys; not the ANSI-to-RGB guess
            if not isinstance(line_filter, ANSIToTruecolor):
                strip = strip.apply_filter(line_filter, back)
        if not region.y <= row < region.bottom:
            continue
        strip = strip.crop(region.x, region.right)
        for segment in strip:
            style = segment.style
            if style is None or not DECORATION.sub("", segment.text).strip():
                continue
            if _is_ansi(style.color) or _is_ansi(style.bgcolor):
                # the terminal's own palette decides: only one colour on itself is illegible
                if (style.color is not None and not style.color.is_default
                        and style.color == style.bgcolor):
                    bad.append(f"{row}: {segment.text.strip()!r} {style.color.name} on itself")
                continue
            ink = _as_terminal(style.color, fore, system)
            paper = _as_terminal(style.bgcolor, back, system)
            if style.reverse:
                ink, paper = paper, ink
            if style.dim:
                ink = paper.blend(ink, 0.5)
            if contrast(ink, paper) < MIN_CONTRAST:
                bad.append(f"{row}: {segment.text.strip()!r} {ink.hex} on {paper.hex}")
    return bad


async def _detail_tab(pilot, tab: str) -> None:
    await pilot.press("down", "enter")
    await pilot.pause(0.2)
    pilot.app.screen.query_one("#tabs").active = tab
    await pilot.pause(0.2)


SCREENS: dict[str, Callable[..., Awaitable[None]]] = {
    "overview": lambda pilot: pilot.pause(0.1),
    "locks": lambda pilot: _detail_tab(pilot, "tab-locks"),
    "findings": lambda pilot: _detail_tab(pilot, "tab-findings"),
    "events": lambda pilot: _detail_tab(pilot, "tab-events"),
    "help": lambda pilot: pilot.press("question_mark"),
}
LOOKS = {  # (theme, NO_COLOR, colours the terminal has)
    "dark": ("textual-dark", False, ColorSystem.TRUECOLOR),
    "light": ("textual-light", False, ColorSystem.TRUECOLOR),
    "ansi-dark, 16 colours": ("ansi-dark", False, ColorSystem.STANDARD),
    "solarized-light": ("solarized-light", False, ColorSystem.TRUECOLOR),
    "dark in 16 colours": ("textual-dark", False, ColorSystem.STANDARD),
    "NO_COLOR": ("textual-dark", True, ColorSystem.TRUECOLOR),
}


def started_in(look: str, monkeypatch) -> WaltuiApp:
    """The app as a terminal with this look starts it: 16 colours are the console's."""
    _theme, no_color, system = LOOKS[look]
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    if system == ColorSystem.STANDARD:
        monkeypatch.setattr(textual.constants, "COLOR_SYSTEM", "standard")
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    return WaltuiApp(PATHS, Config(), poll=False)


async def choose_look(app: WaltuiApp, look: str) -> None:
    """The operator's theme; in 16 colours the app's own choice (the ANSI theme) stands."""
    theme, _no_color, system = LOOKS[look]
    if system == ColorSystem.STANDARD:
        assert app.console.color_system == "standard" and app.theme.startswith("ansi-")
    else:
        app.theme = theme


def family(color: RichColor | None) -> str:
    """A colour's family as the terminal shows it: red, yellow (amber and orange too),
    or other."""
    assert color is not None
    if color.type in (ColorType.STANDARD, ColorType.EIGHT_BIT) and color.number is not None \
            and color.number < 16:
        return {1: "red", 9: "red", 3: "yellow", 11: "yellow"}.get(color.number, "other")
    red, green, blue = color.get_truecolor()
    hue, _light, saturation = colorsys.rgb_to_hls(red / 255, green / 255, blue / 255)
    degrees = hue * 360
    if saturation < 0.3:
        return "other"  # a grey is no family
    if degrees <= 12 or degrees >= 330:
        return "red"
    return "yellow" if 15 <= degrees <= 65 else "other"


@pytest.mark.parametrize("look", [name for name, (_t, no_color, _s) in LOOKS.items()
                                  if not no_color])
async def test_critical_is_a_red_and_warning_a_yellow_in_every_look(look, monkeypatch):
    """Contrast is not meaning: CRIT in bold grey and WARN in bright yellow passed the
    legibility test under 16 colours. Each role's colour, as the widgets draw it."""
    app = started_in(look, monkeypatch)
    async with app.run_test(size=(80, 24)) as pilot:
        await choose_look(app, look)
        await load_frozen(pilot)
        await pilot.pause(0.1)
        palette = app.screen.query_one(OverviewTable).palette
        system = LOOKS[look][2]
        shown = [some(style.color).downgrade(system) for style in (palette.critical,
                                                                  palette.warning)]
        assert [family(color) for color in shown] == ["red", "yellow"], (app.theme, shown)


@pytest.mark.slow  # a fresh app for each of 36 screen and look pairs: ~30 s
@pytest.mark.parametrize("look", LOOKS)
@pytest.mark.parametrize("screen", SCREENS)
async def test_every_screen_is_legible(look, screen, monkeypatch):
    app = started_in(look, monkeypatch)
    async with app.run_test(size=(80, 24)) as pilot:
        await choose_look(app, look)
        await load_frozen(pilot)
        await SCREENS[screen](pilot)
        await pilot.pause(0.2)
        shown = "".join(seg.text for strip in app.screen._compositor.render_strips()
                        for seg in strip)
        assert "4188" in shown or screen in ("help", "events")  # the pinning reader is shown
        assert illegible(app, LOOKS[look][2]) == []


async def test_a_theme_change_restyles_the_table(monkeypatch):
    """A cell drawn before the change takes the new theme's colour (no stale palette)."""
    app = WaltuiApp(PATHS, Config(), poll=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await load_frozen(pilot)
        table = app.screen.query_one(OverviewTable)

        def pin_colour() -> str:
            for row in range(table.row_count):
                cell = table.get_cell_at(Coordinate(row, [c.key for c in table.shown_columns]
                                                    .index("pin")))
                if "4188" in str(cell):
                    assert isinstance(cell, Text) and isinstance(cell.style, Style)
                    return str(cell.style.color)
            raise AssertionError("no pinned cell")

        app.theme = "textual-dark"
        await pilot.pause(0.2)
        dark = pin_colour()
        app.theme = "textual-light"
        await pilot.pause(0.2)
        assert pin_colour() != dark


def test_every_id_and_class_the_stylesheet_styles_is_still_styled():
    """A careless edit once cut the layout rules (#tabs, #pin-sentence, dialogs...) out of
    waltui.tcss and every snapshot was updated to match; these are the rules the layout
    cannot do without."""
    text = (UI / "waltui.tcss").read_text()
    for selector in ("#status", "#overview", "#events", "#summary", "#tabs", "LocksPane",
                     "#pin-sentence", "#locks-table", ".dialog", ".dialog-title", ".hint",
                     "#help-box", "#pragma-table", "WalChart"):
        assert re.search(rf"(^|\n|, ){re.escape(selector)}\b[^{{]*{{", text), selector
