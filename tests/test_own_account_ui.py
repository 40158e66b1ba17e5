"""Changing one's email and deleting one's account through the real widgets: the account window's buttons,
their dialogs (labelled fields, inline errors that are announced), the session and the sign-in dialog after.
"""

from __future__ import annotations

import pytest
import shiboken6
from PySide6.QtGui import QAccessible, QAccessibleAnnouncementEvent, QAccessibleEvent
from PySide6.QtWidgets import QDialog, QLabel, QLineEdit, QMainWindow, QWidget
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from desktop_auth.models import User
from desktop_auth.services import Services
from desktop_auth.ui.shell import settings_store
from tests.a11y_helpers import clipped
from tests.conftest import OTHER_PASSWORD, STRONG_PASSWORD, register_accounts
from tests.ui_helpers import child, click, front, login_ready, sign_in, type_into
from tests.ui_helpers import start_app as start_app  # the fixture

pytestmark = pytest.mark.usefixtures("isolated_qsettings")


@pytest.fixture
def announced(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    heard: list[str] = []
    original = QAccessible.updateAccessibility

    def update(event: QAccessibleEvent) -> None:
        if isinstance(event, QAccessibleAnnouncementEvent):
            heard.append(event.message())
        original(event)

    monkeypatch.setattr(QAccessible, "updateAccessibility", staticmethod(update))
    return heard


def _open(qtbot: QtBot, window: QWidget, button: str, dialog_name: str) -> QDialog:
    click(qtbot, window, button)
    qtbot.waitUntil(lambda: window.findChild(QDialog, dialog_name) is not None, timeout=10_000)
    dialog = window.findChild(QDialog, dialog_name)
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible, timeout=10_000)
    return dialog


def _field_error(qtbot: QtBot, dialog: QWidget, name: str) -> str:
    label = child(dialog, QLabel, name)
    qtbot.waitUntil(lambda: label.isVisible() and not dialog.busy, timeout=10_000)  # type: ignore[attr-defined]
    return label.text()


def _closed(qtbot: QtBot, dialog: QWidget) -> None:
    qtbot.waitUntil(lambda: not shiboken6.isValid(dialog) or not dialog.isVisible(), timeout=10_000)


def test_changing_email_through_the_account_window(
    qtbot: QtBot, services: Services, admin, start_app, announced: list[str]
) -> None:
    register_accounts(services, "ada@example.com", "bob@example.com")
    controller = start_app(services)
    window = sign_in(qtbot, controller, "ada@example.com", STRONG_PASSWORD)
    assert settings_store.last_email() == "ada@example.com"
    dialog = _open(qtbot, window, "changeEmailButton", "changeEmailDialog")
    # Labelled fields: each label's mnemonic focuses its field.
    labels = {
        label.buddy().objectName(): label.text() for label in dialog.findChildren(QLabel) if label.buddy()
    }
    assert labels == {"newEmailEdit": "New &email:", "currentPasswordEdit": "C&urrent password:"}

    click(qtbot, dialog, "changeEmailConfirmButton")
    assert _field_error(qtbot, dialog, "newEmailEditError") == "Enter the new email address."

    type_into(qtbot, dialog, "newEmailEdit", "BOB@example.com")
    type_into(qtbot, dialog, "currentPasswordEdit", STRONG_PASSWORD)
    click(qtbot, dialog, "changeEmailConfirmButton")
    taken = _field_error(qtbot, dialog, "newEmailEditError")
    assert taken == "An account with this email address already exists."
    assert taken in announced
    assert child(dialog, QLineEdit, "newEmailEdit").property("invalid") is True
    assert (
        child(dialog, QLineEdit, "newEmailEdit").accessibleDescription().startswith(f"Invalid entry: {taken}")
    )

    type_into(qtbot, dialog, "newEmailEdit", "ada.lovelace@example.com")
    type_into(qtbot, dialog, "currentPasswordEdit", OTHER_PASSWORD)
    click(qtbot, dialog, "changeEmailConfirmButton")
    assert _field_error(qtbot, dialog, "currentPasswordEditError") == "The current password is incorrect."
    assert child(dialog, QLineEdit, "currentPasswordEdit").text() == ""

    type_into(qtbot, dialog, "currentPasswordEdit", STRONG_PASSWORD)
    click(qtbot, dialog, "changeEmailConfirmButton")
    _closed(qtbot, dialog)
    qtbot.waitUntil(lambda: child(window, QLabel, "emailValue").text() == "ada.lovelace@example.com")
    assert window.windowTitle().startswith("ada.lovelace@example.com")
    assert "Your email address is now ada.lovelace@example.com." in announced
    assert settings_store.last_email() == "ada.lovelace@example.com"

    click(qtbot, window, "signOutButton")
    login = login_ready(qtbot, controller)
    assert child(login, QLineEdit, "emailEdit").text() == "ada.lovelace@example.com"
    window = sign_in(qtbot, controller, "ada.lovelace@example.com", STRONG_PASSWORD)
    assert child(window, QLabel, "emailValue").text() == "ada.lovelace@example.com"


