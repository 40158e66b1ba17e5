"""Building blocks shared by the dialogs: a form dialog with inline errors and a busy state, and the
password strength meter."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from PySide6.QtCore import QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_auth.errors import InvalidInputError
from desktop_auth.ui.shell import settings_store
from desktop_auth.ui.shell.messages import describe
from desktop_auth.ui.shell.tasks import TaskRunner
from desktop_auth.ui.shell.theme import icon

if TYPE_CHECKING:
    from desktop_auth.security import PasswordPolicy, StrengthReport

STRENGTH_WORDS = ("Very weak", "Weak", "Fair", "Strong", "Very strong")

# PySide builds its whole Qt enum namespace (90-odd Python enums, ~15 ms) the first time anything names Qt,
# and the sign-in dialog is built from this module before its first paint. So the two flags it needs are
# set as Qt properties from their values (tests check them against Qt's), and the functions that run
# later import Qt themselves.
LABEL_ALIGNMENT = 0x0082  # Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
EMAIL_INPUT_HINTS = 0x0020_0004  # Qt.InputMethodHint.ImhEmailCharactersOnly | ImhNoAutoUppercase


def _selectable(label: QLabel) -> None:
    from PySide6.QtCore import Qt

    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)


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
            _selectable(self)
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


def button(text: str, object_name: str, accessible_name: str, icon_name: str | None = None) -> QPushButton:
    push = QPushButton(text)
    push.setObjectName(object_name)
    push.setAccessibleName(accessible_name)
    if icon_name:
        push.setIcon(icon(icon_name))
    return push


class NewPasswordFields(NamedTuple):  # not a dataclass: this module is on the start-up path
    edit: QLineEdit
    meter: StrengthMeter
    error: FieldError
    confirm_edit: QLineEdit
    confirm_error: FieldError
    show_check: QCheckBox


class FormDialog(QDialog):
    """A titled form with inline field errors, a form-wide ``errorLabel``, a busy bar and remembered geometry."""

    def __init__(self, object_name: str, title: str, subtitle: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(object_name)
        self.setWindowTitle(title)
        self.setAccessibleName(title)
        self.setMinimumWidth(460)
        self._busy = False
        self._inputs: list[QWidget] = []
        self._service_fields: dict[str, tuple[FieldError, QWidget]] = {}

        header = QHBoxLayout()
        logo = QLabel()
        logo.setPixmap(icon("app").pixmap(44, 44))
        logo.setAccessibleName("desktop-auth logo")
        logo_column = QVBoxLayout()  # the logo stays at the top when the subtitle wraps
        logo_column.addWidget(logo)
        logo_column.addStretch(1)
        header.addLayout(logo_column)
        titles = QVBoxLayout()
        titles.setSpacing(2)
        self.title_label = styled_label(title, "title", "titleLabel")
        self.subtitle_label = styled_label(subtitle, "subtitle", "subtitleLabel")
        titles.addWidget(self.title_label)
        titles.addWidget(self.subtitle_label)
        header.addLayout(titles, 1)

        self.form = QFormLayout()
        self.form.setProperty("labelAlignment", LABEL_ALIGNMENT)
        self.form.setVerticalSpacing(6)

        self.notice_label = styled_label("", "subtitle", "noticeLabel")
        self.notice_label.hide()
        self.error_label = styled_label("", "error", "errorLabel")
        self.error_label.setAccessibleName("Error")
        self.error_label.hide()
        self.busy_bar = busy_indicator("Working")
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

    # -- building ------------------------------------------------------------------------------------

    def add_field(
        self, text: str, field: QWidget, extra: QWidget | None = None, service_field: str | None = None
    ) -> FieldError:
        """Add a labelled field (the label is its buddy, so its mnemonic focuses it) with an inline error.

        ``service_field`` names the field in the services' InvalidInputError, so ``show_failure`` puts
        their message under this field."""
        label = QLabel(text)
        label.setBuddy(field)
        error = FieldError(field, f"{field.objectName()}Error")
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
        check = QCheckBox("S&how password" if len(edits) == 1 else "S&how passwords")
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
        strength_email: Callable[[], str | None] = lambda: None,
        also_shown: tuple[QLineEdit, ...] = (),
    ) -> NewPasswordFields:
        """A new password with its strength meter, its confirmation, and a "show passwords" box (which also
        reveals ``also_shown``); the meter and the confirmation are checked as the person types."""
        edit = password_edit("passwordEdit", accessible_name)
        meter = StrengthMeter(runner, policy)
        error = self.add_field(label, edit, meter, service_field)
        confirm = password_edit("confirmPasswordEdit", f"Confirm {accessible_name.lower()}")
        show = self.show_passwords_checkbox(*also_shown, edit, confirm)
        confirm_error = self.add_field("C&onfirm:", confirm, show)
        self._inputs.append(show)
        rules = policy()
        edit.setPlaceholderText(f"At least {rules.min_length} characters")
        edit.setToolTip(rules.help_text())

        def check_confirmation() -> None:
            confirm_error.show_message(confirmation_problem(edit.text(), confirm.text()))

        def password_changed(text: str) -> None:
            error.clear_message()
            meter.update_for(text, strength_email())
            check_confirmation()

        edit.textChanged.connect(password_changed)
        confirm.textChanged.connect(check_confirmation)
        return NewPasswordFields(edit, meter, error, confirm, confirm_error, show)

    # -- state ---------------------------------------------------------------------------------------

    def set_busy(self, busy: bool, status: str = "") -> None:
        self._busy = busy
        for widget in self._inputs:
            widget.setEnabled(not busy)
        self.busy_bar.setVisible(busy)
        self.status_label.setText(status)
        self.status_label.setVisible(busy and bool(status))
        if busy:
            from PySide6.QtCore import Qt

            self.setCursor(Qt.CursorShape.BusyCursor)
        else:
            self.unsetCursor()

    @property
    def busy(self) -> bool:
        return self._busy

    def show_error(self, text: str) -> None:
        if text:
            _selectable(self.error_label)
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))

    def show_failure(self, error: BaseException) -> None:
        """A failed submission: end the busy state, then show the message under the field it is about,
        or in ``errorLabel`` when it is about none of them."""
        self.set_busy(False)
        if isinstance(error, InvalidInputError) and error.field in self._service_fields:
            label, field = self._service_fields[error.field]
            label.show_message(" ".join(error.problems))
            field.setFocus()
            return
        self.show_error(describe(error))

    def show_notice(self, text: str) -> None:
        self.notice_label.setText(text)
        self.notice_label.setVisible(bool(text))

    def clear_errors(self) -> None:
        self.show_error("")
        for error in self.findChildren(FieldError):
            error.clear_message()

    # -- geometry ------------------------------------------------------------------------------------

    def setVisible(self, visible: bool) -> None:
        # Put the dialog where it was last time, just before it first shows. (Not in showEvent: a Python
        # showEvent makes PySide build QEvent's 170-member enum before the first window is painted.)
        if visible:
            settings_store.restore_geometry_once(self)
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


class StrengthMeter(QWidget):
    """A live meter with the policy's feedback; the estimate runs off the GUI thread, debounced."""

    def __init__(self, runner: TaskRunner, policy_factory: Callable[[], PasswordPolicy]) -> None:
        super().__init__()
        self._runner = runner
        self._policy_factory = policy_factory
        self._generation = 0
        self._pending: tuple[str, str | None] | None = None
        self.bar = QProgressBar()
        self.bar.setObjectName("strengthMeter")
        self.bar.setAccessibleName("Password strength")
        self.bar.setRange(0, 4)
        self.bar.setValue(0)
        self.bar.setTextVisible(False)
        self.bar.setProperty("score", 0)
        self.word = styled_label("", "subtitle", "strengthWord")
        self.feedback = styled_label("", "subtitle", "strengthFeedback")
        self.feedback.setAccessibleName("Password feedback")
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.bar, 1)
        row.addWidget(self.word)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(row)
        layout.addWidget(self.feedback)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(150)
        self._debounce.timeout.connect(self._evaluate)
        self.report: StrengthReport | None = None

    def update_for(self, password: str, email: str | None) -> None:
        self._pending = (password, email)
        self._debounce.start()

    def _evaluate(self) -> None:
        if self._pending is None:
            return
        password, email = self._pending
        self._generation += 1
        generation = self._generation
        policy_factory = self._policy_factory
        self._runner.run(
            lambda: policy_factory().evaluate(password, email),
            lambda report: self._show(generation, report),
            lambda _error: None,
            owner=self,
        )

    def _show(self, generation: int, report: StrengthReport) -> None:
        if generation != self._generation:
            return  # an older estimate arriving late
        self.report = report
        self.bar.setValue(report.score)
        self.bar.setProperty("score", report.score)
        self.bar.style().unpolish(self.bar)
        self.bar.style().polish(self.bar)
        empty = self._pending is not None and not self._pending[0]
        self.word.setText("" if empty else STRENGTH_WORDS[report.score])
        self.bar.setAccessibleDescription(self.word.text())
        lines = [problem.message for problem in report.problems if problem.code != "required"]
        if not lines and report.suggestions and report.score < 4:
            lines = list(report.suggestions[:1])
        self.feedback.setText(" ".join(lines))
        self.feedback.setVisible(bool(lines))
