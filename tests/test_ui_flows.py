"""The desktop app driven through its real widgets with keyboard and mouse (pytest-qt, offscreen)."""

from __future__ import annotations

import itertools
import logging
import time
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtWidgets import QDialog, QLabel, QLineEdit, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from desktop_auth.config import Settings
from desktop_auth.services import Services
from desktop_auth.services.records import Actor
from desktop_auth.ui.shell.controller import AppController
from tests.conftest import OTHER_PASSWORD, STRONG_PASSWORD, make_settings
from tests.ui_helpers import (
    change_own_password,
    child,
    click,
    fill_new_account,
    front,
    login_ready,
    press_enter,
    put_away_codes,
    sign_in,
    type_into,
)
from tests.ui_helpers import start_app as start_app  # the fixture

NEW_PASSWORD = "maple-harbor-velvet-19-comet"


pytestmark = pytest.mark.usefixtures("isolated_qsettings")


def error_text(qtbot: QtBot, dialog: QWidget, name: str = "errorLabel") -> str:
    label = child(dialog, QLabel, name)
    qtbot.waitUntil(label.isVisible, timeout=10_000)
    return label.text()


def test_the_whole_journey(qtbot: QtBot, services: Services, start_app) -> None:
    """first run → create admin → sign out → register a user → sign in as the user (no role editor) →
    sign in as admin (role editor) → change password → sign in with the new one."""
    controller = start_app(services)

    setup = front(qtbot, controller, "setupAdminDialog")
    fill_new_account(qtbot, setup, "Admin@Example.com", STRONG_PASSWORD)
    press_enter(qtbot, setup, "confirmPasswordEdit")
    put_away_codes(qtbot, setup)  # the administrator's first recovery codes (tests/test_recovery_ui.py)
    window = front(qtbot, controller, "accountWindow")
    assert child(window, QLabel, "emailValue").text() == "admin@example.com"
    assert child(window, QLabel, "roleValue").text() == "admin"
    assert child(window, QPushButton, "roleEditorButton").isVisible()
    click(qtbot, window, "signOutButton")

    login = login_ready(qtbot, controller)
    type_into(qtbot, login, "emailEdit", "user@example.com")
    click(qtbot, login, "createAccountButton")
    register = front(qtbot, controller, "registerDialog")
    assert child(register, type(child(login, QWidget, "emailEdit")), "emailEdit").text() == "user@example.com"
    type_into(qtbot, register, "passwordEdit", OTHER_PASSWORD)
    type_into(qtbot, register, "confirmPasswordEdit", OTHER_PASSWORD)
    click(qtbot, register, "registerButton")
    put_away_codes(qtbot, register)  # shown once over the form (tests/test_recovery_ui.py)
    login = login_ready(qtbot, controller)
    assert child(login, type(child(login, QWidget, "emailEdit")), "emailEdit").text() == "user@example.com"

    window = sign_in(qtbot, controller, "user@example.com", OTHER_PASSWORD)
    assert child(window, QLabel, "roleValue").text() == "user"
    assert not child(window, QPushButton, "roleEditorButton").isVisible()
    click(qtbot, window, "signOutButton")

    window = sign_in(qtbot, controller, "admin@example.com", STRONG_PASSWORD)
    assert child(window, QPushButton, "roleEditorButton").isVisible()
    assert child(window, QLabel, "lastSignInValue").text() != "This is your first sign-in"
    change_own_password(qtbot, window, STRONG_PASSWORD, NEW_PASSWORD)
    click(qtbot, window, "signOutButton")

    login = login_ready(qtbot, controller)
    type_into(qtbot, login, "passwordEdit", STRONG_PASSWORD)
    press_enter(qtbot, login, "passwordEdit")
    assert "incorrect" in error_text(qtbot, login)
    window = sign_in(qtbot, controller, "admin@example.com", NEW_PASSWORD)
    assert child(window, QLabel, "roleValue").text() == "admin"


