"""Administering two-factor sign-in (issue #18) through the real role editor, on SQLite and MariaDB: the
Settings tab's ``requireTwoFactorCheck`` (refused inline for an administrator without a factor), the users
table's 2FA column, ``resetTwoFactorButton`` with its confirmation; and unsaved role edits that follow a
role renamed before they were saved."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QCheckBox, QLabel, QPushButton
from pytestqt.qtbot import QtBot

from desktop_auth.services import Services
from desktop_auth.services.records import Actor, SortKey
from desktop_auth.ui.dialogs.reset_two_factor import ResetTwoFactorDialog
from desktop_auth.ui.role_editor.columns import COL_EMAIL, COL_ROLE, COL_TWO_FACTOR, HEADERS
from desktop_auth.ui.role_editor.window import RoleEditor
from tests.a11y_helpers import Announcement
from tests.a11y_helpers import announced as announced
from tests.conftest import FakeClock, register_accounts
from tests.two_factor_helpers import enroll
from tests.ui_helpers import child, click, settle
from tests.ui_helpers import open_editor as open_editor

pytestmark = pytest.mark.usefixtures("isolated_qsettings")

OWN_FACTOR_FIRST = "Set up two-factor sign-in for your own account first"


def _row_of(editor: RoleEditor, email: str) -> int:
    model = editor.model
    for row in range(model.rowCount()):
        if model.index(row, COL_EMAIL).data() == email:
            return row
    raise AssertionError(f"{email} is not in the table")


def _settings_tab(qtbot: QtBot, editor: RoleEditor) -> QCheckBox:
    editor.tabs.setCurrentWidget(editor.settings_tab)
    check = child(editor.settings_tab, QCheckBox, "requireTwoFactorCheck")
    qtbot.waitUntil(lambda: child(editor.settings_tab, QPushButton, "saveSettingsButton").isEnabled())
    return check


# -- the setting -------------------------------------------------------------------------------------------


def test_requiring_two_factor_needs_your_own_first_said_under_the_box(
    qtbot: QtBot,
    services: Services,
    admin: Actor,
    clock: FakeClock,
    open_editor,
    announced: list[Announcement],
) -> None:
    editor: RoleEditor = open_editor(admin)
    check = _settings_tab(qtbot, editor)
    tab = editor.settings_tab
    qtbot.waitUntil(lambda: tab.threshold.value() == services.app_settings.get().lockout_threshold)
    assert not check.isChecked()
    assert check.accessibleName() == "Require two-factor sign-in for administrators"
    assert check.text().startswith("&R")
    error = child(tab, QLabel, "requireTwoFactorError")
    assert not error.isVisible()

    qtbot.mouseClick(check, Qt.MouseButton.LeftButton)  # Alt+R: tests/test_keyboard.py
    assert check.isChecked()
    tab.threshold.setValue(9)  # saved with it, or not at all
    click(qtbot, tab, "saveSettingsButton")
    qtbot.waitUntil(error.isVisible, timeout=10_000)
    assert OWN_FACTOR_FIRST in error.text()
    assert Announcement(error, error.text(), True) in announced
    assert "Invalid entry" in check.accessibleDescription()
    assert check.hasFocus()
    stored = services.app_settings.get()
    assert not stored.require_two_factor_for_admins
    assert stored.lockout_threshold != 9  # nothing was saved
    check.setChecked(False)
    assert not error.isVisible(), "changing the box clears its message"

    enroll(services, admin.user_id or 0, clock)  # as the account window does
    check.setChecked(True)
    click(qtbot, tab, "saveSettingsButton")
    qtbot.waitUntil(lambda: services.app_settings.get().require_two_factor_for_admins, timeout=10_000)
    qtbot.waitUntil(lambda: child(tab, QLabel, "settingsSavedLabel").text() == "Saved.", timeout=10_000)
    assert services.app_settings.get().lockout_threshold == 9
    assert not error.isVisible()

    tab.reload()
    qtbot.waitUntil(check.isChecked, timeout=10_000)
    check.setChecked(False)
    click(qtbot, tab, "saveSettingsButton")
    qtbot.waitUntil(lambda: not services.app_settings.get().require_two_factor_for_admins, timeout=10_000)


# -- the column --------------------------------------------------------------------------------------------


def test_the_2fa_column_says_on_or_off_and_does_not_sort(
    qtbot: QtBot, services: Services, admin: Actor, clock: FakeClock, open_editor
) -> None:
    ada, _bob = register_accounts(services, "ada@example.com", "bob@example.com")
    enroll(services, ada, clock)
    editor: RoleEditor = open_editor(admin)
    model = editor.model
    assert str(HEADERS[COL_TWO_FACTOR]) == "2FA"
    assert model.headerData(COL_TWO_FACTOR, Qt.Orientation.Horizontal) == "2FA"
    cells = {
        email: (
            model.index(_row_of(editor, email), COL_TWO_FACTOR).data(),
            model.index(_row_of(editor, email), COL_TWO_FACTOR).data(Qt.ItemDataRole.AccessibleTextRole),
        )
        for email in ("ada@example.com", "bob@example.com")
    }
    assert cells == {
        "ada@example.com": ("on", "two-factor on"),
        "bob@example.com": ("off", "two-factor off"),
    }
    assert editor.table.columnWidth(
        COL_TWO_FACTOR
    ) >= editor.table.horizontalHeader().fontMetrics().horizontalAdvance("2FA")

    before = model.query
    header = editor.table.horizontalHeader()
    editor.table.scrollTo(model.index(0, COL_TWO_FACTOR))
    x = header.sectionViewportPosition(COL_TWO_FACTOR) + header.sectionSize(COL_TWO_FACTOR) // 2
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, header.height() // 2))
    settle(qtbot, editor)
    assert model.query == before
    assert model.query.sort is SortKey.EMAIL
    assert header.sortIndicatorSection() == COL_EMAIL


# -- the reset ---------------------------------------------------------------------------------------------


def _select(qtbot: QtBot, editor: RoleEditor, *emails: str) -> None:
    editor.users_tab.select_rows([_row_of(editor, email) for email in emails])  # the buttons follow at once


def _open_reset(qtbot: QtBot, editor: RoleEditor) -> ResetTwoFactorDialog:
    click(qtbot, editor.users_tab, "resetTwoFactorButton")
    qtbot.waitUntil(
        lambda: any(d.isVisible() for d in editor.findChildren(ResetTwoFactorDialog)), timeout=5_000
    )
    return next(d for d in editor.findChildren(ResetTwoFactorDialog) if d.isVisible())


def test_an_administrator_resets_a_users_two_factor_after_confirming(
    qtbot: QtBot, services: Services, admin: Actor, clock: FakeClock, open_editor
) -> None:
    ada, _bob = register_accounts(services, "ada&bo@example.com", "bob@example.com")
    enroll(services, ada, clock)
    editor: RoleEditor = open_editor(admin)
    button = child(editor.users_tab, QPushButton, "resetTwoFactorButton")
    assert button.accessibleName() == "Reset the two-factor sign-in of the selected user"
    assert not button.isEnabled(), "nothing selected"
    _select(qtbot, editor, "bob@example.com")
    assert not button.isEnabled(), "bob has no factor"
    _select(qtbot, editor, "ada&bo@example.com", "bob@example.com")
    assert not button.isEnabled(), "one at a time"
    _select(qtbot, editor, "ada&bo@example.com")
    assert button.isEnabled()

    # Cancel (Escape) changes nothing.
    dialog = _open_reset(qtbot, editor)
    assert "ada&bo@example.com" in child(dialog, QLabel, "subtitleLabel").text()
    with qtbot.waitSignal(dialog.rejected, timeout=5_000):
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert services.two_factor.has_factor(ada)

    # Alt+2 ("Reset &2FA…": every letter of "reset two-factor" is taken in the Users tab), Enter confirms.
    editor.activateWindow()
    qtbot.waitUntil(editor.isActiveWindow, timeout=5_000)
    editor.table.setFocus()
    qtbot.keyClick(editor.table, Qt.Key.Key_2, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(
        lambda: any(d.isVisible() for d in editor.findChildren(ResetTwoFactorDialog)), timeout=5_000
    )
    dialog = next(d for d in editor.findChildren(ResetTwoFactorDialog) if d.isVisible())
    confirm = child(dialog, QPushButton, "resetTwoFactorConfirmButton")
    assert confirm.isDefault()
    qtbot.waitUntil(dialog.isActiveWindow, timeout=5_000)
    qtbot.keyClick(QApplication.focusWidget() or dialog, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not services.two_factor.has_factor(ada), timeout=10_000)
    settle(qtbot, editor)
    qtbot.waitUntil(
        lambda: editor.model.index(_row_of(editor, "ada&bo@example.com"), COL_TWO_FACTOR).data() == "off",
        timeout=10_000,
    )
    assert editor.statusBar().currentMessage() == "Reset the two-factor sign-in of ada&bo@example.com."
    history = services.admin.audit_log(admin, "two_factor")
    assert [(event.action, event.target) for event in history][:1] == [
        ("two_factor_reset", "ada&bo@example.com")
    ]
    _select(qtbot, editor, "ada&bo@example.com")
    assert not button.isEnabled(), "the row was refreshed: no factor left to reset"


def test_a_reset_someone_else_did_meanwhile_is_said_in_the_dialog(
    qtbot: QtBot,
    services: Services,
    admin: Actor,
    clock: FakeClock,
    open_editor,
    announced: list[Announcement],
) -> None:
    (ada,) = register_accounts(services, "ada@example.com")
    enroll(services, ada, clock)
    editor: RoleEditor = open_editor(admin)
    _select(qtbot, editor, "ada@example.com")
    dialog = _open_reset(qtbot, editor)
    services.two_factor.reset(admin, "ada@example.com")  # another administrator, a moment earlier
    click(qtbot, dialog, "resetTwoFactorConfirmButton")
    error = child(dialog, QLabel, "errorLabel")
    qtbot.waitUntil(error.isVisible, timeout=10_000)
    assert error.text() == "ada@example.com has no two-factor sign-in to reset."
    assert Announcement(error, error.text(), True) in announced
    assert not child(dialog, QPushButton, "resetTwoFactorConfirmButton").isEnabled()
    assert child(dialog, QPushButton, "cancelButton").hasFocus()
    qtbot.waitUntil(
        lambda: editor.model.index(_row_of(editor, "ada@example.com"), COL_TWO_FACTOR).data() == "off",
        timeout=10_000,
    )
    dialog.reject()


# -- unsaved role edits and a renamed role -----------------------------------------------------------------


def _stage_role(editor: RoleEditor, email: str, role: str) -> None:
    model = editor.model
    model.setData(model.index(_row_of(editor, email), COL_ROLE), role, Qt.ItemDataRole.EditRole)


def test_an_unsaved_role_edit_follows_a_rename_in_the_roles_tab(
    qtbot: QtBot, services: Services, admin: Actor, open_editor
) -> None:
    services.roles.add_role(admin, "auditor")
    register_accounts(services, "ann@example.com")
    editor: RoleEditor = open_editor(admin)
    _stage_role(editor, "ann@example.com", "auditor")
    assert editor.model.edits()[0].role == "auditor"

    roles = editor.roles_tab
    editor.tabs.setCurrentWidget(roles)
    qtbot.waitUntil(lambda: roles.model.rowCount() >= 3, timeout=10_000)
    row = next(r for r in range(roles.model.rowCount()) if roles.model.index(r, 0).data() == "auditor")
    roles.view.selectRow(row)
    roles.name_edit.setText("аuditor2")  # a Cyrillic 'а': refused, the edit stays as it was
    click(qtbot, roles, "renameRoleButton")
    qtbot.waitUntil(lambda: child(roles, QLabel, "rolesErrorLabel").isVisible(), timeout=10_000)
    assert editor.model.edits()[0].role == "auditor"
    roles.name_edit.setText("Reviewer")
    click(qtbot, roles, "renameRoleButton")
    qtbot.waitUntil(lambda: editor.model.edits()[0].role == "reviewer", timeout=10_000)
    error = child(editor.users_tab, QLabel, "errorLabel")
    assert "1 unsaved role change now names the renamed role (auditor → reviewer)." in error.text()
    ann = editor.model.index(_row_of(editor, "ann@example.com"), COL_ROLE)
    assert ann.data() == "reviewer"
    assert ann.data(Qt.ItemDataRole.AccessibleTextRole) == "reviewer, unsaved, was user"

    editor.tabs.setCurrentWidget(editor.users_tab)
    click(qtbot, editor.users_tab, "saveButton")
    qtbot.waitUntil(
        lambda: services.admin.get_user(admin, "ann@example.com").role == "reviewer", timeout=10_000
    )
    qtbot.waitUntil(lambda: not editor.model.pending, timeout=10_000)


def test_a_rename_elsewhere_is_noticed_when_saving_and_the_edit_follows_it(
    qtbot: QtBot, services: Services, admin: Actor, open_editor
) -> None:
    services.roles.add_role(admin, "auditor")
    services.roles.add_role(admin, "temp")
    services.roles.add_role(admin, "again")
    register_accounts(services, "ann@example.com", "bob@example.com", "cy@example.com")
    editor: RoleEditor = open_editor(admin)
    _stage_role(editor, "ann@example.com", "auditor")
    _stage_role(editor, "bob@example.com", "temp")
    _stage_role(editor, "cy@example.com", "again")
    services.roles.rename_role(admin, "auditor", "reviewer")  # another administrator
    services.roles.remove_role(admin, "temp")
    services.roles.remove_role(admin, "again")
    services.roles.add_role(admin, "again")  # a new role by the same name: cy's edit still saves
    click(qtbot, editor.users_tab, "saveButton")
    error = child(editor.users_tab, QLabel, "errorLabel")
    qtbot.waitUntil(lambda: "renamed role" in error.text(), timeout=10_000)
    assert error.text().startswith("There is no role named ")
    assert "now names the renamed role (auditor → reviewer)" in error.text()
    assert "Dropped 1 unsaved role change: the role is gone (temp)." in error.text()
    assert sorted((edit.role, edit.active) for edit in editor.model.edits()) == [
        ("again", None),
        ("reviewer", None),
    ]
    assert services.admin.get_user(admin, "ann@example.com").role == "user"  # nothing was saved
    click(qtbot, editor.users_tab, "saveButton")
    qtbot.waitUntil(
        lambda: services.admin.get_user(admin, "ann@example.com").role == "reviewer", timeout=10_000
    )
    assert services.admin.get_user(admin, "bob@example.com").role == "user"
    assert services.admin.get_user(admin, "cy@example.com").role == "again"


def test_the_reset_dialog_names_its_controls(qtbot: QtBot, services: Services, admin: Actor) -> None:
    from PySide6.QtWidgets import QAbstractButton

    from desktop_auth.ui.shell.tasks import TaskRunner

    dialog = ResetTwoFactorDialog(TaskRunner(), services, admin, "ada@example.com")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.accessibleName() == "Reset two-factor sign-in"
    for control in dialog.findChildren(QAbstractButton):
        assert control.accessibleName(), control.objectName()
    for label in dialog.findChildren(QLabel):
        if label.pixmap().isNull():
            assert not label.accessibleName(), label.objectName()  # a text label is named by its text
    notice = child(dialog, QLabel, "noticeLabel")
    assert notice.isVisible()
    assert "password alone signs in" in notice.text()


def test_a_removed_role_whose_id_a_new_role_got_is_not_taken_for_a_rename(
    qtbot: QtBot, services: Services, admin: Actor, open_editor
) -> None:
    """SQLite gives a removed role's id (the highest) to the next new role: without a rename in the history,
    the edit to the removed role is dropped, never moved to the newcomer."""
    services.roles.add_role(admin, "zz")
    register_accounts(services, "bob@example.com")
    editor: RoleEditor = open_editor(admin)
    _stage_role(editor, "bob@example.com", "zz")
    old_id = next(role.id for role in services.roles.list_roles() if role.name == "zz")
    services.roles.remove_role(admin, "zz")  # another administrator
    zeta = services.roles.add_role(admin, "zeta")
    if services.context.database.dialect_name == "sqlite":
        assert zeta.id == old_id  # the case this test is about
    click(qtbot, editor.users_tab, "saveButton")
    error = child(editor.users_tab, QLabel, "errorLabel")
    qtbot.waitUntil(lambda: "Dropped" in error.text(), timeout=10_000)
    assert (
        error.text() == "There is no role named 'zz'. Dropped 1 unsaved role change: the role is gone (zz)."
    )
    assert editor.model.edits() == []
    assert services.admin.get_user(admin, "bob@example.com").role == "user"
