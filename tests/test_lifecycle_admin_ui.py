"""Create user and Delete in the role editor, through the real widgets (pytest-qt, offscreen), on SQLite
and MariaDB: the temporary password shown once and copied, inline errors, the typed confirmation, Enter
and Escape, refusals shown in the dialog or the tab and announced."""

from __future__ import annotations

from typing import TypeVar

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QComboBox, QLabel, QLineEdit, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from desktop_auth.services import Services
from desktop_auth.services.errors import TemporaryPasswordExpiredError
from desktop_auth.services.records import Actor
from desktop_auth.ui.dialogs.create_user import CreateUserDialog
from desktop_auth.ui.dialogs.delete_users import DeleteUsersDialog
from desktop_auth.ui.role_editor.columns import COL_EMAIL
from desktop_auth.ui.role_editor.window import RoleEditor
from tests.a11y_helpers import Announcement, announced
from tests.conftest import OTHER_PASSWORD, FakeClock, register_accounts, seed_users
from tests.ui_helpers import child, click, front, login_ready, open_editor, press_enter, settle, type_into
from tests.ui_helpers import start_app as start_app  # the fixture

W = TypeVar("W", bound=QWidget)

pytestmark = pytest.mark.usefixtures("isolated_qsettings")
__all__ = ["announced", "open_editor"]  # fixtures, used by name


def enter_text(qtbot: QtBot, parent: QWidget, name: str, text: str) -> None:
    """``type_into``, and for text QTest cannot type (it aborts on non-ASCII keys) as an input method
    would: the characters inserted at the cursor."""
    if text.isascii():
        type_into(qtbot, parent, name, text)
        return
    edit = child(parent, QLineEdit, name)
    edit.setFocus()
    edit.clear()
    edit.insert(text)


def emails(editor: RoleEditor) -> list[str]:
    model = editor.model
    return [model.index(row, COL_EMAIL).data() for row in range(model.rowCount())]


def select(editor: RoleEditor, *addresses: str) -> None:
    shown = emails(editor)
    editor.users_tab.select_rows([shown.index(address) for address in addresses])


def shown_dialog(qtbot: QtBot, editor: RoleEditor, kind: type[W]) -> W:
    """The dialog of this kind the editor shows now (one closed before may linger until deleted)."""

    def visible() -> list[W]:
        return [dialog for dialog in editor.findChildren(kind) if not gone(dialog)]

    qtbot.waitUntil(lambda: len(visible()) == 1, timeout=10_000)
    return visible()[0]


def open_create(qtbot: QtBot, editor: RoleEditor) -> CreateUserDialog:
    click(qtbot, editor, "createUserButton")
    return shown_dialog(qtbot, editor, CreateUserDialog)


def open_delete(qtbot: QtBot, editor: RoleEditor) -> DeleteUsersDialog:
    click(qtbot, editor, "deleteUsersButton")
    return shown_dialog(qtbot, editor, DeleteUsersDialog)


def gone(dialog: QWidget) -> bool:
    try:
        return not dialog.isVisible()
    except RuntimeError:  # deleted on close
        return True


def heard(announced: list[Announcement], text: str, assertive: bool) -> bool:
    return any(text in a.text and a.assertive == assertive for a in announced)


# -- creating -----------------------------------------------------------------------------------------