def test_wrong_password_and_lockout_are_explained(qtbot: QtBot, make_services, start_app) -> None:
    services = make_services(lockout_threshold=2)
    services.accounts.create_first_admin("root@example.com", STRONG_PASSWORD)
    controller = start_app(services)
    login = login_ready(qtbot, controller)
    type_into(qtbot, login, "emailEdit", "root@example.com")
    for _ in range(2):
        type_into(qtbot, login, "passwordEdit", OTHER_PASSWORD)
        press_enter(qtbot, login, "passwordEdit")
        qtbot.waitUntil(lambda: "incorrect" in child(login, QLabel, "errorLabel").text(), timeout=10_000)
        qtbot.waitUntil(lambda: child(login, QPushButton, "signInButton").isEnabled())
    type_into(qtbot, login, "passwordEdit", STRONG_PASSWORD)
    press_enter(qtbot, login, "passwordEdit")
    qtbot.waitUntil(
        lambda: "Try again in 1 minute" in child(login, QLabel, "errorLabel").text(), timeout=10_000
    )
    assert controller.window is None


def test_empty_fields_are_flagged_inline(qtbot: QtBot, services: Services, start_app) -> None:
    services.accounts.create_first_admin("root@example.com", STRONG_PASSWORD)
    controller = start_app(services)
    login = login_ready(qtbot, controller)
    type_into(qtbot, login, "emailEdit", "")
    click(qtbot, login, "signInButton")
    assert child(login, QLabel, "emailEditError").text() == "Enter your email address."
    type_into(qtbot, login, "emailEdit", "root@example.com")
    click(qtbot, login, "signInButton")
    assert child(login, QLabel, "passwordEditError").text() == "Enter your password."


def test_registration_validates_each_field_inline(qtbot: QtBot, services: Services, start_app) -> None:
    services.accounts.create_first_admin("root@example.com", STRONG_PASSWORD)
    controller = start_app(services)
    login = login_ready(qtbot, controller)
    click(qtbot, login, "createAccountButton")
    register = front(qtbot, controller, "registerDialog")
    fill_new_account(qtbot, register, "not-an-address", "password", "passw")
    click(qtbot, register, "registerButton")
    assert "@" in child(register, QLabel, "emailEditError").text()
    assert child(register, QLabel, "confirmPasswordEditError").text() == "The passwords do not match."
    fill_new_account(qtbot, register, "root@example.com", "password")
    qtbot.waitUntil(
        lambda: "commonly used" in child(register, QLabel, "strengthFeedback").text(), timeout=10_000
    )
    click(qtbot, register, "registerButton")
    qtbot.waitUntil(lambda: child(register, QLabel, "passwordEditError").isVisible(), timeout=10_000)
    assert "at least 15 characters" in child(register, QLabel, "passwordEditError").text()
    fill_new_account(qtbot, register, "root@example.com", OTHER_PASSWORD)
    click(qtbot, register, "registerButton")
    qtbot.waitUntil(lambda: child(register, QLabel, "emailEditError").isVisible(), timeout=10_000)
    assert "already exists" in child(register, QLabel, "emailEditError").text()


def test_create_account_is_hidden_when_registration_is_closed(
    qtbot: QtBot, services: Services, start_app
) -> None:
    admin = services.accounts.create_first_admin("root@example.com", STRONG_PASSWORD)
    services.app_settings.set_self_registration(Actor(admin.id, admin.email), False)
    controller = start_app(services)
    login = login_ready(qtbot, controller)
    assert not child(login, QPushButton, "createAccountButton").isVisible()


