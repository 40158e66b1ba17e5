"""The role editor driven through its real widgets (pytest-qt, offscreen), on SQLite and MariaDB."""

from __future__ import annotations

import csv
import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QEvent, QObject, QPoint, QRect, Qt
from PySide6.QtGui import QPaintEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTableView,
    QWidget,
)
from pytestqt.qtbot import QtBot

from desktop_auth.db.engine import Database
from desktop_auth.services import Services
from desktop_auth.services.records import Actor
from desktop_auth.ui.dialogs import temporary_password_table as reset_ui
from desktop_auth.ui.dialogs.temporary_password import TemporaryPasswordDialog
from desktop_auth.ui.dialogs.temporary_password_table import TemporaryPasswordModel
from desktop_auth.ui.role_editor.columns import COL_ACTIVE, COL_EMAIL, COL_ROLE, COL_UPDATED
from desktop_auth.ui.role_editor.table_model import PENDING_ROLE
from desktop_auth.ui.role_editor.table_view import LIFECYCLE_COLUMNS, show_with_first_rows
from desktop_auth.ui.role_editor.window import RoleEditor
from desktop_auth.ui.shell.tasks import TaskRunner
from desktop_auth.ui.shell.waiting import wait
from tests.conftest import STRONG_PASSWORD, register_accounts, seed_users
from tests.ui_helpers import child, click, front, open_editor, settle, sign_in, type_into

pytestmark = pytest.mark.usefixtures("isolated_qsettings")
__all__ = ["open_editor"]  # a fixture, used by name


def emails(editor: RoleEditor) -> list[str]:
    model = editor.model
    return [model.index(row, COL_EMAIL).data() for row in range(model.rowCount())]


def row_of(editor: RoleEditor, email: str) -> int:
    return emails(editor).index(email)


def open_reset_dialog(qtbot: QtBot, editor: RoleEditor) -> TemporaryPasswordDialog:
    click(qtbot, editor, "resetPasswordButton")
    qtbot.waitUntil(lambda: editor.findChild(TemporaryPasswordDialog) is not None, timeout=10_000)
    dialog = editor.findChild(TemporaryPasswordDialog)
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible, timeout=5_000)
    return dialog


def result_table(qtbot: QtBot, dialog: TemporaryPasswordDialog) -> QTableView:
    qtbot.waitUntil(
        lambda: dialog.findChild(QTableView, "temporaryPasswordTable") is not None, timeout=15_000
    )
    return child(dialog, QTableView, "temporaryPasswordTable")


def shown_passwords(table: QTableView) -> dict[str, str]:
    model = table.model()
    return {
        model.index(row, reset_ui.COL_EMAIL).data(): model.index(row, reset_ui.COL_PASSWORD).data()
        for row in range(model.rowCount())
    }


def buddy_text(parent: QWidget, field: QWidget) -> str:
    labels = [label.text() for label in parent.findChildren(QLabel) if label.buddy() is field]
    assert len(labels) == 1, labels
    return labels[0]


def test_model_passes_qt_model_tester(qtmodeltester, services: Services, admin: Actor, open_editor) -> None:
    register_accounts(services, "a@example.com", "b@example.com")
    editor = open_editor(admin)
    qtmodeltester.check(editor.model)


def test_edit_a_role_with_the_delegate_and_save(
    qtbot: QtBot, services: Services, admin: Actor, open_editor
) -> None:
    services.roles.add_role(admin, "auditor")
    register_accounts(services, "bob@example.com", "carol@example.com")
    editor = open_editor(admin)
    table = child(editor, QTableView, "userTable")
    index = editor.model.index(row_of(editor, "bob@example.com"), COL_ROLE)
    table.setCurrentIndex(index)
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_F2)  # the edit key, as a person would
    combo = table.findChild(QComboBox, "roleEditorCombo")
    assert combo is not None
    combo.setCurrentIndex(combo.findData("auditor"))
    combo.activated.emit(combo.currentIndex())
    assert index.data() == "auditor"
    assert index.data(PENDING_ROLE) is True
    assert "1 unsaved change" in child(editor, QLabel, "statusLabel").text()
    assert services.admin.get_user(admin, "bob@example.com").role == "user", "nothing is saved yet"

    click(qtbot, editor, "saveButton")
    qtbot.waitUntil(lambda: not editor.model.pending, timeout=10_000)
    settle(qtbot, editor)
    assert services.admin.get_user(admin, "bob@example.com").role == "auditor"
    assert editor.model.index(row_of(editor, "bob@example.com"), COL_ROLE).data() == "auditor"
    assert any(e.action == "role" and e.new_value == "auditor" for e in services.admin.audit_log(admin))


