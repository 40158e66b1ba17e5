"""The fields a form is made of: email and password edits, and the inline error under a field."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLabel, QLineEdit, QWidget

from desktop_auth.ui.shell.announce import announce
from desktop_auth.ui.shell.i18n import isolate, translate
from desktop_auth.ui.shell.qt_values import EMAIL_INPUT_HINTS
from desktop_auth.ui.shell.widgets import grow_to_fit

# The sign-in dialog is built from these before its first paint, so they name no Qt flag (see
# shell/qt_values.py); the functions that run later import Qt themselves.


def selectable(label: QLabel) -> None:
    from PySide6.QtCore import Qt

    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)


def keep_left_to_right(edit: QWidget) -> None:
    """An email address, a code or a key reads left to right, and its field stays so in a right-to-left
    language (its caret, alignment and selection too). In a left-to-right one it is already: no Qt name is
    built then (the sign-in form is made before its first paint, see shell/qt_values.py)."""
    if QGuiApplication.isRightToLeft():
        from PySide6.QtCore import Qt

        edit.setLayoutDirection(Qt.LayoutDirection.LeftToRight)


class FieldError(QLabel):
    """The inline message under one field; hidden while there is nothing to say.

    Screen readers learn of it three ways: a new message is announced; its label has no accessibleName
    (a label's name is its text); and the field's accessibleDescription says "Invalid entry: <message>"
    while it shows, "Required" otherwise (for a required field), read when the field gets the focus.

    Why a description: Qt has no way to set AT-SPI's STATE_REQUIRED or STATE_INVALID_ENTRY on a widget.
    ``QAccessible.State`` has no "required" flag, and Qt's AT-SPI bridge maps neither that nor "invalid"
    (qspi_constant_mappings.cpp, spiStatesFromQState, unchanged up to Qt 6.11); a custom
    QAccessibleInterface for QLineEdit would have to re-implement Qt's text interfaces. The dynamic
    properties ``required`` and ``invalid`` on the field say the same to Qt-side code and tests.
    """

    def __init__(self, field: QWidget, object_name: str, required: bool = True) -> None:
        super().__init__()
        self.setObjectName(object_name)
        self.setProperty("role", "error")
        self.setWordWrap(True)
        self._field = field
        self._required = required
        field.setProperty("required", required)
        self._describe_field("")
        self.hide()

    def show_message(self, text: str, announce_it: bool = False) -> None:
        """Show ``text`` under the field ('' hides it). A new message is announced politely; with
        ``announce_it`` (a submission failed) it interrupts, and is announced even if it is unchanged."""
        if text:  # selectable so it can be copied; set here, not at start-up, where every enum costs
            selectable(self)
        new = text != self.text() or not self.isVisible()
        self.setText(text)
        self.setVisible(bool(text))
        self._describe_field(text)
        grow_to_fit(self)
        if text and (new or announce_it):
            announce(self, text, assertive=announce_it)

    def clear_message(self) -> None:
        self.show_message("")

    def _describe_field(self, message: str) -> None:
        # The state, then the placeholder; a message ends with its own full stop (not doubled).
        if message:
            state = self.tr("Invalid entry: {message}").format(message=message)
        else:
            state = self.tr("Required") if self._required else ""
        # The placeholder is an example ("name@example.com"): kept in its own direction inside Arabic.
        placeholder = self._field.placeholderText() if isinstance(self._field, QLineEdit) else ""
        hint = isolate(placeholder) if placeholder else ""
        if state and hint and not state.endswith("."):
            state += "."
        self._field.setProperty("invalid", bool(message))
        self._field.setAccessibleDescription(" ".join(part for part in (state, hint) if part))


def confirmation_problem(password: str, confirmation: str, submitting: bool = False) -> str:
    """The inline message for a "confirm password" field: '' when it matches, and while typing also when
    it is still empty (an empty confirmation only counts as a mismatch once the form is submitted)."""
    mismatch = confirmation != password and (submitting or bool(confirmation))
    return translate("fields", "The passwords do not match.") if mismatch else ""


def password_edit(object_name: str, accessible_name: str) -> QLineEdit:
    edit = QLineEdit()
    edit.setObjectName(object_name)
    edit.setAccessibleName(accessible_name)
    edit.setEchoMode(QLineEdit.EchoMode.Password)  # also tells input methods the text is sensitive
    return edit


def email_edit(object_name: str = "emailEdit") -> QLineEdit:
    edit = QLineEdit()
    edit.setObjectName(object_name)
    edit.setAccessibleName(translate("fields", "Email address"))
    edit.setPlaceholderText(translate("fields", "name@example.com"))
    edit.setProperty("inputMethodHints", EMAIL_INPUT_HINTS)
    keep_left_to_right(edit)
    return edit
