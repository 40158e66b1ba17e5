"""The Users tab (``usersTab``): the user table with its filters, the actions on the selected users, and
saving or reverting the pending edits.

Its status line and busy indicator are shown in the window's status bar (``status_label``, ``busy_bar``);
what it has to tell in passing goes out as ``message``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from desktop_auth.services.errors import StaleEditError
from desktop_auth.services.records import UserRecord
from desktop_auth.ui.dialogs.temporary_password import TemporaryPasswordDialog
from desktop_auth.ui.role_editor.action_bar import ActionBar
from desktop_auth.ui.role_editor.core.selection import Selection, fetch_selected
from desktop_auth.ui.role_editor.filter_bar import FilterBar
from desktop_auth.ui.role_editor.table_model import UserTableModel
from desktop_auth.ui.role_editor.table_view import UserTableView
from desktop_auth.ui.shell.messages import describe
from desktop_auth.ui.shell.tasks import TaskRunner
from desktop_auth.ui.shell.widgets import busy_indicator, button, styled_label

if TYPE_CHECKING:
    from desktop_auth.services.facade import Services
    from desktop_auth.services.records import Actor


class UsersTab(QWidget):
    message = Signal(str, int)  # something to say in the status bar, and for how many ms
    refresh_requested = Signal()

    def __init__(self, runner: TaskRunner, services: Services, actor: Actor) -> None:
        super().__init__()
        self.setObjectName("usersTab")
        self._runner = runner
        self._services = services
        self._actor = actor
        self._saving = False
        admin = services.admin
        self.model = UserTableModel(
            runner,
            lambda query, offset, limit: admin.list_users(actor, query, offset, limit),
            lambda query: admin.count_users(actor, query),
            parent=self,
        )
        self._build()
        self.model.pending_changed.connect(lambda _n: self.update_status())
        self.model.total_changed.connect(lambda _n: self.update_status())
        self.model.loading_changed.connect(self.busy_bar.setVisible)
        self.busy_bar.setVisible(self.model.loading)
        self.model.failed.connect(self.show_error)
        self.update_status()

    def _build(self) -> None:
        self.filter_bar = FilterBar()
        self.table = UserTableView(self.model)
        self.delegate = self.table.delegate
        self.action_bar = ActionBar()
        self.error_label = styled_label("", "error", "errorLabel")
        self.error_label.setAccessibleName("Error")
        self.error_label.hide()
        self.revert_button = button("&Revert", "revertButton", "Revert unsaved changes")
        self.save_button = button("&Save", "saveButton", "Save changes")
        self.save_button.setDefault(True)
        footer = QHBoxLayout()
        footer.addStretch(1)
        footer.addWidget(self.revert_button)
        footer.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.filter_bar)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.action_bar)
        layout.addWidget(self.error_label)
        layout.addLayout(footer)

        # Not in this page: the window puts them in its status bar.
        self.status_label = QLabel()
        self.status_label.setObjectName("statusLabel")
        self.status_label.setAccessibleName("Users status")
        self.busy_bar = busy_indicator("Loading")
        self.busy_bar.setMaximumWidth(120)

        self.filter_bar.changed.connect(lambda: self.model.set_query(self.filter_bar.query(self.model.query)))
        self.filter_bar.refresh_requested.connect(self.refresh_requested)
        self.action_bar.set_role.connect(lambda role: self._bulk(role=role))
        self.action_bar.set_active.connect(lambda active: self._bulk(active=active))
        self.action_bar.unlock.connect(self._unlock_selected)
        self.action_bar.reset_passwords.connect(self._reset_selected)
        self.action_bar.export.connect(self._export)
        self.save_button.clicked.connect(self.save)
        self.revert_button.clicked.connect(self.revert)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self.update_status())

    # -- status --------------------------------------------------------------------------------------

    def show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))

    def update_status(self) -> None:
        total, pending, selected = self.model.total, len(self.model.pending), self.selection().count
        parts = ["Counting users…" if total is None else f"{total:,} user{'s' if total != 1 else ''}"]
        if selected:
            parts.append(f"{selected:,} selected")
        if pending:
            parts.append(f"{pending:,} unsaved change{'s' if pending != 1 else ''} (marked)")
        self.status_label.setText(" · ".join(parts))
        idle = not self._saving
        self.save_button.setEnabled(bool(pending) and idle)
        self.revert_button.setEnabled(bool(pending) and idle)
        self.action_bar.enable(bool(selected) and idle, self.roles_loaded)

    def _failed(self, error: BaseException) -> None:
        self.busy_bar.hide()
        self.show_error(describe(error))

    # -- roles and filters ---------------------------------------------------------------------------

    def show_roles(self, names: list[str]) -> None:
        """The role list arrived: offer it in the role column's editor and the two role combo boxes."""
        self.delegate.roles = names
        self.filter_bar.show_roles(names)
        self.action_bar.show_roles(names)
        self.update_status()  # "Set role" waits for the list of roles

    @property
    def roles_loaded(self) -> bool:
        return bool(self.delegate.roles)

    # -- the selected users --------------------------------------------------------------------------

    def selection(self) -> Selection:
        """The selected rows, from the view's ranges (a row index per selected row would cost a second at
        100,000 rows)."""
        ranges = self.table.selectionModel().selection()
        runs = (
            (ranges.at(position).top(), ranges.at(position).bottom() + 1)
            for position in range(ranges.count())
        )
        return Selection.of_rows(self.model.query, self.model.rowCount(), runs)

    def select_rows(self, rows: list[int]) -> None:
        """Select these rows (used by keyboard shortcuts and tests)."""
        selection = self.table.selectionModel()
        selection.clearSelection()
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for row in rows:
            selection.select(self.model.index(row, 0), flags)

    def _with_selected(self, action: Callable[[list[UserRecord]], None]) -> None:
        """Call ``action`` with the records of the selected rows, fetching them unless all are loaded."""
        selection = self.selection()
        if not selection.count:
            return
        records = self.model.cache.records_in(selection)
        if records is not None:
            action(records)
            return
        admin, actor = self._services.admin, self._actor

        def fetched(found: list[UserRecord]) -> None:
            self.busy_bar.hide()
            action(found)

        self.busy_bar.show()
        self._runner.run(
            lambda: fetch_selected(
                selection, lambda query, offset, limit: admin.list_users(actor, query, offset, limit)
            ),
            fetched,
            self._failed,
            owner=self,
        )

    def _bulk(self, role: str | None = None, active: bool | None = None) -> None:
        self._with_selected(lambda records: self.model.stage(records, role=role, active=active))

    def _unlock_selected(self) -> None:
        def unlock(records: list[UserRecord]) -> None:
            admin, actor = self._services.admin, self._actor
            emails = [r.email for r in records]
            self._runner.run(lambda: admin.unlock(actor, emails), self._unlocked, self._failed, owner=self)

        self._with_selected(unlock)

    def _unlocked(self, count: int) -> None:
        self.message.emit(f"Unlocked {count} account(s).", 8000)
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
        self.message.emit(f"Reset the passwords of {count:,} account(s).", 8000)
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
            self.message.emit(f"Exported {count:,} users to {path}", 10_000)

        self.busy_bar.show()
        self._runner.run(write, written, self._failed, owner=self)

    # -- saving --------------------------------------------------------------------------------------

    def save(self) -> None:
        edits = self.model.edits()
        if not edits or self._saving:
            return
        if self.model.pending.takes_admin_from(self._actor.user_id):
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
        self.update_status()
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
        self.message.emit(f"Saved changes to {count:,} user(s).", 8000)
        self.model.reload()
        self.update_status()

    def _save_failed(self, error: BaseException) -> None:
        self._saving = False
        self.busy_bar.hide()
        if isinstance(error, StaleEditError):
            # Nothing was saved. The conflicting rows lose their edits and show the other admin's values;
            # every other pending edit stays, for review.
            self.model.discard(list(error.conflicts))
            self.model.reload()
        self.show_error(describe(error))
        self.update_status()

    def revert(self) -> None:
        self.model.discard()
        self.show_error("")
