"""Changing one's own password (objectName ``changePasswordDialog``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QDialogButtonBox, QWidget

from desktop_auth.ui.dialogs.fields import confirmation_problem
from desktop_auth.ui.dialogs.form import OwnAccountDialog
from desktop_auth.ui.shell.tasks import TaskRunner
from desktop_auth.ui.shell.widgets import button

if TYPE_CHECKING:
    from desktop_auth.security import PasswordPolicy
    from desktop_auth.services.facade import Services
    from desktop_auth.services.records import UserRecord


class ChangePasswordDialog(OwnAccountDialog):
    #: Too many wrong current passwords locked the account: the session must end (carries the message).

    def __init__(
        self,
        runner: TaskRunner,
        services: Services,
        user_id: int,
        email: str,
        forced: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        subtitle = (
            self.tr("An administrator set a temporary password. Choose your own before you continue.")
            if forced
            else self.tr("Enter your current password, then the new one twice.")
        )
        super().__init__("changePasswordDialog", self.tr("Change password"), subtitle, parent)
        self._runner = runner
        self._services = services
        self._user_id = user_id
        self._email = email
        self.result_record: UserRecord | None = None

        self.current_edit, self.current_error = self.add_current_password()
        new = self.add_new_password(
            runner,
            self._policy,
            self.tr("&New password:"),
            self.tr("New password"),
            "new_password",
            self.tr("Confirm new password"),
            strength_email=lambda: self._email,
            also_shown=(self.current_edit,),
        )
        self.password_edit, self.meter, self.password_error = new.edit, new.meter, new.error
        self.confirm_edit, self.confirm_error, show = new.confirm_edit, new.confirm_error, new.show_check

        self.submit_button = self.add_button(
            button(self.tr("&Change password"), "changePasswordButton", self.tr("Change password")),
            QDialogButtonBox.ButtonRole.AcceptRole,
        )
        self.submit_button.setDefault(True)
        self.submit_button.clicked.connect(self.submit)
        self.cancel_button = self.add_button(
            button(self.tr("Sign out") if forced else self.tr("Cancel"), "cancelButton", self.tr("Cancel")),
            QDialogButtonBox.ButtonRole.RejectRole,
        )
        self.setTabOrder(self.current_edit, self.password_edit)
        self.setTabOrder(self.password_edit, self.confirm_edit)
        self.setTabOrder(self.confirm_edit, show)
        self.setTabOrder(show, self.submit_button)
        self.setTabOrder(self.submit_button, self.cancel_button)
        self.current_edit.textChanged.connect(lambda _t: self.current_error.clear_message())

    def _policy(self) -> PasswordPolicy:
        return self._services.policy

    def submit(self) -> None:
        if self.busy:
            return
        self.clear_errors()
        current, new, confirm = self.current_edit.text(), self.password_edit.text(), self.confirm_edit.text()
        if not current:
            self.current_error.show_message(self.tr("Enter your current password."))
            self.current_edit.setFocus()
            return
        if not new:
            self.password_error.show_message(self.tr("Enter a new password."))
            self.password_edit.setFocus()
            return
        if mismatch := confirmation_problem(new, confirm, submitting=True):
            self.confirm_error.show_message(mismatch)
            self.confirm_edit.setFocus()
            return
        services, user_id = self._services, self._user_id
        self.set_busy(True, self.tr("Changing your password…"))
        self._runner.run(
            lambda: services.accounts.change_password(user_id, current, new),
            self._done,
            self.show_failure,
            owner=self,
        )

    def show_failure(self, error: BaseException) -> None:
        if self.end_if_locked_out(error, self.current_edit, self.password_edit, self.confirm_edit):
            return
        super().show_failure(error)

    def _done(self, record: UserRecord) -> None:
        self.set_busy(False)
        self.result_record = record
        for edit in (self.current_edit, self.password_edit, self.confirm_edit):
            edit.clear()
        self.accept()
