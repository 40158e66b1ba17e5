"""What the app remembers between runs on this computer (QSettings): window geometry, the last email."""

from __future__ import annotations

from typing import cast

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QWidget

LAST_EMAIL_KEY = "signIn/lastEmail"


def restore_geometry(widget: QWidget) -> bool:
    value = QSettings().value(f"geometry/{widget.objectName()}")
    return isinstance(value, QByteArray) and widget.restoreGeometry(value)


def restore_geometry_once(widget: QWidget) -> None:
    """For setVisible(True): the first time the widget is shown, put it where it was last time."""
    if not widget.property("geometryRestored"):
        widget.setProperty("geometryRestored", "yes")
        restore_geometry(widget)


class RestoresGeometry:
    """Mixin for the app's windows and dialogs (before the Qt class in the bases): the first time one shows,
    it is put where it was last time (``save_geometry`` records it when it closes).

    Done in setVisible, not showEvent: a Python showEvent makes PySide build QEvent's 170-member enum before
    the first window is painted.
    """

    def setVisible(self, visible: bool) -> None:
        if visible:
            restore_geometry_once(cast(QWidget, self))
        super().setVisible(visible)  # type: ignore[misc]  # the Qt class after this mixin has it


def save_geometry(widget: QWidget) -> None:
    QSettings().setValue(f"geometry/{widget.objectName()}", widget.saveGeometry())


def last_email() -> str:
    value = QSettings().value(LAST_EMAIL_KEY, "")
    return value if isinstance(value, str) else ""


def remember_email(email: str) -> None:
    QSettings().setValue(LAST_EMAIL_KEY, email)
