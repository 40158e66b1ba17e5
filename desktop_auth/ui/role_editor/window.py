"""The administrators' window (objectName ``roleEditor``): the user table with pending edits, and the
Roles, Settings and History tabs.

Every change goes through the services, which check again that the person is an active administrator;
hiding this window from others is a convenience, not the protection.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop_auth.services.errors import StaleEditError
from desktop_auth.services.records import UserQuery, UserRecord
from desktop_auth.ui.dialogs.temporary_password import TemporaryPasswordDialog
from desktop_auth.ui.role_editor.history_tab import HistoryTab
from desktop_auth.ui.role_editor.roles_tab import RolesTab
from desktop_auth.ui.role_editor.settings_tab import SettingsTab
from desktop_auth.ui.role_editor.table_model import COL_ACTIVE, UserTableModel
from desktop_auth.ui.role_editor.table_view import UserTableView
from desktop_auth.ui.shell import settings_store
from desktop_auth.ui.shell.messages import describe
from desktop_auth.ui.shell.tasks import TaskRunner
from desktop_auth.ui.shell.widgets import busy_indicator, button, styled_label

if TYPE_CHECKING:
    from desktop_auth.services.facade import Services
    from desktop_auth.services.records import Actor

ALL_ROLES = ""
FILTER_DELAY_MS = 300
LAYOUT_REQUEST_EVENT = 76  # QEvent.Type.LayoutRequest; naming the enum makes PySide build all of QEvent.Type


class RoleEditor(QMainWindow):
    closed = Signal()

    def __init__(
        self, runner: TaskRunner, services: Services, actor: Actor, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("roleEditor")
        self.setWindowTitle("Role editor — desktop-auth")
        self.setAccessibleName("Role editor")
        self._runner = runner
        self._services = services
        self._actor = actor
        self._closing_confirmed = False
        self._saving = False

        admin = services.admin
        self.model = UserTableModel(
            runner,
            lambda query, offset, limit: admin.list_users(actor, query, offset, limit),
            lambda query: admin.count_users(actor, query),
            parent=self,
        )

        self.tabs = QTabWidget()
        self.tabs.setObjectName("roleEditorTabs")
        self.tabs.addTab(self._build_users_tab(), "&Users")
        self.roles_tab = RolesTab(runner, services, actor, on_change=self._load_roles)
        self.tabs.addTab(self.roles_tab, "R&oles")
        self.settings_tab = SettingsTab(runner, services, actor)
        self.tabs.addTab(self.settings_tab, "&Settings")
        self.history_tab = HistoryTab(runner, services, actor)
        self.tabs.addTab(self.history_tab, "&History")
        self.tabs.currentChanged.connect(self._tab_changed)
        self.setCentralWidget(self.tabs)
        self.setMinimumHeight(560)  # the width follows the layout: the user table fits all its columns
        self.resize(1180, 660)  # the first time; afterwards the remembered geometry wins

        refresh = QAction("Refresh", self)
        refresh.setShortcut(QKeySequence(QKeySequence.StandardKey.Refresh))
        refresh.triggered.connect(self.refresh)
        self.addAction(refresh)
        save = QAction("Save", self)
        save.setShortcut(QKeySequence(QKeySequence.StandardKey.Save))
        save.triggered.connect(self.save)
        self.addAction(save)

        self.model.pending_changed.connect(lambda _n: self._update_status())
        self.model.total_changed.connect(lambda _n: self._update_status())
        self.model.loading_changed.connect(self.busy_bar.setVisible)
        self.busy_bar.setVisible(self.model.loading)
        self.model.failed.connect(self.show_error)
        # Fetched once the window is built, on the next turn of the event loop: a worker started earlier only
        # takes turns with the building at the interpreter lock, which lengthens this pause without getting
        # the rows any sooner.
        QTimer.singleShot(0, self, self._start_loading)

    def _start_loading(self) -> None:
        self.model.reload()
        self._load_roles()

    # -- building ------------------------------------------------------------------------------------

    def _build_users_tab(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)

        filters = QHBoxLayout()
        self.filter_edit = QLineEdit()
        self.filter_edit.setObjectName("filterEdit")
        self.filter_edit.setAccessibleName("Filter by email")
        self.filter_edit.setPlaceholderText("Email contains…")
        self.filter_edit.setClearButtonEnabled(True)
        filter_label = QLabel("&Filter:")
        filter_label.setBuddy(self.filter_edit)
        self.prefix_check = QCheckBox("Starts &with")
        self.prefix_check.setObjectName("prefixCheck")
        self.prefix_check.setAccessibleName("Match only the start of the address")
        self.prefix_check.setToolTip("Match the start of the address (fastest on very large tables)")
        self.role_filter = QComboBox()
        self.role_filter.setObjectName("roleFilterCombo")
        self.role_filter.setAccessibleName("Show role")
        role_label = QLabel("Ro&le:")
        role_label.setBuddy(self.role_filter)
        self.refresh_button = button("Re&fresh", "refreshButton", "Refresh")
        self.refresh_button.setToolTip("Reload from the database (F5)")
        filters.addWidget(filter_label)
        filters.addWidget(self.filter_edit, 1)
        filters.addWidget(self.prefix_check)
        filters.addWidget(role_label)
        filters.addWidget(self.role_filter)
        filters.addWidget(self.refresh_button)
        layout.addLayout(filters)

        self.table = UserTableView(self.model)
        self.delegate = self.table.delegate
        layout.addWidget(self.table, 1)

        bulk = QHBoxLayout()
        bulk.addWidget(QLabel("Selected users:"))
        self.bulk_role = QComboBox()
        self.bulk_role.setObjectName("bulkRoleCombo")
        self.bulk_role.setAccessibleName("Role for the selected users")
        self.set_role_button = button("Set r&ole", "setRoleButton", "Set role of the selected users")
        self.activate_button = button("&Activate", "activateButton", "Activate the selected users")
        self.deactivate_button = button("&Deactivate", "deactivateButton", "Deactivate the selected users")
        self.unlock_button = button("U&nlock", "unlockButton", "Unlock the selected users")
        self.reset_button = button(
            "Reset &password…", "resetPasswordButton", "Reset the password of the selected users"
        )
        self.export_button = button("E&xport CSV…", "exportUsersButton", "Export the users to CSV")
        for widget in (
            self.bulk_role,
            self.set_role_button,
            self.activate_button,
            self.deactivate_button,
            self.unlock_button,
            self.reset_button,
        ):
            bulk.addWidget(widget)
        bulk.addStretch(1)
        bulk.addWidget(self.export_button)
        layout.addLayout(bulk)

        self.error_label = styled_label("", "error", "errorLabel")
        self.error_label.setAccessibleName("Error")
        self.error_label.hide()
        layout.addWidget(self.error_label)

        footer = QHBoxLayout()
        self.revert_button = button("&Revert", "revertButton", "Revert unsaved changes")
        self.save_button = button("&Save", "saveButton", "Save changes")
        self.save_button.setDefault(True)
        footer.addStretch(1)
        footer.addWidget(self.revert_button)
        footer.addWidget(self.save_button)
        layout.addLayout(footer)
        self._build_status_bar()

        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(FILTER_DELAY_MS)
        self._filter_timer.timeout.connect(self._apply_filter)
        self.filter_edit.textChanged.connect(lambda _t: self._filter_timer.start())
        self.filter_edit.returnPressed.connect(self._apply_filter)
        self.role_filter.activated.connect(lambda _i: self._apply_filter())
        self.prefix_check.toggled.connect(lambda _on: self._apply_filter())
        self.refresh_button.clicked.connect(self.refresh)
        self.save_button.clicked.connect(self.save)
        self.revert_button.clicked.connect(self.revert)
        self.set_role_button.clicked.connect(lambda: self._bulk(role=self.bulk_role.currentData()))
        self.activate_button.clicked.connect(lambda: self._bulk(active=True))
        self.deactivate_button.clicked.connect(lambda: self._bulk(active=False))
        self.unlock_button.clicked.connect(self._unlock_selected)
        self.reset_button.clicked.connect(self._reset_selected)
        self.export_button.clicked.connect(self._export)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_status())
        self._update_status()
        return page

    def _build_status_bar(self) -> None:
        # In the window's status bar, not in the Users page: a label whose text changes inside a QTabWidget
        # page makes the tab widget lay itself out and repaint the whole window (each count, selection and
        # staged edit). One line, no wrapping, so the bar's height never changes with the text.
        self.status_label = QLabel()
        self.status_label.setObjectName("statusLabel")
        self.status_label.setAccessibleName("Users status")
        self.busy_bar = busy_indicator("Loading")
        self.busy_bar.setMaximumWidth(120)
        bar = self.statusBar()
        bar.setObjectName("roleEditorStatusBar")
        bar.addPermanentWidget(self.busy_bar)
        bar.addPermanentWidget(self.status_label)

    # -- status --------------------------------------------------------------------------------------

    def show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))

    def _update_status(self) -> None:
        total = self.model.total
        pending = len(self.model.pending)
        selected = len(self.table.selectionModel().selectedRows())
        parts = ["Counting users…" if total is None else f"{total:,} user{'s' if total != 1 else ''}"]
        if selected:
            parts.append(f"{selected:,} selected")
        if pending:
            parts.append(f"{pending:,} unsaved change{'s' if pending != 1 else ''} (marked)")
        self.status_label.setText(" · ".join(parts))
        busy = self._saving
        self.save_button.setEnabled(bool(pending) and not busy)
        self.revert_button.setEnabled(bool(pending) and not busy)
        self.set_role_button.setEnabled(bool(selected) and not busy and self.roles_loaded)
        for widget in (
            self.activate_button,
            self.deactivate_button,
            self.unlock_button,
            self.reset_button,
        ):
            widget.setEnabled(bool(selected) and not busy)

    # -- data ----------------------------------------------------------------------------------------

    def _load_roles(self) -> None:
        roles_service = self._services.roles

        def loaded(roles: list[Any]) -> None:
            names = [role.name for role in roles]
            self.delegate.roles = names
            current_filter = self.role_filter.currentData()
            current_bulk = self.bulk_role.currentData()
            self.role_filter.clear()
            self.role_filter.addItem("All roles", ALL_ROLES)
            self.bulk_role.clear()
            for name in names:
                self.role_filter.addItem(name, name)
                self.bulk_role.addItem(name, name)
            self.role_filter.setCurrentIndex(max(0, self.role_filter.findData(current_filter)))
            self.bulk_role.setCurrentIndex(max(0, self.bulk_role.findData(current_bulk)))
            self.roles_tab.show_roles(roles)
            self._update_status()  # "Set role" waits for the list of roles

        self._runner.run(roles_service.list_roles, loaded, lambda e: self.show_error(describe(e)), owner=self)

    @property
    def roles_loaded(self) -> bool:
        return bool(self.delegate.roles)

    def _apply_filter(self) -> None:
        self._filter_timer.stop()
        query = self.model.query
        role = self.role_filter.currentData() or None
        self.model.set_query(
            UserQuery(
                self.filter_edit.text().strip(),
                self.prefix_check.isChecked(),
                role,
                query.sort,
                query.descending,
            )
        )

    def refresh(self) -> None:
        self.show_error("")
        self._load_roles()
        current = self.tabs.currentWidget()
        if current is self.history_tab:
            self.history_tab.reload()
        elif current is self.settings_tab:
            self.settings_tab.reload()
        else:
            self.model.reload()

    def _tab_changed(self, _index: int) -> None:
        current = self.tabs.currentWidget()
        if current is self.history_tab:
            self.history_tab.reload()
        elif current is self.settings_tab:
            self.settings_tab.reload()

    # -- selection -----------------------------------------------------------------------------------

    def _with_selected(self, action: Callable[[list[UserRecord]], None]) -> None:
        """Call ``action`` with the records of the selected rows, fetching rows not loaded yet."""
        rows = sorted(index.row() for index in self.table.selectionModel().selectedRows())
        if not rows:
            return
        records = [self.model.record(row) for row in rows]
        if all(record is not None for record in records):
            action([r for r in records if r is not None])
            return
        query, admin, actor = self.model.query, self._services.admin, self._actor
        ranges = _ranges(rows)

        def fetch() -> list[UserRecord]:
            found: list[UserRecord] = []
            for start, stop in ranges:
                offset = start
                while offset < stop:
                    limit = min(1000, stop - offset)
                    found.extend(admin.list_users(actor, query, offset, limit))
                    offset += limit
            return found

        def fetched(found: list[UserRecord]) -> None:
            self.busy_bar.hide()
            action(found)

        self.busy_bar.show()
        self._runner.run(fetch, fetched, self._failed, owner=self)

    def _bulk(self, role: str | None = None, active: bool | None = None) -> None:
        self._with_selected(lambda records: self.model.stage(records, role=role, active=active))

    def _unlock_selected(self) -> None:
        def unlock(records: list[UserRecord]) -> None:
            admin, actor = self._services.admin, self._actor
            emails = [r.email for r in records]
            self._runner.run(lambda: admin.unlock(actor, emails), self._unlocked, self._failed, owner=self)

        self._with_selected(unlock)

    def _unlocked(self, count: int) -> None:
        self.statusBar().showMessage(f"Unlocked {count} account(s).", 8000)
        self.model.reload()

    def _reset_selected(self) -> None:
        def reset(records: list[UserRecord]) -> None:
            versions: dict[int, int | None] = {record.id: record.version for record in records}
            single = records[0].email if len(records) == 1 else None
            dialog = TemporaryPasswordDialog(
                self._runner, self._services, self._actor, versions, single, parent=self
            )
            dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            dialog.passwords_reset.connect(self._passwords_reset)
            dialog.selection_stale.connect(self.model.reload)
            dialog.open()

        self._with_selected(reset)

    def _passwords_reset(self, count: int) -> None:
        self.statusBar().showMessage(f"Reset the passwords of {count:,} account(s).", 8000)
        self.model.reload()

    def _export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export users", "users.csv", "CSV files (*.csv)")
        if path:
            self.export_users(path)

    def export_users(self, path: str) -> None:
        export, actor, query = self._services.export, self._actor, self.model.query

        def write() -> int:
            from desktop_auth.services.export import open_export_file  # created 0600: it names people

            with open_export_file(path) as out:
                return export.write_users_csv(actor, query, out)

        def written(count: int) -> None:
            self.busy_bar.hide()
            self.statusBar().showMessage(f"Exported {count:,} users to {path}", 10_000)

        self.busy_bar.show()
        self._runner.run(write, written, self._failed, owner=self)

    # -- saving --------------------------------------------------------------------------------------

    def save(self) -> None:
        edits = self.model.edits()
        if not edits or self._saving:
            return
        mine = self.model.pending.get(self._actor.user_id or -1)
        if (
            mine is not None
            and mine.role is not None
            and mine.original_role == "admin"
            and mine.role != "admin"
        ):
            answer = QMessageBox.question(
                self,
                "Remove your own administrator role?",
                "You are about to take away your own administrator role. You will lose access to this window.",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel,
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        admin, actor = self._services.admin, self._actor
        self._saving = True
        self.show_error("")
        self.busy_bar.show()
        self._update_status()
        self._runner.run(
            lambda: admin.apply_edits(actor, edits, return_records=False),
            lambda _r: self._saved(len(edits)),
            self._save_failed,
            owner=self,
        )

    def _saved(self, count: int) -> None:
        self._saving = False
        self.busy_bar.hide()
        self.model.discard()
        self.statusBar().showMessage(f"Saved changes to {count:,} user(s).", 8000)
        self.model.reload()
        self._update_status()

    def _save_failed(self, error: BaseException) -> None:
        self._saving = False
        self.busy_bar.hide()
        if isinstance(error, StaleEditError):
            # Nothing was saved. The conflicting rows lose their edits and show the other admin's values;
            # every other pending edit stays, for review.
            self.model.discard(list(error.conflicts))
            self.model.reload()
        self.show_error(describe(error))
        self._update_status()

    def _failed(self, error: BaseException) -> None:
        self.busy_bar.hide()
        self.show_error(describe(error))

    def revert(self) -> None:
        self.model.discard()
        self.show_error("")

    # -- window --------------------------------------------------------------------------------------

    def setVisible(self, visible: bool) -> None:
        # As in FormDialog: restored here, not in a Python showEvent (which makes PySide build QEvent's enum).
        if visible:
            settings_store.restore_geometry_once(self)
        super().setVisible(visible)
        if visible:
            # Showing posts layout requests (the tab widget's, the status bar's) that Qt would handle after
            # the first paint, and each would then repaint the whole window: lay out now, paint once.
            QCoreApplication.sendPostedEvents(None, LAYOUT_REQUEST_EVENT)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.model.pending and not self._closing_confirmed:
            answer = QMessageBox.question(
                self,
                "Unsaved changes",
                f"{len(self.model.pending)} change(s) are not saved. Save them before closing?",
                QMessageBox.StandardButton.Save
                | QMessageBox.StandardButton.Discard
                | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Save,
            )
            if answer == QMessageBox.StandardButton.Cancel:
                event.ignore()
                return
            if answer == QMessageBox.StandardButton.Save:
                event.ignore()
                self.save()
                return
        settings_store.save_geometry(self)
        self.closed.emit()
        super().closeEvent(event)

    def close_without_asking(self) -> None:
        """Close even with pending edits (the session ended or lost its admin role)."""
        self._closing_confirmed = True
        self.close()

    def select_rows(self, rows: list[int]) -> None:
        """Select these rows (used by keyboard shortcuts and tests)."""
        selection = self.table.selectionModel()
        selection.clearSelection()
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for row in rows:
            selection.select(self.model.index(row, 0), flags)


def _ranges(rows: list[int]) -> list[tuple[int, int]]:
    """Sorted row numbers as half-open (start, stop) runs: [1,2,3,7] -> [(1, 4), (7, 8)]."""
    runs: list[tuple[int, int]] = []
    for row in rows:
        if runs and runs[-1][1] == row:
            runs[-1] = (runs[-1][0], row + 1)
        else:
            runs.append((row, row + 1))
    return runs


__all__ = ["COL_ACTIVE", "RoleEditor"]
