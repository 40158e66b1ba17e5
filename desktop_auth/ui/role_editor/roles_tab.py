"""The Roles tab (``rolesTab``): the roles with their descriptions and number of users; add one, rename or
describe the selected one, remove an unused one.

The selected role's name and description are edited in two labelled fields below the table (``roleNameEdit``
with ``renameRoleButton``, ``roleDescriptionEdit`` with ``describeRoleButton``; Enter in a field does the
same as its button), so everything works from the keyboard. Errors and confirmations appear under the
table and are announced. The rules (names, descriptions, built-in roles) are the service's."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QVBoxLayout,
)

from desktop_auth.errors import InvalidInputError
from desktop_auth.messages import message
from desktop_auth.ui.role_editor.lazy_tab import LazyTab, read_only_table
from desktop_auth.ui.shell.announce import show_message
from desktop_auth.ui.shell.i18n import isolate, number, translate, translate_n
from desktop_auth.ui.shell.messages import describe
from desktop_auth.ui.shell.tasks import TaskRunner
from desktop_auth.ui.shell.widgets import button, styled_label

if TYPE_CHECKING:
    from desktop_auth.services.facade import Services
    from desktop_auth.services.records import Actor, RoleRecord

COL_NAME, COL_DESCRIPTION, COL_USERS, COL_KIND = range(4)
HEADERS = ("Role", "Description", "Users", "Kind")  # in English; headers() in the person's language
NAME_ROLE = Qt.ItemDataRole.UserRole  # the role's name, on its row's first cell


def headers() -> list[str]:
    """The roles table's headings in the current language (HEADERS, in English)."""
    return [
        translate("RolesTab", "Role"),
        translate("RolesTab", "Description"),
        translate("RolesTab", "Users"),
        translate("RolesTab", "Kind"),
    ]


