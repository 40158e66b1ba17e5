# Over 300 lines: the dialog and its hand-over to the first-run form (what was typed, the focus, keys still
# arriving) share its fields' state: the first minute reads in one place.
"""The sign-in dialog (objectName ``loginDialog``).

It is on screen, and accepts typing, before the database has said anything. When the database turns out
to have no administrator yet, the app replaces it with the first run's form (``first_run``), and what
the person had typed moves over (``hand_over``): the email into the new form's email field, the password
into its password field (masked there too), the focus and the cursor where they were. A sign-in the
person asked for with Enter while the database was loading is not made, and nothing they pressed goes to
the new form's default button: keys the window system still delivers to this hidden dialog after the swap
go on to the new form (``forward_keys_to``), except Enter and Escape, which were meant for this one.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, NamedTuple

import shiboken6
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QDialogButtonBox, QWidget

from desktop_auth.services.errors import (
    AccountLockedError,
    SecondFactorRequiredError,
    TwoFactorEnrollmentRequiredError,
)
from desktop_auth.ui.dialogs.fields import email_edit, password_edit
from desktop_auth.ui.dialogs.form import FormDialog
from desktop_auth.ui.shell import settings_store
from desktop_auth.ui.shell.i18n import render, translate, translate_n
from desktop_auth.ui.shell.messages import describe
from desktop_auth.ui.shell.tasks import TaskRunner
from desktop_auth.ui.shell.widgets import button

if TYPE_CHECKING:
    from PySide6.QtGui import QCloseEvent, QKeyEvent

    from desktop_auth.services.facade import Services
    from desktop_auth.services.records import RecoveryReset, SignedInUser
    from desktop_auth.ui.dialogs.totp_code import TotpCodeDialog
    from desktop_auth.ui.dialogs.two_factor_setup import TwoFactorSetupDialog


def wait_over() -> str:
    """Said when a lockout's wait has run out."""
    return translate("LoginDialog", "The wait is over: you can sign in again.")


class TypedSoFar(NamedTuple):  # not a dataclass: this module is on the start-up path
    """What the person had typed into the sign-in form, for the form that replaces it."""

    email: str
    password: str
    focus: str | None  # "email" or "password": the field the cursor was in, if any
    cursor: int  # in that field
    selection: tuple[int, int] | None  # (start, length) selected in that field