def test_last_email_is_remembered(qtbot: QtBot, services: Services, start_app) -> None:
    services.accounts.create_first_admin("root@example.com", STRONG_PASSWORD)
    first = start_app(services)
    window = sign_in(qtbot, first, "ROOT@example.com", STRONG_PASSWORD)
    click(qtbot, window, "signOutButton")
    second = start_app(services)
    login = login_ready(qtbot, second)
    assert child(login, type(child(login, QWidget, "emailEdit")), "emailEdit").text() == "root@example.com"
    # The field that gets the keys once the window is active (the offscreen platform may not activate it).
    assert login.focusWidget() is child(login, QWidget, "passwordEdit")


@pytest.mark.parametrize("change", ["deactivate", "demote", "password"])
def test_open_session_notices_changes_made_elsewhere(
    qtbot: QtBot, services: Services, start_app, change: str
) -> None:
    root = services.accounts.create_first_admin("root@example.com", STRONG_PASSWORD)
    services.admin.create_user(Actor(root.id, root.email), "second@example.com", STRONG_PASSWORD, "admin")
    controller = start_app(services, session_check_ms=200)
    window = sign_in(qtbot, controller, "second@example.com", STRONG_PASSWORD)
    assert child(window, QPushButton, "roleEditorButton").isVisible()
    operator = Actor.operator()
    if change == "deactivate":
        services.admin.set_active(operator, "second@example.com", False)
    elif change == "demote":
        services.admin.set_role(operator, "second@example.com", "user")
    else:
        user = services.admin.get_user(operator, "second@example.com")
        services.admin.reset_password(operator, [user.id])
    if change == "demote":
        qtbot.waitUntil(lambda: not child(window, QPushButton, "roleEditorButton").isVisible(), timeout=5_000)
        assert child(window, QLabel, "roleValue").text() == "user"
        assert window.isVisible()
    else:
        login = front(qtbot, controller, "loginDialog")
        reason = child(login, QLabel, "noticeLabel").text()
        assert ("deactivated" in reason) if change == "deactivate" else ("changed elsewhere" in reason)


def test_idle_session_signs_out(qtbot: QtBot, services: Services, start_app) -> None:
    services.accounts.create_first_admin("root@example.com", STRONG_PASSWORD)
    controller = start_app(services, idle_timeout_ms=300)
    sign_in(qtbot, controller, "root@example.com", STRONG_PASSWORD)
    login = front(qtbot, controller, "loginDialog")
    assert "without activity" in child(login, QLabel, "noticeLabel").text()