class RolesTab(LazyTab):
    def __init__(
        self, runner: TaskRunner, services: Services, actor: Actor, on_change: Callable[[], None]
    ) -> None:
        super().__init__("rolesTab")
        self._runner, self._services, self._actor, self._on_change = runner, services, actor, on_change
        self._roles: list[RoleRecord] = []
        self._select_after: str | None = None  # the role to select once the list is read again
        self._working = False

    def _build(self) -> None:
        self.model = QStandardItemModel(0, len(HEADERS), self)
        self.model.setHorizontalHeaderLabels(headers())
        self.view = read_only_table("rolesTable", self.tr("Roles"), self.model)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.view.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(COL_DESCRIPTION, QHeaderView.ResizeMode.Stretch)
        self.view.setColumnWidth(COL_NAME, 160)
        self.new_role_edit = QLineEdit()
        self.new_role_edit.setObjectName("newRoleEdit")
        self.new_role_edit.setAccessibleName(self.tr("New role name"))
        self.new_role_edit.setPlaceholderText(self.tr("e.g. auditor"))
        label = QLabel(self.tr("&New role:"))
        label.setBuddy(self.new_role_edit)
        self.add_button = button(self.tr("&Add role"), "addRoleButton", self.tr("Add role"))
        self.remove_button = button(
            self.tr("&Remove selected role"), "removeRoleButton", self.tr("Remove the selected role")
        )
        row = QHBoxLayout()
        row.addWidget(label)
        row.addWidget(self.new_role_edit, 1)
        row.addWidget(self.add_button)
        row.addStretch(1)
        row.addWidget(self.remove_button)

        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("roleNameEdit")
        self.name_edit.setAccessibleName(self.tr("Name of the selected role"))
        name_label = QLabel(self.tr("Na&me:"))
        name_label.setBuddy(self.name_edit)
        self.rename_button = button(
            self.tr("Rename ro&le"), "renameRoleButton", self.tr("Rename the selected role")
        )
        self.description_edit = QLineEdit()
        self.description_edit.setObjectName("roleDescriptionEdit")
        self.description_edit.setAccessibleName(self.tr("Description of the selected role"))
        self.description_edit.setPlaceholderText(self.tr("What the role is for (optional)"))
        description_label = QLabel(self.tr("Descr&iption:"))
        description_label.setBuddy(self.description_edit)
        self.describe_button = button(
            self.tr("Save &description"),
            "describeRoleButton",
            self.tr("Save the description of the selected role"),
        )
        selected = QGridLayout()
        selected.addWidget(name_label, 0, 0)
        selected.addWidget(self.name_edit, 0, 1)
        selected.addWidget(self.rename_button, 0, 2)
        selected.addWidget(description_label, 1, 0)
        selected.addWidget(self.description_edit, 1, 1)
        selected.addWidget(self.describe_button, 1, 2)
        selected.setColumnStretch(1, 1)

        self.error_label = styled_label("", "error", "rolesErrorLabel")
        self.error_label.hide()
        self.status_label = styled_label("", "", "rolesStatusLabel")
        self.status_label.hide()
        layout = QVBoxLayout(self)
        layout.addWidget(
            styled_label(
                self.tr(
                    "Roles with what they are for and their number of users. 'admin' and 'user' are built in: "
                    "they can be described but not renamed. A role can be removed only when nobody holds it."
                ),
                "subtitle",
            )
        )
        layout.addWidget(self.view, 1)
        layout.addLayout(row)
        layout.addLayout(selected)
        layout.addWidget(self.error_label)
        layout.addWidget(self.status_label)
        self.add_button.clicked.connect(self._add)
        self.new_role_edit.returnPressed.connect(self._add)
        self.remove_button.clicked.connect(self._remove)
        self.rename_button.clicked.connect(self._rename)
        self.name_edit.returnPressed.connect(self._rename)
        self.describe_button.clicked.connect(self._describe)
        self.description_edit.returnPressed.connect(self._describe)
        self.view.selectionModel().selectionChanged.connect(lambda *_: self._show_selected())
        self.show_roles(self._roles)

    def show_roles(self, roles: list[RoleRecord]) -> None:
        self._roles = roles
        if not self.built:
            return  # shown when the tab is built
        keep = self._select_after or self.selected_name()
        self._select_after = None
        self.model.removeRows(0, self.model.rowCount())
        for role in roles:
            items = [
                QStandardItem(role.name),
                QStandardItem(role.description or ""),
                QStandardItem(number(role.user_count)),
                QStandardItem(self.tr("built in") if role.protected else self.tr("custom")),
            ]
            items[COL_NAME].setData(role.name, NAME_ROLE)
            items[COL_DESCRIPTION].setData(
                role.description or self.tr("no description"), Qt.ItemDataRole.AccessibleTextRole
            )
            items[COL_DESCRIPTION].setToolTip(role.description or "")
            count = role.user_count
            items[COL_USERS].setData(
                translate_n("RolesTab", "{n} user", "{n} users", count),
                Qt.ItemDataRole.AccessibleTextRole,
            )
            items[COL_USERS].setData(
                int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                Qt.ItemDataRole.TextAlignmentRole,
            )
            self.model.appendRow(items)
        names = [role.name for role in roles]
        if keep in names:
            self.view.selectRow(names.index(keep))
        self._show_selected()

    def selected_name(self) -> str | None:
        selected = self.view.selectionModel().selectedRows() if self.built else []
        return selected[0].data(NAME_ROLE) if selected else None

    def _selected_role(self) -> RoleRecord | None:
        name = self.selected_name()
        return next((role for role in self._roles if role.name == name), None)

    def _show_selected(self) -> None:
        """Fill the name and description fields from the selected role (a built-in one's name is fixed)."""
        role = self._selected_role()
        self.name_edit.setText(role.name if role else "")
        self.description_edit.setText((role.description or "") if role else "")
        # Read-only rather than disabled: Alt+M and Tab still reach the fields, and a screen reader says
        # why nothing can be typed there.
        renamable = role is not None and not role.protected
        self.name_edit.setReadOnly(not renamable)
        self.rename_button.setEnabled(renamable)
        if role is None:
            hint = self.tr("Select a role in the table first.")
        else:
            hint = "" if renamable else self.tr("A built-in role keeps its name.")
        self.name_edit.setToolTip(hint)
        self.name_edit.setAccessibleDescription(hint)
        self.description_edit.setReadOnly(role is None)
        self.description_edit.setToolTip(self.tr("Select a role in the table first.") if role is None else "")
        self.describe_button.setEnabled(role is not None)

    def _show_error(self, error: BaseException | None) -> None:
        self._working = False
        if error is not None:
            show_message(self.status_label, "")
        show_message(self.error_label, describe(error) if error else "")

    def _done(self, notice: str) -> None:
        self._working = False
        show_message(self.error_label, "")
        show_message(self.status_label, notice, assertive=False)
        self._on_change()

    def _run(self, work: Callable[[], Any], notice: Callable[[Any], str]) -> None:
        if self._working:
            return  # one change at a time: a second Enter while the first is on its way does nothing
        self._working = True
        self._runner.run(work, lambda result: self._done(notice(result)), self._show_error, owner=self)

    def _add(self) -> None:
        name, roles, actor = self.new_role_edit.text(), self._services.roles, self._actor

        def added(role: RoleRecord) -> str:
            self.new_role_edit.clear()
            return self.tr("Added role {role}.").format(role=isolate(role.name))

        self._run(lambda: roles.add_role(actor, name), added)

    def _remove(self) -> None:
        name = self.selected_name()
        if name is None:
            self._show_error(InvalidInputError("role", [message("RolesTab", "Select a role to remove.")]))
            return
        roles, actor = self._services.roles, self._actor
        self._run(
            lambda: roles.remove_role(actor, name),
            lambda _none: self.tr("Removed role {role}.").format(role=isolate(name)),
        )

    def _rename(self) -> None:
        role = self._selected_role()
        if role is None or role.protected:
            self._show_error(
                InvalidInputError("role", [message("RolesTab", "Select a custom role to rename.")])
            )
            return
        old, new, roles, actor = role.name, self.name_edit.text(), self._services.roles, self._actor

        def renamed(record: RoleRecord) -> str:
            self._select_after = record.name
            return self.tr("Renamed role {old} to {new}.").format(old=isolate(old), new=isolate(record.name))

        self._run(lambda: roles.rename_role(actor, old, new), renamed)

    def _describe(self) -> None:
        role = self._selected_role()
        if role is None:
            self._show_error(
                InvalidInputError("description", [message("RolesTab", "Select a role to describe.")])
            )
            return
        name, text, roles, actor = role.name, self.description_edit.text(), self._services.roles, self._actor

        def described(record: RoleRecord) -> str:
            self._select_after = record.name
            if record.description is None:
                return self.tr("Cleared the description of role {role}.").format(role=isolate(record.name))
            return self.tr("Saved the description of role {role}.").format(role=isolate(record.name))

        self._run(lambda: roles.describe_role(actor, name, text), described)