class LoginDialog(FormDialog):
    signed_in = Signal(object)  # SignedInUser
    create_account_requested = Signal(str)  # the email typed so far
    #: The password was right and a second step follows: its dialog (``totpDialog`` or, when the
    #: organisation requires it, ``twoFactorSetupDialog``), open over this one.
    second_step_opened = Signal(object)

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(
            "loginDialog", self.tr("Sign in"), self.tr("Sign in to your desktop-auth account."), parent
        )
        self._runner = runner
        self._services: Services | None = None

        self.email_edit = email_edit()
        self.email_error = self.add_field(self.tr("&Email:"), self.email_edit)
        self.password_edit = password_edit("passwordEdit", self.tr("Password"))
        show = self.show_passwords_checkbox(self.password_edit)
        self.password_error = self.add_field(self.tr("&Password:"), self.password_edit, show)
        self._inputs.append(show)

        self.create_account_button = self.add_button(
            button(self.tr("&Create account…"), "createAccountButton", self.tr("Create account")),
            QDialogButtonBox.ButtonRole.ActionRole,
        )
        self.forgot_password_button = self.add_button(
            button(self.tr("&Forgot password…"), "forgotPasswordButton", self.tr("Forgot password")),
            QDialogButtonBox.ButtonRole.ActionRole,
        )
        self.forgot_password_button.clicked.connect(self.open_reset)
        self.reset_dialog: QWidget | None = None  # "Forgot password", while it is open
        self.second_step_dialog: QWidget | None = None  # the code step, while it is open
        self.sign_in_button = self.add_button(
            button(self.tr("&Sign in"), "signInButton", self.tr("Sign in")),
            QDialogButtonBox.ButtonRole.AcceptRole,
        )
        self.sign_in_button.setDefault(True)
        self.sign_in_button.clicked.connect(self.submit)
        self.create_account_button.clicked.connect(
            lambda: self.create_account_requested.emit(self.email_edit.text().strip())
        )
        self.setTabOrder(self.email_edit, self.password_edit)
        self.setTabOrder(self.password_edit, show)
        self.setTabOrder(show, self.sign_in_button)
        self.setTabOrder(self.sign_in_button, self.create_account_button)
        self.setTabOrder(self.create_account_button, self.forgot_password_button)

        self.email_edit.setText(settings_store.last_email())
        # A lockout's wait counts down on screen (see _show_lockout); the timer is made at the first one.
        self._lockout_ends_at: float | None = None  # on the monotonic clock below
        self._lockout_timer: QTimer | None = None
        self.monotonic = time.monotonic
        self.email_edit.textEdited.connect(lambda _text: self._stop_countdown())  # another address
        self._submit_when_ready = False
        self._successor: QWidget | None = None  # the form that replaced this one, while this one is hidden
        self.await_database()
        self.focus_first_empty()

    def await_database(self) -> None:
        """The database layer is still loading: typing is welcome, submitting waits for it."""
        self._services = None
        self._submit_when_ready = False
        self.set_busy(False)
        self.create_account_button.setEnabled(False)
        self.forgot_password_button.setEnabled(False)
        self.status_label.setText(self.tr("Connecting to the database…"))
        self.status_label.show()

    def focus_first_empty(self) -> None:
        (self.password_edit if self.email_edit.text() else self.email_edit).setFocus()

    def hand_over(self) -> TypedSoFar:
        """The database needs another form instead of this one: hide, forget the password and the sign-in
        waiting for the database (if Enter was pressed), and say what was typed, for the new form."""
        # After Enter the person had finished typing: the new form then starts at its first empty field.
        field = None if self._submit_when_ready else self.focusWidget()
        focus = "email" if field is self.email_edit else "password" if field is self.password_edit else None
        edit = self.email_edit if focus == "email" else self.password_edit
        selection = (edit.selectionStart(), len(edit.selectedText())) if edit.hasSelectedText() else None
        typed = TypedSoFar(
            self.email_edit.text(), self.password_edit.text(), focus, edit.cursorPosition(), selection
        )
        self._submit_when_ready = False
        self.set_busy(False)
        self.hide()
        self.password_edit.clear()
        return typed

    def forward_keys_to(self, successor: QWidget) -> None:
        """Until this dialog shows again, keys still addressed to it go to ``successor``'s focused field,
        Enter and Escape excepted (see the module's docstring). Its fields are disabled meanwhile, so every
        key reaches ``keyPressEvent``, a Tab included, which could otherwise give a hidden field the focus."""
        self._successor = successor
        for widget in self._inputs:
            widget.setEnabled(False)
        self.setFocus()

    def setVisible(self, visible: bool) -> None:
        back = visible and self._successor is not None  # from the form that replaced it
        if back:
            self._successor = None
            self.set_busy(False)
        super().setVisible(visible)
        if back:  # its fields could not take the focus while disabled (prefilled meanwhile, say)
            self.focus_first_empty()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        successor = self._successor
        if successor is None or self.isVisible():
            super().keyPressEvent(event)
            return
        from PySide6.QtCore import QCoreApplication, Qt
        from PySide6.QtGui import QKeyEvent

        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape):
            return  # meant for this form: never the new form's default button, never its Cancel
        if shiboken6.isValid(successor) and successor.isVisible():
            receiver = successor.focusWidget() or successor
            copy = QKeyEvent(
                event.type(),
                event.key(),
                event.modifiers(),
                event.text(),
                event.isAutoRepeat(),
                event.count(),
            )
            QCoreApplication.sendEvent(receiver, copy)

    def set_services(self, services: Services, registration_open: bool) -> None:
        """The database is ready: enable the form."""
        self._services = services
        self.create_account_button.setVisible(registration_open)
        self.create_account_button.setEnabled(True)
        self.forgot_password_button.setEnabled(True)
        self.set_busy(False)
        if self._submit_when_ready:
            self._submit_when_ready = False
            self.submit()

    def prefill(self, email: str, notice: str = "") -> None:
        self.email_edit.setText(email)
        self.password_edit.clear()
        self._stop_countdown()
        self.clear_errors()
        self.show_notice(notice)
        self.focus_first_empty()

    def reject(self) -> None:
        """Escape or Quit. Waiting for the database to sign in is not work under way: quitting cancels it."""
        self._cancel_waiting_sign_in()
        super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:
        self._cancel_waiting_sign_in()
        super().closeEvent(event)

    def _cancel_waiting_sign_in(self) -> None:
        if self._submit_when_ready:
            self._submit_when_ready = False
            self.set_busy(False)

    @property
    def ready(self) -> bool:
        """True once the database layer is loaded and the form can sign in."""
        return self._services is not None

    def _show_lockout(self, seconds_left: float) -> None:
        """Count the wait down in the message (each second in the last minute, else each minute), and say
        when it is over. Only the service decides: the next attempt always asks it (an administrator may
        have unlocked the address meanwhile) and the countdown stops then, or when the address changes."""
        self._lockout_ends_at = self.monotonic() + seconds_left
        if self._lockout_timer is None:
            self._lockout_timer = QTimer(self)
            self._lockout_timer.setInterval(1000)
            self._lockout_timer.timeout.connect(self._tick)
        self._lockout_timer.start()

    def _tick(self) -> None:
        if self._lockout_ends_at is None:
            return
        left = self._lockout_ends_at - self.monotonic()
        if left > 0:
            # The label's text only, not announced again: a screen reader reading it every second is noise.
            self.error_label.setText(render(AccountLockedError.message_with(left)))
            return
        self._stop_countdown()
        self.show_error("")
        self.show_notice(wait_over())

    def _stop_countdown(self) -> None:
        self._lockout_ends_at = None
        if self._lockout_timer is not None:
            self._lockout_timer.stop()

    def submit(self) -> None:
        if self.busy:
            return
        self._stop_countdown()
        self.clear_errors()
        if self.notice_label.text() == wait_over():
            self.show_notice("")
        email, password = self.email_edit.text(), self.password_edit.text()
        if not email.strip():
            self.email_error.show_message(self.tr("Enter your email address."))
            self.email_edit.setFocus()
            return
        if not password:
            self.password_error.show_message(self.tr("Enter your password."))
            self.password_edit.setFocus()
            return
        services = self._services
        if services is None:  # submitted before the database was ready: sign in as soon as it is
            self._submit_when_ready = True
            self.set_busy(True, self.tr("Connecting to the database…"))
            return
        self.set_busy(True, self.tr("Checking your password…"))
        self._runner.run(
            lambda: services.accounts.authenticate(email, password), self._succeeded, self._failed, owner=self
        )

    def open_reset(self) -> None:
        """Forgot password: a recovery code and a new password (``dialogs/reset_password.py``), over this
        dialog; on success this one says so, with the address filled in."""
        services = self._services
        if services is None or self.busy:
            return
        from PySide6.QtCore import Qt

        from desktop_auth.ui.dialogs.reset_password import ResetPasswordDialog

        self._stop_countdown()
        dialog = ResetPasswordDialog(self._runner, services, self.email_edit.text().strip(), parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.reset.connect(self._was_reset)
        dialog.destroyed.connect(lambda: setattr(self, "reset_dialog", None))
        self.reset_dialog = dialog
        dialog.open()

    def _was_reset(self, result: RecoveryReset) -> None:
        codes_left = result.codes_left  # a plain name: lupdate skips a call whose count is an expression
        if codes_left:
            notice = translate_n(
                "LoginDialog",
                "Your password was changed. Sign in with the new one. You have {n} recovery code left.",
                "Your password was changed. Sign in with the new one. You have {n} recovery codes left.",
                codes_left,
            )
        else:
            notice = self.tr(
                "Your password was changed. Sign in with the new one. That was your last recovery code: make "
                "new ones from your account window."
            )
        self.prefill(result.email, notice)

    def _succeeded(self, user: SignedInUser) -> None:
        self.set_busy(False)
        settings_store.remember_email(user.email)
        self.password_edit.clear()
        self.show_notice("")
        self.signed_in.emit(user)

    def _failed(self, error: BaseException) -> None:
        self.set_busy(False)
        if isinstance(error, (SecondFactorRequiredError, TwoFactorEnrollmentRequiredError)):
            self._open_second_step(error)
            return
        self.show_error(describe(error))
        if isinstance(error, AccountLockedError):
            self._show_lockout(error.seconds_left)
            self.email_edit.setFocus()
        else:
            self.password_edit.selectAll()
            self.password_edit.setFocus()

    # -- the second step: an authenticator's code, or setting one up (two-factor sign-in) --------------

    def _open_second_step(self, step: SecondFactorRequiredError | TwoFactorEnrollmentRequiredError) -> None:
        """The password was right: the code step (``dialogs/totp_code.py``) or, for an administrator the
        organisation requires it of, setting up the authenticator (``dialogs/two_factor_setup.py``),
        window-modal over this form. Cancel comes back here with the password cleared."""
        services = self._services
        assert services is not None
        from PySide6.QtCore import Qt

        dialog: TotpCodeDialog | TwoFactorSetupDialog
        if isinstance(step, SecondFactorRequiredError):
            from desktop_auth.ui.dialogs.totp_code import TotpCodeDialog

            dialog = TotpCodeDialog(self._runner, services, step.challenge, parent=self)
        else:
            from desktop_auth.ui.dialogs.two_factor_setup import TwoFactorSetupDialog

            dialog = TwoFactorSetupDialog(self._runner, services, challenge=step.challenge, parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.signed_in.connect(self._succeeded)
        dialog.rejected.connect(self._second_step_cancelled)
        dialog.abandoned.connect(self._second_step_abandoned)
        dialog.destroyed.connect(lambda: setattr(self, "second_step_dialog", None))
        self.second_step_dialog = dialog
        self.second_step_opened.emit(dialog)
        dialog.open()

    def _second_step_cancelled(self) -> None:
        self.second_step_dialog = None
        self.password_edit.clear()
        self.password_edit.setFocus()

    def _second_step_abandoned(self, error: BaseException) -> None:
        """The sign-in cannot go on (locked, too slow, changed meanwhile): say why, as for a password."""
        self.password_edit.clear()
        self._failed(error)