def test_input_in_a_window_keeps_the_session_alive(qtbot: QtBot, services: Services, start_app) -> None:
    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QGuiApplication, QKeyEvent, QMouseEvent

    services.accounts.create_first_admin("root@example.com", STRONG_PASSWORD)
    timeout_ms = 800
    controller = start_app(services, idle_timeout_ms=timeout_ms)
    window = sign_in(qtbot, controller, "root@example.com", STRONG_PASSWORD)
    signed_in = time.monotonic()
    window.activateWindow()
    qtbot.waitUntil(lambda: QGuiApplication.focusWindow() is window.windowHandle(), timeout=5_000)
    handle = window.windowHandle()  # input reaches the window before its widgets, as from the system
    key = QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_Shift, Qt.KeyboardModifier.NoModifier)
    move = QMouseEvent(
        QEvent.Type.MouseMove,
        QPointF(5, 5),
        QPointF(5, 5),
        Qt.MouseButton.NoButton,
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
    )
    # Staying signed in is something that must NOT happen for a while, so this takes real time: twice the
    # idle timeout, with each input sent once the idle timer is past half-way (not on a fixed rhythm).
    events = itertools.cycle((key, move))
    while time.monotonic() - signed_in < 2 * timeout_ms / 1000:
        qtbot.waitUntil(lambda: window.idle_timer.remainingTime() < timeout_ms // 2, timeout=5_000)
        QGuiApplication.sendEvent(handle, next(events))
        last_input = time.monotonic()
    assert controller.window is window  # still signed in
    login = front(qtbot, controller, "loginDialog")  # no input any more: signed out
    assert time.monotonic() - last_input >= 0.9 * timeout_ms / 1000  # by the idle timeout, not sooner
    assert "without activity" in child(login, QLabel, "noticeLabel").text()


def test_temporary_password_must_be_changed_first(qtbot: QtBot, services: Services, start_app) -> None:
    root = services.accounts.create_first_admin("root@example.com", STRONG_PASSWORD)
    user = services.accounts.register("temp@example.com", STRONG_PASSWORD)
    temporary = services.admin.reset_password(Actor(root.id, root.email), [user.id]).entries[0].password
    controller = start_app(services)
    login = login_ready(qtbot, controller)
    type_into(qtbot, login, "emailEdit", "temp@example.com")
    type_into(qtbot, login, "passwordEdit", temporary)
    press_enter(qtbot, login, "passwordEdit")
    change = front(qtbot, controller, "changePasswordDialog")
    type_into(qtbot, change, "currentPasswordEdit", temporary)
    type_into(qtbot, change, "passwordEdit", NEW_PASSWORD)
    type_into(qtbot, change, "confirmPasswordEdit", NEW_PASSWORD)
    press_enter(qtbot, change, "confirmPasswordEdit")
    window = front(qtbot, controller, "accountWindow")
    assert child(window, QLabel, "emailValue").text() == "temp@example.com"


def test_database_down_shows_a_dialog_with_retry_and_quit(qtbot: QtBot, start_app) -> None:
    settings = make_settings("mysql+pymysql://ops:s3cret-pw@127.0.0.1:1/nowhere")
    controller = start_app(None, settings)
    dialog = front(qtbot, controller, "startupErrorDialog")
    problem = child(dialog, QLabel, "problemLabel").text()
    assert "unavailable" in problem
    assert "s3cret-pw" not in problem
    assert child(dialog, QPushButton, "retryButton").isVisible()
    with qtbot.waitSignal(controller.finished, timeout=5_000) as quit_signal:
        click(qtbot, dialog, "quitButton")
    assert quit_signal.args == [1]


def test_outdated_schema_names_the_upgrade_command_and_retry_works(
    qtbot: QtBot, tmp_path: Path, start_app
) -> None:
    from desktop_auth.db import migrate
    from desktop_auth.db.engine import Database

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    database = Database(make_settings(url))
    migrate.upgrade(database, "0001")
    controller = start_app(None, make_settings(url))
    dialog = front(qtbot, controller, "startupErrorDialog")
    assert child(dialog, QWidget, "fixCommand").property("text") == "desktop-auth db upgrade"
    migrate.upgrade(database)  # the operator runs the command...
    click(qtbot, dialog, "retryButton")  # ...and the person retries
    front(qtbot, controller, "setupAdminDialog")
    database.dispose()


def test_the_suggested_command_repeats_the_command_lines_database_with_its_password_masked(
    qtbot: QtBot, tmp_path: Path, start_app
) -> None:
    from desktop_auth.app import build_parser, database_option
    from desktop_auth.db import migrate
    from desktop_auth.db.engine import Database

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    database = Database(make_settings(url))
    migrate.upgrade(database, "0001")
    database.dispose()
    given = build_parser().parse_args(["--database-url", "mysql+pymysql://ops:s3cret-pw@db.example.com/acc"])
    assert database_option(given) == "--database-url 'mysql+pymysql://ops:***@db.example.com/acc'"
    assert database_option(build_parser().parse_args(["--database-url-file", "/run/secrets/db url"])) == (
        "--database-url-file '/run/secrets/db url'"
    )
    assert database_option(build_parser().parse_args([])) == ""
    controller = start_app(None, make_settings(url), database_option=lambda: database_option(given))
    dialog = front(qtbot, controller, "startupErrorDialog")
    assert child(dialog, QWidget, "fixCommand").property("text") == (
        "desktop-auth --database-url 'mysql+pymysql://ops:***@db.example.com/acc' db upgrade"
    )


def test_embedded_database_upgrades_by_itself(qtbot: QtBot, tmp_path: Path, start_app) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'embedded.sqlite3'}",
        embedded=True,
        hash_method="pbkdf2:sha256:1000",
        allow_weak_hash_for_tests=True,
        log_dir=tmp_path,
    )
    controller = start_app(None, settings)
    front(qtbot, controller, "setupAdminDialog")


