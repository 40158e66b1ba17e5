"""Light and dark appearance that follows the system colour scheme, and the app's icons.

Resources are read from ``resources/`` through one helper (``paths.bundled_path``) in a source checkout,
an installed wheel and the PyInstaller bundle alike. Icons are SVG, so they stay sharp at any DPI.
"""

from __future__ import annotations

from functools import cache

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPalette
from PySide6.QtWidgets import QApplication

from desktop_auth import paths


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


_forced_scheme: Qt.ColorScheme | None = None


def is_dark() -> bool:
    scheme = _forced_scheme or QGuiApplication.styleHints().colorScheme()
    return scheme == Qt.ColorScheme.Dark


def apply_theme(app: QApplication, scheme: Qt.ColorScheme | None = None) -> None:
    """Fusion with a palette and stylesheet for the system's colour scheme, re-applied when the system
    switches. ``scheme`` forces one (for screenshots)."""
    global _forced_scheme
    _forced_scheme = scheme
    app.setStyle("Fusion")
    _apply_scheme(app, starting=True)
    if not app.property("themeFollowsSystem"):
        QGuiApplication.styleHints().colorSchemeChanged.connect(
            lambda _scheme: _apply_scheme(app, starting=False)
        )
        app.setProperty("themeFollowsSystem", "yes")


def _apply_scheme(app: QApplication, starting: bool) -> None:
    dark = is_dark()
    if dark:
        app.setPalette(_dark_palette())
    elif not starting:  # back from dark; at start-up Fusion's own light palette is already in place
        app.setPalette(app.style().standardPalette())
    with open(resource_path("themes", "dark.qss" if dark else "light.qss"), encoding="utf-8") as sheet:
        icons = resource_path("icons").replace("\\", "/")
        app.setStyleSheet(sheet.read().replace("{icons}", icons))
    app.setWindowIcon(icon("app"))