def test_create_user_shows_the_password_once_copies_it_and_the_row_appears(
    qtbot: QtBot, services: Services, admin: Actor, open_editor, clock: FakeClock
) -> None:
    editor: RoleEditor = open_editor(admin)
    dialog = open_create(qtbot, editor)
    roles = child(dialog, QComboBox, "roleCombo")
    assert roles.currentText() == "user"
    roles.setCurrentIndex(roles.findText("admin"))
    type_into(qtbot, dialog, "emailEdit", "New.Admin@Example.com")
    qtbot.keyClick(child(dialog, QLineEdit, "emailEdit"), Qt.Key.Key_Return)  # Enter creates
    qtbot.waitUntil(lambda: dialog.findChild(QLineEdit, "temporaryPasswordEdit") is not None, timeout=10_000)
    shown = child(dialog, QLineEdit, "temporaryPasswordEdit")
    assert shown.isReadOnly()
    assert shown.isVisible()
    password = shown.text()
    assert len(password) >= 20
    assert not child(dialog, QPushButton, "createUserConfirmButton").isVisible()
    click(qtbot, dialog, "copyPasswordButton")
    assert QGuiApplication.clipboard().text() == password
    # The row is in the table, with the role chosen.
    qtbot.waitUntil(lambda: "new.admin@example.com" in emails(editor), timeout=10_000)
    assert services.admin.get_user(admin, "new.admin@example.com").role == "admin"
    # It opens the account, only to choose a password; and it expires.
    assert services.accounts.authenticate("new.admin@example.com", password).must_change_password
    # Escape closes; the password is forgotten, in this dialog and everywhere else.
    qtbot.keyClick(shown, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: gone(dialog), timeout=5_000)
    for widget in QApplication.allWidgets():
        if isinstance(widget, QLineEdit):
            assert widget.text() != password
    clock.advance(hours=services.app_settings.get().temporary_password_hours + 1)
    with pytest.raises(TemporaryPasswordExpiredError):
        services.accounts.authenticate("new.admin@example.com", password)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Enter an email address."),
        ("ada@example.com", "An account with this email address already exists."),
        ("ADA@EXAMPLE.COM", "An account with this email address already exists."),
        ("r\u043e\u043et@example.com", "looks too much like an existing account's"),
        ("not an address", "email address"),
        ("a\u200bda@example.com", ""),
    ],
)
def test_create_user_refusals_are_shown_under_the_address_and_announced(
    qtbot: QtBot,
    services: Services,
    admin: Actor,
    open_editor,
    announced: list[Announcement],
    typed: str,
    message: str,
) -> None:
    register_accounts(services, "ada@example.com")
    editor: RoleEditor = open_editor(admin)
    dialog = open_create(qtbot, editor)
    enter_text(qtbot, dialog, "emailEdit", typed)
    click(qtbot, dialog, "createUserConfirmButton")
    error = child(dialog, QLabel, "emailEditError")
    qtbot.waitUntil(lambda: error.isVisible() and not dialog.busy, timeout=10_000)
    assert message in error.text()
    assert heard(announced, error.text(), assertive=True)
    assert dialog.findChild(QLineEdit, "temporaryPasswordEdit") is None
    assert services.admin.count_users(admin) == 2
    qtbot.keyClick(child(dialog, QLineEdit, "emailEdit"), Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: gone(dialog), timeout=5_000)


# -- deleting -----------------------------------------------------------------------------------------


def test_deleting_one_account_asks_for_its_address(
    qtbot: QtBot, services: Services, admin: Actor, open_editor
) -> None:
    register_accounts(services, "ada@example.com", "ben@example.com")
    editor: RoleEditor = open_editor(admin)
    select(editor, "ada@example.com")
    dialog = open_delete(qtbot, editor)
    assert "ada@example.com" in dialog.subtitle_label.text()
    edit = child(dialog, QLineEdit, "deleteConfirmEdit")
    qtbot.waitUntil(edit.hasFocus, timeout=5_000)
    qtbot.keyClicks(edit, "1")
    qtbot.keyClick(edit, Qt.Key.Key_Return)  # Enter with the wrong answer: told, nothing deleted
    error = child(dialog, QLabel, "deleteConfirmEditError")
    qtbot.waitUntil(error.isVisible, timeout=5_000)
    assert error.text() == "Type the address, ada@example.com, to confirm."
    assert "ada@example.com" in emails(editor)
    type_into(qtbot, dialog, "deleteConfirmEdit", " Ada@Example.com ")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: gone(dialog), timeout=10_000)
    qtbot.waitUntil(lambda: "ada@example.com" not in emails(editor), timeout=10_000)
    assert {u.email for u in services.admin.list_users(admin)} == {"root@example.com", "ben@example.com"}


def test_deleting_many_asks_for_the_count_and_escape_cancels(
    qtbot: QtBot, services: Services, admin: Actor, open_editor
) -> None:
    register_accounts(services, "ada@example.com", "ben@example.com", "cy@example.com")
    editor: RoleEditor = open_editor(admin)
    select(editor, "ada@example.com", "cy@example.com")
    dialog = open_delete(qtbot, editor)
    assert dialog.subtitle_label.text() == "Delete 2 accounts?"
    assert "ada@example.com, cy@example.com" in dialog.notice_label.text()
    qtbot.keyClick(child(dialog, QLineEdit, "deleteConfirmEdit"), Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: gone(dialog), timeout=5_000)
    assert services.admin.count_users(admin) == 4
    dialog = open_delete(qtbot, editor)
    type_into(qtbot, dialog, "deleteConfirmEdit", "3")
    click(qtbot, dialog, "deleteConfirmButton")
    assert child(dialog, QLabel, "deleteConfirmEditError").text() == (
        "Type the number of accounts, 2, to confirm."
    )
    type_into(qtbot, dialog, "deleteConfirmEdit", "2")
    click(qtbot, dialog, "deleteConfirmButton")
    qtbot.waitUntil(lambda: gone(dialog), timeout=10_000)
    qtbot.waitUntil(lambda: sorted(emails(editor)) == ["ben@example.com", "root@example.com"], timeout=10_000)