def test_active_check_box_and_revert(qtbot: QtBot, services: Services, admin: Actor, open_editor) -> None:
    register_accounts(services, "dan@example.com")
    editor = open_editor(admin)
    index = editor.model.index(row_of(editor, "dan@example.com"), COL_ACTIVE)
    assert editor.model.setData(index, Qt.CheckState.Unchecked.value, Qt.ItemDataRole.CheckStateRole)
    assert index.data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Unchecked
    click(qtbot, editor, "revertButton")
    assert not editor.model.pending
    assert index.data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked
    assert services.admin.get_user(admin, "dan@example.com").active


def test_bulk_set_role_for_selected_users(
    qtbot: QtBot, services: Services, admin: Actor, open_editor
) -> None:
    services.roles.add_role(admin, "staff")
    register_accounts(services, *(f"bulk{n}@example.com" for n in range(6)))
    editor = open_editor(admin)
    table = child(editor, QTableView, "userTable")
    table.setFocus()
    table.selectAll()
    table.selectionModel().select(
        editor.model.index(row_of(editor, "root@example.com"), 0),
        table.selectionModel().SelectionFlag.Deselect | table.selectionModel().SelectionFlag.Rows,
    )
    bulk = child(editor, QComboBox, "bulkRoleCombo")
    bulk.setCurrentIndex(bulk.findData("staff"))
    click(qtbot, editor, "setRoleButton")
    qtbot.waitUntil(lambda: len(editor.model.pending) == 6, timeout=10_000)
    click(qtbot, editor, "saveButton")
    qtbot.waitUntil(lambda: not editor.model.pending, timeout=10_000)
    assert services.admin.count_users(admin, services_query(role="staff")) == 6
    assert services.admin.get_user(admin, "root@example.com").role == "admin"


def services_query(**kwargs: object):
    from desktop_auth.services.records import UserQuery

    return UserQuery(**kwargs)  # type: ignore[arg-type]


def test_filter_by_text_and_role_is_done_by_the_database(
    qtbot: QtBot, services: Services, admin: Actor, open_editor
) -> None:
    register_accounts(services, "anna@corp.example", "ben@corp.example", "cleo@home.example")
    services.admin.set_role(admin, "ben@corp.example", "admin")
    editor = open_editor(admin)
    assert editor.model.rowCount() == 4
    type_into(qtbot, editor, "filterEdit", "corp")
    qtbot.waitUntil(lambda: editor.model.query.search == "corp", timeout=5_000)  # debounced
    settle(qtbot, editor)
    assert sorted(emails(editor)) == ["anna@corp.example", "ben@corp.example"]
    combo = child(editor, QComboBox, "roleFilterCombo")
    combo.setCurrentIndex(combo.findData("admin"))
    combo.activated.emit(combo.currentIndex())
    settle(qtbot, editor)
    assert emails(editor) == ["ben@corp.example"]
    child(editor, QCheckBox, "prefixCheck").setChecked(True)  # "corp" is not how any address starts
    settle(qtbot, editor)
    assert emails(editor) == []
    type_into(qtbot, editor, "filterEdit", "BEN")
    qtbot.waitUntil(lambda: editor.model.query.search == "BEN", timeout=5_000)
    settle(qtbot, editor)
    assert emails(editor) == ["ben@corp.example"]


def test_sort_by_clicking_a_header(
    qtbot: QtBot, services: Services, admin: Actor, open_editor, clock
) -> None:
    register_accounts(services, "zoe@example.com", "adam@example.com")
    editor = open_editor(admin)
    assert emails(editor)[0] == "adam@example.com"
    header = child(editor, QTableView, "userTable").horizontalHeader()
    spot = QPoint(header.sectionViewportPosition(COL_EMAIL) + 10, header.height() // 2)
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=spot)  # the view calls model.sort()
    settle(qtbot, editor)
    assert editor.model.query.descending
    assert emails(editor)[0] == "zoe@example.com"


