"""The Roles, Settings and History tabs of the role editor.

Each tab builds its contents the first time it is shown, so opening the editor builds the Users tab only
(the other three cost several ms of the GUI thread and about 2 MB, for tabs many visits never open).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop_auth.errors import InvalidInputError
from desktop_auth.ui.shell.messages import describe
from desktop_auth.ui.shell.tasks import TaskRunner
from desktop_auth.ui.shell.widgets import button, styled_label

if TYPE_CHECKING:
    from desktop_auth.services.app_settings import SharedSettings
    from desktop_auth.services.facade import Services
    from desktop_auth.services.records import Actor, AuditRecord, RoleRecord

HISTORY_PAGE = 500


def _table(object_name: str, accessible: str, model: QStandardItemModel) -> QTableView:
    view = QTableView()
    view.setObjectName(object_name)
    view.setAccessibleName(accessible)
    view.setModel(model)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setAlternatingRowColors(True)
    view.verticalHeader().setVisible(False)
    view.horizontalHeader().setStretchLastSection(True)
    return view


class LazyTab(QWidget):
    """A tab page whose widgets are made by ``_build`` when it is first shown (or first needs them)."""

    def __init__(self, object_name: str) -> None:
        super().__init__()
        self.setObjectName(object_name)
        self._built = False

    @property
    def built(self) -> bool:
        return self._built

    def ensure_built(self) -> None:
        if not self._built:
            self._built = True
            self._build()

    def setVisible(self, visible: bool) -> None:
        # Not a Python showEvent: that makes PySide build QEvent's large enum (see FormDialog).
        if visible:
            self.ensure_built()
        super().setVisible(visible)

    def _build(self) -> None:
        raise NotImplementedError


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
        self.view = _table("rolesTable", "Roles", self.model)
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
        self.error_label.setText(describe(error) if error else "")
        self.error_label.setVisible(error is not None)

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


class SettingsTab(LazyTab):
    def __init__(self, runner: TaskRunner, services: Services, actor: Actor) -> None:
        super().__init__("settingsTab")
        self._runner, self._services, self._actor = runner, services, actor

    def _build(self) -> None:
        self.self_registration = QCheckBox("Allow people to create their own accounts")
        self.self_registration.setObjectName("selfRegistrationCheck")
        self.self_registration.setAccessibleName("Allow self-registration")
        self.threshold = self._spin("lockoutThresholdSpin", "Failed sign-ins before a lockout", 1, 100, "")
        self.base = self._spin("lockoutBaseSpin", "First lockout in seconds", 1, 86_400, " s")
        self.maximum = self._spin("lockoutMaxSpin", "Longest lockout in seconds", 1, 7 * 86_400, " s")
        self.idle = self._spin("idleTimeoutSpin", "Idle sign-out in minutes", 1, 24 * 60, " min")
        self.temporary_hours = self._spin(
            "temporaryPasswordHoursSpin", "Temporary passwords expire after, in hours", 1, 30 * 24, " h"
        )
        self.temporary_hours.setToolTip(
            "How long a temporary password from a reset works; it must be changed at the next sign-in"
        )
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        form.addRow("Self-registration:", self.self_registration)
        for text, spin in (
            ("Failed sign-ins before a &lockout:", self.threshold),
            ("&First lockout:", self.base),
            ("Lo&ngest lockout:", self.maximum),
            ("&Idle sign-out after:", self.idle),
            ("&Temporary passwords expire after:", self.temporary_hours),
        ):
            label = QLabel(text)
            label.setBuddy(spin)
            form.addRow(label, spin)
        self.save_button = button("Sa&ve settings", "saveSettingsButton", "Save settings")
        self.error_label = styled_label("", "error", "settingsErrorLabel")
        self.error_label.hide()
        self.saved_label = styled_label("", "subtitle", "settingsSavedLabel")
        layout = QVBoxLayout(self)
        layout.addWidget(
            styled_label(
                "These settings are stored in the database: every client of this database follows them.",
                "subtitle",
            )
        )
        layout.addLayout(form)
        row = QHBoxLayout()
        row.addWidget(self.save_button)
        row.addWidget(self.saved_label, 1)
        layout.addLayout(row)
        layout.addWidget(self.error_label)
        layout.addStretch(1)
        self.save_button.clicked.connect(self.save)

    @staticmethod
    def _spin(name: str, accessible: str, low: int, high: int, suffix: str) -> QSpinBox:
        spin = QSpinBox()
        spin.setObjectName(name)
        spin.setAccessibleName(accessible)
        spin.setRange(low, high)
        spin.setSuffix(suffix)
        spin.setMinimumWidth(120)
        return spin

    def reload(self) -> None:
        self.ensure_built()
        app_settings = self._services.app_settings
        self._runner.run(app_settings.get, self.show_settings, self._failed, owner=self)

    def show_settings(self, shared: SharedSettings) -> None:
        self.self_registration.setChecked(shared.allow_self_registration)
        self.threshold.setValue(shared.lockout_threshold)
        self.base.setValue(shared.lockout_base_seconds)
        self.maximum.setValue(shared.lockout_max_seconds)
        self.idle.setValue(shared.idle_timeout_minutes)
        self.temporary_hours.setValue(shared.temporary_password_hours)

    def save(self) -> None:
        changes = {
            "allow_self_registration": self.self_registration.isChecked(),
            "lockout_threshold": self.threshold.value(),
            "lockout_base_seconds": self.base.value(),
            "lockout_max_seconds": self.maximum.value(),
            "idle_timeout_minutes": self.idle.value(),
            "temporary_password_hours": self.temporary_hours.value(),
        }
        app_settings, actor = self._services.app_settings, self._actor
        self.error_label.hide()
        self._runner.run(lambda: app_settings.update(actor, **changes), self._saved, self._failed, owner=self)

    def _saved(self, shared: SharedSettings) -> None:
        self.show_settings(shared)
        self.saved_label.setText("Saved.")

    def _failed(self, error: BaseException) -> None:
        self.saved_label.setText("")
        self.error_label.setText(describe(error))
        self.error_label.show()


class HistoryTab(LazyTab):
    """The audit log, newest first, filterable, loaded a page at a time, exportable to CSV."""

    HEADERS = ("When", "Who", "Action", "Account / item", "Old value", "New value", "Detail")

    def __init__(self, runner: TaskRunner, services: Services, actor: Actor) -> None:
        super().__init__("historyTab")
        self._runner, self._services, self._actor = runner, services, actor
        self._generation = 0

    def _build(self) -> None:
        self.model = QStandardItemModel(0, len(self.HEADERS), self)
        self.model.setHorizontalHeaderLabels(list(self.HEADERS))
        self.view = _table("historyTable", "Audit history", self.model)
        self.filter_edit = QLineEdit()
        self.filter_edit.setObjectName("historyFilterEdit")
        self.filter_edit.setAccessibleName("Filter the history")
        self.filter_edit.setPlaceholderText("Who, whom or what…")
        self.filter_edit.setClearButtonEnabled(True)
        label = QLabel("Fil&ter:")
        label.setBuddy(self.filter_edit)
        self.more_button = button("Load &older", "loadMoreHistoryButton", "Load older entries")
        self.export_button = button("E&xport CSV…", "exportHistoryButton", "Export the history to CSV")
        self.error_label = styled_label("", "error", "historyErrorLabel")
        self.error_label.hide()
        top = QHBoxLayout()
        top.addWidget(label)
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.error_label, 1)
        bottom.addWidget(self.more_button)
        layout.addLayout(bottom)
        self.filter_edit.returnPressed.connect(self.reload)
        self.filter_edit.textChanged.connect(lambda _t: self.reload())
        self.more_button.clicked.connect(self.load_more)
        self.export_button.clicked.connect(self._export)

    def reload(self) -> None:
        self.ensure_built()
        self._generation += 1
        self.model.removeRows(0, self.model.rowCount())
        self.load_more()

    def load_more(self) -> None:
        admin, actor, search = self._services.admin, self._actor, self.filter_edit.text().strip()
        offset, generation = self.model.rowCount(), self._generation
        self._runner.run(
            lambda: admin.audit_log(actor, search, HISTORY_PAGE, offset),
            lambda events: self._append(generation, events),
            self._failed,
            owner=self,
        )

    def _append(self, generation: int, events: list[AuditRecord]) -> None:
        if generation != self._generation:
            return
        for event in events:
            self.model.appendRow(
                [
                    QStandardItem(event.created_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")),
                    QStandardItem(event.actor),
                    QStandardItem(event.action),
                    QStandardItem(event.target),
                    QStandardItem(event.old_value or ""),
                    QStandardItem(event.new_value or ""),
                    QStandardItem(event.detail or ""),
                ]
            )
        self.more_button.setEnabled(len(events) == HISTORY_PAGE)
        self.view.resizeColumnsToContents()

    def _failed(self, error: BaseException) -> None:
        self.error_label.setText(describe(error))
        self.error_label.show()

    def _export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export history", "history.csv", "CSV files (*.csv)")
        if path:
            self.export(path)

    def export(self, path: str) -> None:
        self.ensure_built()
        export, actor, search = self._services.export, self._actor, self.filter_edit.text().strip()

        def write() -> int:
            from desktop_auth.services.export import open_export_file  # created 0600: it names people

            with open_export_file(path) as out:
                return export.write_audit_csv(actor, search, out)

        self._runner.run(write, lambda _count: None, self._failed, owner=self)
