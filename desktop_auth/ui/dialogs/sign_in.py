"""The sign-in dialog (objectName ``loginDialog``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialogButtonBox, QWidget

from desktop_auth.services.errors import AccountLockedError
from desktop_auth.ui.dialogs.fields import email_edit, password_edit
from desktop_auth.ui.dialogs.form import FormDialog
from desktop_auth.ui.shell import settings_store
from desktop_auth.ui.shell.messages import describe
from desktop_auth.ui.shell.tasks import TaskRunner
from desktop_auth.ui.shell.widgets import button

if TYPE_CHECKING:
    from desktop_auth.services.facade import Services
    from desktop_auth.services.records import SignedInUser


class LoginDialog(FormDialog):
    signed_in = Signal(object)  # SignedInUser
    create_account_requested = Signal(str)  # the email typed so far

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__("loginDialog", "Sign in", "Sign in to your desktop-auth account.", parent)
        self._runner = runner
        self._services: Services | None = None

        self.email_edit = email_edit()
        self.email_error = self.add_field("&Email:", self.email_edit)
        self.password_edit = password_edit("passwordEdit", "Password")
        show = self.show_passwords_checkbox(self.password_edit)
        self.password_error = self.add_field("&Password:", self.password_edit, show)
        self._inputs.append(show)

        self.create_account_button = self.add_button(
            button("&Create account…", "createAccountButton", "Create account"),
            QDialogButtonBox.ButtonRole.ActionRole,
        )
        self.sign_in_button = self.add_button(
            button("&Sign in", "signInButton", "Sign in"), QDialogButtonBox.ButtonRole.AcceptRole
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

        self.email_edit.setText(settings_store.last_email())
        self._submit_when_ready = False
        self.await_database()
        self.focus_first_empty()

    def await_database(self) -> None:
        """The database layer is still loading: typing is welcome, submitting waits for it."""
        self._services = None
        self._submit_when_ready = False
        self.set_busy(False)
        self.create_account_button.setEnabled(False)
        self.status_label.setText("Connecting to the database…")
        self.status_label.show()

    def focus_first_empty(self) -> None:
        (self.password_edit if self.email_edit.text() else self.email_edit).setFocus()

    def set_services(self, services: Services, registration_open: bool) -> None:
        """The database is ready: enable the form."""
        self._services = services
        self.create_account_button.setVisible(registration_open)
        self.create_account_button.setEnabled(True)
        self.set_busy(False)
        if self._submit_when_ready:
            self._submit_when_ready = False
            self.submit()

    def prefill(self, email: str, notice: str = "") -> None:
        self.email_edit.setText(email)
        self.password_edit.clear()
        self.clear_errors()
        self.show_notice(notice)
        self.focus_first_empty()

    @property
    def ready(self) -> bool:
        """True once the database layer is loaded and the form can sign in."""
        return self._services is not None

    def submit(self) -> None:
        if self.busy:
            return
        self.clear_errors()
        email, password = self.email_edit.text(), self.password_edit.text()
        if not email.strip():
            self.email_error.show_message("Enter your email address.")
            self.email_edit.setFocus()
            return
        if not password:
            self.password_error.show_message("Enter your password.")
            self.password_edit.setFocus()
            return
        services = self._services
        if services is None:  # submitted before the database was ready: sign in as soon as it is
            self._submit_when_ready = True
            self.set_busy(True, "Connecting to the database…")
            return
        self.set_busy(True, "Checking your password…")
        self._runner.run(
            lambda: services.accounts.authenticate(email, password), self._succeeded, self._failed, owner=self
        )

    def _succeeded(self, user: SignedInUser) -> None:
        self.set_busy(False)
        settings_store.remember_email(user.email)
        self.password_edit.clear()
        self.show_notice("")
        self.signed_in.emit(user)

    def _failed(self, error: BaseException) -> None:
        self.set_busy(False)
        self.show_error(describe(error))
        if isinstance(error, AccountLockedError):
            self.email_edit.setFocus()
        else:
            self.password_edit.selectAll()
            self.password_edit.setFocus()
