"""Creating an account for someone else (objectName ``createUserDialog``), from the role editor.

The administrator gives an address and a role; the service (``LifecycleService.create_user``, on the
worker) refuses an invalid address, one already taken or one that looks like another account's, each
under the address field. On success the account's random temporary password is shown once, in a
read-only field (``temporaryPasswordEdit``) with a copy button; closing the dialog forgets it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QComboBox, QDialogButtonBox, QLabel, QLineEdit, QWidget

from desktop_auth.constants import USER_ROLE
from desktop_auth.ui.dialogs.fields import email_edit
from desktop_auth.ui.dialogs.form import FormDialog
from desktop_auth.ui.shell.announce import announce
from desktop_auth.ui.shell.i18n import date_time, isolate
from desktop_auth.ui.shell.widgets import button, grow_to_fit

if TYPE_CHECKING:
    from desktop_auth.services.facade import Services
    from desktop_auth.services.records import Actor, CreatedAccount
    from desktop_auth.ui.shell.tasks import TaskRunner


class CreateUserDialog(FormDialog):
    #: Emitted with the new account's UserRecord once it exists.
    created = Signal(object)

    def __init__(
        self,
        runner: TaskRunner,
        services: Services,
        actor: Actor,
        roles: list[str],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            "createUserDialog",
            self.tr("Create user"),
            self.tr(
                "The account gets a random temporary password, shown to you once here. The person must "
                "change it at their first sign-in."
            ),
            parent,
        )
        self._runner, self._services, self._actor = runner, services, actor
        self._password = ""
        self.email_edit = email_edit("emailEdit")
        self.email_error = self.add_field(self.tr("&Email address:"), self.email_edit, service_field="email")
        self.role_combo = QComboBox()
        self.role_combo.setObjectName("roleCombo")
        self.role_combo.setAccessibleName(self.tr("Role"))
        for name in roles or [USER_ROLE]:
            self.role_combo.addItem(name, name)
        self.role_combo.setCurrentIndex(max(0, self.role_combo.findData(USER_ROLE)))
        self.add_field(self.tr("&Role:"), self.role_combo, service_field="role", required=False)
        self.password_edit: QLineEdit | None = None

        self.create_button = self.add_button(
            button(self.tr("&Create user"), "createUserConfirmButton", self.tr("Create the user")),
            QDialogButtonBox.ButtonRole.AcceptRole,
        )
        self.create_button.setDefault(True)
        self.create_button.clicked.connect(self.submit)
        self.cancel_button = self.add_button(
            button(self.tr("Cancel"), "cancelButton", self.tr("Cancel")),
            QDialogButtonBox.ButtonRole.RejectRole,
        )
        self.email_edit.textChanged.connect(lambda _text: self.email_error.clear_message())

    def submit(self) -> None:
        if self.busy or self.password_edit is not None:
            return
        self.clear_errors()
        email, role = self.email_edit.text(), str(self.role_combo.currentData() or USER_ROLE)
        if not email.strip():
            self.email_error.show_message(self.tr("Enter an email address."), announce_it=True)
            self.email_edit.setFocus()
            return
        lifecycle, actor = self._services.lifecycle, self._actor
        self.set_busy(True, self.tr("Creating the account…"))
        self._runner.run(
            lambda: lifecycle.create_user(actor, email, role), self._done, self.show_failure, owner=self
        )

    # -- the password, once --------------------------------------------------------------------------

    def _done(self, result: CreatedAccount) -> None:
        self.set_busy(False)
        record = result.record
        self._password = result.password
        self.create_button.hide()
        self.cancel_button.hide()
        self.email_edit.setText(record.email)
        self.email_edit.setReadOnly(True)
        self.role_combo.setEnabled(False)
        for role_label in self.findChildren(QLabel):
            if role_label.buddy() is self.role_combo:
                role_label.setEnabled(False)  # its letter is off too: it would lead nowhere
        created = self.tr("User created")
        self.title_label.setText(created)
        self.setWindowTitle(created)
        self.setAccessibleName(created)
        self.subtitle_label.setText(
            self.tr(
                "{email} can sign in with this temporary password until {expires} and must then choose "
                "their own. It is shown only now: copy it before you close this window."
            ).format(email=isolate(record.email), expires=date_time(result.expires_at))
        )
        edit = QLineEdit(result.password)
        edit.setObjectName("temporaryPasswordEdit")
        edit.setAccessibleName(self.tr("Temporary password for {email}").format(email=isolate(record.email)))
        edit.setReadOnly(True)
        label = QLabel(self.tr("Temporary &password:"))
        label.setBuddy(edit)
        self.form.addRow(label, edit)
        self._inputs.append(edit)
        self.password_edit = edit
        self.copy_button = self.add_button(
            button(self.tr("C&opy password"), "copyPasswordButton", self.tr("Copy the temporary password")),
            QDialogButtonBox.ButtonRole.ActionRole,
        )
        self.copy_button.clicked.connect(self.copy_password)
        self.close_button = self.add_button(
            button(self.tr("C&lose"), "closeButton", self.tr("Close and forget the password")),
            QDialogButtonBox.ButtonRole.RejectRole,
        )
        self.close_button.setDefault(True)
        for widget in (label, edit, self.copy_button, self.close_button):
            widget.show()  # shown now, so the focus can land on the password at once
        grow_to_fit(self.subtitle_label)  # the longer message and the new row: the dialog grows to show them
        edit.setFocus()
        edit.selectAll()
        announce(
            self.subtitle_label,
            self.tr("User created: {email}. The temporary password is shown once.").format(
                email=isolate(record.email)
            ),
        )
        self.created.emit(record)

    def copy_password(self) -> None:
        if not self._password:
            return
        QGuiApplication.clipboard().setText(self._password)
        copied = self.tr("Copied the temporary password.")
        self.status_label.setText(copied)
        self.status_label.show()
        announce(self.status_label, copied)

    def done(self, result: int) -> None:
        # Closing forgets the password: nothing shows it again.
        self._password = ""
        if self.password_edit is not None:
            self.password_edit.clear()
        super().done(result)
