# Over 300 lines: the tab wires the table, its filter and action bars and every action on the selection; each
# action is a few lines handing the selection to bulk_flow, the record actions or a dialog.
"""The Users tab (``usersTab``): the user table with its filters, the actions on the selected users, and
saving or reverting the pending edits.

Its status line and busy indicator are shown in the window's status bar (``status_label``, ``busy_bar``);
what it has to tell in passing goes out as ``message``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QItemSelectionModel, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from desktop_auth.services.errors import NotFoundError, StaleEditError
from desktop_auth.services.records import AuditRecord, BulkChangeStatus, RoleRecord, UserRecord
from desktop_auth.ui.dialogs.import_users import add_import_button
from desktop_auth.ui.role_editor.action_bar import ActionBar
from desktop_auth.ui.role_editor.bulk_flow import BulkFlow, outcome_text
from desktop_auth.ui.role_editor.core.selection import Selection
from desktop_auth.ui.role_editor.filter_bar import FilterBar
from desktop_auth.ui.role_editor.record_actions import RecordActions
from desktop_auth.ui.role_editor.table_model import UserTableModel
from desktop_auth.ui.role_editor.table_view import UserTableView
from desktop_auth.ui.role_editor.unfinished_bar import UnfinishedBar
from desktop_auth.ui.shell.announce import announce, show_message
from desktop_auth.ui.shell.i18n import isolate, render, translate_n
from desktop_auth.ui.shell.messages import describe
from desktop_auth.ui.shell.tasks import TaskRunner
from desktop_auth.ui.shell.widgets import busy_indicator, button, styled_label

if TYPE_CHECKING:
    from desktop_auth.services.facade import Services
    from desktop_auth.services.records import Actor

STATUS_SETTLE_MS = 600  # the status is announced once it stops changing this long (counts, selection)


class UsersTab(QWidget):
    message = Signal(str, int)  # something to say in the status bar, and for how many ms
    refresh_requested = Signal()
    roles_outdated = Signal()  # saving named a role that is gone: the role list is read again

    def __init__(self, runner: TaskRunner, services: Services, actor: Actor) -> None:
        super().__init__()
        self.setObjectName("usersTab")
        self._runner = runner
        self._services = services
        self._actor = actor
        self._saving = False
        self._staging = False
        self._refusal = ""  # a refused save, said again with what following a rename did
        self._role_ids: dict[str, int] = {}  # the last role list's ids, by name: renames are noticed by id
        admin = services.admin
        self.model = UserTableModel(
            runner,
            lambda query, offset, limit: admin.list_users(actor, query, offset, limit),
            lambda query: admin.count_users(actor, query),
            parent=self,
            fetch_page_in_change=lambda query, offset, limit, change_id: admin.user_page(
                actor, query, offset, limit, pending_change_id=change_id
            ),
        )
        self.bulk_flow = BulkFlow(runner, services, actor, self)
        self.record_actions = RecordActions(self)
        self._build()
        self.model.pending_changed.connect(lambda _n: self.update_status())
        self.model.total_changed.connect(lambda _n: self.update_status())
        self.model.loading_changed.connect(self.busy_bar.setVisible)
        self.busy_bar.setVisible(self.model.loading)
        self.model.failed.connect(self.show_error)
        self.update_status()
        # Once the first rows are in (not beside them: a person waits for the rows).
        self.model.first_rows_loaded.connect(self._check_unfinished_once)

    def _check_unfinished_once(self) -> None:
        self.model.first_rows_loaded.disconnect(self._check_unfinished_once)
        self.unfinished_bar.check()

    def _build(self) -> None:
        self.unfinished_bar = UnfinishedBar(self._runner, self._services, self._actor)
        self.filter_bar = FilterBar()
        self.table = UserTableView(self.model)
        self.delegate = self.table.delegate
        self.action_bar = ActionBar()
        add_import_button(self)  # importUsersButton, after Export CSV…
        self.error_label = styled_label("", "error", "errorLabel")  # no accessibleName: its name is its text
        self.error_label.hide()
        self.revert_button = button(self.tr("&Revert"), "revertButton", self.tr("Revert unsaved changes"))
        self.save_button = button(
            self.tr("Sa&ve"), "saveButton", self.tr("Save changes")
        )  # Alt+S: the Users tab
        self.save_button.setDefault(True)
        footer = QHBoxLayout()
        footer.addStretch(1)
        footer.addWidget(self.revert_button)
        footer.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.unfinished_bar)
        layout.addWidget(self.filter_bar)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.action_bar)
        layout.addWidget(self.error_label)
        layout.addLayout(footer)

        # Not in this page: the window puts them in its status bar.
        self.status_label = QLabel()
        self.status_label.setObjectName("statusLabel")  # no accessibleName: its name is its text
        # The status (counts, selection, unsaved changes) is announced once it stops changing.
        self._status_spoken = ""
        self._status_settle = QTimer(self)
        self._status_settle.setSingleShot(True)
        self._status_settle.setInterval(STATUS_SETTLE_MS)
        self._status_settle.timeout.connect(self._announce_status)
        self.busy_bar = busy_indicator(self.tr("Loading"))
        self.busy_bar.setMaximumWidth(120)

        self.filter_bar.changed.connect(lambda: self.model.set_query(self.filter_bar.query(self.model.query)))
        self.filter_bar.refresh_requested.connect(self.refresh_requested)
        self.action_bar.set_role.connect(lambda role: self._bulk(role=role))
        self.action_bar.set_active.connect(lambda active: self._bulk(active=active))
        self.action_bar.unlock.connect(self.record_actions.unlock_selected)
        self.action_bar.reset_passwords.connect(self.record_actions.reset_selected)
        self.action_bar.reset_two_factor.connect(self.record_actions.reset_two_factor_selected)
        self.action_bar.export.connect(self.record_actions.export)
        self.action_bar.create_user.connect(self.record_actions.create_user)
        self.action_bar.delete_users.connect(self.record_actions.delete_selected)
        self.save_button.clicked.connect(self.save)
        self.revert_button.clicked.connect(self.revert)
        self.unfinished_bar.resume.connect(self._resume)
        self.unfinished_bar.found.connect(self._unfinished_found)
        self.unfinished_bar.stopped.connect(self._unfinished_stopped)
        self.unfinished_bar.failed.connect(self.failed)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self.update_status())

    # -- status --------------------------------------------------------------------------------------

    def show_error(self, text: str) -> None:
        """Show (and announce, interrupting: e.g. a refusal to save) an error; '' hides it."""
        show_message(self.error_label, text, assertive=True)

    def update_status(self) -> None:
        total, pending, selected = self.model.total, len(self.model.pending), self.selection().count
        if total is None:
            parts = [self.tr("Counting users…")]
        else:
            parts = [translate_n("UsersTab", "{n} user", "{n} users", total)]
        if selected:
            parts.append(translate_n("UsersTab", "{n} selected", "{n} selected", selected))
        bulk = self.model.pending.bulk
        if self._staging:
            parts.append(self.tr("Choosing the selected users…"))
        elif bulk is not None:
            parts.append(self.tr("unsaved: {change}").format(change=render(bulk.summary())))
        if self.model.pending.single_edits:
            singles = self.model.pending.single_edits
            parts.append(
                translate_n(
                    "UsersTab", "{n} unsaved change (marked)", "{n} unsaved changes (marked)", singles
                )
            )
        self.status_label.setText(" · ".join(parts))
        if self.status_label.text() != self._status_spoken:
            self._status_settle.start()  # restarted by each change: a burst is spoken once, settled
        idle = not self._saving and not self._staging
        self.save_button.setEnabled(bool(pending) and idle)
        self.revert_button.setEnabled(bool(pending) and idle)
        self.action_bar.enable(bool(selected) and idle, self.roles_loaded)
        self.action_bar.enable_two_factor_reset(idle and self.selected_with_two_factor() is not None)

    def _announce_status(self) -> None:
        text = self.status_label.text()
        if text != self._status_spoken:
            self._status_spoken = text
            announce(self.status_label, text)

    def failed(self, error: BaseException) -> None:
        self.busy_bar.hide()
        self.show_error(describe(error))

    # -- roles and filters ---------------------------------------------------------------------------

    def show_roles(self, roles: list[RoleRecord]) -> None:
        """The role list arrived: offer it in the role column's editor and the two role combo boxes, and
        let unsaved edits follow any role renamed (or removed) since the last list."""
        names = [role.name for role in roles]
        known, self._role_ids = self._role_ids, {role.name: role.id for role in roles}
        self._notice_renames(known, {role.id: role.name for role in roles})
        self.delegate.roles = names
        self.filter_bar.show_roles(names)
        self.action_bar.show_roles(names)
        self.update_status()  # "Set role" waits for the list of roles

    def _notice_renames(self, known: dict[str, int], now: dict[int, str]) -> None:
        """Names of the last list that are gone now: renamed, or removed. A role that kept its id under a
        name new to the list looks renamed, but an id can be reused (SQLite hands a removed role's id to
        the next new one), so the history must say so (a chain of ``role_rename`` events from the old name
        to the new); anything else counts as removed. A name still listed (removed and added again, say)
        still saves: it is left alone."""
        gone = {name: now.get(role_id) for name, role_id in known.items() if name not in self._role_ids}
        candidates = {old: new for old, new in gone.items() if new is not None and new not in known}
        removed: dict[str, str | None] = {old: None for old in gone if old not in candidates}
        if not candidates:
            if removed:
                self._follow_roles(removed)
            self._refusal = ""
            return
        admin, actor = self._services.admin, self._actor

        def confirmed(events: list[AuditRecord]) -> None:
            hops = {
                e.old_value: e.new_value
                for e in reversed(events)  # oldest first: a later rename of a name wins
                if e.action == "role_rename" and e.old_value and e.new_value
            }
            changed = dict(removed)
            for old, new in candidates.items():
                name, seen = old, set()
                while name in hops and name not in seen:
                    seen.add(name)
                    name = hops[name]
                changed[old] = new if name == new else None
            self._follow_roles(changed)
            self._refusal = ""

        def failed(error: BaseException) -> None:  # unsure: none of them is followed
            self._follow_roles({**removed, **dict.fromkeys(candidates)})
            self._refusal = ""

        self._runner.run(
            lambda: admin.audit_log(actor, "role_rename", limit=1000), confirmed, failed, owner=self
        )

    def _follow_roles(self, changed: dict[str, str | None]) -> None:
        """Unsaved edits name roles by name: after a rename they name the new one (saving the old name
        would be refused: no role has it), and an edit to a removed role is dropped, as is a staged bulk
        change giving it (applying it would fail); each said and announced. A staged bulk change follows a
        rename by itself (the database renames it with the role)."""
        pending = self.model.pending
        following = pending.follow_roles(changed)
        said: list[str] = []
        if following.followed:
            renames = ", ".join(
                self.tr("{old} → {new}").format(old=isolate(old), new=isolate(new))
                for old, new in changed.items()
                if new is not None
            )
            count = following.followed
            said.append(
                translate_n(
                    "UsersTab",
                    "{n} unsaved role change now names the renamed role ({renames}).",
                    "{n} unsaved role changes now name the renamed role ({renames}).",
                    count,
                ).format(renames=renames)
            )
        if following.dropped:
            gone = ", ".join(isolate(old) for old, new in changed.items() if new is None)
            count = following.dropped
            said.append(
                translate_n(
                    "UsersTab",
                    "Dropped {n} unsaved role change: the role is gone ({roles}).",
                    "Dropped {n} unsaved role changes: the role is gone ({roles}).",
                    count,
                ).format(roles=gone)
            )
        if following.stale_bulk_role is not None and pending.bulk is not None:
            count = pending.bulk.total
            said.append(
                translate_n(
                    "UsersTab",
                    "Dropped the unsaved change for {n} selected user: its role {role} is gone.",
                    "Dropped the unsaved change for {n} selected users: its role {role} is gone.",
                    count,
                ).format(role=isolate(following.stale_bulk_role))
            )
            self.bulk_flow.discard(pending.bulk.change_id)
            pending.bulk = None
        self.model.show_pending()
        if said:
            refusal, self._refusal = self._refusal, ""
            self.show_error(" ".join([refusal, *said] if refusal else said))
        self.update_status()

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

    def selected_with_two_factor(self) -> UserRecord | None:
        """The one selected user, when loaded and with two-factor sign-in on (what an administrator may
        reset); else None."""
        selection = self.selection()
        if selection.count != 1:
            return None
        records = self.model.cache.records_in(selection)
        return records[0] if records and records[0].two_factor else None

    def select_rows(self, rows: list[int]) -> None:
        """Select these rows (used by keyboard shortcuts and tests)."""
        selection = self.table.selectionModel()
        selection.clearSelection()
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for row in rows:
            selection.select(self.model.index(row, 0), flags)

    def _bulk(self, role: str | None = None, active: bool | None = None) -> None:
        """Stage a change for the selected users: one by one when all of them are loaded, else as a query
        (a bulk change the database snapshots: no row is fetched for it)."""
        selection = self.selection()
        if not selection.count or self._staging:
            return
        records = self.model.cache.records_in(selection)
        if records is not None:
            self.model.stage(records, role=role, active=active)
            return
        refused = self.bulk_flow.stage_selection(self.model.pending, selection, role, active, self._staged)
        if refused:
            self.show_error(refused)
            return
        self._staging = True
        self.show_error("")
        self.busy_bar.show()
        self.update_status()

    def _staged(self, error: Exception | None = None) -> None:
        self._staging = False
        self.busy_bar.hide()
        if error is not None:
            self.show_error(describe(error))
        self.model.show_pending()
        self.update_status()

    # -- saving --------------------------------------------------------------------------------------

    def save(self) -> None:
        edits, bulk = self.model.edits(), self.model.pending.bulk
        if (not edits and bulk is None) or self._saving or self._staging:
            return
        if self.model.pending.takes_admin_from(self._actor.user_id):
            answer = QMessageBox.question(
                self,
                self.tr("Remove your own administrator role?"),
                self.tr(
                    "You are about to take away your own administrator role. You will lose access to this window."
                ),
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel,
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        self._saving = True
        self.show_error("")
        self.busy_bar.show()
        self.update_status()
        self.bulk_flow.save(edits, bulk, self._saved, self._bulk_saved, self._save_failed)

    def _bulk_saved(self, status: BulkChangeStatus) -> None:
        self._saving = False
        self.busy_bar.hide()
        self.model.discard()
        done, conflicts = outcome_text(status)
        self.message.emit(done, 10_000)
        self.show_error(conflicts)
        self.model.reload()
        self.update_status()

    def _saved(self, count: int) -> None:
        self._saving = False
        self.busy_bar.hide()
        self.model.discard()
        self.message.emit(
            translate_n("UsersTab", "Saved changes to {n} user.", "Saved changes to {n} users.", count), 8000
        )
        self.model.reload()
        self.update_status()

    def _save_failed(self, error: BaseException) -> None:
        self._saving = False
        self.busy_bar.hide()
        if self.model.pending.bulk is not None:
            self.unfinished_bar.check()  # a change stopped half-way is offered to resume, not kept as unsaved
        if isinstance(error, NotFoundError):
            # Most likely a role renamed elsewhere after an edit named it: with the new list, the edits
            # follow the rename (show_roles) and can be saved again.
            self._refusal = describe(error)
            self.roles_outdated.emit()
        if isinstance(error, StaleEditError):
            # Nothing was saved. The conflicting rows lose their edits and show the other admin's values;
            # every other pending edit stays, for review.
            self.model.discard(list(error.conflicts))
            self.model.reload()
        self.show_error(describe(error))
        self.update_status()

    def revert(self) -> None:
        if self.model.pending.bulk is not None:
            self.bulk_flow.discard(self.model.pending.bulk.change_id)
        self.model.discard()
        self.show_error("")

    # -- changes that stopped half-way ----------------------------------------------------------------

    def _unfinished_found(self, changes: list[BulkChangeStatus]) -> None:
        pending = self.model.pending.bulk
        if pending is not None and any(change.id == pending.change_id for change in changes):
            self.model.pending.bulk = None  # started: no longer an unsaved edit, but an unfinished change
            self.model.show_pending()
            self.model.reload()
        self.update_status()

    def _resume(self, change: BulkChangeStatus) -> None:
        self._saving = True
        self.update_status()
        self.bulk_flow.apply(change, self._bulk_saved, self._save_failed)

    def _unfinished_stopped(self, status: BulkChangeStatus) -> None:
        self.message.emit(outcome_text(status)[0], 10_000)
        self.model.reload()

    # -- for the record actions and the window --------------------------------------------------------

    @property
    def runner(self) -> TaskRunner:
        return self._runner

    @property
    def services(self) -> Services:
        return self._services

    @property
    def actor(self) -> Actor:
        return self._actor

    def export_users(self, path: str) -> None:
        self.record_actions.export_users(path)