def test_stale_edit_conflict_names_rows_and_keeps_the_rest(
    qtbot: QtBot, services: Services, admin: Actor, open_editor, database: Database
) -> None:
    register_accounts(services, "ivan@example.com", "judy@example.com")
    editor = open_editor(admin)
    model = editor.model
    model.setData(
        model.index(row_of(editor, "ivan@example.com"), COL_ROLE), "admin", Qt.ItemDataRole.EditRole
    )
    model.setData(
        model.index(row_of(editor, "judy@example.com"), COL_ROLE), "admin", Qt.ItemDataRole.EditRole
    )
    # Another administrator deactivates Judy behind this window's back.
    services.admin.set_active(Actor.operator(), "judy@example.com", False)
    click(qtbot, editor, "saveButton")
    error = child(editor, QLabel, "errorLabel")
    qtbot.waitUntil(error.isVisible, timeout=10_000)
    assert "judy@example.com" in error.text()
    assert "ivan@example.com" not in error.text()
    assert services.admin.get_user(admin, "ivan@example.com").role == "user", "nothing was saved"
    assert list(model.pending) == [services.admin.get_user(admin, "ivan@example.com").id], "Ivan's edit stays"
    settle(qtbot, editor)
    judy = model.index(row_of(editor, "judy@example.com"), COL_ACTIVE)
    assert judy.data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Unchecked, "Judy's row was reloaded"
    click(qtbot, editor, "saveButton")
    qtbot.waitUntil(lambda: not model.pending, timeout=10_000)
    assert services.admin.get_user(admin, "ivan@example.com").role == "admin"


def test_last_admin_guard_and_self_demotion_confirmation(
    qtbot: QtBot, services: Services, admin: Actor, open_editor, monkeypatch
) -> None:
    editor = open_editor(admin)
    asked: list[str] = []

    def answer(parent: QWidget, title: str, *args: object) -> QMessageBox.StandardButton:
        asked.append(title)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", answer)
    model = editor.model
    model.setData(model.index(row_of(editor, "root@example.com"), COL_ROLE), "user", Qt.ItemDataRole.EditRole)
    click(qtbot, editor, "saveButton")
    error = child(editor, QLabel, "errorLabel")
    qtbot.waitUntil(error.isVisible, timeout=10_000)
    assert asked == ["Remove your own administrator role?"]
    assert "no active administrator" in error.text()
    assert services.admin.get_user(admin, "root@example.com").role == "admin"


def test_a_non_admin_is_refused_by_the_service(qtbot: QtBot, services: Services, admin: Actor) -> None:
    user = services.accounts.register("mallory@example.com", STRONG_PASSWORD)
    runner = TaskRunner()
    editor = RoleEditor(runner, services, Actor(user.id, user.email))
    qtbot.addWidget(editor)
    editor.show()
    error = child(editor, QLabel, "errorLabel")
    qtbot.waitUntil(error.isVisible, timeout=10_000)
    assert "Only an active administrator" in error.text()
    assert editor.model.rowCount() == 0
    runner.wait()


def test_closing_with_pending_edits_asks(
    qtbot: QtBot, services: Services, admin: Actor, open_editor, monkeypatch
) -> None:
    register_accounts(services, "kate@example.com")
    editor = open_editor(admin)
    editor.model.setData(
        editor.model.index(row_of(editor, "kate@example.com"), COL_ROLE), "admin", Qt.ItemDataRole.EditRole
    )
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Cancel)
    editor.close()
    assert editor.isVisible()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    editor.close()
    assert not editor.isVisible()


def test_the_editor_starts_loading_once_it_is_built(qtbot: QtBot, services: Services, admin: Actor) -> None:
    runner = TaskRunner()
    editor = RoleEditor(runner, services, admin)
    qtbot.addWidget(editor)
    # No worker competes with the building for the interpreter: the fetches start on the next turn.
    assert runner.pending == 0
    qtbot.waitUntil(lambda: editor.model.total == 1 and editor.roles_loaded, timeout=10_000)
    runner.wait()


