"""Wrong current passwords in "Change password" lock the address like failed sign-ins, and the lock ends the
session: the window closes and the sign-in dialog says why."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from desktop_auth.services.errors import AccountLockedError
from desktop_auth.ui.dialogs.change_password import ChangePasswordDialog
from desktop_auth.ui.dialogs.sign_in import LoginDialog
from tests.conftest import OTHER_PASSWORD, STRONG_PASSWORD
from tests.ui_helpers import child, click, login_ready, press_enter, sign_in, type_into
from tests.ui_helpers import start_app as start_app  # the fixture

NEW_PASSWORD = "maple-harbor-velvet-19-comet"


def test_a_lockout_while_changing_the_password_signs_out(qtbot: QtBot, make_services, start_app) -> None:
    services = make_services(lockout_threshold=2)
    services.accounts.create_first_admin("root@example.com", STRONG_PASSWORD)
    services.accounts.register("wes@example.com", STRONG_PASSWORD)
    controller = start_app(services)
    window = sign_in(qtbot, controller, "wes@example.com", STRONG_PASSWORD)

    click(qtbot, window, "changePasswordButton")
    qtbot.waitUntil(lambda: window.findChild(ChangePasswordDialog) is not None, timeout=5_000)
    dialog = window.findChild(ChangePasswordDialog)
    type_into(qtbot, dialog, "currentPasswordEdit", OTHER_PASSWORD)
    type_into(qtbot, dialog, "passwordEdit", NEW_PASSWORD)
    type_into(qtbot, dialog, "confirmPasswordEdit", NEW_PASSWORD)
    press_enter(qtbot, dialog, "confirmPasswordEdit")
    current_error = child(dialog, QLabel, "currentPasswordEditError")
    qtbot.waitUntil(current_error.isVisible, timeout=10_000)
    assert "incorrect" in current_error.text()
    assert window.isVisible(), "one wrong current password is not yet a lockout"

    type_into(qtbot, dialog, "currentPasswordEdit", OTHER_PASSWORD)
    press_enter(qtbot, dialog, "confirmPasswordEdit")
    login = login_ready(qtbot, controller)
    assert controller.window is None, "the account window closed"
    assert "Too many failed sign-ins" in child(login, QLabel, "noticeLabel").text()
    # And the lock holds for sign-in too.
    with pytest.raises(AccountLockedError):
        services.accounts.authenticate("wes@example.com", STRONG_PASSWORD)


def sign_in_wrongly(qtbot: QtBot, login: LoginDialog, email: str, times: int) -> QLabel:
    """Wrong passwords through the dialog; the form-wide error label, showing the last outcome."""
    error = child(login, QLabel, "errorLabel")
    for _ in range(times):
        type_into(qtbot, login, "emailEdit", email)
        type_into(qtbot, login, "passwordEdit", OTHER_PASSWORD)
        press_enter(qtbot, login, "passwordEdit")
        qtbot.waitUntil(lambda: not login.busy and error.isVisible(), timeout=10_000)
    return error


def test_the_lockout_wait_counts_down_and_an_unlock_is_seen_at_the_next_attempt(
    qtbot: QtBot, make_services, start_app
) -> None:
    services = make_services(lockout_threshold=2, lockout_base_seconds=90)
    admin = services.accounts.create_first_admin("root@example.com", STRONG_PASSWORD)
    services.accounts.register("ivy@example.com", STRONG_PASSWORD)
    controller = start_app(services)
    login = login_ready(qtbot, controller)
    error = sign_in_wrongly(qtbot, login, "ivy@example.com", 3)  # the third attempt meets the lock
    assert "Try again in 2 minutes" in error.text()

    # Time passes (the dialog's clock, moved on): the message follows it, second by second at the end.
    started = login.monotonic()
    login.monotonic = lambda: started + 30
    qtbot.waitUntil(lambda: "Try again in 1 minute," in error.text(), timeout=3_000)
    login.monotonic = lambda: started + 80
    qtbot.waitUntil(lambda: "Try again in 10 seconds" in error.text(), timeout=3_000)

    # An administrator unlocks the address meanwhile: the next attempt asks the service, which lets it in.
    from desktop_auth.services.records import Actor

    services.admin.unlock(Actor(admin.id, admin.email), ["ivy@example.com"])
    type_into(qtbot, login, "passwordEdit", STRONG_PASSWORD)
    press_enter(qtbot, login, "passwordEdit")
    qtbot.waitUntil(lambda: controller.window is not None, timeout=10_000)
    assert "Too many" not in error.text()


def test_the_end_of_the_wait_is_said(qtbot: QtBot, make_services, start_app) -> None:
    services = make_services(lockout_threshold=1, lockout_base_seconds=30)
    services.accounts.create_first_admin("root@example.com", STRONG_PASSWORD)
    controller = start_app(services)
    login = login_ready(qtbot, controller)
    error = sign_in_wrongly(qtbot, login, "root@example.com", 2)
    assert "Try again in 30 seconds" in error.text()
    started = login.monotonic()
    login.monotonic = lambda: started + 31
    notice = child(login, QLabel, "noticeLabel")
    qtbot.waitUntil(lambda: "you can sign in again" in notice.text(), timeout=3_000)
    assert not error.isVisible() or not error.text()
