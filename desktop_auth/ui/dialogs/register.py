"""Self-registration (``registerDialog``), and the new-account form it shares with the first run's
administrator (``first_run.SetupAdminDialog``): validated inline as you type, with a live strength meter."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialogButtonBox, QPushButton, QWidget

from desktop_auth.errors import DesktopAuthError, InvalidInputError
from desktop_auth.ui.dialogs.fields import confirmation_problem, email_edit
from desktop_auth.ui.dialogs.form import FormDialog
from desktop_auth.ui.shell.i18n import describe_error
from desktop_auth.ui.shell.tasks import TaskRunner
from desktop_auth.ui.shell.widgets import button

if TYPE_CHECKING:
    from desktop_auth.security import PasswordPolicy
    from desktop_auth.services.facade import Services
    from desktop_auth.services.records import RecoveryCodes

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NewAccount:
    """What a new-account form's work made: what ``succeeded`` carries, and the account's first recovery
    codes (None when they could not be made: the person makes them later in their account window)."""

    result: object
    codes: RecoveryCodes | None


def first_recovery_codes(services: Services, user_id: int, password: str) -> RecoveryCodes | None:
    """The first batch of a new account's recovery codes (on the worker), or None if they could not be made:
    the account exists either way."""
    try:
        return services.recovery.generate(user_id, password)
    except DesktopAuthError as error:
        log.warning("No recovery codes for the new account: %s", error)
        return None


def email_problem(text: str) -> str:
    """The inline message for an email field ('' when the address is acceptable), in the current language."""
    from desktop_auth.services.emails import normalize_email

    try:
        normalize_email(text)
    except InvalidInputError as error:
        return describe_error(error)
    return ""


class NewAccountDialog(FormDialog):
    """Email, password, confirmation and strength meter; subclasses say what submitting does."""

    succeeded = Signal(object)
    #: Does ``succeeded`` fire as soon as the account is made, while its first recovery codes are shown over
    #: the form (registration: the sign-in form is told meanwhile), or once they are put away (the first run:
    #: the account window would otherwise open over them)?
    succeeds_before_codes = False

    def __init__(
        self,
        object_name: str,
        title: str,
        subtitle: str,
        submit_button: QPushButton,
        runner: TaskRunner,
        services: Services,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(object_name, title, subtitle, parent)
        self._runner = runner
        self._services = services
        self.email_edit = email_edit()
        self.email_error = self.add_field(self.tr("&Email:"), self.email_edit, service_field="email")
        new = self.add_new_password(
            runner,
            self._policy,
            self.tr("&Password:"),
            self.tr("Password"),
            "password",
            strength_email=lambda: self.email_edit.text().strip().lower() or None,
        )
        self.password_edit, self.meter, self.password_error = new.edit, new.meter, new.error
        self.confirm_edit, self.confirm_error, show = new.confirm_edit, new.confirm_error, new.show_check
        self.submit_button = self.add_button(submit_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.submit_button.setDefault(True)
        self.submit_button.clicked.connect(self.submit)
        self.cancel_button = self.add_button(
            button(self.tr("Cancel"), "cancelButton", self.tr("Cancel")),
            QDialogButtonBox.ButtonRole.RejectRole,
        )
        self.setTabOrder(self.email_edit, self.password_edit)
        self.setTabOrder(self.password_edit, self.confirm_edit)
        self.setTabOrder(self.confirm_edit, show)
        self.setTabOrder(show, self.submit_button)
        self.setTabOrder(self.submit_button, self.cancel_button)

        self.email_edit.editingFinished.connect(self._check_email)
        self.email_edit.textChanged.connect(lambda _text: self.email_error.clear_message())
        self.codes_dialog: QWidget | None = None  # the new account's first recovery codes, while shown

    def _policy(self) -> PasswordPolicy:
        return self._services.policy

    # -- live validation -----------------------------------------------------------------------------

    def _check_email(self) -> None:
        text = self.email_edit.text()
        self.email_error.show_message(email_problem(text) if text.strip() else "")

    # -- submitting ----------------------------------------------------------------------------------

    def submit(self) -> None:
        if self.busy:
            return
        self.clear_errors()
        email, password = self.email_edit.text(), self.password_edit.text()
        first_bad: QWidget | None = None
        if problem := email_problem(email):
            self.email_error.show_message(problem)
            first_bad = self.email_edit
        if not password:
            self.password_error.show_message(self.tr("Enter a password."))
            first_bad = first_bad or self.password_edit
        if mismatch := confirmation_problem(password, self.confirm_edit.text(), submitting=True):
            self.confirm_error.show_message(mismatch)
            first_bad = first_bad or self.confirm_edit
        if first_bad is not None:
            first_bad.setFocus()
            return
        self.set_busy(True, self.busy_text())
        self._runner.run(lambda: self.work(email, password), self._done, self._failed, owner=self)

    def busy_text(self) -> str:
        return self.tr("Creating the account…")

    def work(self, email: str, password: str) -> NewAccount:
        raise NotImplementedError

    def _done(self, result: object) -> None:
        created = cast(NewAccount, result)
        self.set_busy(False)
        self.password_edit.clear()
        self.confirm_edit.clear()
        if created.codes is None:
            self._finish(created.result)
        elif self.succeeds_before_codes:
            self.succeeded.emit(created.result)
            self._show_codes(created.codes, then=self.accept)
        else:
            self._show_codes(created.codes, then=lambda: self._finish(created.result))

    def _show_codes(self, codes: RecoveryCodes, then: Callable[[], object]) -> None:
        """The new account's first recovery codes, over this dialog; ``then`` once they are put away."""
        from PySide6.QtCore import Qt

        from desktop_auth.ui.dialogs.recovery_codes import RecoveryCodesDialog

        dialog = RecoveryCodesDialog(self._runner, self._services, codes.user_id, codes, parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(lambda _result: then())
        self.codes_dialog = dialog
        dialog.open()

    def _finish(self, result: object) -> None:
        self.succeeded.emit(result)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self.show_failure(error)


class RegisterDialog(NewAccountDialog):
    """Self-registration. ``succeeded`` carries the new account's email. The account's first recovery codes
    are made with it and shown over this dialog (``codes_dialog``), which closes after them."""

    succeeds_before_codes = True

    def __init__(
        self, runner: TaskRunner, services: Services, email: str = "", parent: QWidget | None = None
    ) -> None:
        super().__init__(
            "registerDialog",
            self.tr("Create an account"),
            self.tr("Choose a long password: a few unrelated words work well."),
            button(self.tr("&Register"), "registerButton", self.tr("Register")),
            runner,
            services,
            parent,
        )
        self.email_edit.setText(email)

    def work(self, email: str, password: str) -> NewAccount:
        record = self._services.accounts.register(email, password)
        return NewAccount(record.email, first_recovery_codes(self._services, record.id, password))
