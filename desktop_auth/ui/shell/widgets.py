"""Small builders every window uses: styled labels, buttons with an accessible name, a busy indicator."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton

from desktop_auth.ui.shell.theme import icon


def styled_label(text: str, role: str, object_name: str | None = None) -> QLabel:
    label = QLabel(text)
    label.setProperty("role", role)
    label.setWordWrap(True)
    if object_name:
        label.setObjectName(object_name)
    return label


def busy_indicator(accessible_name: str) -> QProgressBar:
    """A hidden, indefinite progress bar (``busyIndicator``) to show while work runs."""
    bar = QProgressBar()
    bar.setObjectName("busyIndicator")
    bar.setAccessibleName(accessible_name)
    bar.setRange(0, 0)
    bar.setTextVisible(False)
    bar.hide()
    return bar


def button(text: str, object_name: str, accessible_name: str, icon_name: str | None = None) -> QPushButton:
    push = QPushButton(text)
    push.setObjectName(object_name)
    push.setAccessibleName(accessible_name)
    if icon_name:
        push.setIcon(icon(icon_name))
    return push