class PaintLog(QObject):
    """Records, for each paint of the watched widgets, the widget, the painted rect and ``note()``."""

    def __init__(self, note: Callable[[], object] = lambda: None) -> None:
        super().__init__()
        self.note = note
        self.paints: list[tuple[QObject, QRect, object]] = []

    def watch(self, *widgets: QWidget) -> None:
        for widget in widgets:
            widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            assert isinstance(event, QPaintEvent)
            self.paints.append((watched, event.rect(), self.note()))
        return False


def test_the_first_frame_is_laid_out_once_with_no_horizontal_scroll_bar(
    qtbot: QtBot, database: Database, services: Services, admin: Actor
) -> None:
    seed_users(database, 60)
    runner = TaskRunner()
    editor = RoleEditor(runner, services, admin)
    qtbot.addWidget(editor)
    editor.resize(1, 1)  # the window keeps its minimum size: the narrowest it gets
    table = editor.table
    log = PaintLog(note=lambda: (table.horizontalScrollBar().isVisible(), table.viewport().size()))
    log.watch(table.viewport())
    show_with_first_rows(editor.show, editor.model, editor)
    qtbot.waitUntil(lambda: editor.model.total is not None and not editor.model.loading, timeout=15_000)
    wait(100)
    runner.wait()

    final_size = table.viewport().size()
    assert log.paints, "the table was painted"
    # Every column fits at the narrowest size but the three lifecycle ones (must change, temporary password
    # expiry, recovery codes: table_view.LIFECYCLE_COLUMNS), left out of the minimum so that the editor fits
    # a 1366-pixel screen: a window that narrow scrolls to them (tests/test_lifecycle_columns_ui.py shows
    # them all at the width the editor opens with when the screen allows). No frame ever showed a scroll
    # bar that the next one hid.
    scrolls = table.horizontalScrollBar().isVisible()
    assert [note for _widget, _rect, note in log.paints] == [(scrolls, final_size)] * len(log.paints)
    header = table.horizontalHeader()
    assert header.sectionViewportPosition(COL_UPDATED) + header.sectionSize(COL_UPDATED) <= final_size.width()
    assert table.minimumWidth() == table.full_width - sum(
        table.columnWidth(column) for column in LIFECYCLE_COLUMNS
    )
    # ... and the window is wide enough for the table: nothing is cut off at its right edge.
    page = table.parentWidget()
    assert page.rect().contains(table.geometry()), (page.size(), table.geometry())


def test_status_changes_repaint_the_status_bar_not_the_window(
    qtbot: QtBot, services: Services, admin: Actor, open_editor
) -> None:
    register_accounts(services, "bob@example.com", "carol@example.com")
    editor = open_editor(admin)
    wait(100)  # let the opening's own repaints pass
    page = editor.tabs.currentWidget()
    log = PaintLog()
    log.watch(page)

    editor.table.selectRow(row_of(editor, "bob@example.com"))
    qtbot.waitUntil(lambda: "1 selected" in child(editor, QLabel, "statusLabel").text(), timeout=5_000)
    wait(100)

    # A label whose text changes inside a tab page makes QTabWidget lay out and repaint all of itself.
    assert all(rect != page.rect() for _widget, rect, _note in log.paints), log.paints


def test_only_the_users_tab_is_built_when_the_editor_opens(qtbot: QtBot, admin: Actor, open_editor) -> None:
    editor = open_editor(admin)
    tabs = (editor.roles_tab, editor.settings_tab, editor.history_tab)
    assert not any(tab.built for tab in tabs)
    assert not editor.roles_tab.findChildren(QTableView), "no widgets until the tab is first shown"

    editor.tabs.setCurrentWidget(editor.roles_tab)
    assert editor.roles_tab.built
    # The role list arrived while the tab was unbuilt: it is there the moment the tab appears.
    assert editor.roles_tab.model.rowCount() == 2
    assert editor.roles_tab.model.index(0, 0).data() == "admin"
    assert not editor.settings_tab.built
    assert not editor.history_tab.built

    editor.tabs.setCurrentWidget(editor.history_tab)
    assert editor.history_tab.built
    qtbot.waitUntil(lambda: editor.history_tab.model.rowCount() >= 1, timeout=10_000)


