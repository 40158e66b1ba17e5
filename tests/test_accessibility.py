"""What screen readers get, checked through Qt's own accessibility interfaces (QAccessibleInterface) and the
announcements the app sends (QAccessibleAnnouncementEvent). tests/test_atspi.py reads the same through the
real AT-SPI bus; these run anywhere, offscreen."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QToolButton,
    QWidget,
)
from pytestqt.qtbot import QtBot

from desktop_auth.services import Services
from desktop_auth.services.errors import InvalidCredentialsError, SchemaOutdatedError
from desktop_auth.services.records import Actor
from desktop_auth.ui.dialogs.register import RegisterDialog
from desktop_auth.ui.dialogs.sign_in import LoginDialog
from desktop_auth.ui.dialogs.startup_error import StartupErrorDialog
from desktop_auth.ui.role_editor.columns import COL_EMAIL, COL_ROLE
from desktop_auth.ui.role_editor.filter_bar import FilterBar
from desktop_auth.ui.role_editor.window import RoleEditor
from desktop_auth.ui.shell.tasks import TaskRunner
from tests.a11y_helpers import Announcement, name_of
from tests.a11y_helpers import announced as announced  # the fixture
from tests.conftest import OTHER_PASSWORD, STRONG_PASSWORD
from tests.ui_helpers import child, click, login_ready, open_editor, press_enter, sign_in, type_into
from tests.ui_helpers import start_app as start_app  # the fixture

pytestmark = pytest.mark.usefixtures("isolated_qsettings")
__all__ = ["open_editor"]  # a fixture, used by name


def labelled_by(widget: QWidget) -> list[str]:
    interface = QAccessible.queryAccessibleInterface(widget)
    assert interface is not None
    return [
        str(other.text(QAccessible.Text.Name))
        for other, _ in interface.relations(QAccessible.RelationFlag.Label)
    ]


class HeldRunner:
    """A TaskRunner stand-in that holds each task until the test finishes it."""

    def __init__(self) -> None:
        self.calls: list[
            tuple[Callable[[], Any], Callable[[Any], None], Callable[[BaseException], None]]
        ] = []

    def run(
        self,
        work: Callable[[], Any],
        done: Callable[[Any], None],
        failed: Callable[[BaseException], None],
        **_: Any,
    ) -> None:
        self.calls.append((work, done, failed))


# -- form-wide messages -------------------------------------------------------------------------------


def test_a_wrong_password_and_the_lockout_are_announced_and_named_by_their_text(
    qtbot: QtBot, make_services, start_app, announced: list[Announcement]
) -> None:
    services = make_services(lockout_threshold=2)
    services.accounts.create_first_admin("root@example.com", STRONG_PASSWORD)
    controller = start_app(services)
    login = login_ready(qtbot, controller)
    error = child(login, QLabel, "errorLabel")
    type_into(qtbot, login, "emailEdit", "root@example.com")
    for _ in range(2):
        type_into(qtbot, login, "passwordEdit", OTHER_PASSWORD)
        announced.clear()
        press_enter(qtbot, login, "passwordEdit")
        qtbot.waitUntil(lambda: "incorrect" in error.text(), timeout=10_000)
        assert name_of(error) == error.text() == "The email address or password is incorrect."
        assert announced[-1] == Announcement(error, error.text(), True)
        assert announced[0].text == "Checking your password…", "the busy status is announced, politely"
        assert not announced[0].assertive
        qtbot.waitUntil(lambda: child(login, QPushButton, "signInButton").isEnabled())
    type_into(qtbot, login, "passwordEdit", STRONG_PASSWORD)
    press_enter(qtbot, login, "passwordEdit")
    qtbot.waitUntil(lambda: "Try again in 1 minute" in error.text(), timeout=10_000)
    assert name_of(error) == error.text()
    assert announced[-1] == Announcement(error, error.text(), True)


def test_a_notice_is_announced(qtbot: QtBot, announced: list[Announcement]) -> None:
    login = LoginDialog(TaskRunner())
    qtbot.addWidget(login)
    login.prefill("wes@example.com", "Too many failed sign-ins. Try again in 15 minutes.")
    notice = child(login, QLabel, "noticeLabel")
    assert name_of(notice) == notice.text()
    assert Announcement(notice, notice.text(), False) in announced


def test_the_last_admin_refusal_and_the_users_status_are_announced(
    qtbot: QtBot, services: Services, admin: Actor, open_editor, monkeypatch, announced: list[Announcement]
) -> None:
    monkeypatch.setattr(QMessageBox, "question", lambda *args: QMessageBox.StandardButton.Yes)
    editor: RoleEditor = open_editor(admin)
    status = editor.users_tab.status_label
    qtbot.waitUntil(lambda: any(item.source is status for item in announced), timeout=10_000)
    assert name_of(status) == status.text() == "1 user"
    assert [item.text for item in announced if item.source is status] == ["1 user"], "spoken once, settled"

    model = editor.model
    root = next(
        row for row in range(model.rowCount()) if model.index(row, COL_EMAIL).data() == "root@example.com"
    )
    model.setData(model.index(root, COL_ROLE), "user", Qt.ItemDataRole.EditRole)
    click(qtbot, editor, "saveButton")
    error = editor.users_tab.error_label
    qtbot.waitUntil(lambda: any(item.source is error for item in announced), timeout=10_000)
    assert "no active administrator" in error.text()
    assert name_of(error) == error.text()
    assert [item for item in announced if item.source is error] == [Announcement(error, error.text(), True)]


def test_the_users_tab_names_its_labels_by_their_text_and_announces_them(
    qtbot: QtBot, services: Services, admin: Actor, announced: list[Announcement]
) -> None:
    """The Users tab alone, without the window around it: its error and status say what they show and
    announce it themselves (the error at once, the status once it settles)."""
    from desktop_auth.ui.role_editor.users_tab import UsersTab

    runner = TaskRunner()
    tab = UsersTab(runner, services, admin)
    qtbot.addWidget(tab)
    tab.show()
    tab.model.reload()  # the window starts it
    qtbot.waitUntil(lambda: tab.model.total == 1, timeout=10_000)
    status, error = tab.status_label, tab.error_label
    assert status.accessibleName() == error.accessibleName() == ""
    qtbot.waitUntil(lambda: any(item.source is status for item in announced), timeout=10_000)
    assert name_of(status) == status.text() == "1 user"
    assert [item.text for item in announced if item.source is status] == ["1 user"], "spoken once, settled"
    tab.show_error("Saving would leave no active administrator.")
    assert name_of(error) == error.text()
    assert announced[-1] == Announcement(error, error.text(), True)
    runner.wait()


def test_the_roles_settings_and_history_errors_are_announced(
    qtbot: QtBot,
    services: Services,
    admin: Actor,
    open_editor,
    monkeypatch: pytest.MonkeyPatch,
    announced: list[Announcement],
) -> None:
    from desktop_auth.services.errors import PermissionDeniedError

    editor: RoleEditor = open_editor(admin)

    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise PermissionDeniedError("Only an active administrator can do this.")

    # Roles: adding one that exists is refused by the service.
    editor.tabs.setCurrentWidget(editor.roles_tab)
    type_into(qtbot, editor.roles_tab, "newRoleEdit", "admin")
    click(qtbot, editor.roles_tab, "addRoleButton")
    roles_error = child(editor.roles_tab, QLabel, "rolesErrorLabel")
    qtbot.waitUntil(lambda: any(item.source is roles_error for item in announced), timeout=10_000)
    assert announced[-1] == Announcement(roles_error, roles_error.text(), True)
    assert name_of(roles_error) == roles_error.text() != ""

    # Settings and history: the administrator lost the right between two clicks.
    monkeypatch.setattr(services.app_settings, "update", refuse)
    monkeypatch.setattr(services.admin, "audit_log", refuse)
    editor.tabs.setCurrentWidget(editor.settings_tab)
    settings_error = child(editor.settings_tab, QLabel, "settingsErrorLabel")
    editor.settings_tab.save()
    qtbot.waitUntil(lambda: any(item.source is settings_error for item in announced), timeout=10_000)
    assert announced[-1] == Announcement(settings_error, "Only an active administrator can do this.", True)
    editor.tabs.setCurrentWidget(editor.history_tab)  # loads the history
    history_error = child(editor.history_tab, QLabel, "historyErrorLabel")
    qtbot.waitUntil(lambda: any(item.source is history_error for item in announced), timeout=10_000)
    assert announced[-1] == Announcement(history_error, "Only an active administrator can do this.", True)
    assert name_of(history_error) == history_error.text()


# -- values, names, order -----------------------------------------------------------------------------


def test_the_account_window_exposes_its_values(
    qtbot: QtBot, services: Services, start_app, admin: Actor
) -> None:
    controller = start_app(services)
    window = sign_in(qtbot, controller, "root@example.com", STRONG_PASSWORD)
    for name, value, caption in (
        ("emailValue", "root@example.com", "Email:"),
        ("roleValue", "admin", "Role:"),
        ("lastSignInValue", "This is your first sign-in", "Last sign-in:"),
    ):
        label = child(window, QLabel, name)
        assert label.accessibleName() == ""
        assert name_of(label) == value
        assert labelled_by(label) == [caption]


def test_the_tree_follows_the_form(qtbot: QtBot, services: Services) -> None:
    dialog = RegisterDialog(TaskRunner(), services)
    qtbot.addWidget(dialog)
    dialog.show()
    interface = QAccessible.queryAccessibleInterface(dialog)
    assert interface is not None
    names = [str(interface.child(i).text(QAccessible.Text.Name)) for i in range(interface.childCount())]
    expected = [
        "Email:",
        "Email address",
        "Password:",
        "Password",
        "Confirm:",
        "Confirm password",
        "Show passwords",
    ]
    positions = [names.index(name) for name in expected]
    assert positions == sorted(positions), names
    buttons = next(i for i in range(interface.childCount()) if interface.child(i).object() is dialog.buttons)
    error = next(
        i for i in range(interface.childCount()) if interface.child(i).object() is dialog.error_label
    )
    assert positions[-1] < error < buttons, names


def test_the_filter_clear_button_is_named(qtbot: QtBot) -> None:
    bar = FilterBar()
    qtbot.addWidget(bar)
    clear = bar.filter_edit.findChildren(QToolButton)
    assert clear
    assert all(name_of(button) == "Clear the filter" for button in clear)


def test_the_strength_feedback_reads_as_its_advice(qtbot: QtBot, services: Services) -> None:
    dialog = RegisterDialog(TaskRunner(), services)
    qtbot.addWidget(dialog)
    assert dialog.meter.feedback.accessibleName() == ""


def test_the_start_up_error_command_is_not_editable(qtbot: QtBot, announced: list[Announcement]) -> None:
    dialog = StartupErrorDialog(SchemaOutdatedError("The database schema is older than this version."))
    qtbot.addWidget(dialog)
    command = child(dialog, QWidget, "fixCommand")
    assert not isinstance(command, QLineEdit)
    interface = QAccessible.queryAccessibleInterface(command)
    assert interface is not None
    assert interface.editableTextInterface() is None
    assert not interface.state().editable
    assert name_of(command) == "desktop-auth db upgrade"
    assert labelled_by(command) == [dialog.advice_label.text()]
    assert command.focusPolicy() & Qt.FocusPolicy.TabFocus, "reachable with Tab, to copy it"
    assert dialog.accessibleDescription() == dialog.subtitle_label.text()


# -- fields: required, invalid ------------------------------------------------------------------------


def test_fields_say_they_are_required_and_when_an_entry_is_invalid(
    qtbot: QtBot, services: Services, announced: list[Announcement]
) -> None:
    dialog = RegisterDialog(TaskRunner(), services)
    qtbot.addWidget(dialog)
    dialog.show()
    email = child(dialog, QLineEdit, "emailEdit")
    assert email.property("required") is True
    assert email.property("invalid") is False
    assert email.accessibleDescription() == "Required. name@example.com"
    type_into(qtbot, dialog, "emailEdit", "not-an-address")
    click(qtbot, dialog, "registerButton")
    message = child(dialog, QLabel, "emailEditError")
    assert message.isVisible()
    assert email.property("invalid") is True
    assert email.accessibleDescription().startswith(f"Invalid entry: {message.text()}")
    assert ".." not in email.accessibleDescription()  # the message's own full stop, not doubled
    assert name_of(message) == message.text()
    assert Announcement(message, message.text(), False) in announced
    type_into(qtbot, dialog, "emailEdit", "ann@example.com")
    assert email.property("invalid") is False
    assert email.accessibleDescription().startswith("Required")


# -- busy: the focus stays --------------------------------------------------------------------------


def test_while_busy_the_focus_stays_and_nothing_submits_twice(qtbot: QtBot, services: Services) -> None:
    runner = HeldRunner()
    login = LoginDialog(runner)  # type: ignore[arg-type]
    qtbot.addWidget(login)
    login.set_services(services, registration_open=True)
    login.show()
    qtbot.waitExposed(login)
    login.activateWindow()
    type_into(qtbot, login, "emailEdit", "root@example.com")
    type_into(qtbot, login, "passwordEdit", OTHER_PASSWORD)
    password = child(login, QLineEdit, "passwordEdit")
    qtbot.waitUntil(password.hasFocus)
    moves: list[str] = []
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    app.focusChanged.connect(lambda _old, new: moves.append(new.objectName() if new else ""))

    press_enter(qtbot, login, "passwordEdit")
    assert login.busy
    assert moves == [], "the focus did not move"
    assert password.hasFocus()
    assert password.isReadOnly()
    assert password.isEnabled()
    assert child(login, QLineEdit, "emailEdit").isReadOnly()
    assert not child(login, QPushButton, "signInButton").isEnabled()
    assert not child(login, QPushButton, "createAccountButton").isEnabled()
    press_enter(qtbot, login, "passwordEdit")
    login.submit()
    qtbot.keyClicks(password, "more")
    assert len(runner.calls) == 1, "one submission while busy"
    assert password.text() == OTHER_PASSWORD, "read-only while busy"

    _work, _done, failed = runner.calls[0]
    failed(InvalidCredentialsError())
    assert not login.busy
    assert not password.isReadOnly()
    assert child(login, QPushButton, "signInButton").isEnabled()
    assert moves == [], "the focus is still where it was"


def test_a_focused_button_stays_put_but_does_nothing_while_busy(qtbot: QtBot, services: Services) -> None:
    runner = HeldRunner()
    login = LoginDialog(runner)  # type: ignore[arg-type]
    qtbot.addWidget(login)
    login.set_services(services, registration_open=True)
    login.show()
    qtbot.waitExposed(login)
    login.activateWindow()
    type_into(qtbot, login, "emailEdit", "root@example.com")
    type_into(qtbot, login, "passwordEdit", OTHER_PASSWORD)
    create = child(login, QPushButton, "createAccountButton")
    create.setFocus()
    qtbot.waitUntil(create.hasFocus)
    requested: list[str] = []
    login.create_account_requested.connect(requested.append)
    login.submit()  # e.g. the Sign in button pressed by a screen reader, the focus elsewhere
    assert login.busy
    assert create.hasFocus(), "the focus did not move"
    qtbot.keyClick(create, Qt.Key.Key_Space)
    create.click()
    assert requested == [], "a button kept for the focus does nothing while busy"
    runner.calls[0][2](RuntimeError("boom"))
    create.click()
    assert requested == ["root@example.com"], "and works again afterwards"
