"""The fields a form is made of: email and password edits, and the inline error under a field."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QLineEdit, QWidget

from desktop_auth.ui.shell.qt_values import EMAIL_INPUT_HINTS

# The sign-in dialog is built from these before its first paint, so they name no Qt flag (see
# shell/qt_values.py); the functions that run later import Qt themselves.


def selectable(label: QLabel) -> None:
    from PySide6.QtCore import Qt

    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)


class FieldError(QLabel):
    """The inline message under one field; hidden while there is nothing to say."""

    def __init__(self, field: QWidget, object_name: str) -> None:
        super().__init__()
        self.setObjectName(object_name)
        self.setProperty("role", "error")
        self.setWordWrap(True)
        self.setAccessibleName(f"{field.accessibleName()} error")
        self._field = field
        self.hide()

    def show_message(self, text: str) -> None:
        if text:  # selectable so it can be copied; set here, not at start-up, where every enum costs
            selectable(self)
        self.setText(text)
        self.setVisible(bool(text))
        # Screen readers announce the description when the field gets focus again.
        self._field.setAccessibleDescription(text)

    def clear_message(self) -> None:
        self.show_message("")


def confirmation_problem(password: str, confirmation: str, submitting: bool = False) -> str:
    """The inline message for a "confirm password" field: '' when it matches, and while typing also when
    it is still empty (an empty confirmation only counts as a mismatch once the form is submitted)."""
    mismatch = confirmation != password and (submitting or bool(confirmation))
    return "The passwords do not match." if mismatch else ""


def password_edit(object_name: str, accessible_name: str) -> QLineEdit:
    edit = QLineEdit()
    edit.setObjectName(object_name)
    edit.setAccessibleName(accessible_name)
    edit.setEchoMode(QLineEdit.EchoMode.Password)  # also tells input methods the text is sensitive
    return edit


def email_edit(object_name: str = "emailEdit") -> QLineEdit:
    edit = QLineEdit()
    edit.setObjectName(object_name)
    edit.setAccessibleName("Email address")
    edit.setPlaceholderText("name@example.com")
    edit.setProperty("inputMethodHints", EMAIL_INPUT_HINTS)
    return edit