def test_roles_settings_history_tabs_and_exports(
    qtbot: QtBot, services: Services, admin: Actor, open_editor, tmp_path: Path
) -> None:
    editor = open_editor(admin)
    editor.tabs.setCurrentWidget(editor.roles_tab)
    type_into(qtbot, editor.roles_tab, "newRoleEdit", "Auditor")
    click(qtbot, editor.roles_tab, "addRoleButton")
    qtbot.waitUntil(lambda: editor.roles_tab.model.rowCount() == 3, timeout=10_000)
    bulk = child(editor, QComboBox, "bulkRoleCombo")
    assert bulk.findData("auditor") >= 0, "new roles reach the editor's combo boxes"
    editor.roles_tab.view.selectRow(0)  # admin: built in
    click(qtbot, editor.roles_tab, "removeRoleButton")
    roles_error = child(editor.roles_tab, QLabel, "rolesErrorLabel")
    qtbot.waitUntil(roles_error.isVisible, timeout=10_000)
    assert "built in" in roles_error.text()

    editor.tabs.setCurrentWidget(editor.settings_tab)
    qtbot.waitUntil(lambda: editor.settings_tab.threshold.value() == 5, timeout=10_000)
    hours = child(editor.settings_tab, QSpinBox, "temporaryPasswordHoursSpin")
    assert hours.value() == 72
    assert hours.accessibleName()
    assert buddy_text(editor.settings_tab, hours) == "&Temporary passwords expire after:"
    assert (hours.minimum(), hours.maximum()) == (1, 720)
    editor.settings_tab.threshold.setValue(3)
    editor.settings_tab.self_registration.setChecked(False)
    hours.setValue(12)
    click(qtbot, editor.settings_tab, "saveSettingsButton")
    qtbot.waitUntil(lambda: not services.app_settings.get().allow_self_registration, timeout=10_000)
    assert services.app_settings.get().lockout_threshold == 3
    assert services.app_settings.get().temporary_password_hours == 12

    editor.tabs.setCurrentWidget(editor.history_tab)
    qtbot.waitUntil(lambda: editor.history_tab.model.rowCount() >= 3, timeout=10_000)
    type_into(qtbot, editor.history_tab, "historyFilterEdit", "auditor")
    qtbot.waitUntil(lambda: editor.history_tab.model.rowCount() == 1, timeout=10_000)
    assert editor.history_tab.model.index(0, 3).data() == "Role added"

    history_csv, users_csv = tmp_path / "history.csv", tmp_path / "users.csv"
    editor.history_tab.export(str(history_csv))
    editor.export_users(str(users_csv))
    qtbot.waitUntil(lambda: users_csv.exists() and history_csv.exists(), timeout=10_000)
    qtbot.waitUntil(lambda: editor._runner.pending == 0, timeout=10_000)  # both written and reported
    assert list(csv.reader(users_csv.open()))[1][0] == "root@example.com"
    assert list(csv.reader(history_csv.open()))[1][2] == "role_add"
    if os.name == "posix":  # the exports name people: the owner alone may read them
        assert stat.S_IMODE(users_csv.stat().st_mode) == 0o600
        assert stat.S_IMODE(history_csv.stat().st_mode) == 0o600


def test_a_hundred_thousand_users_scrolled_to_the_end_without_loading_them_all(
    qtbot: QtBot, services: Services, admin: Actor, open_editor, database: Database
) -> None:
    seed_users(database, 100_000)
    editor = open_editor(admin)
    model = editor.model
    assert model.rowCount() == 100_001
    table = child(editor, QTableView, "userTable")
    table.scrollToBottom()
    last = model.rowCount() - 1
    qtbot.waitUntil(lambda: model.record(last) is not None, timeout=15_000)
    assert model.index(last, COL_EMAIL).data() == "seed0099999@example.com"
    for _ in range(30):  # page up through a stretch of the table
        qtbot.keyClick(table, Qt.Key.Key_PageUp)
    qtbot.waitUntil(lambda: not model.loading, timeout=15_000)
    assert model.loaded_rows <= model.max_pages * model.page_size
    assert model.loaded_rows < 100_001 // 10, f"the model holds {model.loaded_rows} rows"


