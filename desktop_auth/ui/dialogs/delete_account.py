"""Deleting one's own account (objectName ``deleteAccountDialog``), confirmed with the current password.

The service refuses the last active administrator (shown in the form, announced); on success ``deleted``
carries the address the account had and the account window signs out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialogButtonBox, QWidget

from desktop_auth.ui.dialogs.form import OwnAccountDialog
from desktop_auth.ui.shell.help import install_help
from desktop_auth.ui.shell.i18n import isolate
from desktop_auth.ui.shell.tasks import TaskRunner
from desktop_auth.ui.shell.widgets import button

if TYPE_CHECKING:
    from desktop_auth.services.facade import Services


class DeleteAccountDialog(OwnAccountDialog):
    deleted = Signal(str)  # the address the account had
    #: Too many wrong current passwords locked the account: the session must end (carries the message).

    def __init__(
        self, runner: TaskRunner, services: Services, user_id: int, email: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(
            "deleteAccountDialog",
            self.tr("Delete your account"),
            self.tr(
                "This deletes the account {email} for good: you are signed out and cannot sign in with it "
                "again. Enter your current password to confirm."
            ).format(email=isolate(email)),
            parent,
        )
        self._runner = runner
        self._services = services
        self._user_id = user_id

        self.current_edit, self.current_error, show = self.add_current_password_with_show()
        self.submit_button = self.add_button(
            button(self.tr("&Delete my account"), "deleteAccountConfirmButton", self.tr("Delete my account")),
            QDialogButtonBox.ButtonRole.AcceptRole,
        )
        self.submit_button.setProperty("role", "danger")
        self.submit_button.clicked.connect(self.submit)
        self.cancel_button = self.add_button(
            button(self.tr("Cancel"), "cancelButton", self.tr("Cancel")),
            QDialogButtonBox.ButtonRole.RejectRole,
        )
        self.submit_button.setDefault(True)
        self.setTabOrder(self.current_edit, show)
        self.setTabOrder(show, self.submit_button)
        self.setTabOrder(self.submit_button, self.cancel_button)
        self.current_edit.textChanged.connect(lambda _t: self.current_error.clear_message())
        install_help(self, "deleting-your-account")

    def submit(self) -> None:
        if self.busy:
            return
        self.clear_errors()
        current = self.current_edit.text()
        if not current:
            self.current_error.show_message(self.tr("Enter your current password."))
            self.current_edit.setFocus()
            return
        services, user_id = self._services, self._user_id
        self.set_busy(True, self.tr("Deleting your account…"))
        self._runner.run(
            lambda: services.own_account.delete_account(user_id, current),
            self._done,
            self.show_failure,
            owner=self,
        )

    def show_failure(self, error: BaseException) -> None:
        self.current_edit.clear()
        if self.end_if_locked_out(error):
            return
        super().show_failure(error)

    def _done(self, email: str) -> None:
        self.set_busy(False)
        self.accept()
        self.deleted.emit(email)
