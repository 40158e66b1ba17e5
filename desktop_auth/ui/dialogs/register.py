"""Self-registration (``registerDialog``), and the new-account form it shares with the first run's
administrator (``first_run.SetupAdminDialog``): validated inline as you type, with a live strength meter."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, cast

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

    def work(self, email: str, password: str) -> Any:
        raise NotImplementedError

    def _done(self, result: object) -> None:
        self.set_busy(False)
        self.password_edit.clear()
        self.confirm_edit.clear()
        self.succeeded.emit(result)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self.show_failure(error)


class RegisterDialog(NewAccountDialog):
    """Self-registration. ``succeeded`` carries the new account's email. The account's first recovery codes
    are made with it and shown over this dialog (``recovery_codes``), which closes after them."""

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
        self.codes_dialog: QWidget | None = None  # the new account's recovery codes, while shown

    def work(self, email: str, password: str) -> tuple[str, RecoveryCodes | None]:
        record = self._services.accounts.register(email, password)
        try:
            issued = self._services.recovery.generate(record.id, password)
        except DesktopAuthError as error:  # the account exists: its codes can be made later
            log.warning("No recovery codes at registration: %s", error)
            issued = None
        return record.email, issued

    def _done(self, result: object) -> None:
        email, issued = cast("tuple[str, RecoveryCodes | None]", result)
        if issued is None:
            super()._done(email)
            return
        from PySide6.QtCore import Qt

        from desktop_auth.ui.dialogs.recovery_codes import RecoveryCodesDialog

        self.set_busy(False)
        self.password_edit.clear()
        self.confirm_edit.clear()
        self.succeeded.emit(email)
        dialog = RecoveryCodesDialog(self._runner, self._services, issued.user_id, issued, parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(lambda _result: self.accept())
        self.codes_dialog = dialog
        dialog.open()