def test_role_editor_opens_from_the_account_window_and_closes_when_admin_is_lost(
    qtbot: QtBot, services: Services, admin: Actor
) -> None:
    from desktop_auth.ui.shell.controller import AppController

    controller = AppController(services.settings, services, session_check_ms=200)
    controller.start()
    qtbot.addWidget(controller.login)
    window = sign_in(qtbot, controller, "root@example.com", STRONG_PASSWORD)
    services.admin.create_user(admin, "deputy@example.com", STRONG_PASSWORD, "admin")
    click(qtbot, window, "roleEditorButton")
    editor = front(qtbot, controller, "roleEditor")
    services.admin.set_role(Actor.operator(), "root@example.com", "user")
    qtbot.waitUntil(lambda: controller.role_editor is None, timeout=5_000)
    assert not child(window, QPushButton, "roleEditorButton").isVisible()
    closed = not shiboken6.isValid(editor) or not editor.isVisible()  # hidden, or already deleted
    assert closed, "the role editor closes with the admin role"
    window.close()
    controller.shutdown()


def test_every_editor_control_is_named(qtbot: QtBot, services: Services, admin: Actor, open_editor) -> None:
    editor = open_editor(admin)
    for control in (
        editor.findChildren(QLineEdit) + editor.findChildren(QPushButton) + editor.findChildren(QComboBox)
    ):
        if control.objectName().startswith("qt_"):
            continue
        assert control.accessibleName(), control.objectName()


def test_bulk_deactivate_unlock_and_reset_password(
    qtbot: QtBot, make_services, services: Services, admin: Actor, open_editor
) -> None:
    register_accounts(services, "liam@example.com", "mia@example.com")
    strict = make_services(lockout_threshold=1)
    with pytest.raises(Exception, match="incorrect"):
        strict.accounts.authenticate("mia@example.com", "not-the-password-at-all")
    editor = open_editor(admin)
    rows = [row_of(editor, "liam@example.com"), row_of(editor, "mia@example.com")]
    assert editor.model.record(rows[1]).locked_until is not None

    editor.select_rows(rows)
    click(qtbot, editor, "unlockButton")
    qtbot.waitUntil(lambda: "Unlocked 1 account" in editor.statusBar().currentMessage(), timeout=10_000)
    settle(qtbot, editor)
    assert services.admin.get_user(admin, "mia@example.com").locked_until is None
    assert editor.model.record(row_of(editor, "mia@example.com")).locked_until is None, (
        "the table was reloaded"
    )

    editor.select_rows(rows)
    click(qtbot, editor, "deactivateButton")
    qtbot.waitUntil(lambda: len(editor.model.pending) == 2, timeout=10_000)
    qtbot.keyClick(child(editor, QTableView, "userTable"), Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not editor.model.pending, timeout=10_000)
    assert not services.admin.get_user(admin, "liam@example.com").active

    settle(qtbot, editor)
    editor.select_rows([row_of(editor, "liam@example.com")])
    dialog = open_reset_dialog(qtbot, editor)
    assert child(dialog, QLabel, "subtitleLabel").text() == "Reset the password of liam@example.com?"
    assert not dialog.findChildren(QLineEdit), "the administrator types no password any more"
    click(qtbot, dialog, "resetButton")
    table = result_table(qtbot, dialog)
    password = table.model().index(0, reset_ui.COL_PASSWORD).data()
    qtbot.waitUntil(lambda: "Reset the passwords of 1" in editor.statusBar().currentMessage(), timeout=10_000)
    settle(qtbot, editor)
    assert editor.model.record(row_of(editor, "liam@example.com")).must_change_password, "the table reloaded"
    services.admin.set_active(admin, "liam@example.com", True)
    assert services.accounts.authenticate("liam@example.com", password).must_change_password


