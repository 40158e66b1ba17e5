"""Forgot password (objectName ``resetPasswordDialog``): the email address, one unused recovery code (and
the authenticator's current code, for an account with two-factor sign-in) and a new password (with its strength meter and confirmation). ``RecoveryService.reset_with_code`` runs on the
worker; the code is then spent. Every refusal but the policy's and a lockout reads the same, whatever the
reason (the service says why: no account enumeration); ``reset`` carries the result on success.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialogButtonBox, QLineEdit, QWidget

from desktop_auth.ui.dialogs.fields import confirmation_problem, email_edit, keep_left_to_right
from desktop_auth.ui.dialogs.form import FormDialog
from desktop_auth.ui.shell.help import install_help
from desktop_auth.ui.shell.widgets import button

if TYPE_CHECKING:
    from desktop_auth.security import PasswordPolicy
    from desktop_auth.services.facade import Services
    from desktop_auth.services.records import RecoveryReset
    from desktop_auth.ui.shell.tasks import TaskRunner

#: Longest text the code field takes (a code is 19 characters; room for spaces and pasted extras).
CODE_FIELD_MAX_LENGTH = 64


class ResetPasswordDialog(FormDialog):
    reset = Signal(object)  # RecoveryReset

    def __init__(
        self, runner: TaskRunner, services: Services, email: str = "", parent: QWidget | None = None
    ) -> None:
        super().__init__(
            "resetPasswordDialog",
            self.tr("Forgot password"),
            self.tr("Use one of your recovery codes to choose a new password. Each code works once."),
            parent,
        )
        self._runner, self._services = runner, services
        install_help(self, "recovery-codes")  # README.md's "Recovery codes"
        self.result_reset: RecoveryReset | None = None
        self.email_edit = email_edit()
        self.email_error = self.add_field(self.tr("&Email:"), self.email_edit, service_field="email")
        self.code_edit = QLineEdit()
        self.code_edit.setObjectName("recoveryCodeEdit")
        self.code_edit.setAccessibleName(self.tr("Recovery code"))
        self.code_edit.setPlaceholderText(
            "xxxx-xxxx-xxxx-xxxx"
        )  # the code's shape: the same in every language
        self.code_edit.setMaxLength(CODE_FIELD_MAX_LENGTH)
        keep_left_to_right(self.code_edit)
        self.code_error = self.add_field(
            self.tr("Recovery &code:"), self.code_edit, service_field="recovery_code"
        )
        # Asked of everyone, needed only with two-factor sign-in: the form says nothing about the account.
        self.authenticator_edit = QLineEdit()
        self.authenticator_edit.setObjectName("authenticatorCodeEdit")
        self.authenticator_edit.setAccessibleName(self.tr("Authenticator code"))
        self.authenticator_edit.setPlaceholderText(self.tr("Only if you use two-factor sign-in"))
        self.authenticator_edit.setMaxLength(CODE_FIELD_MAX_LENGTH)
        keep_left_to_right(self.authenticator_edit)
        self.authenticator_error = self.add_field(
            self.tr("&Authenticator code:"),
            self.authenticator_edit,
            service_field="authenticator_code",
            required=False,
        )
        new = self.add_new_password(
            runner,
            self._policy,
            self.tr("&New password:"),
            self.tr("New password"),
            "password",
            self.tr("Confirm new password"),
            strength_email=lambda: self.email_edit.text().strip().lower() or None,
        )
        self.password_edit, self.meter, self.password_error = new.edit, new.meter, new.error
        self.confirm_edit, self.confirm_error, show = new.confirm_edit, new.confirm_error, new.show_check
        self.submit_button = self.add_button(
            button(
                self.tr("&Reset password"), "resetWithCodeButton", self.tr("Reset the password with the code")
            ),
            QDialogButtonBox.ButtonRole.AcceptRole,
        )
        self.submit_button.setDefault(True)
        self.submit_button.clicked.connect(self.submit)
        self.cancel_button = self.add_button(
            button(self.tr("Cancel"), "cancelButton", self.tr("Cancel")),
            QDialogButtonBox.ButtonRole.RejectRole,
        )
        self.setTabOrder(self.email_edit, self.code_edit)
        self.setTabOrder(self.code_edit, self.authenticator_edit)
        self.setTabOrder(self.authenticator_edit, self.password_edit)
        self.setTabOrder(self.password_edit, self.confirm_edit)
        self.setTabOrder(self.confirm_edit, show)
        self.setTabOrder(show, self.submit_button)
        self.setTabOrder(self.submit_button, self.cancel_button)
        for edit, error in (
            (self.email_edit, self.email_error),
            (self.code_edit, self.code_error),
            (self.authenticator_edit, self.authenticator_error),
        ):
            edit.textChanged.connect(lambda _t, error=error: error.clear_message())
        self.email_edit.setText(email)
        (self.code_edit if email else self.email_edit).setFocus()

    def _policy(self) -> PasswordPolicy:
        return self._services.policy

    def submit(self) -> None:
        if self.busy:
            return
        self.clear_errors()
        email, code, authenticator = (
            self.email_edit.text(),
            self.code_edit.text(),
            self.authenticator_edit.text(),
        )
        password, confirm = self.password_edit.text(), self.confirm_edit.text()
        checks = (
            (not email.strip(), self.email_error, self.email_edit, self.tr("Enter your email address.")),
            (not code.strip(), self.code_error, self.code_edit, self.tr("Enter one of your recovery codes.")),
            (not password, self.password_error, self.password_edit, self.tr("Enter a new password.")),
        )
        first_bad: QWidget | None = None
        for failed, error, edit, message in checks:
            if failed:
                error.show_message(message)
                first_bad = first_bad or edit
        if mismatch := confirmation_problem(password, confirm, submitting=True):
            self.confirm_error.show_message(mismatch)
            first_bad = first_bad or self.confirm_edit
        if first_bad is not None:
            first_bad.setFocus()
            return
        recovery = self._services.recovery
        self.set_busy(True, self.tr("Checking the code…"))
        self._runner.run(
            lambda: recovery.reset_with_code(email, code, password, authenticator),
            self._done,
            self._failed,
            owner=self,
        )

    def _failed(self, error: BaseException) -> None:
        from desktop_auth.services.errors import AccountLockedError

        self.show_failure(error)
        if isinstance(error, AccountLockedError):
            self.email_edit.setFocus()

    def _done(self, result: RecoveryReset) -> None:
        self.set_busy(False)
        self.result_reset = result
        for edit in (self.code_edit, self.authenticator_edit, self.password_edit, self.confirm_edit):
            edit.clear()
        self.reset.emit(result)
        self.accept()
