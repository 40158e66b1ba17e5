"""The mark of an unsaved value in the user table: one that stays visible on a selected row, in light and
dark themes alike."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPalette, QPixmap

from desktop_auth.ui.shell.theme import unsaved_edit_color

MARKER_SIZE = 16  # the decoration's box (Qt's default small icon size), the dot a half of it
_markers: dict[int, QIcon] = {}  # by the palette's cache key: one icon per palette (theme)


def unsaved_marker() -> QIcon:
    """A dot before an unsaved value, as editors mark unsaved work. Drawn in the theme's unsaved-edit colour
    (theme.UNSAVED_EDIT, 3:1 on the table's rows in light and dark), and in the palette's highlighted-text
    colour on a selected row (Qt paints a selected item's icon in its Selected mode); made again when the
    palette (the theme) changes."""
    palette = QGuiApplication.palette()
    icon = _markers.get(palette.cacheKey())
    if icon is None:
        icon = QIcon()
        unsaved = unsaved_edit_color()
        icon.addPixmap(_dot(unsaved), QIcon.Mode.Normal)
        icon.addPixmap(_dot(unsaved), QIcon.Mode.Active)
        icon.addPixmap(_dot(palette.color(QPalette.ColorRole.HighlightedText)), QIcon.Mode.Selected)
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
