"""Recovery codes through the real widgets (pytest-qt, offscreen), on SQLite and MariaDB: shown after
registering, made anew from the account window (current password, warning, copy, save to a private file),
and "Forgot password" on the sign-in dialog (wrong and spent codes, the policy, the shared lockout)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QWidget,
)
from pytestqt.qtbot import QtBot

from desktop_auth.db.errors import DatabaseConnectionLostError
from desktop_auth.messages import message
from desktop_auth.services import Services
from desktop_auth.services.records import Actor
from desktop_auth.services.recovery import CODES_PER_BATCH
from desktop_auth.ui.dialogs.sign_in import LoginDialog
from desktop_auth.ui.shell.controller import AppController
from desktop_auth.ui.shell.messages import describe
from tests.conftest import OTHER_PASSWORD, STRONG_PASSWORD, register_accounts
from tests.ui_helpers import child, click, fill_new_account, front, login_ready, sign_in, type_into
from tests.ui_helpers import start_app as start_app  # the fixture

NEW_PASSWORD = "maple-harbor-velvet-19-comet"
NOT_VALID = "That code is not valid for that address. If you have no recovery codes, ask an administrator."

pytestmark = pytest.mark.usefixtures("isolated_qsettings")


def _dialog(qtbot: QtBot, parent: QWidget, name: str) -> QDialog:
    qtbot.waitUntil(lambda: _visible_child(parent, name) is not None, timeout=10_000)
    found = _visible_child(parent, name)
    assert found is not None
    return found


def _visible_child(parent: QWidget, name: str) -> QDialog | None:
    for dialog in parent.findChildren(QDialog, name):
        if dialog.isVisible():
            return dialog
    return None


def _gone(widget: QWidget) -> bool:
    return not shiboken6.isValid(widget) or not widget.isVisible()


def _codes_shown(qtbot: QtBot, dialog: QWidget) -> list[str]:
    qtbot.waitUntil(lambda: dialog.findChild(QPlainTextEdit, "recoveryCodesView") is not None, timeout=10_000)
    view = child(dialog, QPlainTextEdit, "recoveryCodesView")
    qtbot.waitUntil(view.isVisible, timeout=10_000)
    assert view.isReadOnly()
    return view.toPlainText().split("\n")


def _message(qtbot: QtBot, dialog: QWidget, name: str) -> str:
    label = child(dialog, QLabel, name)
    qtbot.waitUntil(label.isVisible, timeout=10_000)
    return label.text()


def _new_account_codes(qtbot: QtBot, form: QWidget, email: str, submit: str) -> tuple[QDialog, list[str]]:
    """A new-account form (registration, the first run) filled in for ``email`` and submitted with its
    ``submit`` button: the dialog showing the account's first recovery codes, and the codes."""
    fill_new_account(qtbot, form, email, STRONG_PASSWORD)
    click(qtbot, form, submit)
    codes_dialog = _dialog(qtbot, form, "recoveryCodesDialog")
    codes = _codes_shown(qtbot, codes_dialog)
    assert len(codes) == CODES_PER_BATCH
    return codes_dialog, codes


def _first_admin_created(qtbot: QtBot, controller: AppController) -> tuple[QDialog, list[str]]:
    """The first run's form filled in for root@example.com and submitted: the codes dialog, and the codes."""
    setup = front(qtbot, controller, "setupAdminDialog")
    return _new_account_codes(qtbot, setup, "root@example.com", "createAdminButton")


def test_registering_shows_the_first_codes_then_returns_to_sign_in(
    qtbot: QtBot, services: Services, start_app
) -> None:
    services.accounts.create_first_admin("root@example.com", STRONG_PASSWORD)
    controller = start_app(services)
    login = login_ready(qtbot, controller)
    click(qtbot, login, "createAccountButton")
    register = front(qtbot, controller, "registerDialog")
    codes_dialog, codes = _new_account_codes(qtbot, register, "ada@example.com", "registerButton")
    assert codes_dialog.findChild(QLineEdit, "currentPasswordEdit") is None  # no password asked again
    # Done before keeping them asks first; Cancel keeps the codes on screen.
    click(qtbot, codes_dialog, "closeButton")
    qtbot.waitUntil(lambda: codes_dialog.findChild(QMessageBox, "forgetCodesQuestion") is not None)
    question = codes_dialog.findChild(QMessageBox, "forgetCodesQuestion")
    qtbot.waitUntil(question.isVisible)
    question.button(QMessageBox.StandardButton.Cancel).click()
    assert codes_dialog.isVisible()
    click(qtbot, codes_dialog, "copyCodesButton")
    click(qtbot, codes_dialog, "closeButton")
    login = front(qtbot, controller, "loginDialog")
    assert "Your account is ready" in child(login, QLabel, "noticeLabel").text()
    # The codes shown are the account's.
    services.recovery.reset_with_code("ada@example.com", codes[0], NEW_PASSWORD)
    services.accounts.authenticate("ada@example.com", NEW_PASSWORD)


