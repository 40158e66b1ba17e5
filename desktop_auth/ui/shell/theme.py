"""Light and dark appearance that follows the system colour scheme, and the app's icons.

Resources are read from ``resources/`` through one helper (``paths.bundled_path``) in a source checkout,
an installed wheel and the PyInstaller bundle alike. Icons are SVG, so they stay sharp at any DPI.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPalette
from PySide6.QtWidgets import QApplication

from desktop_auth import paths

if TYPE_CHECKING:
    from PySide6.QtCore import Qt

SCHEME_CHECK_DELAY_MS = 1000

# Colours of the app's own marks, one per theme, each 3:1 or more against the window, base and alternate base
# colours of its theme (WCAG 1.4.11; tests/test_contrast.py measures them as drawn):
# the focus ring (the stylesheets' focused fields, check boxes and table cells, the user table's current cell),
FOCUS_RING = {"light": "#1d4ed8", "dark": "#60a5fa"}  # light: the palette's highlight
# and the mark of an unsaved edit in the user table (amber, as editors mark unsaved work).
UNSAVED_EDIT = {"light": "#b45309", "dark": "#fbbf24"}


def resource_path(*parts: str) -> str:
    return str(paths.bundled_path("resources").joinpath(*parts))


@cache
def icon(name: str) -> QIcon:
    return QIcon(resource_path("icons", f"{name}.svg"))


def _dark_palette() -> QPalette:
    palette = QPalette()
    colors = {
        QPalette.ColorRole.Window: "#1f2125",
        QPalette.ColorRole.WindowText: "#e5e7eb",
        QPalette.ColorRole.Base: "#16181c",
        QPalette.ColorRole.AlternateBase: "#23262b",
        QPalette.ColorRole.ToolTipBase: "#2b2e34",
        QPalette.ColorRole.ToolTipText: "#e5e7eb",
        QPalette.ColorRole.PlaceholderText: "#8b929c",
        QPalette.ColorRole.Text: "#e5e7eb",
        QPalette.ColorRole.Button: "#2b2e34",
        QPalette.ColorRole.ButtonText: "#e5e7eb",
        QPalette.ColorRole.BrightText: "#ffffff",
        QPalette.ColorRole.Highlight: "#2563eb",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Link: "#60a5fa",
        QPalette.ColorRole.Light: "#3a3e45",
        QPalette.ColorRole.Midlight: "#30343a",
        QPalette.ColorRole.Mid: "#26292e",
        QPalette.ColorRole.Dark: "#121316",
        QPalette.ColorRole.Shadow: "#000000",
    }
    for role, value in colors.items():
        palette.setColor(role, QColor(value))
    disabled = QPalette.ColorGroup.Disabled
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        palette.setColor(disabled, role, QColor("#6b7280"))
    return palette


def _light_palette(palette: QPalette) -> QPalette:
    """Fusion's light palette (a copy, as PySide returns it) with two colours darkened for WCAG 2.2 AA: its
    highlight (#308cc6) gives white selected text 3.7:1 and focus frames 3.2:1 against the window, its
    placeholder text 4.0:1. Not ``QPalette(palette)``: its overloads make PySide build the Qt enums."""
    palette.setColor(QPalette.ColorRole.Highlight, QColor("#1d4ed8"))
    palette.setColor(QPalette.ColorRole.PlaceholderText, QColor("#6b7280"))
    return palette


def is_dark() -> bool:
    """Whether the dark theme is in use (before any theme is applied: whether the palette is dark)."""
    app = QGuiApplication.instance()
    chosen = app.property("themeDark") if app is not None else None
    return chosen == "yes" if chosen in ("yes", "no") else _palette_is_dark(QGuiApplication.palette())


def focus_ring_color() -> QColor:
    return QColor(FOCUS_RING["dark" if is_dark() else "light"])


def unsaved_edit_color() -> QColor:
    return QColor(UNSAVED_EDIT["dark" if is_dark() else "light"])


def _is_dark(scheme: Qt.ColorScheme) -> bool:
    from PySide6.QtCore import Qt

    return scheme == Qt.ColorScheme.Dark


def _palette_is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def make_application(program: str) -> QApplication:
    """The QApplication, with the Fusion style chosen as it is constructed: choosing it afterwards with
    setStyle() hands back a QStyle, and wrapping that makes PySide build QStyle's enums (~5 ms) before
    the first window."""
    app = QApplication([program, "-style", "Fusion"])
    app.setProperty("fusionFromStart", "yes")
    return app


def apply_theme(app: QApplication, scheme: Qt.ColorScheme | None = None) -> None:
    """Fusion with a palette and stylesheet for the system's colour scheme, re-applied when the system
    switches. ``scheme`` forces one (for screenshots)."""
    if scheme is not None:
        dark = _is_dark(scheme)
    else:
        # At start-up the platform's palette says light or dark: asking QStyleHints.colorScheme() would
        # make PySide build its whole Qt enum namespace (~15 ms) before the first window. The style hints
        # are asked a moment later, and win if they disagree.
        dark = _palette_is_dark(QGuiApplication.palette())
        QTimer.singleShot(SCHEME_CHECK_DELAY_MS, app, lambda: _follow_system(app))
    if not app.property("fusionFromStart"):
        app.setStyle("Fusion")
    _apply_scheme(app, dark)
    if scheme is None and not app.property("themeFollowsSystem"):
        QGuiApplication.styleHints().colorSchemeChanged.connect(lambda _scheme: _follow_system(app))
        app.setProperty("themeFollowsSystem", "yes")


def _follow_system(app: QApplication) -> None:
    from PySide6.QtCore import Qt

    scheme = QGuiApplication.styleHints().colorScheme()
    if scheme == Qt.ColorScheme.Unknown:
        return  # the platform does not say: keep what the palette suggested
    dark = _is_dark(scheme)
    if dark != (app.property("themeDark") == "yes"):
        _apply_scheme(app, dark)


def _apply_scheme(app: QApplication, dark: bool) -> None:
    was_dark = app.property("themeDark") == "yes"
    app.setProperty("themeDark", "yes" if dark else "no")
    if dark:
        app.setPalette(_dark_palette())
    else:  # Fusion's palette is in place at start-up; app.style() would cost PySide's QStyle enums (~5 ms)
        app.setPalette(
            _light_palette(app.style().standardPalette() if was_dark else QGuiApplication.palette())
        )
    with open(resource_path("themes", "dark.qss" if dark else "light.qss"), encoding="utf-8") as sheet:
        icons = resource_path("icons").replace("\\", "/")
        focus = FOCUS_RING["dark" if dark else "light"]
        app.setStyleSheet(sheet.read().replace("{icons}", icons).replace("{focus_ring}", focus))
    app.setWindowIcon(icon("app"))