def test_f5_reloads_changes_made_elsewhere(
    qtbot: QtBot, services: Services, admin: Actor, open_editor
) -> None:
    editor = open_editor(admin)
    assert editor.model.rowCount() == 1
    register_accounts(services, "nina@example.com")
    qtbot.keyClick(child(editor, QTableView, "userTable"), Qt.Key.Key_F5)
    settle(qtbot, editor)
    assert editor.model.rowCount() == 2


def test_reset_gives_each_selected_user_a_password_shown_once_to_copy_and_export(
    qtbot: QtBot,
    services: Services,
    admin: Actor,
    open_editor,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QFileDialog

    register_accounts(services, "ann@example.com", "bob@example.com", "cy@example.com")
    editor = open_editor(admin)
    editor.select_rows([row_of(editor, "ann@example.com"), row_of(editor, "bob@example.com")])
    dialog = open_reset_dialog(qtbot, editor)
    assert child(dialog, QLabel, "subtitleLabel").text() == "Reset the passwords of 2 accounts?"
    notice = child(dialog, QLabel, "noticeLabel")
    qtbot.waitUntil(lambda: "expire after 72 hours" in notice.text(), timeout=10_000)
    assert dialog.findChild(QTableView, "temporaryPasswordTable") is None, "nothing to show before the reset"
    assert services.admin.get_user(admin, "ann@example.com").must_change_password is False, "asked first"

    qtbot.keyClick(dialog, Qt.Key.Key_Return)  # Enter confirms: "Reset passwords" is the default button
    table = result_table(qtbot, dialog)
    shown = shown_passwords(table)
    assert set(shown) == {"ann@example.com", "bob@example.com"}
    assert shown["ann@example.com"] != shown["bob@example.com"]
    assert "expire at" in child(dialog, QLabel, "subtitleLabel").text()
    assert not child(dialog, QPushButton, "resetButton").isVisible()
    for email, password in shown.items():
        assert services.accounts.authenticate(email, password).must_change_password
    with pytest.raises(Exception, match="incorrect"):
        services.accounts.authenticate("ann@example.com", shown["bob@example.com"])
    assert not services.admin.get_user(admin, "cy@example.com").must_change_password, "only the selected"

    for control in [*dialog.findChildren(QPushButton), table]:
        assert control.accessibleName(), control.objectName()
    assert buddy_text(dialog, table) == "&Passwords:"
    assert not child(dialog, QPushButton, "copyButton").isEnabled(), "nothing selected yet"

    click(qtbot, dialog, "copyAllButton")
    model = table.model()
    expected = "".join(
        f"{model.index(row, reset_ui.COL_EMAIL).data()}\t{model.index(row, reset_ui.COL_PASSWORD).data()}\n"
        for row in range(model.rowCount())
    )
    assert QGuiApplication.clipboard().text() == expected

    export = tmp_path / "passwords.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(export), "CSV files (*.csv)"))
    click(qtbot, dialog, "exportButton")
    qtbot.waitUntil(lambda: export.exists() and not dialog.busy, timeout=10_000)
    if sys.platform != "win32":
        assert stat.S_IMODE(export.stat().st_mode) == 0o600
    rows = list(csv.reader(export.open(encoding="utf-8", newline="")))
    assert rows[0] == ["email", "temporary_password", "expires_at"]
    assert {row[0]: row[1] for row in rows[1:]} == shown
    assert "readable only by you" in child(dialog, QLabel, "statusLabel").text()

    qtbot.keyClick(table, Qt.Key.Key_Escape)  # all were kept: no question, the passwords are forgotten
    assert dialog.question is None
    assert dialog.model.rowCount() == 0
    qtbot.waitUntil(lambda: editor.findChild(TemporaryPasswordDialog) is None, timeout=5_000)


def answer(qtbot: QtBot, dialog: TemporaryPasswordDialog, choice: QMessageBox.StandardButton) -> str:
    """Answer the open "Close without copying?" question; returns its text."""
    qtbot.waitUntil(lambda: dialog.question is not None and dialog.question.isVisible(), timeout=5_000)
    box = dialog.question
    assert box is not None
    text = box.text()
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.Cancel), "Enter keeps them"
    qtbot.mouseClick(box.button(choice), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.question is None, timeout=5_000)
    return text


