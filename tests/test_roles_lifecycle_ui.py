"""The Roles tab (issue #17): names, descriptions and holders shown; rename and describe the selected role
from the keyboard alone, with errors shown under the table and announced."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit, QPushButton
from pytestqt.qtbot import QtBot

from desktop_auth.services import Services
from desktop_auth.services.records import Actor
from desktop_auth.ui.role_editor.roles_tab import COL_DESCRIPTION, COL_NAME, COL_USERS, HEADERS
from desktop_auth.ui.role_editor.window import RoleEditor
from tests.a11y_helpers import Announcement, name_of
from tests.a11y_helpers import announced as announced
from tests.conftest import register_accounts
from tests.ui_helpers import child
from tests.ui_helpers import open_editor as open_editor

pytestmark = pytest.mark.usefixtures("isolated_qsettings")


def _rows(editor: RoleEditor) -> dict[str, tuple[str, str, str]]:
    model = editor.roles_tab.model
    return {
        model.index(row, COL_NAME).data(): (
            model.index(row, COL_DESCRIPTION).data(),
            model.index(row, COL_USERS).data(),
            model.index(row, COL_DESCRIPTION).data(Qt.ItemDataRole.AccessibleTextRole),
        )
        for row in range(model.rowCount())
    }


def _alt(qtbot: QtBot, editor: RoleEditor, letter: str) -> None:
    target = QApplication.focusWidget() or editor
    qtbot.keyClick(target, Qt.Key(ord(letter.upper())), Qt.KeyboardModifier.AltModifier)


def _roles_tab_by_keyboard(qtbot: QtBot, editor: RoleEditor) -> None:
    editor.activateWindow()
    qtbot.waitUntil(editor.isActiveWindow, timeout=5_000)
    _alt(qtbot, editor, "e")  # Rol&es
    qtbot.waitUntil(lambda: editor.tabs.currentWidget() is editor.roles_tab, timeout=5_000)
    qtbot.waitUntil(lambda: editor.roles_tab.model.rowCount() >= 3, timeout=10_000)


def _select_by_keyboard(qtbot: QtBot, editor: RoleEditor, name: str) -> None:
    """Focus the roles table and walk down to ``name`` with the arrow keys."""
    view = editor.roles_tab.view
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_End)  # Home alone selects nothing when the first row is current already
    qtbot.keyClick(view, Qt.Key.Key_Home)
    for _ in range(editor.roles_tab.model.rowCount()):
        if editor.roles_tab.selected_name() == name:
            return
        qtbot.keyClick(view, Qt.Key.Key_Down)
    assert editor.roles_tab.selected_name() == name


def _type(qtbot: QtBot, text: str) -> None:
    edit = QApplication.focusWidget()
    assert isinstance(edit, QLineEdit), edit
    edit.selectAll()
    qtbot.keyClick(edit, Qt.Key.Key_Delete)
    qtbot.keyClicks(edit, text)


def test_the_roles_tab_shows_descriptions_and_holders(
    qtbot: QtBot, services: Services, admin: Actor, open_editor
) -> None:
    services.roles.add_role(admin, "auditor")
    services.roles.describe_role(admin, "auditor", "Reads the audit log")
    register_accounts(services, "ann@example.com", "bob@example.com")
    services.admin.set_role(admin, "ann@example.com", "auditor")
    editor: RoleEditor = open_editor(admin)
    editor.tabs.setCurrentWidget(editor.roles_tab)
    qtbot.waitUntil(lambda: editor.roles_tab.model.rowCount() == 3, timeout=10_000)
    model = editor.roles_tab.model
    assert [model.headerData(c, Qt.Orientation.Horizontal) for c in range(len(HEADERS))] == list(HEADERS)
    assert HEADERS[:3] == ("Role", "Description", "Users")
    assert _rows(editor) == {
        "admin": ("", "1", "no description"),
        "auditor": ("Reads the audit log", "1", "Reads the audit log"),
        "user": ("", "1", "no description"),
    }
    assert model.index(0, COL_USERS).data(Qt.ItemDataRole.AccessibleTextRole) == "1 user"


def test_rename_and_describe_from_the_keyboard(
    qtbot: QtBot, services: Services, admin: Actor, open_editor, announced: list[Announcement]
) -> None:
    services.roles.add_role(admin, "auditor")
    register_accounts(services, "ann@example.com")
    services.admin.set_role(admin, "ann@example.com", "auditor")
    editor: RoleEditor = open_editor(admin)
    _roles_tab_by_keyboard(qtbot, editor)
    tab = editor.roles_tab
    status = child(tab, QLabel, "rolesStatusLabel")
    error = child(tab, QLabel, "rolesErrorLabel")
    name_edit = child(tab, QLineEdit, "roleNameEdit")
    description_edit = child(tab, QLineEdit, "roleDescriptionEdit")
    for field in (name_edit, description_edit):
        assert field.accessibleName()
    assert child(tab, QPushButton, "renameRoleButton").accessibleName() == "Rename the selected role"
    assert child(tab, QPushButton, "describeRoleButton").accessibleName()

    _select_by_keyboard(qtbot, editor, "auditor")
    assert name_edit.text() == "auditor"
    _alt(qtbot, editor, "m")  # Na&me:
    assert name_edit.hasFocus()
    _type(qtbot, "Reviewer")
    qtbot.keyClick(name_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "reviewer" in _rows(editor), timeout=10_000)
    assert "auditor" not in _rows(editor)
    assert tab.selected_name() == "reviewer"  # the renamed role stays selected
    qtbot.waitUntil(lambda: status.text() == "Renamed role auditor to reviewer.", timeout=10_000)
    assert Announcement(status, "Renamed role auditor to reviewer.", False) in announced
    assert services.admin.get_user(admin, "ann@example.com").role == "reviewer"
    # The Users tab's role lists follow.
    qtbot.waitUntil(lambda: editor.users_tab.roles_loaded, timeout=10_000)

    _alt(qtbot, editor, "i")  # Descr&iption:
    assert description_edit.hasFocus()
    _type(qtbot, "  Checks the log ")
    description_edit.insert("🔍  ")  # pasted: QTest types only the Basic Multilingual Plane
    qtbot.keyClick(description_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: _rows(editor)["reviewer"][0] == "Checks the log 🔍", timeout=10_000)
    qtbot.waitUntil(lambda: status.text() == "Saved the description of role reviewer.", timeout=10_000)
    assert description_edit.text() == "Checks the log 🔍"  # as stored: trimmed

    # A refusal: shown under the table, announced at once, the focus left where it was.
    _alt(qtbot, editor, "m")
    _type(qtbot, "user")
    _alt(qtbot, editor, "l")  # Rename ro&le
    qtbot.waitUntil(error.isVisible, timeout=10_000)
    assert error.text() == "A role named 'user' already exists."
    assert announced[-1] == Announcement(error, error.text(), True)
    assert name_of(error) == error.text()
    assert not status.isVisible()
    assert {r.name for r in services.roles.list_roles()} == {"admin", "reviewer", "user"}

    # Invisible-only text clears the description (the Save button, from the keyboard).
    _alt(qtbot, editor, "i")
    _type(qtbot, " ")
    child(tab, QLineEdit, "roleDescriptionEdit").insert("\u200b\u200d\ufeff")  # pasted, invisible
    _alt(qtbot, editor, "d")  # Save &description
    qtbot.waitUntil(lambda: status.text() == "Cleared the description of role reviewer.", timeout=10_000)
    assert not error.isVisible()
    qtbot.waitUntil(lambda: _rows(editor)["reviewer"][0] == "", timeout=10_000)
    assert _rows(editor)["reviewer"][2] == "no description"
    assert {r.name: r.description for r in services.roles.list_roles()}["reviewer"] is None

    # A description with a line break (pasted) is refused with the service's words.
    description_edit.setFocus()
    description_edit.setText("two\tparts")
    qtbot.keyClick(description_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(error.isVisible, timeout=10_000)
    assert "one line" in error.text()


def test_a_built_in_role_can_be_described_but_not_renamed(
    qtbot: QtBot, services: Services, admin: Actor, open_editor
) -> None:
    editor: RoleEditor = open_editor(admin)
    editor.tabs.setCurrentWidget(editor.roles_tab)
    qtbot.waitUntil(lambda: editor.roles_tab.model.rowCount() == 2, timeout=10_000)
    tab = editor.roles_tab
    name_edit = child(tab, QLineEdit, "roleNameEdit")
    rename = child(tab, QPushButton, "renameRoleButton")
    describe = child(tab, QPushButton, "describeRoleButton")
    assert not rename.isEnabled()  # nothing selected yet
    assert not describe.isEnabled()
    _select_by_keyboard(qtbot, editor, "admin")
    assert name_edit.text() == "admin"
    assert name_edit.isReadOnly()
    assert name_edit.accessibleDescription() == "A built-in role keeps its name."
    assert not rename.isEnabled()
    assert name_edit.toolTip() == "A built-in role keeps its name."
    assert describe.isEnabled()
    child(tab, QLineEdit, "roleDescriptionEdit").setText("Runs the place")
    describe.click()
    qtbot.waitUntil(lambda: _rows(editor)["admin"][0] == "Runs the place", timeout=10_000)
    assert tab.selected_name() == "admin"


def test_a_second_enter_while_a_rename_is_on_its_way_does_nothing(
    qtbot: QtBot, services: Services, admin: Actor, open_editor, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    services.roles.add_role(admin, "auditor")
    editor: RoleEditor = open_editor(admin)
    editor.tabs.setCurrentWidget(editor.roles_tab)
    qtbot.waitUntil(lambda: editor.roles_tab.model.rowCount() == 3, timeout=10_000)
    _select_by_keyboard(qtbot, editor, "auditor")
    release, calls = threading.Event(), []
    real = services.roles.rename_role

    def slow(*args: object) -> object:
        calls.append(args)
        release.wait(10)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(services.roles, "rename_role", slow)
    name_edit = child(editor.roles_tab, QLineEdit, "roleNameEdit")
    name_edit.setFocus()
    _type(qtbot, "reviewer")
    qtbot.keyClick(name_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: len(calls) == 1, timeout=5_000)
    qtbot.keyClick(name_edit, Qt.Key.Key_Return)
    child(editor.roles_tab, QPushButton, "renameRoleButton").click()
    assert name_edit.hasFocus()  # the focus stays where the person is
    release.set()
    qtbot.waitUntil(lambda: "reviewer" in _rows(editor), timeout=10_000)
    assert len(calls) == 1
