"""The registration dialog shows a look-alike refusal inline, next to the email field (issue #13, point 10)."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QLabel, QLineEdit
from pytestqt.qtbot import QtBot

from desktop_auth.services import Services
from tests.conftest import OTHER_PASSWORD, STRONG_PASSWORD
from tests.ui_helpers import child, click, fill_new_account, front, login_ready
from tests.ui_helpers import start_app as start_app  # the fixture

pytestmark = pytest.mark.usefixtures("isolated_qsettings")


def test_registration_shows_a_look_alike_refusal_inline(qtbot: QtBot, services: Services, start_app) -> None:
    services.accounts.create_first_admin("root@example.com", STRONG_PASSWORD)
    controller = start_app(services)
    login = login_ready(qtbot, controller)
    click(qtbot, login, "createAccountButton")
    register = front(qtbot, controller, "registerDialog")
    fill_new_account(qtbot, register, "", OTHER_PASSWORD)
    # Pasted, as a look-alike usually arrives (QTest types only Latin-1 key by key).
    email = child(register, QLineEdit, "emailEdit")
    email.setFocus()
    email.insert("r\u043e\u043et@example.com")  # Cyrillic о, twice
    click(qtbot, register, "registerButton")
    error = child(register, QLabel, "emailEditError")
    qtbot.waitUntil(error.isVisible, timeout=10_000)
    assert error.text() == "This address looks too much like an existing account's. Choose another."
    assert services.accounts.registration_open()
