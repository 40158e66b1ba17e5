# Over 300 lines on purpose: the one base every dialog shares (fields, messages, busy state, new password);
# split, each dialog would have to assemble the pieces in the same order itself.
"""The form every dialog is built on: a titled form with inline field errors, a form-wide ``errorLabel``, a
busy state and remembered geometry, and a new password with its confirmation and strength meter.

For screen readers: every form-wide message (error, notice, busy status) is announced as it is shown, and
its label's name is its text; the fields say they are required and, with a message under them, that the
entry is invalid (see ``fields.FieldError``); while busy the focus stays where it was (see ``set_busy``);
and the accessibility tree follows the form's visual order (``widgets.order_children_as_laid_out``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpacerItem,
    QVBoxLayout,
    QWidget,
)

from desktop_auth.errors import InvalidInputError
from desktop_auth.ui.dialogs.fields import FieldError, confirmation_problem, password_edit, selectable
from desktop_auth.ui.dialogs.strength_meter import StrengthMeter
from desktop_auth.ui.shell import settings_store
from desktop_auth.ui.shell.announce import announce, show_message
from desktop_auth.ui.shell.i18n import describe_error, render, translate_n
from desktop_auth.ui.shell.messages import describe
from desktop_auth.ui.shell.qt_values import LABEL_ALIGNMENT
from desktop_auth.ui.shell.tasks import TaskRunner
from desktop_auth.ui.shell.theme import icon
from desktop_auth.ui.shell.widgets import (
    AppWindow,
    busy_indicator,
    grow_to_fit,
    order_children_as_laid_out,
    styled_label,
)

if TYPE_CHECKING:
    from desktop_auth.security import PasswordPolicy


MINIMUM_WIDTH = 460  # a form dialog's narrowest (it grows with its title and buttons)
CONFIRM_PAUSE_MS = 700  # a pause in typing the confirmation after which a mismatch is said


class NewPasswordFields(NamedTuple):  # not a dataclass: this module is on the start-up path
    edit: QLineEdit
    meter: StrengthMeter
    error: FieldError
    confirm_edit: QLineEdit
    confirm_error: FieldError
    show_check: QCheckBox


class FormDialog(AppWindow, QDialog):
    """A titled form with inline field errors, a form-wide ``errorLabel``, a busy bar and remembered geometry."""

    def __init__(self, object_name: str, title: str, subtitle: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(object_name)
        self.setWindowTitle(title)
        self.setAccessibleName(title)
        self._busy = False
        self._inputs: list[QWidget] = []
        self._made_read_only: list[QLineEdit] = []  # while busy
        self._kept_focus: QWidget | None = None  # the input that keeps the focus while busy
        self._ordered = False
        self._service_fields: dict[str, tuple[FieldError, QWidget]] = {}
        self._meters: dict[QWidget, StrengthMeter] = {}  # a new password's meter, by its field

        header = QHBoxLayout()
        logo = QLabel()
        logo.setPixmap(icon("app").pixmap(44, 44))
        logo.setAccessibleName(self.tr("desktop-auth logo"))
        logo_column = QVBoxLayout()  # the logo stays at the top when the subtitle wraps
        logo_column.addWidget(logo)
        logo_column.addStretch(1)
        header.addLayout(logo_column)
        titles = QVBoxLayout()
        titles.setSpacing(2)
        self.title_label = styled_label(title, "title", "titleLabel")
        self.title_label.setWordWrap(False)  # one line: the dialog is as wide as its title
        self.subtitle_label = styled_label(subtitle, "subtitle", "subtitleLabel")
        titles.addWidget(self.title_label)
        titles.addWidget(self.subtitle_label)
        header.addLayout(titles, 1)

        self.form = QFormLayout()
        self.form.setProperty("labelAlignment", LABEL_ALIGNMENT)  # a number: see shell/qt_values.py
        self.form.setVerticalSpacing(6)

        self.notice_label = styled_label("", "subtitle", "noticeLabel")
        self.notice_label.hide()
        self.error_label = styled_label("", "error", "errorLabel")  # no accessibleName: its name is its text
        self.error_label.hide()
        self.busy_bar = busy_indicator(self.tr("Working"))
        self.status_label = styled_label("", "subtitle", "statusLabel")
        self.status_label.hide()
        self.buttons = QDialogButtonBox()
        # Reject-role buttons (Cancel, Quit) close the dialog; accept-role ones submit, which each dialog
        # wires itself, so a failed submission leaves the dialog open.
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 18, 20, 16)
        layout.setSpacing(12)
        layout.addLayout(header)
        layout.addWidget(self.notice_label)
        layout.addLayout(self.form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.status_label)
        layout.addWidget(self.busy_bar)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        # At least 460 px wide, and wider when the title or the buttons need it (German words are long): a
        # strut in the layout, where setMinimumWidth() on the dialog would override the layout's own minimum.
        layout.addItem(QSpacerItem(MINIMUM_WIDTH - 40, 0))

    # -- building ------------------------------------------------------------------------------------

    def add_field(
        self,
        text: str,
        field: QWidget,
        extra: QWidget | None = None,
        service_field: str | None = None,
        required: bool = True,
    ) -> FieldError:
        """Add a labelled field (the label is its buddy, so its mnemonic focuses it) with an inline error.

        ``service_field`` names the field in the services' InvalidInputError, so ``show_failure`` puts
        their message under this field. ``required``: the field says so to screen readers."""
        label = QLabel(text)
        label.setBuddy(field)
        error = FieldError(field, f"{field.objectName()}Error", required)
        column = QVBoxLayout()
        column.setSpacing(3)
        column.addWidget(field)
        if extra is not None:
            column.addWidget(extra)
        column.addWidget(error)
        self.form.addRow(label, column)
        self._inputs.append(field)
        if service_field is not None:
            self._service_fields[service_field] = (error, field)
        return error

    def add_row_widget(self, widget: QWidget) -> None:
        self.form.addRow("", widget)
        self._inputs.append(widget)

    def add_button(self, push: QPushButton, role: QDialogButtonBox.ButtonRole) -> QPushButton:
        self.buttons.addButton(push, role)
        self._inputs.append(push)
        return push

    def show_passwords_checkbox(self, *edits: QLineEdit) -> QCheckBox:
        check = QCheckBox(self.tr("S&how password") if len(edits) == 1 else self.tr("S&how passwords"))
        check.setObjectName("showPasswordCheck")
        check.setAccessibleName(check.text().replace("&", ""))

        def toggle(shown: bool) -> None:
            mode = QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password
            for edit in edits:
                edit.setEchoMode(mode)

        check.toggled.connect(toggle)
        return check

    def add_new_password(
        self,
        runner: TaskRunner,
        policy: Callable[[], PasswordPolicy],
        label: str,
        accessible_name: str,
        service_field: str,
        confirm_accessible_name: str | None = None,
        strength_email: Callable[[], str | None] = lambda: None,
        also_shown: tuple[QLineEdit, ...] = (),
    ) -> NewPasswordFields:
        """A new password with its strength meter, its confirmation, and a "show passwords" box (which also
        reveals ``also_shown``); the meter and the confirmation are checked as the person types.
        ``confirm_accessible_name`` names the confirmation ("Confirm password" by default)."""
        edit = password_edit("passwordEdit", accessible_name)
        rules = policy()
        min_length = rules.min_length  # a plain name: lupdate skips a call whose count is an expression
        edit.setPlaceholderText(  # before add_field: described
            translate_n("FormDialog", "At least {n} character", "At least {n} characters", min_length)
        )
        edit.setToolTip(render(rules.help_text()))
        meter = StrengthMeter(runner, policy)
        error = self.add_field(label, edit, meter, service_field)
        self._meters[edit] = meter
        confirm = password_edit("confirmPasswordEdit", confirm_accessible_name or self.tr("Confirm password"))
        show = self.show_passwords_checkbox(*also_shown, edit, confirm)
        confirm_error = self.add_field(self.tr("C&onfirm:"), confirm, show)
        self._inputs.append(show)

        # "Do not match" waits until the person pauses (CONFIRM_PAUSE_MS) or leaves the field: said on every
        # keystroke it would scold each half-typed confirmation. A match clears it at once, and once shown
        # it stays while the entries still differ.
        pause = QTimer(self)
        pause.setSingleShot(True)
        pause.setInterval(CONFIRM_PAUSE_MS)

        def show_confirmation() -> None:
            pause.stop()
            confirm_error.show_message(confirmation_problem(edit.text(), confirm.text()))

        def check_confirmation() -> None:
            if not confirmation_problem(edit.text(), confirm.text()) or confirm_error.isVisibleTo(self):
                show_confirmation()
            else:
                pause.start()

        def password_changed(text: str) -> None:
            error.clear_message()
            meter.update_for(text, strength_email())
            check_confirmation()

        pause.timeout.connect(show_confirmation)
        edit.textChanged.connect(password_changed)
        confirm.textChanged.connect(check_confirmation)
        confirm.editingFinished.connect(show_confirmation)
        return NewPasswordFields(edit, meter, error, confirm, confirm_error, show)

    # -- state ---------------------------------------------------------------------------------------

    def set_busy(self, busy: bool, status: str = "") -> None:
        """While busy nothing can be submitted twice, and the focus stays where it was: disabling the
        focused input would send the focus through every following input (each one disabled in turn), and
        a screen reader reads them all. So the text fields become read-only instead of disabled, the other
        inputs are disabled except the one with the focus, which stays enabled but does nothing (its
        signals are blocked) until the work ends. The status is announced."""
        if busy and not self._busy:
            focused = self.focusWidget()
            for widget in self._inputs:
                if isinstance(widget, QLineEdit):
                    if not widget.isReadOnly():
                        widget.setReadOnly(True)
                        self._made_read_only.append(widget)
                    widget.setEnabled(True)
                elif widget is focused:
                    widget.blockSignals(True)  # Space, Enter or a screen reader's "press" do nothing
                    self._kept_focus = widget
                else:
                    widget.setEnabled(False)
        elif not busy:
            for edit in self._made_read_only:
                edit.setReadOnly(False)
            self._made_read_only.clear()
            if self._kept_focus is not None:
                self._kept_focus.blockSignals(False)
                self._kept_focus = None
            for widget in self._inputs:
                widget.setEnabled(True)
        self._busy = busy
        self.busy_bar.setAccessibleName(status or self.tr("Working"))
        self.busy_bar.setVisible(busy)
        shown = busy and bool(status)
        if shown and (status != self.status_label.text() or not self.status_label.isVisible()):
            self.status_label.setText(status)
            self.status_label.show()
            announce(self.status_label, status)
        else:
            self.status_label.setText(status)
            self.status_label.setVisible(shown)
        if busy:
            from PySide6.QtCore import Qt

            self.setCursor(Qt.CursorShape.BusyCursor)
        else:
            self.unsetCursor()

    @property
    def busy(self) -> bool:
        return self._busy

    def show_error(self, text: str) -> None:
        """The form-wide error, shown and announced (it interrupts: the person is waiting for the outcome)."""
        if text:
            selectable(self.error_label)
        show_message(self.error_label, text, assertive=True)
        grow_to_fit(self)

    def show_failure(self, error: BaseException) -> None:
        """A failed submission: end the busy state, then show the message under the field it is about,
        or in ``errorLabel`` when it is about none of them."""
        self.set_busy(False)
        if isinstance(error, InvalidInputError) and error.field in self._service_fields:
            label, field = self._service_fields[error.field]
            if field in self._meters:  # the policy's problems, in red: not again in grey beneath
                self._meters[field].hide_feedback()
            label.show_message(describe_error(error), announce_it=True)
            field.setFocus()
            return
        self.show_error(describe(error))

    def show_notice(self, text: str) -> None:
        """A notice above the form (why the session ended, an account is ready), shown and announced."""
        show_message(self.notice_label, text, assertive=False)
        grow_to_fit(self)

    def clear_errors(self) -> None:
        self.show_error("")
        for error in self.findChildren(FieldError):
            error.clear_message()

    # -- geometry ------------------------------------------------------------------------------------

    def setVisible(self, visible: bool) -> None:
        if visible and not self._ordered:  # every field is in by now: the tree follows the form's order
            self._ordered = True
            order_children_as_laid_out(self)
        super().setVisible(visible)

    def done(self, result: int) -> None:
        settings_store.save_geometry(self)
        super().done(result)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.busy:  # closing mid-operation would leave the person unsure whether it happened
            event.ignore()
            return
        super().closeEvent(event)

    def reject(self) -> None:
        if not self.busy:
            super().reject()

    def give_the_form_the_height(self) -> None:
        """The form takes the room the window grows by (a dialog built around a table), instead of keeping
        its natural height above a stretch."""
        outer = self.layout()
        if not isinstance(outer, QBoxLayout):
            return
        for position in range(outer.count()):
            item = outer.itemAt(position)
            if item is None:
                continue
            if item.layout() is self.form:
                outer.setStretch(position, 1)
            elif item.spacerItem() is not None:
                outer.setStretch(position, 0)


class OwnAccountDialog(FormDialog):
    """A dialog in which the signed-in person types their current password (or a code): a lockout it meets
    ends the session, as a lockout at the sign-in form would (the window signs out, saying why)."""

    locked_out = Signal(str)

    def add_current_password(self) -> tuple[QLineEdit, FieldError]:
        """The labelled ``currentPasswordEdit`` and its inline error."""
        edit = password_edit("currentPasswordEdit", self.tr("Current password"))
        return edit, self.add_field(self.tr("C&urrent password:"), edit, service_field="current_password")

    def add_current_password_with_show(self) -> tuple[QLineEdit, FieldError, QCheckBox]:
        """``add_current_password`` with a "Show password" check box beside the field."""
        edit = password_edit("currentPasswordEdit", self.tr("Current password"))
        show = self.show_passwords_checkbox(edit)
        error = self.add_field(self.tr("C&urrent password:"), edit, show, service_field="current_password")
        self._inputs.append(show)
        return edit, error, show

    def end_if_locked_out(self, error: BaseException, *typed: QLineEdit) -> bool:
        """True (and the session ending) when ``error`` is a lockout: what was typed is cleared, the
        dialog closes, then ``locked_out`` says why (last: a forced dialog's "rejected" signs out too)."""
        from desktop_auth.services.errors import AccountLockedError

        if not isinstance(error, AccountLockedError):
            return False
        self.set_busy(False)
        for edit in typed:
            edit.clear()
        self.close()
        self.locked_out.emit(describe(error))
        return True
