"""Changing one's own email address (objectName ``changeEmailDialog``), with the current password.

The service checks the address (taken, a look-alike, invalid) and the password (as a sign-in attempt: a wrong
one counts towards the lockout) on a worker thread; each refusal is shown under its field and announced.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QDialogButtonBox, QWidget

from desktop_auth.ui.dialogs.fields import email_edit
from desktop_auth.ui.dialogs.form import OwnAccountDialog
from desktop_auth.ui.shell.help import install_help
from desktop_auth.ui.shell.i18n import isolate
from desktop_auth.ui.shell.tasks import TaskRunner
from desktop_auth.ui.shell.widgets import button

if TYPE_CHECKING:
    from desktop_auth.services.facade import Services
    from desktop_auth.services.records import UserRecord


class ChangeEmailDialog(OwnAccountDialog):
    #: Too many wrong current passwords locked the account: the session must end (carries the message).

    def __init__(
        self, runner: TaskRunner, services: Services, user_id: int, email: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(
            "changeEmailDialog",
            self.tr("Change email address"),
            self.tr("You sign in as {email}. Enter the new address and your current password.").format(
                email=isolate(email)
            ),
            parent,
        )
        self._runner = runner
        self._services = services
        self._user_id = user_id
        self.result_record: UserRecord | None = None

        self.email_edit = email_edit("newEmailEdit")
        self.email_edit.setAccessibleName(self.tr("New email address"))
        self.email_error = self.add_field(self.tr("New &email:"), self.email_edit, service_field="email")
        self.current_edit, self.current_error, show = self.add_current_password_with_show()

        self.submit_button = self.add_button(
            button(self.tr("&Change email"), "changeEmailConfirmButton", self.tr("Change email address")),
            QDialogButtonBox.ButtonRole.AcceptRole,
        )
        self.submit_button.setDefault(True)
        self.submit_button.clicked.connect(self.submit)
        self.cancel_button = self.add_button(
            button(self.tr("Cancel"), "cancelButton", self.tr("Cancel")),
            QDialogButtonBox.ButtonRole.RejectRole,
        )
        self.setTabOrder(self.email_edit, self.current_edit)
        self.setTabOrder(self.current_edit, show)
        self.setTabOrder(show, self.submit_button)
        self.setTabOrder(self.submit_button, self.cancel_button)
        self.email_edit.textChanged.connect(lambda _t: self.email_error.clear_message())
        self.current_edit.textChanged.connect(lambda _t: self.current_error.clear_message())
        install_help(self, "changing-your-email-address")

    def submit(self) -> None:
        if self.busy:
            return
        self.clear_errors()
        email, current = self.email_edit.text(), self.current_edit.text()
        if not email.strip():
            self.email_error.show_message(self.tr("Enter the new email address."))
            self.email_edit.setFocus()
            return
        if not current:
            self.current_error.show_message(self.tr("Enter your current password."))
            self.current_edit.setFocus()
            return
        services, user_id = self._services, self._user_id
        self.set_busy(True, self.tr("Changing your email address…"))
        self._runner.run(
            lambda: services.own_account.change_email(user_id, current, email),
            self._done,
            self.show_failure,
            owner=self,
        )

    def show_failure(self, error: BaseException) -> None:
        if self.end_if_locked_out(error, self.current_edit):
            return
        if getattr(error, "field", None) == "current_password":
            self.current_edit.clear()
        super().show_failure(error)

    def _done(self, record: UserRecord) -> None:
        self.set_busy(False)
        self.result_record = record
        self.current_edit.clear()
        self.accept()