def test_the_first_administrator_gets_codes_before_the_account_window(
    qtbot: QtBot, services: Services, start_app
) -> None:
    controller = start_app(services)
    codes_dialog, codes = _first_admin_created(qtbot, controller)
    assert controller.window is None, "the account window waits until the codes are put away"
    click(qtbot, codes_dialog, "copyCodesButton")
    click(qtbot, codes_dialog, "closeButton")
    window = front(qtbot, controller, "accountWindow")
    assert child(window, QLabel, "roleValue").text() == "admin"
    # The codes shown are the administrator's.
    services.recovery.reset_with_code("root@example.com", codes[0], NEW_PASSWORD)
    services.accounts.authenticate("root@example.com", NEW_PASSWORD)


def test_the_first_administrators_codes_are_shown_when_signing_in_after_fails(
    qtbot: QtBot, services: Services, start_app, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database goes away between creating the administrator (and their codes) and signing them in:
    the codes are shown all the same, then the sign-in form says the account exists and why it is not
    signed in (trying the form again would only say an administrator exists)."""
    real_authenticate = services.accounts.authenticate
    calls: list[str] = []
    lost = DatabaseConnectionLostError(
        message("DatabaseErrors", "The database is unavailable ({location}): {detail}").format(
            location="db.example.com", detail="Connection refused"
        )
    )

    def authenticate_once_unavailable(email: str, password: str) -> object:
        calls.append(email)
        if len(calls) == 1:
            raise lost
        return real_authenticate(email, password)

    monkeypatch.setattr(services.accounts, "authenticate", authenticate_once_unavailable)
    controller = start_app(services)
    codes_dialog, codes = _first_admin_created(qtbot, controller)
    click(qtbot, codes_dialog, "copyCodesButton")
    click(qtbot, codes_dialog, "closeButton")
    login = front(qtbot, controller, "loginDialog")
    notice = child(login, QLabel, "noticeLabel").text()
    assert "Your administrator account was created, but signing in failed" in notice
    assert login.focusWidget() is child(login, QLineEdit, "passwordEdit")  # typing goes on there
    assert describe(lost) in notice
    assert child(login, QLineEdit, "emailEdit").text() == "root@example.com"
    assert controller.window is None
    # The codes shown are the administrator's, and signing in works once the database is back.
    services.recovery.reset_with_code("root@example.com", codes[0], NEW_PASSWORD)
    sign_in(qtbot, controller, "root@example.com", NEW_PASSWORD)


def test_the_account_window_makes_new_codes_with_the_current_password(
    qtbot: QtBot, services: Services, start_app, tmp_path: Path
) -> None:
    services.accounts.create_first_admin("root@example.com", STRONG_PASSWORD)
    ada = services.accounts.register("ada@example.com", STRONG_PASSWORD)
    first = services.recovery.generate(ada.id, STRONG_PASSWORD).codes
    controller = start_app(services)
    window = sign_in(qtbot, controller, "ada@example.com", STRONG_PASSWORD)
    click(qtbot, window, "recoveryCodesButton")
    dialog = _dialog(qtbot, window, "recoveryCodesDialog")
    qtbot.waitUntil(lambda: "10 unused codes" in child(dialog, QLabel, "noticeLabel").text(), timeout=10_000)
    assert "replace your earlier ones" in child(dialog, QLabel, "noticeLabel").text()

    click(qtbot, dialog, "makeCodesButton")
    assert _message(qtbot, dialog, "currentPasswordEditError") == "Enter your current password."
    type_into(qtbot, dialog, "currentPasswordEdit", OTHER_PASSWORD)
    click(qtbot, dialog, "makeCodesButton")
    assert _message(qtbot, dialog, "currentPasswordEditError") == "The current password is incorrect."
    assert services.recovery.codes_left(ada.id) == CODES_PER_BATCH

    type_into(qtbot, dialog, "currentPasswordEdit", STRONG_PASSWORD)
    click(qtbot, dialog, "makeCodesButton")
    codes = _codes_shown(qtbot, dialog)
    assert len(codes) == CODES_PER_BATCH
    assert not set(codes) & set(first)
    assert "earlier codes no longer work" in child(dialog, QLabel, "noticeLabel").text()
    assert not child(dialog, QLineEdit, "currentPasswordEdit").isVisible()
    assert not child(dialog, QPushButton, "makeCodesButton").isVisible()

    click(qtbot, dialog, "copyCodesButton")
    copied = QGuiApplication.clipboard().text()
    assert all(code in copied for code in codes)

    path = tmp_path / "codes.txt"
    path.write_text("an older, readable file")
    os.chmod(path, 0o644)
    dialog.save(str(path))  # what Save to file… does once a path is chosen
    qtbot.waitUntil(lambda: "Saved" in child(dialog, QLabel, "statusLabel").text(), timeout=10_000)
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    saved = path.read_text()
    assert all(code in saved for code in codes)
    assert "ada@example.com" in saved

    click(qtbot, dialog, "closeButton")
    qtbot.waitUntil(lambda: _visible_child(window, "recoveryCodesDialog") is None, timeout=10_000)
    with pytest.raises(Exception, match="not valid"):
        services.recovery.reset_with_code("ada@example.com", first[0], NEW_PASSWORD)
    services.recovery.reset_with_code("ada@example.com", codes[9], NEW_PASSWORD)


def test_forgot_password_with_a_code_then_the_spent_code_is_refused(
    qtbot: QtBot, services: Services, start_app
) -> None:
    services.accounts.create_first_admin("root@example.com", STRONG_PASSWORD)
    ada = services.accounts.register("ada@example.com", STRONG_PASSWORD)
    codes = services.recovery.generate(ada.id, STRONG_PASSWORD).codes
    controller = start_app(services)
    login = login_ready(qtbot, controller)
    type_into(qtbot, login, "emailEdit", "ada@example.com")
    click(qtbot, login, "forgotPasswordButton")
    reset = _dialog(qtbot, login, "resetPasswordDialog")
    assert child(reset, QLineEdit, "emailEdit").text() == "ada@example.com"

    # A wrong code, then a weak password with the right code: each said under its field.
    type_into(qtbot, reset, "recoveryCodeEdit", "abcd-efgh-jkmn-pqrs")
    type_into(qtbot, reset, "passwordEdit", NEW_PASSWORD)
    type_into(qtbot, reset, "confirmPasswordEdit", NEW_PASSWORD)
    click(qtbot, reset, "resetWithCodeButton")
    assert _message(qtbot, reset, "recoveryCodeEditError") == NOT_VALID
    type_into(qtbot, reset, "recoveryCodeEdit", codes[2].upper().replace("-", " "))
    type_into(qtbot, reset, "passwordEdit", "short")
    type_into(qtbot, reset, "confirmPasswordEdit", "short")
    click(qtbot, reset, "resetWithCodeButton")
    assert "at least 15 characters" in _message(qtbot, reset, "passwordEditError")
    assert services.recovery.codes_left(ada.id) == CODES_PER_BATCH

    type_into(qtbot, reset, "passwordEdit", NEW_PASSWORD)
    type_into(qtbot, reset, "confirmPasswordEdit", NEW_PASSWORD)
    click(qtbot, reset, "resetWithCodeButton")
    qtbot.waitUntil(lambda: _gone(reset), timeout=10_000)
    assert isinstance(login, LoginDialog)
    notice = _message(qtbot, login, "noticeLabel")
    assert "Your password was changed" in notice
    assert "9 recovery codes left" in notice
    window = sign_in(qtbot, controller, "ada@example.com", NEW_PASSWORD)
    click(qtbot, window, "signOutButton")

    # The same code again: refused, nothing changed.
    login = login_ready(qtbot, controller)
    click(qtbot, login, "forgotPasswordButton")
    again = _dialog(qtbot, login, "resetPasswordDialog")
    type_into(qtbot, again, "recoveryCodeEdit", codes[2])
    type_into(qtbot, again, "passwordEdit", OTHER_PASSWORD)
    type_into(qtbot, again, "confirmPasswordEdit", OTHER_PASSWORD)
    click(qtbot, again, "resetWithCodeButton")
    assert _message(qtbot, again, "recoveryCodeEditError") == NOT_VALID
    click(qtbot, again, "cancelButton")
    sign_in(qtbot, controller, "ada@example.com", NEW_PASSWORD)


def test_wrong_codes_lock_the_address_like_wrong_passwords(qtbot: QtBot, make_services, start_app) -> None:
    services = make_services(lockout_threshold=2)
    services.accounts.create_first_admin("root@example.com", STRONG_PASSWORD)
    ada = services.accounts.register("ada@example.com", STRONG_PASSWORD)
    codes = services.recovery.generate(ada.id, STRONG_PASSWORD).codes
    controller = start_app(services)
    login = login_ready(qtbot, controller)
    click(qtbot, login, "forgotPasswordButton")
    reset = _dialog(qtbot, login, "resetPasswordDialog")
    type_into(qtbot, reset, "emailEdit", "ada@example.com")
    type_into(qtbot, reset, "passwordEdit", NEW_PASSWORD)
    type_into(qtbot, reset, "confirmPasswordEdit", NEW_PASSWORD)
    for wrong in ("abcd-efgh-jkmn-pqrs", "zzzz-zzzz-zzzz-zzzz"):
        type_into(qtbot, reset, "recoveryCodeEdit", wrong)
        click(qtbot, reset, "resetWithCodeButton")
        assert _message(qtbot, reset, "recoveryCodeEditError") == NOT_VALID
    type_into(qtbot, reset, "recoveryCodeEdit", codes[0])
    click(qtbot, reset, "resetWithCodeButton")
    assert "Too many failed sign-ins" in _message(qtbot, reset, "errorLabel")
    assert services.recovery.codes_left(ada.id) == CODES_PER_BATCH
    click(qtbot, reset, "cancelButton")
    type_into(qtbot, login, "emailEdit", "ada@example.com")
    type_into(qtbot, login, "passwordEdit", STRONG_PASSWORD)
    click(qtbot, login, "signInButton")
    assert "Too many failed sign-ins" in _message(qtbot, login, "errorLabel")


def test_the_code_field_takes_hostile_input(qtbot: QtBot, services: Services, start_app) -> None:
    services.accounts.create_first_admin("root@example.com", STRONG_PASSWORD)
    ada = services.accounts.register("ada@example.com", STRONG_PASSWORD)
    codes = services.recovery.generate(ada.id, STRONG_PASSWORD).codes
    controller = start_app(services)
    login = login_ready(qtbot, controller)
    click(qtbot, login, "forgotPasswordButton")
    reset = _dialog(qtbot, login, "resetPasswordDialog")
    type_into(qtbot, reset, "emailEdit", "ada@example.com")
    type_into(qtbot, reset, "passwordEdit", NEW_PASSWORD)
    type_into(qtbot, reset, "confirmPasswordEdit", NEW_PASSWORD)
    code_edit = child(reset, QLineEdit, "recoveryCodeEdit")
    code_edit.setText("日本語\u200b" * 100_000)  # pasted: the field keeps a bounded length
    assert len(code_edit.text()) <= 64
    click(qtbot, reset, "resetWithCodeButton")
    assert _message(qtbot, reset, "recoveryCodeEditError") == NOT_VALID
    # A real code pasted with zero-width spaces and full-width letters works.
    plain = codes[5].replace("-", "")
    code_edit.setText("\u200b".join(plain.translate({ord(c): ord(c) + 0xFEE0 for c in plain})))
    click(qtbot, reset, "resetWithCodeButton")
    qtbot.waitUntil(lambda: _gone(reset), timeout=10_000)
    services.accounts.authenticate("ada@example.com", NEW_PASSWORD)


def test_forgot_password_waits_for_the_database(qtbot: QtBot, services: Services) -> None:
    from desktop_auth.ui.shell.tasks import TaskRunner

    login = LoginDialog(TaskRunner())
    qtbot.addWidget(login)
    assert not child(login, QPushButton, "forgotPasswordButton").isEnabled()
    login.set_services(services, registration_open=True)
    assert child(login, QPushButton, "forgotPasswordButton").isEnabled()


def test_f1_in_both_dialogs_opens_the_recovery_codes_section(
    qtbot: QtBot, services: Services, start_app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtCore import Qt, QUrl
    from PySide6.QtWidgets import QApplication

    from desktop_auth.ui.shell import help as app_help

    opened: list[QUrl] = []
    monkeypatch.setattr(app_help, "help_folder", lambda: tmp_path / "help")
    app_help.set_opener(lambda url: opened.append(url) or True)
    try:
        services.accounts.create_first_admin("root@example.com", STRONG_PASSWORD)
        controller = start_app(services)
        login = login_ready(qtbot, controller)
        click(qtbot, login, "forgotPasswordButton")
        reset = _dialog(qtbot, login, "resetPasswordDialog")
        window = None
        for number, dialog in enumerate((reset, None), start=1):
            if dialog is None:
                reset.reject()
                window = sign_in(qtbot, controller, "root@example.com", STRONG_PASSWORD)
                click(qtbot, window, "recoveryCodesButton")
                dialog = _dialog(qtbot, window, "recoveryCodesDialog")
            dialog.activateWindow()
            qtbot.waitUntil(dialog.isActiveWindow, timeout=5_000)
            qtbot.keyClick(QApplication.focusWidget() or dialog, Qt.Key.Key_F1)
            qtbot.waitUntil(lambda number=number: len(opened) == number, timeout=5_000)
            page = Path(opened[-1].toLocalFile()).read_text(encoding="utf-8")
            assert "Recovery codes" in page
            assert "A person without codes" in page
            assert "Help and About" not in page  # the next section of its level
        assert window is not None
    finally:
        app_help.set_opener(None)


def test_forgot_password_on_an_account_with_two_factor_asks_for_the_authenticator_too(
    qtbot: QtBot, services: Services, start_app
) -> None:
    from desktop_auth.security import totp

    services.accounts.create_first_admin("root@example.com", STRONG_PASSWORD)
    ada = services.accounts.register("ada@example.com", STRONG_PASSWORD)
    enrollment = services.two_factor.start_enrollment(ada.id)

    def current_code(steps_ahead: int = 0) -> str:
        return totp.code_for(enrollment.secret, totp.step_at(services.context.clock()) + steps_ahead)

    services.two_factor.enable(ada.id, STRONG_PASSWORD, enrollment.secret, current_code(-1))
    codes = services.recovery.generate(ada.id, STRONG_PASSWORD).codes
    controller = start_app(services)
    login = login_ready(qtbot, controller)
    type_into(qtbot, login, "emailEdit", "ada@example.com")
    click(qtbot, login, "forgotPasswordButton")
    reset = _dialog(qtbot, login, "resetPasswordDialog")
    authenticator = child(reset, QLineEdit, "authenticatorCodeEdit")
    assert authenticator.accessibleName() == "Authenticator code"
    type_into(qtbot, reset, "recoveryCodeEdit", codes[0])
    type_into(qtbot, reset, "passwordEdit", NEW_PASSWORD)
    type_into(qtbot, reset, "confirmPasswordEdit", NEW_PASSWORD)
    click(qtbot, reset, "resetWithCodeButton")
    assert "two-factor sign-in" in _message(qtbot, reset, "authenticatorCodeEditError")
    assert services.recovery.codes_left(ada.id) == CODES_PER_BATCH  # nothing spent
    type_into(qtbot, reset, "authenticatorCodeEdit", current_code())
    click(qtbot, reset, "resetWithCodeButton")
    qtbot.waitUntil(lambda: _gone(reset), timeout=10_000)
    assert services.recovery.codes_left(ada.id) == CODES_PER_BATCH - 1


def test_copied_and_saved_codes_speak_the_persons_language(
    qtbot: QtBot, services: Services, admin: Actor, tmp_path: Path
) -> None:
    """In German the heading of the copied and saved codes is German, with the local time as shown; the words
    are found on the GUI thread (the worker that writes the file makes no Qt call)."""
    from PySide6.QtWidgets import QApplication

    from desktop_auth.ui.dialogs.recovery_codes import RecoveryCodesDialog
    from desktop_auth.ui.shell import i18n
    from desktop_auth.ui.shell.tasks import TaskRunner

    (ada_id,) = register_accounts(services, "ada@example.com")
    issued = services.recovery.generate(ada_id, STRONG_PASSWORD)
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    i18n.install(app, "de")
    try:
        runner = TaskRunner()
        dialog = RecoveryCodesDialog(runner, services, ada_id, issued)
        qtbot.addWidget(dialog)
        dialog.copy()
        copied = QGuiApplication.clipboard().text()
        assert copied.startswith("desktop-auth"), copied
        assert "recovery codes for" not in copied, copied
        assert "Each code" not in copied, copied
        assert i18n.date_time(issued.created_at) in copied
        path = tmp_path / "codes.txt"
        dialog.save(str(path))  # the worker only writes (conftest's no_qt_calls_on_workers)
        qtbot.waitUntil(lambda: path.exists() and path.stat().st_size > 0, timeout=10_000)
        runner.wait()
        assert path.read_text(encoding="utf-8") == copied
        dialog.kept = True
    finally:
        i18n.install(app, i18n.ENGLISH)