def test_closing_before_every_password_was_copied_asks_first(
    qtbot: QtBot, services: Services, admin: Actor, open_editor
) -> None:
    from PySide6.QtGui import QGuiApplication

    register_accounts(services, "dan@example.com", "eve@example.com")
    editor = open_editor(admin)
    editor.select_rows([row_of(editor, "dan@example.com"), row_of(editor, "eve@example.com")])
    dialog = open_reset_dialog(qtbot, editor)
    click(qtbot, dialog, "resetButton")
    table = result_table(qtbot, dialog)
    assert table.hasFocus() or QGuiApplication.focusObject() is table

    qtbot.keyClick(table, Qt.Key.Key_Escape)
    assert answer(qtbot, dialog, QMessageBox.StandardButton.Cancel).startswith(
        "None of the passwords were copied or exported"
    )
    assert dialog.isVisible(), "Cancel keeps the passwords on screen"
    assert dialog.model.rowCount() == 2

    table.selectRow(0)
    assert child(dialog, QPushButton, "copyButton").isEnabled()
    qtbot.keyClick(table, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)  # Ctrl+C copies the row
    model = table.model()
    first = f"{model.index(0, reset_ui.COL_EMAIL).data()}\t{model.index(0, reset_ui.COL_PASSWORD).data()}\n"
    assert QGuiApplication.clipboard().text() == first

    click(qtbot, dialog, "closeButton")
    assert answer(qtbot, dialog, QMessageBox.StandardButton.Cancel).startswith(
        "1 of 2 passwords were not copied or exported"
    )
    assert dialog.isVisible()

    qtbot.keyClick(table, Qt.Key.Key_Return)  # Enter: Close is the default button now
    answer(qtbot, dialog, QMessageBox.StandardButton.Discard)
    assert dialog.model.rowCount() == 0, "the passwords are forgotten"
    qtbot.waitUntil(lambda: editor.findChild(TemporaryPasswordDialog) is None, timeout=5_000)


def test_a_stale_selection_or_the_admins_own_account_is_refused_and_nothing_changes(
    qtbot: QtBot, services: Services, admin: Actor, open_editor
) -> None:
    register_accounts(services, "fay@example.com")
    editor = open_editor(admin)
    editor.select_rows([row_of(editor, "fay@example.com")])
    dialog = open_reset_dialog(qtbot, editor)
    services.admin.set_role(Actor.operator(), "fay@example.com", "admin")  # another admin, meanwhile
    click(qtbot, dialog, "resetButton")
    error = child(dialog, QLabel, "errorLabel")
    qtbot.waitUntil(error.isVisible, timeout=10_000)
    assert "fay@example.com" in error.text()
    assert not child(dialog, QPushButton, "resetButton").isEnabled()
    assert dialog.findChild(QTableView, "temporaryPasswordTable") is None
    assert not services.admin.get_user(admin, "fay@example.com").must_change_password
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: editor.findChild(TemporaryPasswordDialog) is None, timeout=5_000)

    settle(qtbot, editor)
    editor.select_rows([row_of(editor, "root@example.com"), row_of(editor, "fay@example.com")])
    dialog = open_reset_dialog(qtbot, editor)
    click(qtbot, dialog, "resetButton")
    error = child(dialog, QLabel, "errorLabel")
    qtbot.waitUntil(error.isVisible, timeout=10_000)
    assert "Change password" in error.text()
    assert not services.admin.get_user(admin, "fay@example.com").must_change_password


def test_the_password_model_passes_qt_model_tester(qtmodeltester) -> None:
    from datetime import UTC, datetime

    from desktop_auth.services.records import TemporaryPassword, TemporaryPasswords

    model = TemporaryPasswordModel()
    result = TemporaryPasswords(
        datetime(2026, 1, 4, tzinfo=UTC),
        (
            TemporaryPassword(1, "a@example.com", "abcd-efgh"),
            TemporaryPassword(2, "b@example.com", "jkmn-pqrs"),
        ),
    )
    model.set_entries(result.entries)
    qtmodeltester.check(model)
    assert model.as_text([1]) == "b@example.com\tjkmn-pqrs\n"
    model.clear()
    assert model.rowCount() == 0
    qtmodeltester.check(model)
