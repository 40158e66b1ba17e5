"""An open session follows a rename of its account made elsewhere (an administrator, an operator at the
CLI, its owner on another computer): the account window's periodic session check shows the new address, and
what an open role editor does at once is audited under the new address (services.context.require_admin)."""

from __future__ import annotations

import pytest
import shiboken6
from PySide6.QtWidgets import QLabel, QLineEdit, QMainWindow
from pytestqt.qtbot import QtBot

from desktop_auth.services import Services
from desktop_auth.services.records import Actor
from desktop_auth.ui.role_editor.window import RoleEditor
from desktop_auth.ui.shell import settings_store
from tests.conftest import STRONG_PASSWORD, register_accounts
from tests.ui_helpers import child, click, front, sign_in, type_into
from tests.ui_helpers import start_app as start_app  # the fixture

pytestmark = pytest.mark.usefixtures("isolated_qsettings")

CHECK_MS = 200  # the account window's session check, every 30 s in the app


def test_the_account_window_shows_an_address_changed_elsewhere(
    qtbot: QtBot, services: Services, admin: Actor, start_app
) -> None:
    register_accounts(services, "ada@example.com")
    controller = start_app(services, session_check_ms=CHECK_MS)
    window = sign_in(qtbot, controller, "ada@example.com", STRONG_PASSWORD)
    email_value = child(window, QLabel, "emailValue")
    assert email_value.text() == "ada@example.com"
    assert settings_store.last_email() == "ada@example.com"

    services.own_account.rename(admin, "ada@example.com", "ada.lovelace@example.com")
    qtbot.waitUntil(lambda: email_value.text() == "ada.lovelace@example.com", timeout=10_000)
    assert "ada.lovelace@example.com" in window.windowTitle()
    assert window.user.email == "ada.lovelace@example.com"  # type: ignore[attr-defined]
    assert window.isVisible(), "a rename does not end the session"
    # This computer offers the address that now signs in.
    assert settings_store.last_email() == "ada.lovelace@example.com"

    click(qtbot, window, "signOutButton")
    login = front(qtbot, controller, "loginDialog")
    assert child(login, QLineEdit, "emailEdit").text() == "ada.lovelace@example.com"


def test_an_open_role_editor_acts_under_its_administrators_new_address(
    qtbot: QtBot, services: Services, admin: Actor, start_app
) -> None:
    controller = start_app(services)  # the session check every 30 s: none comes before the change below
    window = sign_in(qtbot, controller, "root@example.com", STRONG_PASSWORD)
    assert isinstance(window, QMainWindow)
    click(qtbot, window, "roleEditorButton")
    editor = front(qtbot, controller, "roleEditor")
    assert isinstance(editor, RoleEditor)

    # Renamed while the editor is open (which holds the old address): before the session check notices,
    # an audited change made in the editor names the administrator's address as it is now.
    services.own_account.rename(Actor.operator("ops"), "root@example.com", "chief@example.com")
    editor.tabs.setCurrentWidget(editor.roles_tab)
    type_into(qtbot, editor.roles_tab, "newRoleEdit", "auditor")
    click(qtbot, editor.roles_tab, "addRoleButton")
    operator = Actor.operator("ops")
    qtbot.waitUntil(
        lambda: bool([e for e in services.admin.audit_log(operator, limit=50) if e.action == "role_add"]),
        timeout=10_000,
    )
    (added,) = [e for e in services.admin.audit_log(operator, limit=50) if e.action == "role_add"]
    assert added.actor == "chief@example.com"
    assert shiboken6.isValid(editor)
    assert editor.isVisible()
