"""The Roles tab (``rolesTab``): the roles with their number of users; add one, remove an unused one."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QVBoxLayout

from desktop_auth.errors import InvalidInputError
from desktop_auth.ui.role_editor.lazy_tab import LazyTab, read_only_table
from desktop_auth.ui.shell.announce import show_message
from desktop_auth.ui.shell.messages import describe
from desktop_auth.ui.shell.tasks import TaskRunner
from desktop_auth.ui.shell.widgets import button, styled_label

if TYPE_CHECKING:
    from desktop_auth.services.facade import Services
    from desktop_auth.services.records import Actor, RoleRecord


class RolesTab(LazyTab):
    def __init__(
        self, runner: TaskRunner, services: Services, actor: Actor, on_change: Callable[[], None]
    ) -> None:
        super().__init__("rolesTab")
        self._runner, self._services, self._actor, self._on_change = runner, services, actor, on_change
        self._roles: list[RoleRecord] = []

    def _build(self) -> None:
        self.model = QStandardItemModel(0, 3, self)
        self.model.setHorizontalHeaderLabels(["Role", "Users", "Kind"])
        self.view = read_only_table("rolesTable", "Roles", self.model)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.new_role_edit = QLineEdit()
        self.new_role_edit.setObjectName("newRoleEdit")
        self.new_role_edit.setAccessibleName("New role name")
        self.new_role_edit.setPlaceholderText("e.g. auditor")
        label = QLabel("&New role:")
        label.setBuddy(self.new_role_edit)
        self.add_button = button("&Add role", "addRoleButton", "Add role")
        self.remove_button = button("&Remove selected role", "removeRoleButton", "Remove the selected role")
        self.error_label = styled_label("", "error", "rolesErrorLabel")
        self.error_label.hide()
        row = QHBoxLayout()
        row.addWidget(label)
        row.addWidget(self.new_role_edit, 1)
        row.addWidget(self.add_button)
        row.addStretch(1)
        row.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        layout.addWidget(
            styled_label(
                "Roles with their number of users. 'admin' and 'user' are built in; a role can be removed only when "
                "nobody holds it.",
                "subtitle",
            )
        )
        layout.addWidget(self.view, 1)
        layout.addLayout(row)
        layout.addWidget(self.error_label)
        self.add_button.clicked.connect(self._add)
        self.new_role_edit.returnPressed.connect(self._add)
        self.remove_button.clicked.connect(self._remove)
        self.show_roles(self._roles)

    def show_roles(self, roles: list[RoleRecord]) -> None:
        self._roles = roles
        if not self.built:
            return  # shown when the tab is built
        self.model.removeRows(0, self.model.rowCount())
        for role in roles:
            items = [
                QStandardItem(role.name),
                QStandardItem(f"{role.user_count:,}"),
                QStandardItem("built in" if role.protected else "custom"),
            ]
            items[0].setData(role.name, Qt.ItemDataRole.UserRole)
            items[1].setData(
                int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                Qt.ItemDataRole.TextAlignmentRole,
            )
            self.model.appendRow(items)

    def _show_error(self, error: BaseException | None) -> None:
        show_message(self.error_label, describe(error) if error else "")

    def _add(self) -> None:
        name, roles, actor = self.new_role_edit.text(), self._services.roles, self._actor
        self._runner.run(lambda: roles.add_role(actor, name), self._added, self._show_error, owner=self)

    def _added(self, _role: Any) -> None:
        self.new_role_edit.clear()
        self._show_error(None)
        self._on_change()

    def _remove(self) -> None:
        selected = self.view.selectionModel().selectedRows()
        if not selected:
            self._show_error(InvalidInputError("role", ["Select a role to remove."]))
            return
        name = selected[0].data(Qt.ItemDataRole.UserRole)
        roles, actor = self._services.roles, self._actor
        self._runner.run(
            lambda: roles.remove_role(actor, name), lambda _r: self._added(None), self._show_error, owner=self
        )