def test_sign_in_typed_before_the_database_is_ready_goes_ahead_once_it_is(
    qtbot: QtBot, services: Services, start_app
) -> None:
    services.accounts.create_first_admin("root@example.com", STRONG_PASSWORD)
    controller = AppController(services.settings, services)
    controller.login.show()  # shown, database not loaded yet: the fields take input at once
    qtbot.addWidget(controller.login)
    assert not controller.login.ready
    type_into(qtbot, controller.login, "emailEdit", "root@example.com")
    type_into(qtbot, controller.login, "passwordEdit", STRONG_PASSWORD)
    press_enter(qtbot, controller.login, "passwordEdit")
    assert child(controller.login, QLabel, "statusLabel").text() == "Connecting to the database…"
    controller.start()
    window = front(qtbot, controller, "accountWindow")
    assert child(window, QLabel, "emailValue").text() == "root@example.com"
    window.close()
    controller.shutdown()


def test_unexpected_errors_are_logged_and_shown_briefly(
    qtbot: QtBot, services: Services, start_app, caplog: pytest.LogCaptureFixture, monkeypatch
) -> None:
    services.accounts.create_first_admin("root@example.com", STRONG_PASSWORD)
    controller = start_app(services)
    login = login_ready(qtbot, controller)

    def broken(email: str, password: str) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(services.accounts, "authenticate", broken)
    type_into(qtbot, login, "emailEdit", "root@example.com")
    type_into(qtbot, login, "passwordEdit", STRONG_PASSWORD)
    with caplog.at_level(logging.ERROR):
        press_enter(qtbot, login, "passwordEdit")
        text = error_text(qtbot, login)
    assert "unexpected" in text
    assert "boom" not in text
    assert any(record.exc_info for record in caplog.records)
    assert child(login, QPushButton, "signInButton").isEnabled(), "the app keeps running"


def test_two_clients_racing_through_first_run_end_with_one_admin(
    qtbot: QtBot, services: Services, database, start_app
) -> None:
    """Both clients see "Create the administrator"; the slower one is sent to sign in instead."""
    from desktop_auth.services.accounts import count_active_admins

    first = start_app(services)
    second = start_app(services)
    setups = [front(qtbot, first, "setupAdminDialog"), front(qtbot, second, "setupAdminDialog")]
    for number, setup in enumerate(setups):
        fill_new_account(qtbot, setup, f"admin{number}@example.com", STRONG_PASSWORD)
    for setup in setups:  # submit both before either finishes
        click(qtbot, setup, "createAdminButton")

    # The winner shows its administrator's first recovery codes before the account window (the loser's form
    # is gone by then, deleted as it closed).
    def showing_codes() -> list[QWidget]:
        return [
            setup
            for setup in setups
            if shiboken6.isValid(setup) and setup.findChild(QDialog, "recoveryCodesDialog") is not None
        ]

    qtbot.waitUntil(lambda: bool(showing_codes()), timeout=15_000)
    (winner,) = showing_codes()
    put_away_codes(qtbot, winner)
    qtbot.waitUntil(
        lambda: (
            {getattr(c.current, "objectName", lambda: "")() for c in (first, second)}
            == {"accountWindow", "loginDialog"}
        ),
        timeout=15_000,
    )
    with database.transaction() as session:
        assert count_active_admins(session) == 1
    loser = first if first.current is first.login else second
    assert "already exists" in child(loser.login, QLabel, "noticeLabel").text()
    assert loser.login.focusWidget() is child(loser.login, QLineEdit, "emailEdit")  # to sign in, by keyboard
