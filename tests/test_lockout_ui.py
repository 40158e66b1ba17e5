"""Wrong current passwords in "Change password" lock the address like failed sign-ins, and the lock ends the
session: the window closes and the sign-in dialog says why."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from desktop_auth.services.errors import AccountLockedError
from desktop_auth.ui.dialogs.change_password import ChangePasswordDialog
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
