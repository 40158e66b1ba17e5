"""The code step of a sign-in (objectName ``totpDialog``): after a right password, an account with two-factor
sign-in types the code its authenticator app shows (``AccountService.complete_sign_in``, on the worker).

A wrong or reused code is said under the field and counts against the address's lockout, like a wrong
password. What ends the sign-in (the address locked, the step taking over five minutes, the account changed
meanwhile) closes this dialog and the sign-in form says why (``abandoned``); Cancel or Escape goes back to
the sign-in form too, with the password cleared (``dialogs/sign_in.py``).

A recovery code is accepted here too, in place of the app's code (lost phone): the services tell one from
the other (six digits are the app's), spend it, and count a wrong one like a wrong code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialogButtonBox, QLineEdit, QWidget

from desktop_auth.security.totp import DIGITS, normalize_code
from desktop_auth.ui.dialogs.fields import keep_left_to_right
from desktop_auth.ui.dialogs.form import FormDialog
from desktop_auth.ui.shell.i18n import isolate, translate, translate_n
from desktop_auth.ui.shell.widgets import button

if TYPE_CHECKING:
    from desktop_auth.services.facade import Services
    from desktop_auth.services.records import SignedInUser, SignInChallenge
    from desktop_auth.ui.shell.tasks import TaskRunner

#: Room for a code typed with spaces or hyphens ("123 456"); anything longer cannot be one.
CODE_MAX_LENGTH = 16
#: At sign-in a recovery code fits too (16 characters in groups: "abcd-efgh-…"), with room to spare.
SIGN_IN_CODE_MAX_LENGTH = 64


def code_edit(max_length: int = CODE_MAX_LENGTH, placeholder: str | None = None) -> QLineEdit:
    """The field for an authenticator's code (``totpCodeEdit``): six digits, spaces allowed; the
    placeholder says "6 digits" unless another is given."""
    from PySide6.QtCore import Qt

    edit = QLineEdit()
    edit.setObjectName("totpCodeEdit")
    edit.setAccessibleName(translate("totp_code", "Authenticator code"))
    if placeholder is None:
        placeholder = translate_n("totp_code", "{n} digit", "{n} digits", DIGITS)
    edit.setPlaceholderText(placeholder)
    edit.setMaxLength(max_length)
    edit.setInputMethodHints(Qt.InputMethodHint.ImhPreferNumbers | Qt.InputMethodHint.ImhNoPredictiveText)
    keep_left_to_right(edit)
    return edit


def code_problem(typed: str) -> str:
    """What is wrong with a typed code before any service is asked ('' when it could be a code). Not
    counted against the lockout: it says nothing about the account."""
    if not typed.strip():
        return translate("totp_code", "Enter the code your authenticator app shows.")
    if normalize_code(typed) is None:
        return translate_n(
            "totp_code", "A code is {n} digit, like 123 456.", "A code is {n} digits, like 123 456.", DIGITS
        )
    return ""


def ends_the_sign_in() -> tuple[type[BaseException], ...]:
    """The errors after which this sign-in cannot go on: back to the sign-in form, which says why."""
    from desktop_auth.services.errors import (
        AccountInactiveError,
        AccountLockedError,
        InvalidCredentialsError,
        PasswordChangeRequiredError,
        SignInExpiredError,
        TemporaryPasswordExpiredError,
        TwoFactorStateError,
    )

    return (
        AccountLockedError,
        SignInExpiredError,
        TwoFactorStateError,
        InvalidCredentialsError,  # the password was changed (or the account deleted) meanwhile
        AccountInactiveError,
        TemporaryPasswordExpiredError,
        PasswordChangeRequiredError,
    )


class TotpCodeDialog(FormDialog):
    #: The code was right: signed in (carries the SignedInUser).
    signed_in = Signal(object)
    #: The sign-in cannot go on (carries the error, which the sign-in form shows).
    abandoned = Signal(object)

    def __init__(
        self,
        runner: TaskRunner,
        services: Services,
        challenge: SignInChallenge,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            "totpDialog",
            self.tr("Two-factor sign-in"),
            self.tr(
                "Type the code your authenticator app shows for {email}. Lost your phone? Type one of your "
                "recovery codes instead."
            ).format(email=isolate(challenge.email)),
            parent,
        )
        self._runner, self._services, self._challenge = runner, services, challenge
        self.code_edit = code_edit(
            SIGN_IN_CODE_MAX_LENGTH,
            translate_n(
                "TotpCodeDialog", "{n} digit, or a recovery code", "{n} digits, or a recovery code", DIGITS
            ),
        )
        self.code_error = self.add_field(self.tr("&Code:"), self.code_edit, service_field="totp_code")
        self.code_edit.textChanged.connect(lambda _t: self.code_error.clear_message())
        self.verify_button = self.add_button(
            button(self.tr("&Verify"), "verifyCodeButton", self.tr("Verify the code")),
            QDialogButtonBox.ButtonRole.AcceptRole,
        )
        self.verify_button.setDefault(True)
        self.verify_button.clicked.connect(self.submit)
        self.cancel_button = self.add_button(
            button(self.tr("Cancel"), "cancelButton", self.tr("Cancel and go back to the sign-in form")),
            QDialogButtonBox.ButtonRole.RejectRole,
        )
        self.setTabOrder(self.code_edit, self.verify_button)
        self.setTabOrder(self.verify_button, self.cancel_button)
        self.code_edit.setFocus()

    def submit(self) -> None:
        if self.busy:
            return
        self.clear_errors()
        code = self.code_edit.text()
        if not code.strip():  # anything else goes to the services: a recovery code is no six digits
            self.code_error.show_message(
                self.tr("Enter the code your authenticator app shows, or a recovery code.")
            )
            self.code_edit.setFocus()
            return
        accounts, challenge = self._services.accounts, self._challenge
        self.set_busy(True, self.tr("Checking the code…"))
        self._runner.run(
            lambda: accounts.complete_sign_in(challenge, code), self._succeeded, self._failed, owner=self
        )

    def _succeeded(self, user: SignedInUser) -> None:
        self.set_busy(False)
        self.code_edit.clear()
        self.accept()
        self.signed_in.emit(user)

    def _failed(self, error: BaseException) -> None:
        if isinstance(error, ends_the_sign_in()):
            self.set_busy(False)
            self.code_edit.clear()
            self.close()  # "rejected" first (back to the sign-in form), then why
            self.abandoned.emit(error)
            return
        self.show_failure(error)
        self.code_edit.selectAll()
        self.code_edit.setFocus()
