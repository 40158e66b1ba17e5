"""The mark of an unsaved value in the user table: one that stays visible on a selected row, in light and
dark themes alike."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPalette, QPixmap

MARKER_SIZE = 16  # the decoration's box (Qt's default small icon size), the dot a half of it
_markers: dict[int, QIcon] = {}  # by the palette's cache key: one icon per palette (theme)


def unsaved_marker() -> QIcon:
    """A dot before an unsaved value, as editors mark unsaved work. Drawn in the palette's text colour, and
    in its highlighted-text colour on a selected row (Qt paints a selected item's icon in its Selected mode),
    so it contrasts in light and dark themes, selected or not; made again when the palette changes."""
    palette = QGuiApplication.palette()
    icon = _markers.get(palette.cacheKey())
    if icon is None:
        icon = QIcon()
        for mode, role in (
            (QIcon.Mode.Normal, QPalette.ColorRole.Text),
            (QIcon.Mode.Active, QPalette.ColorRole.Text),
            (QIcon.Mode.Selected, QPalette.ColorRole.HighlightedText),
        ):
            icon.addPixmap(_dot(palette.color(role)), mode)
        _markers.clear()
        _markers[palette.cacheKey()] = icon
    return icon


def _dot(color: QColor) -> QPixmap:
    ratio = 2  # drawn at twice the size: sharp on high-density screens too
    pixmap = QPixmap(MARKER_SIZE * ratio, MARKER_SIZE * ratio)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(color)
    quarter = MARKER_SIZE * ratio // 4
    painter.drawEllipse(quarter, quarter, 2 * quarter, 2 * quarter)
    painter.end()
    pixmap.setDevicePixelRatio(ratio)
    return pixmap