def test_wrong_current_passwords_in_change_email_lock_and_sign_out(
    qtbot: QtBot, make_services, start_app
) -> None:
    services = make_services(lockout_threshold=2)
    services.accounts.create_first_admin("root@example.com", STRONG_PASSWORD)
    register_accounts(services, "ada@example.com")
    controller = start_app(services)
    window = sign_in(qtbot, controller, "ada@example.com", STRONG_PASSWORD)
    dialog = _open(qtbot, window, "changeEmailButton", "changeEmailDialog")
    type_into(qtbot, dialog, "newEmailEdit", "new@example.com")
    type_into(qtbot, dialog, "currentPasswordEdit", OTHER_PASSWORD)
    click(qtbot, dialog, "changeEmailConfirmButton")
    assert _field_error(qtbot, dialog, "currentPasswordEditError") == "The current password is incorrect."
    type_into(qtbot, dialog, "currentPasswordEdit", OTHER_PASSWORD)
    click(qtbot, dialog, "changeEmailConfirmButton")
    login = login_ready(qtbot, controller)
    notice = child(login, QLabel, "noticeLabel")
    qtbot.waitUntil(notice.isVisible, timeout=10_000)
    assert "Too many failed sign-ins" in notice.text()
    assert child(login, QLineEdit, "emailEdit").text() == "ada@example.com"


def test_deleting_ones_account_signs_out_and_forgets_the_address(
    qtbot: QtBot, services: Services, admin, start_app, announced: list[str]
) -> None:
    register_accounts(services, "ada@example.com")
    controller = start_app(services)
    window = sign_in(qtbot, controller, "ada@example.com", STRONG_PASSWORD)
    dialog = _open(qtbot, window, "deleteAccountButton", "deleteAccountDialog")
    assert "ada@example.com" in child(dialog, QLabel, "subtitleLabel").text()
    type_into(qtbot, dialog, "currentPasswordEdit", OTHER_PASSWORD)
    click(qtbot, dialog, "deleteAccountConfirmButton")
    wrong = _field_error(qtbot, dialog, "currentPasswordEditError")
    assert wrong == "The current password is incorrect."
    assert wrong in announced
    type_into(qtbot, dialog, "currentPasswordEdit", STRONG_PASSWORD)
    click(qtbot, dialog, "deleteAccountConfirmButton")

    login = login_ready(qtbot, controller)
    notice = child(login, QLabel, "noticeLabel")
    qtbot.waitUntil(notice.isVisible, timeout=10_000)
    assert notice.text() == "Your account ada@example.com was deleted."
    assert child(login, QLineEdit, "emailEdit").text() == ""
    assert settings_store.last_email() == ""
    with services.database.transaction() as session:
        assert session.scalar(select(User.id).where(User.email == "ada@example.com")) is None


def test_the_last_admin_is_told_why_their_account_stays(
    qtbot: QtBot, services: Services, admin, start_app, announced: list[str]
) -> None:
    controller = start_app(services)
    window = sign_in(qtbot, controller, "root@example.com", STRONG_PASSWORD)
    dialog = _open(qtbot, window, "deleteAccountButton", "deleteAccountDialog")
    type_into(qtbot, dialog, "currentPasswordEdit", STRONG_PASSWORD)
    click(qtbot, dialog, "deleteAccountConfirmButton")
    error = child(dialog, QLabel, "errorLabel")
    qtbot.waitUntil(lambda: error.isVisible() and not dialog.busy, timeout=10_000)  # type: ignore[attr-defined]
    assert "last active administrator" in error.text()
    qtbot.waitUntil(lambda: not clipped(dialog), timeout=2_000)  # the dialog grew to show it whole
    assert error.text() in announced
    assert isinstance(controller.current, QMainWindow)
    assert controller.current.isVisible()
    with services.database.transaction() as session:
        assert session.scalar(select(User.id).where(User.email == "root@example.com")) is not None
    dialog.reject()
    _closed(qtbot, dialog)
    assert front(qtbot, controller, "accountWindow") is window


def test_wrong_current_passwords_in_delete_account_lock_and_sign_out(
    qtbot: QtBot, make_services, start_app
) -> None:
    services = make_services(lockout_threshold=1)
    services.accounts.create_first_admin("root@example.com", STRONG_PASSWORD)
    register_accounts(services, "ada@example.com")
    controller = start_app(services)
    window = sign_in(qtbot, controller, "ada@example.com", STRONG_PASSWORD)
    dialog = _open(qtbot, window, "deleteAccountButton", "deleteAccountDialog")
    type_into(qtbot, dialog, "currentPasswordEdit", OTHER_PASSWORD)
    click(qtbot, dialog, "deleteAccountConfirmButton")
    login = login_ready(qtbot, controller)
    notice = child(login, QLabel, "noticeLabel")
    qtbot.waitUntil(notice.isVisible, timeout=10_000)
    assert "Too many failed sign-ins" in notice.text()
    assert child(login, QLineEdit, "emailEdit").text() == "ada@example.com"  # not deleted: still offered
    with services.database.transaction() as session:
        assert session.scalar(select(User.id).where(User.email == "ada@example.com")) is not None