def test_deleting_all_matching_the_filter_goes_as_a_query(
    qtbot: QtBot, services: Services, admin: Actor, open_editor
) -> None:
    seed_users(services.database, 1200, prefix="temp")
    register_accounts(services, "keep@example.com")
    editor: RoleEditor = open_editor(admin)
    type_into(qtbot, editor, "filterEdit", "temp")
    qtbot.keyClick(child(editor, QLineEdit, "filterEdit"), Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: editor.model.total == 1200, timeout=15_000)
    settle(qtbot, editor)
    editor.users_tab.table.setFocus()
    editor.users_tab.table.selectAll()  # Ctrl+A: every user matching the filter, loaded or not
    assert editor.users_tab.selection().count == 1200
    dialog = open_delete(qtbot, editor)
    assert dialog.subtitle_label.text() == "Delete 1,200 accounts?"
    type_into(qtbot, dialog, "deleteConfirmEdit", "1,200")
    click(qtbot, dialog, "deleteConfirmButton")
    qtbot.waitUntil(lambda: gone(dialog), timeout=20_000)
    qtbot.waitUntil(lambda: editor.model.total == 0, timeout=15_000)
    assert {u.email for u in services.admin.list_users(admin)} == {"root@example.com", "keep@example.com"}


def test_own_account_in_the_selection_is_refused_in_the_tab_and_announced(
    qtbot: QtBot, services: Services, admin: Actor, open_editor, announced: list[Announcement]
) -> None:
    register_accounts(services, "ada@example.com")
    editor: RoleEditor = open_editor(admin)
    select(editor, "ada@example.com", "root@example.com")
    click(qtbot, editor, "deleteUsersButton")
    error = child(editor.users_tab, QLabel, "errorLabel")
    qtbot.waitUntil(error.isVisible, timeout=10_000)
    assert "Your own account is among those selected" in error.text()
    assert heard(announced, "Your own account", assertive=True)
    assert editor.findChild(DeleteUsersDialog) is None
    assert services.admin.count_users(admin) == 2


def test_the_last_admin_refusal_is_shown_in_the_dialog_and_announced(
    qtbot: QtBot, services: Services, admin: Actor, open_editor, announced: list[Announcement]
) -> None:
    """A signed-in administrator always remains one (they cannot delete themselves here), so only an
    operator's role editor, or a race, meets this refusal; the dialog shows whatever the service says."""
    editor: RoleEditor = open_editor(Actor.operator())
    select(editor, "root@example.com")
    dialog = open_delete(qtbot, editor)
    assert "It is an administrator." in dialog.notice_label.text()
    type_into(qtbot, dialog, "deleteConfirmEdit", "root@example.com")
    click(qtbot, dialog, "deleteConfirmButton")
    error = child(dialog, QLabel, "errorLabel")
    qtbot.waitUntil(lambda: error.isVisible() and not dialog.busy, timeout=10_000)
    assert "last active administrator" in error.text()
    assert heard(announced, "last active administrator", assertive=True)
    assert dialog.isVisible()
    assert services.admin.count_users(admin) == 1
    qtbot.keyClick(child(dialog, QLineEdit, "deleteConfirmEdit"), Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: gone(dialog), timeout=5_000)


def test_the_person_signs_in_with_the_created_password_and_must_change_it_first(
    qtbot: QtBot, services: Services, admin: Actor, start_app
) -> None:
    created = services.lifecycle.create_user(admin, "newcomer@example.com")
    controller = start_app(services)
    login = login_ready(qtbot, controller)
    type_into(qtbot, login, "emailEdit", "newcomer@example.com")
    type_into(qtbot, login, "passwordEdit", created.password)
    press_enter(qtbot, login, "passwordEdit")
    change = front(qtbot, controller, "changePasswordDialog")
    type_into(qtbot, change, "currentPasswordEdit", created.password)
    type_into(qtbot, change, "passwordEdit", OTHER_PASSWORD)
    type_into(qtbot, change, "confirmPasswordEdit", OTHER_PASSWORD)
    press_enter(qtbot, change, "confirmPasswordEdit")
    window = front(qtbot, controller, "accountWindow")
    assert child(window, QLabel, "emailValue").text() == "newcomer@example.com"
    assert not services.accounts.authenticate("newcomer@example.com", OTHER_PASSWORD).must_change_password


def test_an_ampersand_in_the_address_is_shown_not_taken_for_a_mnemonic(
    qtbot: QtBot, services: Services, admin: Actor
) -> None:
    from desktop_auth.services.records import DeletionTargets
    from desktop_auth.ui.shell.tasks import TaskRunner

    dialog = DeleteUsersDialog(TaskRunner(), services, admin, DeletionTargets((42,), ("a&t@example.com",)))
    qtbot.addWidget(dialog)
    edit = child(dialog, QLineEdit, "deleteConfirmEdit")
    (label,) = [label for label in dialog.findChildren(QLabel) if label.buddy() is edit]
    assert label.text() == "&Type the address, a&&t@example.com, to confirm:"
    edit.setText("A&T@example.com ")
    assert dialog.confirmed()
    edit.setText("a&t@example.com\u200b")  # an invisible character is not the address
    assert not dialog.confirmed()
