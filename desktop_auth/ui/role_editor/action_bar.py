"""The row under the user table: what to do with the selected users (set a role, activate, deactivate,
unlock, reset passwords, reset one user's two-factor sign-in, delete), and the actions on the list itself: Create user, Export CSV."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from desktop_auth.ui.shell.widgets import button


class ActionBar(QWidget):
    set_role = Signal(str)
    set_active = Signal(bool)
    unlock = Signal()
    reset_passwords = Signal()
    reset_two_factor = Signal()
    export = Signal()
    create_user = Signal()
    delete_users = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.bulk_role = QComboBox()
        self.bulk_role.setObjectName("bulkRoleCombo")
        self.bulk_role.setAccessibleName(self.tr("Role for the selected users"))
        self.set_role_button = button(
            self.tr("Set r&ole"), "setRoleButton", self.tr("Set role of the selected users")
        )
        self.activate_button = button(
            self.tr("&Activate"), "activateButton", self.tr("Activate the selected users")
        )
        self.deactivate_button = button(
            self.tr("&Deactivate"), "deactivateButton", self.tr("Deactivate the selected users")
        )
        self.unlock_button = button(self.tr("U&nlock"), "unlockButton", self.tr("Unlock the selected users"))
        self.reset_button = button(
            self.tr("Reset &password…"),
            "resetPasswordButton",
            self.tr("Reset the password of the selected users"),
        )
        # One user at a time, and only one with a factor (enable_two_factor_reset): Alt+2, every letter of
        # "Reset two-factor" being taken in the Users tab.
        self.reset_two_factor_button = button(
            self.tr("Reset &2FA…"),
            "resetTwoFactorButton",
            self.tr("Reset the two-factor sign-in of the selected user"),
        )
        self.reset_two_factor_button.setToolTip(
            self.tr("Remove the selected user's two-factor sign-in (one user at a time, with two-factor on)")
        )
        self.reset_two_factor_button.setEnabled(False)
        self.delete_button = button(
            self.tr("Dele&te…"), "deleteUsersButton", self.tr("Delete the selected users")
        )
        self.create_button = button(self.tr("&Create user…"), "createUserButton", self.tr("Create a user"))
        self.export_button = button(
            self.tr("E&xport CSV…"), "exportUsersButton", self.tr("Export the users to CSV")
        )
        self._for_selected = (
            self.activate_button,
            self.deactivate_button,
            self.unlock_button,
            self.reset_button,
            self.delete_button,
        )
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel(self.tr("Selected users:")))
        for widget in (
            self.bulk_role,
            self.set_role_button,
            self.activate_button,
            self.deactivate_button,
            self.unlock_button,
            self.reset_button,
            self.reset_two_factor_button,
            self.delete_button,
        ):
            layout.addWidget(widget)
        layout.addStretch(1)
        # The actions on the list as a whole, after the stretch (Import users joins them here).
        layout.addWidget(self.create_button)
        layout.addWidget(self.export_button)

        self.set_role_button.clicked.connect(self._set_role)
        self.activate_button.clicked.connect(lambda: self.set_active.emit(True))
        self.deactivate_button.clicked.connect(lambda: self.set_active.emit(False))
        self.unlock_button.clicked.connect(lambda: self.unlock.emit())
        self.reset_button.clicked.connect(lambda: self.reset_passwords.emit())
        self.reset_two_factor_button.clicked.connect(lambda: self.reset_two_factor.emit())
        self.export_button.clicked.connect(lambda: self.export.emit())
        self.create_button.clicked.connect(lambda: self.create_user.emit())
        self.delete_button.clicked.connect(lambda: self.delete_users.emit())

    def _set_role(self) -> None:
        role = self.bulk_role.currentData()
        if isinstance(role, str) and role:
            self.set_role.emit(role)

    def show_roles(self, names: list[str]) -> None:
        current = self.bulk_role.currentData()
        self.bulk_role.clear()
        for name in names:
            self.bulk_role.addItem(name, name)
        self.bulk_role.setCurrentIndex(max(0, self.bulk_role.findData(current)))

    def enable(self, selected: bool, roles_loaded: bool) -> None:
        """The actions need selected users; setting a role needs the list of roles too, and so does creating
        a user (whose role is chosen from it)."""
        self.set_role_button.setEnabled(selected and roles_loaded)
        self.create_button.setEnabled(roles_loaded)
        for widget in self._for_selected:
            widget.setEnabled(selected)

    def enable_two_factor_reset(self, allowed: bool) -> None:
        """Resetting two-factor sign-in needs one selected user, loaded, who has it on."""
        self.reset_two_factor_button.setEnabled(allowed)
