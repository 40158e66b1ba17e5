"""The Users tab's actions on the selected users other than a change of role or active state
(``bulk_flow``): unlock (sent as a query when the rows are not held), reset passwords (which needs each
selected user's record: rows not held by the table model are fetched on a worker first), reset one
loaded user's two-factor sign-in (after a confirmation), delete (the
selection sent as a query: the database says which accounts and how many, the dialog confirms), and the
actions on the list: create a user, export the list.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from desktop_auth.services.records import DeletionTargets, UserRecord
from desktop_auth.ui.dialogs.create_user import CreateUserDialog
from desktop_auth.ui.dialogs.delete_users import DeleteUsersDialog
from desktop_auth.ui.dialogs.reset_two_factor import ResetTwoFactorDialog
from desktop_auth.ui.dialogs.temporary_password import TemporaryPasswordDialog
from desktop_auth.ui.role_editor.core.selection import fetch_selected
from desktop_auth.ui.shell.i18n import isolate, translate, translate_n

if TYPE_CHECKING:
    from desktop_auth.ui.role_editor.users_tab import UsersTab


class RecordActions:
    def __init__(self, tab: UsersTab) -> None:
        self._tab = tab

    def with_selected(self, action: Callable[[list[UserRecord]], None]) -> None:
        """Call ``action`` with the records of the selected rows, fetching them unless all are loaded."""
        selection = self._tab.selection()
        if not selection.count:
            return
        records = self._tab.model.cache.records_in(selection)
        if records is not None:
            action(records)
            return
        admin, actor = self._tab.services.admin, self._tab.actor

        def fetched(found: list[UserRecord]) -> None:
            self._tab.busy_bar.hide()
            action(found)

        self._tab.busy_bar.show()
        self._tab.runner.run(
            lambda: fetch_selected(
                selection, lambda query, offset, limit: admin.list_users(actor, query, offset, limit)
            ),
            fetched,
            self._tab.failed,
            owner=self._tab,
        )

    def unlock_selected(self) -> None:
        """Unlock the selected users: by their records when all are held, else as a query (the service
        reads only the addresses with failures among them)."""
        tab = self._tab
        admin, actor, selection = tab.services.admin, tab.actor, tab.selection()
        if not selection.count:
            return
        records = tab.model.cache.records_in(selection)
        if records is not None:
            emails = [record.email for record in records]
            tab.runner.run(lambda: admin.unlock(actor, emails), self._unlocked, tab.failed, owner=tab)
            return
        request = selection.as_request()
        tab.runner.run(lambda: admin.unlock_selection(actor, request), self._unlocked, tab.failed, owner=tab)

    def _unlocked(self, count: int) -> None:
        self._tab.message.emit(
            translate_n("RecordActions", "Unlocked {n} account.", "Unlocked {n} accounts.", count), 8000
        )
        self._tab.model.reload()

    def reset_selected(self) -> None:
        def reset(records: list[UserRecord]) -> None:
            versions: dict[int, int | None] = {record.id: record.version for record in records}
            single = records[0].email if len(records) == 1 else None
            dialog = TemporaryPasswordDialog(
                self._tab.runner, self._tab.services, self._tab.actor, versions, single, parent=self._tab
            )
            dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            dialog.passwords_reset.connect(self._passwords_reset)
            dialog.selection_stale.connect(self._tab.model.reload)
            dialog.open()

        self.with_selected(reset)

    def _passwords_reset(self, count: int) -> None:
        self._tab.message.emit(
            translate_n(
                "RecordActions",
                "Reset the passwords of {n} account.",
                "Reset the passwords of {n} accounts.",
                count,
            ),
            8000,
        )
        self._tab.model.reload()

    def reset_two_factor_selected(self) -> None:
        """Confirm, then remove the one selected user's two-factor sign-in (the button is enabled only for
        one loaded user who has it)."""
        tab = self._tab
        record = tab.selected_with_two_factor()
        if record is None:
            return
        tab.show_error("")
        dialog = ResetTwoFactorDialog(tab.runner, tab.services, tab.actor, record.email, parent=tab)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.reset_done.connect(self._two_factor_reset)
        dialog.selection_stale.connect(tab.model.reload)
        dialog.open()

    def _two_factor_reset(self, email: str) -> None:
        self._tab.message.emit(
            translate("RecordActions", "Reset the two-factor sign-in of {email}.").format(
                email=isolate(email)
            ),
            8000,
        )
        self._tab.model.reload()

    # -- creating and deleting accounts --------------------------------------------------------------

    def create_user(self) -> None:
        tab = self._tab
        dialog = CreateUserDialog(tab.runner, tab.services, tab.actor, list(tab.delegate.roles), parent=tab)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.created.connect(self._created)
        dialog.open()

    def _created(self, record: UserRecord) -> None:
        self._tab.message.emit(
            translate("RecordActions", "Created {email}.").format(email=isolate(record.email)), 8000
        )
        self._tab.model.reload()

    def delete_selected(self) -> None:
        """Ask the database which accounts the selection is (however many rows it spans), then confirm."""
        tab = self._tab
        lifecycle, actor, selection = tab.services.lifecycle, tab.actor, tab.selection()
        if not selection.count:
            return
        request = selection.as_request()
        tab.show_error("")
        tab.busy_bar.show()
        tab.runner.run(
            lambda: lifecycle.deletion_targets(actor, request), self._confirm_deletion, tab.failed, owner=tab
        )

    def _confirm_deletion(self, targets: DeletionTargets) -> None:
        tab = self._tab
        tab.busy_bar.hide()
        if not targets.count:
            tab.show_error(translate("RecordActions", "The selected accounts no longer exist."))
            tab.model.reload()
            return
        dialog = DeleteUsersDialog(tab.runner, tab.services, tab.actor, targets, parent=tab)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.deleted.connect(lambda count: self._deleted(targets, count))
        dialog.open()

    def _deleted(self, targets: DeletionTargets, count: int) -> None:
        tab = self._tab
        tab.model.discard(list(targets.user_ids))  # their unsaved edits went with them
        single = targets.single_email if count == 1 else None
        if single:
            deleted = translate("RecordActions", "Deleted {email}.").format(email=isolate(single))
        else:
            deleted = translate_n("RecordActions", "Deleted {n} account.", "Deleted {n} accounts.", count)
        tab.message.emit(deleted, 8000)
        tab.table.clearSelection()
        tab.model.reload()

    def export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self._tab,
            translate("RecordActions", "Export users"),
            "users.csv",
            translate("RecordActions", "CSV files") + " (*.csv)",
        )
        if path:
            self.export_users(path)

    def export_users(self, path: str) -> None:
        export, actor, query = self._tab.services.export, self._tab.actor, self._tab.model.query

        def write() -> int:
            from desktop_auth.services.export import open_export_file  # created 0600: it names people

            with open_export_file(path) as out:
                return export.write_users_csv(actor, query, out)

        def written(count: int) -> None:
            self._tab.busy_bar.hide()
            self._tab.message.emit(
                translate_n(
                    "RecordActions", "Exported {n} user to {path}", "Exported {n} users to {path}", count
                ).format(path=isolate(path)),
                10_000,
            )

        self._tab.busy_bar.show()
        self._tab.runner.run(write, written, self._tab.failed, owner=self._tab)
