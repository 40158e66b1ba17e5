"""Two-factor sign-in through the real widgets (issue #18): turning it on from the account window (the QR
code decodes with zbarimg to the exact URI), the code step at sign-in (wrong codes count, a code works
once, Escape and expiry go back to the sign-in form), the enrollment the organisation requires of
administrators, and turning it off; on SQLite and MariaDB."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPlainTextEdit,
    QPushButton,
    QWidget,
)
from pytestqt.qtbot import QtBot

from desktop_auth.security import totp
from desktop_auth.services import Services
from desktop_auth.services.errors import (
    AccountLockedError,
    PasswordChangeRequiredError,
    TwoFactorEnrollmentRequiredError,
)
from desktop_auth.services.records import Actor, UserEdit
from desktop_auth.ui.dialogs.totp_code import TotpCodeDialog
from desktop_auth.ui.dialogs.two_factor_setup import TwoFactorSetupDialog, grouped
from desktop_auth.ui.shell import qr
from desktop_auth.ui.shell.controller import AppController
from desktop_auth.ui.shell.tasks import TaskRunner
from tests.a11y_helpers import Announcement, clipped
from tests.a11y_helpers import announced as announced  # the fixture
from tests.a11y_helpers import themed as themed  # the fixture: light and dark
from tests.conftest import IN_CI, STRONG_PASSWORD, FakeClock, register_accounts
from tests.ui_helpers import child, click, front, login_ready, press_enter, sign_in, type_into
from tests.ui_helpers import start_app as start_app  # the fixture

ADA = "ada@example.com"


def _code(secret: str, clock: FakeClock, steps_ahead: int = 0) -> str:
    return totp.code_for(secret, totp.step_at(clock.now) + steps_ahead)


def _wrong(code: str) -> str:
    return str((int(code) + 1) % 1_000_000).zfill(6)


def _enrolled(services: Services, clock: FakeClock, email: str = ADA) -> tuple[int, str]:
    (user_id,) = register_accounts(services, email)
    enrollment = services.two_factor.start_enrollment(user_id)
    services.two_factor.enable(user_id, STRONG_PASSWORD, enrollment.secret, _code(enrollment.secret, clock))
    clock.advance(seconds=totp.STEP_SECONDS)  # the enrolling code is spent: sign in on the next one
    return user_id, enrollment.secret


def _error_text(dialog: QWidget, field: str) -> str:
    label = child(dialog, QLabel, f"{field}Error")
    return label.text() if label.isVisible() else ""


def _password_then_code_step(qtbot: QtBot, controller, email: str = ADA) -> TotpCodeDialog:
    login = login_ready(qtbot, controller)
    type_into(qtbot, login, "emailEdit", email)
    type_into(qtbot, login, "passwordEdit", STRONG_PASSWORD)
    press_enter(qtbot, login, "passwordEdit")
    dialog = front(qtbot, controller, "totpDialog")
    assert isinstance(dialog, TotpCodeDialog)
    return dialog


def _submit_code(qtbot: QtBot, dialog: QWidget, code: str) -> None:
    if code.isascii():
        type_into(qtbot, dialog, "totpCodeEdit", code)
    else:  # QTest types Latin-1 only: the rest arrives as an input method (or a paste) would put it
        edit = child(dialog, QLineEdit, "totpCodeEdit")
        edit.setFocus()
        edit.clear()
        edit.insert(code)
    press_enter(qtbot, dialog, "totpCodeEdit")


def _idle(qtbot: QtBot, dialog: QDialog) -> None:
    qtbot.waitUntil(lambda: not dialog.busy, timeout=10_000)  # type: ignore[attr-defined]


# -- the QR code --------------------------------------------------------------------------------------


def _zbarimg() -> str:
    found = shutil.which("zbarimg")
    if found is None:
        if IN_CI:
            pytest.fail("zbarimg is missing (Debian package zbar-tools; .ci/run installs it)")
        pytest.skip("zbarimg is not installed")
    return found


def _decoded(path: Path) -> str:
    done = subprocess.run(
        # QR codes only: zbar's linear decoders now and then read a stray "symbol" in the QR's modules.
        [_zbarimg(), "--raw", "-q", "-Sdisable", "-Sqrcode.enable", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert done.returncode == 0, f"zbarimg found no code in {path.name}: {done.stderr}"
    return done.stdout.rstrip("\n")


def test_the_qr_code_shown_decodes_to_the_exact_uri_with_issuer_and_account(
    qtbot: QtBot, services: Services, tmp_path: Path
) -> None:
    (user_id,) = register_accounts(services, "zoë.o'brien+2fa@example.com")
    dialog = TwoFactorSetupDialog(TaskRunner(), services, user_id=user_id)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.uri is not None and not dialog.busy, timeout=10_000)
    label = child(dialog, QLabel, "qrCodeLabel")
    assert label.accessibleName() == "QR code for your authenticator app"
    picture = label.pixmap()
    assert not picture.isNull()
    path = tmp_path / "shown.png"
    assert picture.save(str(path), "PNG")
    uri = _decoded(path)
    assert uri == dialog.uri
    parts = urlsplit(uri)
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp")
    assert unquote(parts.path) == "/desktop-auth:zoë.o'brien+2fa@example.com"
    query = parse_qs(parts.query)
    secret = child(dialog, QLineEdit, "totpSecretEdit").text()
    assert secret == grouped(query["secret"][0])
    assert query["issuer"] == ["desktop-auth"]
    assert (query["algorithm"], query["digits"], query["period"]) == (["SHA1"], ["6"], ["30"])
    # The whole secret in view, Copy beside it (not over it); both themes' screenshots show it too.
    edit, copy = child(dialog, QLineEdit, "totpSecretEdit"), child(dialog, QPushButton, "copySecretButton")
    assert edit.width() >= edit.fontMetrics().horizontalAdvance(secret)
    assert edit.geometry().right() < copy.geometry().left()
    assert dialog.width() >= dialog.minimumSizeHint().width()
    copy.click()
    assert QApplication.clipboard().text() == query["secret"][0]  # without the spaces


@pytest.mark.parametrize("ratio", [1.0, 1.25, 2.0, 3.0])
def test_the_qr_code_is_whole_pixels_per_module_with_a_quiet_zone_at_every_scale(
    qtbot: QtBot, ratio: float, tmp_path: Path
) -> None:
    uri = totp.provisioning_uri(totp.new_secret(), "someone.with.a.long.address@example.com")
    picture = qr.pixmap(qr.png(uri, ratio), ratio)
    image = picture.toImage()
    import segno

    modules = segno.make(uri, error="m", micro=False, boost_error=False).symbol_size(scale=1, border=4)[0]
    assert image.width() % modules == 0  # every module the same whole number of device pixels
    pixels = image.width() // modules
    assert pixels >= qr.MIN_MODULE
    assert abs(picture.width() / picture.devicePixelRatio() - qr.TARGET_SIZE) <= modules  # its logical size
    quiet = 4 * pixels
    for x in range(quiet):  # the quiet zone is white all round
        for y in (0, image.height() // 2, image.height() - 1):
            assert image.pixelColor(x, y).lightness() == 255
            assert image.pixelColor(image.width() - 1 - x, y).lightness() == 255
    path = tmp_path / "code.png"
    assert picture.save(str(path), "PNG")
    assert _decoded(path) == uri


# -- turning it on --------------------------------------------------------------------------------------


def test_turning_it_on_from_the_account_window(
    qtbot: QtBot, services: Services, admin: Actor, clock: FakeClock, start_app
) -> None:
    (user_id,) = register_accounts(services, ADA)
    controller = start_app(services)
    window = sign_in(qtbot, controller, ADA, STRONG_PASSWORD)
    value = child(window, QLabel, "twoFactorValue")
    qtbot.waitUntil(lambda: value.text() == "Off", timeout=10_000)
    assert child(window, QPushButton, "twoFactorButton").accessibleName() == "Two-factor sign-in (off)"
    click(qtbot, window, "twoFactorButton")
    qtbot.waitUntil(lambda: window.findChild(TwoFactorSetupDialog) is not None, timeout=10_000)
    dialog = window.findChild(TwoFactorSetupDialog)
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.uri is not None and not dialog.busy, timeout=10_000)
    secret = parse_qs(urlsplit(dialog.uri or "").query)["secret"][0]
    code = _code(secret, clock)

    # A wrong password: said under its field, nothing stored.
    type_into(qtbot, dialog, "currentPasswordEdit", "not my password")
    _submit_code(qtbot, dialog, code)
    qtbot.waitUntil(lambda: _error_text(dialog, "currentPasswordEdit") != "", timeout=10_000)
    assert "incorrect" in _error_text(dialog, "currentPasswordEdit")
    assert child(dialog, QLineEdit, "currentPasswordEdit").property("invalid")
    assert not services.two_factor.has_factor(user_id)

    # Not a code at all (letters, a look-alike digit): said at once, nothing asked of the services.
    type_into(qtbot, dialog, "currentPasswordEdit", STRONG_PASSWORD)
    for typed in ("abcdef", "12345", "١٢٣٤٥٦x"):
        _submit_code(qtbot, dialog, typed)
        assert _error_text(dialog, "totpCodeEdit") == "A code is 6 digits, like 123 456."
        assert not dialog.busy

    # A wrong code: said under the code, the dialog stays.
    _submit_code(qtbot, dialog, _wrong(code))
    qtbot.waitUntil(lambda: _error_text(dialog, "totpCodeEdit") != "", timeout=10_000)
    _idle(qtbot, dialog)
    assert "not right" in _error_text(dialog, "totpCodeEdit")
    assert not services.two_factor.has_factor(user_id)

    # The right one, typed with a space and a zero-width space: on, and the new recovery codes shown.
    _submit_code(qtbot, dialog, f"{code[:3]} \u200b{code[3:]}")
    qtbot.waitUntil(lambda: value.text() == "On", timeout=10_000)
    assert services.two_factor.has_factor(user_id)
    assert child(window, QPushButton, "twoFactorButton").accessibleName() == "Two-factor sign-in (on)"
    assert "Two-factor sign-in is on" in window.statusBar().currentMessage()
    codes = window.recovery_codes_dialog
    assert codes is not None
    assert codes.isVisible()
    view = child(codes, QPlainTextEdit, "recoveryCodesView")
    assert len(view.toPlainText().splitlines()) == 10
    assert services.recovery.codes_left(user_id) == 10


def _setup_opened(qtbot: QtBot, controller: AppController) -> tuple[QMainWindow, TwoFactorSetupDialog, str]:
    """ADA signed in with two-factor off, its setup opened from the account window: the window, the dialog
    and the secret its QR code carries."""
    window = sign_in(qtbot, controller, ADA, STRONG_PASSWORD)
    qtbot.waitUntil(lambda: child(window, QLabel, "twoFactorValue").text() == "Off", timeout=10_000)
    click(qtbot, window, "twoFactorButton")
    qtbot.waitUntil(lambda: window.findChild(TwoFactorSetupDialog) is not None, timeout=10_000)
    dialog = window.findChild(TwoFactorSetupDialog)
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.uri is not None and not dialog.busy, timeout=10_000)
    return window, dialog, parse_qs(urlsplit(dialog.uri or "").query)["secret"][0]


def test_turning_it_on_with_recovery_codes_left_keeps_them(
    qtbot: QtBot, services: Services, admin: Actor, clock: FakeClock, start_app
) -> None:
    (user_id,) = register_accounts(services, ADA)
    services.recovery.generate(user_id, STRONG_PASSWORD)
    window, dialog, secret = _setup_opened(qtbot, start_app(services))
    type_into(qtbot, dialog, "currentPasswordEdit", STRONG_PASSWORD)
    click_code = _code(secret, clock)
    type_into(qtbot, dialog, "totpCodeEdit", click_code)
    click(qtbot, dialog, "enableTwoFactorButton")
    qtbot.waitUntil(lambda: services.two_factor.has_factor(user_id), timeout=10_000)
    qtbot.waitUntil(lambda: "10 recovery codes" in window.statusBar().currentMessage(), timeout=10_000)
    assert window.recovery_codes_dialog is None  # the earlier ones still work: none replaced
    assert services.recovery.codes_left(user_id) == 10


def test_turning_it_on_when_the_codes_cannot_be_made_says_why_on_the_gui_thread(
    qtbot: QtBot,
    services: Services,
    admin: Actor,
    clock: FakeClock,
    start_app,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two-factor is on even when its recovery codes cannot be made (the database went away in between): the
    status bar says why, worded on the GUI thread (the worker makes no Qt call: no_qt_calls_on_workers)."""
    from desktop_auth.db.errors import DatabaseConnectionLostError
    from desktop_auth.messages import message

    (user_id,) = register_accounts(services, ADA)
    lost = DatabaseConnectionLostError(
        message("DatabaseErrors", "The database is unavailable ({location}): {detail}").format(
            location="db.example.com", detail="Connection refused"
        )
    )

    def cannot_make(_user_id: int, _password: str) -> object:
        raise lost

    window, dialog, secret = _setup_opened(qtbot, start_app(services))
    type_into(qtbot, dialog, "currentPasswordEdit", STRONG_PASSWORD)
    type_into(qtbot, dialog, "totpCodeEdit", _code(secret, clock))
    monkeypatch.setattr(services.recovery, "generate", cannot_make)
    click(qtbot, dialog, "enableTwoFactorButton")
    qtbot.waitUntil(
        lambda: "No recovery codes were made" in window.statusBar().currentMessage(), timeout=10_000
    )
    assert services.two_factor.has_factor(user_id)
    assert "db.example.com" in window.statusBar().currentMessage()
    assert window.recovery_codes_dialog is None


# -- the code step at sign-in ---------------------------------------------------------------------------


def test_signing_in_with_a_code_wrong_codes_are_said_and_a_code_works_once(
    qtbot: QtBot, services: Services, admin: Actor, clock: FakeClock, start_app
) -> None:
    _user_id, secret = _enrolled(services, clock)
    controller = start_app(services)
    dialog = _password_then_code_step(qtbot, controller)
    edit = child(dialog, QLineEdit, "totpCodeEdit")
    assert edit.hasFocus()
    _submit_code(qtbot, dialog, "")
    assert _error_text(dialog, "totpCodeEdit") == (
        "Enter the code your authenticator app shows, or a recovery code."
    )
    code = _code(secret, clock)
    _submit_code(qtbot, dialog, _wrong(code))
    qtbot.waitUntil(lambda: _error_text(dialog, "totpCodeEdit") != "", timeout=10_000)
    _idle(qtbot, dialog)
    assert "not right" in _error_text(dialog, "totpCodeEdit")
    assert edit.property("invalid")
    assert edit.selectedText() == _wrong(code)
    assert dialog.isVisible()
    _submit_code(qtbot, dialog, code)
    window = front(qtbot, controller, "accountWindow")
    assert child(window, QLabel, "emailValue").text() == ADA

    # Signed out, and in again within the same 30 seconds: the same code is refused (replay).
    click(qtbot, window, "signOutButton")
    dialog = _password_then_code_step(qtbot, controller)
    _submit_code(qtbot, dialog, code)
    qtbot.waitUntil(lambda: _error_text(dialog, "totpCodeEdit") != "", timeout=10_000)
    _idle(qtbot, dialog)
    assert "works once" in _error_text(dialog, "totpCodeEdit")
    _submit_code(qtbot, dialog, _code(secret, clock, steps_ahead=1))  # the next one (phone a bit ahead)
    front(qtbot, controller, "accountWindow")


def test_wrong_codes_count_toward_the_lockout_shown_on_the_sign_in_form(
    qtbot: QtBot, make_services, admin: Actor, clock: FakeClock, start_app
) -> None:
    services = make_services(lockout_threshold=3)
    _user_id, secret = _enrolled(services, clock)
    controller = start_app(services)
    dialog = _password_then_code_step(qtbot, controller)
    wrong = _wrong(_code(secret, clock))
    _submit_code(qtbot, dialog, wrong)  # with the password's attempt (counted until a code is right): two
    qtbot.waitUntil(lambda: _error_text(dialog, "totpCodeEdit") != "", timeout=10_000)
    _idle(qtbot, dialog)
    assert dialog.isVisible()
    _submit_code(qtbot, dialog, wrong)  # three: locked, and this sign-in is over
    login = front(qtbot, controller, "loginDialog")
    error = child(login, QLabel, "errorLabel")
    qtbot.waitUntil(lambda: error.isVisible() and "Too many failed sign-ins" in error.text(), timeout=10_000)
    assert child(login, QLineEdit, "passwordEdit").text() == ""
    assert login.second_step_dialog is None  # type: ignore[attr-defined]
    with pytest.raises(AccountLockedError):  # even with the right code now
        services.accounts.authenticate(ADA, STRONG_PASSWORD)


def test_escape_goes_back_to_the_sign_in_form_with_the_password_cleared(
    qtbot: QtBot, services: Services, admin: Actor, clock: FakeClock, start_app
) -> None:
    _enrolled(services, clock)
    controller = start_app(services)
    dialog = _password_then_code_step(qtbot, controller)
    type_into(qtbot, dialog, "totpCodeEdit", "12")
    qtbot.keyClick(child(dialog, QLineEdit, "totpCodeEdit"), Qt.Key.Key_Escape)
    login = front(qtbot, controller, "loginDialog")
    password = child(login, QLineEdit, "passwordEdit")
    assert password.text() == ""
    qtbot.waitUntil(lambda: login.focusWidget() is password, timeout=5_000)
    assert child(login, QLineEdit, "emailEdit").text() == ADA


def test_a_code_step_left_too_long_goes_back_to_the_sign_in_form_saying_so(
    qtbot: QtBot, services: Services, admin: Actor, clock: FakeClock, start_app
) -> None:
    _user_id, secret = _enrolled(services, clock)
    controller = start_app(services)
    dialog = _password_then_code_step(qtbot, controller)
    clock.advance(minutes=6)
    _submit_code(qtbot, dialog, _code(secret, clock))
    login = front(qtbot, controller, "loginDialog")
    error = child(login, QLabel, "errorLabel")
    qtbot.waitUntil(lambda: error.text() == "That took too long: sign in again.", timeout=10_000)
    assert child(login, QLineEdit, "passwordEdit").text() == ""


# -- required for administrators ------------------------------------------------------------------------


def test_an_administrator_the_organisation_requires_it_of_sets_it_up_at_sign_in(
    qtbot: QtBot, services: Services, admin: Actor, clock: FakeClock, start_app
) -> None:
    root = services.two_factor.start_enrollment(admin.user_id or 0)
    services.two_factor.enable(admin.user_id or 0, STRONG_PASSWORD, root.secret, _code(root.secret, clock))
    services.app_settings.update(admin, require_two_factor_for_admins=True)
    (bob,) = register_accounts(services, "bob@example.com")
    services.admin.apply_edits(admin, [UserEdit(bob, None, role="admin")])

    controller = start_app(services)
    login = login_ready(qtbot, controller)
    type_into(qtbot, login, "emailEdit", "bob@example.com")
    type_into(qtbot, login, "passwordEdit", STRONG_PASSWORD)
    press_enter(qtbot, login, "passwordEdit")
    dialog = front(qtbot, controller, "twoFactorSetupDialog")
    assert isinstance(dialog, TwoFactorSetupDialog)
    assert dialog.required
    assert dialog.findChild(QLineEdit, "currentPasswordEdit") is None  # the password was just checked
    assert "organisation requires" in child(dialog, QLabel, "subtitleLabel").text()
    qtbot.waitUntil(lambda: dialog.uri is not None and not dialog.busy, timeout=10_000)

    # Cancel: back to the sign-in form, nothing set up.
    click(qtbot, dialog, "cancelButton")
    login = front(qtbot, controller, "loginDialog")
    assert child(login, QLineEdit, "passwordEdit").text() == ""
    assert not services.two_factor.has_factor(bob)

    type_into(qtbot, login, "passwordEdit", STRONG_PASSWORD)
    press_enter(qtbot, login, "passwordEdit")
    dialog = front(qtbot, controller, "twoFactorSetupDialog")
    assert isinstance(dialog, TwoFactorSetupDialog)
    qtbot.waitUntil(lambda: dialog.uri is not None and not dialog.busy, timeout=10_000)
    secret = parse_qs(urlsplit(dialog.uri or "").query)["secret"][0]
    code = _code(secret, clock)
    _submit_code(qtbot, dialog, _wrong(code))
    qtbot.waitUntil(lambda: _error_text(dialog, "totpCodeEdit") != "", timeout=10_000)
    _idle(qtbot, dialog)
    assert not services.two_factor.has_factor(bob)
    _submit_code(qtbot, dialog, code)
    window = front(qtbot, controller, "accountWindow")
    assert child(window, QLabel, "emailValue").text() == "bob@example.com"
    assert services.two_factor.has_factor(bob)
    qtbot.waitUntil(lambda: child(window, QLabel, "twoFactorValue").text() == "On", timeout=10_000)


# -- turning it off -------------------------------------------------------------------------------------


def test_turning_it_off_needs_the_password_and_a_current_code(
    qtbot: QtBot, services: Services, admin: Actor, clock: FakeClock, start_app
) -> None:
    user_id, secret = _enrolled(services, clock)
    controller = start_app(services)
    dialog = _password_then_code_step(qtbot, controller)
    _submit_code(qtbot, dialog, _code(secret, clock))
    window = front(qtbot, controller, "accountWindow")
    value = child(window, QLabel, "twoFactorValue")
    qtbot.waitUntil(lambda: value.text() == "On", timeout=10_000)
    click(qtbot, window, "twoFactorButton")
    qtbot.waitUntil(
        lambda: (found := window.findChild(QDialog, "twoFactorOffDialog")) is not None and found.isVisible(),
        timeout=10_000,
    )
    off = window.findChild(QDialog, "twoFactorOffDialog")
    assert off is not None
    type_into(qtbot, off, "currentPasswordEdit", STRONG_PASSWORD)
    _submit_code(qtbot, off, _code(secret, clock))  # the code just used to sign in: refused
    qtbot.waitUntil(lambda: _error_text(off, "totpCodeEdit") != "", timeout=10_000)
    _idle(qtbot, off)
    assert services.two_factor.has_factor(user_id)
    type_into(qtbot, off, "currentPasswordEdit", "wrong")
    _submit_code(qtbot, off, _code(secret, clock, steps_ahead=1))
    qtbot.waitUntil(lambda: _error_text(off, "currentPasswordEdit") != "", timeout=10_000)
    _idle(qtbot, off)
    assert services.two_factor.has_factor(user_id)
    type_into(qtbot, off, "currentPasswordEdit", STRONG_PASSWORD)
    _submit_code(qtbot, off, _code(secret, clock, steps_ahead=1))
    qtbot.waitUntil(lambda: value.text() == "Off", timeout=10_000)
    assert not services.two_factor.has_factor(user_id)
    assert "off" in window.statusBar().currentMessage()


# -- with a temporary password, and with a recovery code ------------------------------------------------


def test_a_temporary_password_leads_through_the_code_step_to_change_password(
    qtbot: QtBot, services: Services, admin: Actor, clock: FakeClock, start_app
) -> None:
    """An administrator reset the password of someone with two-factor sign-in: password, code, then their own
    password (the code step used to refuse: 'Choose your own password before you do anything else')."""
    user_id, secret = _enrolled(services, clock)
    ada = next(user for user in services.admin.list_users(admin) if user.email == ADA)
    temporary = services.admin.reset_password(admin, [user_id], {user_id: ada.version}).entries[0].password
    controller = start_app(services)
    login = login_ready(qtbot, controller)
    type_into(qtbot, login, "emailEdit", ADA)
    type_into(qtbot, login, "passwordEdit", temporary)
    press_enter(qtbot, login, "passwordEdit")
    dialog = front(qtbot, controller, "totpDialog")
    _submit_code(qtbot, dialog, _code(secret, clock))
    change = front(qtbot, controller, "changePasswordDialog")
    assert "temporary password" in child(change, QLabel, "subtitleLabel").text()


def test_a_recovery_code_stands_in_for_the_app_at_the_code_step(
    qtbot: QtBot, services: Services, admin: Actor, clock: FakeClock, start_app
) -> None:
    user_id, _secret = _enrolled(services, clock)
    codes = services.recovery.generate(user_id, STRONG_PASSWORD).codes
    controller = start_app(services)
    dialog = _password_then_code_step(qtbot, controller)
    assert "recovery code" in child(dialog, QLabel, "subtitleLabel").text()
    _submit_code(qtbot, dialog, "zzzz-zzzz-zzzz-zzzz")  # not one of them: said like a wrong code
    qtbot.waitUntil(lambda: _error_text(dialog, "totpCodeEdit") != "", timeout=10_000)
    _idle(qtbot, dialog)
    assert "recovery code" in _error_text(dialog, "totpCodeEdit")
    _submit_code(qtbot, dialog, f" {codes[0].upper()} ")
    window = front(qtbot, controller, "accountWindow")
    assert services.recovery.codes_left(user_id) == len(codes) - 1
    click(qtbot, window, "signOutButton")
    dialog = _password_then_code_step(qtbot, controller)
    _submit_code(qtbot, dialog, codes[0])  # spent: once only
    qtbot.waitUntil(lambda: _error_text(dialog, "totpCodeEdit") != "", timeout=10_000)
    assert dialog.isVisible()


def test_the_code_step_and_enrollment_at_sign_in_allow_a_temporary_password(
    services: Services, admin: Actor, clock: FakeClock
) -> None:
    """The services' side of the test above (and the same for an administrator setting up the factor the
    organisation requires): a temporary password does not stop a sign-in's second step."""
    from desktop_auth.services.errors import SecondFactorRequiredError

    user_id, secret = _enrolled(services, clock)
    ada = next(user for user in services.admin.list_users(admin) if user.email == ADA)
    temporary = services.admin.reset_password(admin, [user_id], {user_id: ada.version}).entries[0].password
    with pytest.raises(SecondFactorRequiredError) as asked:
        services.accounts.authenticate(ADA, temporary)
    signed_in = services.accounts.complete_sign_in(asked.value.challenge, _code(secret, clock))
    assert signed_in.must_change_password
    root = services.two_factor.start_enrollment(admin.user_id or 0)
    services.two_factor.enable(admin.user_id or 0, STRONG_PASSWORD, root.secret, _code(root.secret, clock))
    services.app_settings.update(admin, require_two_factor_for_admins=True)
    (bob,) = register_accounts(services, "bob@example.com")
    services.admin.apply_edits(admin, [UserEdit(bob, None, role="admin")])
    version = next(user for user in services.admin.list_users(admin) if user.id == bob).version
    temporary = services.admin.reset_password(admin, [bob], {bob: version}).entries[0].password
    with pytest.raises(TwoFactorEnrollmentRequiredError) as required:
        services.accounts.authenticate("bob@example.com", temporary)
    enrollment = services.two_factor.start_enrollment(bob)
    signed_in = services.accounts.enroll_at_sign_in(
        required.value.challenge, enrollment.secret, _code(enrollment.secret, clock)
    )
    assert signed_in.must_change_password
    assert signed_in.is_admin
    with pytest.raises(PasswordChangeRequiredError):  # outside a sign-in it still stops everything
        services.two_factor.has_factor(bob)


# -- screen readers, and odd input -----------------------------------------------------------------------


def _code_step(services: Services, email: str = ADA) -> TotpCodeDialog:
    from desktop_auth.services.errors import SecondFactorRequiredError

    with pytest.raises(SecondFactorRequiredError) as asked:
        services.accounts.authenticate(email, STRONG_PASSWORD)
    return TotpCodeDialog(TaskRunner(), services, asked.value.challenge)


def test_a_wrong_code_is_announced_and_the_field_says_it_is_invalid(
    qtbot: QtBot, services: Services, clock: FakeClock, announced: list[Announcement]
) -> None:
    _user_id, secret = _enrolled(services, clock)
    dialog = _code_step(services)
    qtbot.addWidget(dialog)
    dialog.show()
    edit = child(dialog, QLineEdit, "totpCodeEdit")
    assert edit.accessibleName() == "Authenticator code"
    assert edit.accessibleDescription() == "Required. 6 digits, or a recovery code"
    dialog.submit()  # empty
    assert announced[-1].text == "Enter the code your authenticator app shows, or a recovery code."
    edit.setText(_wrong(_code(secret, clock)))
    dialog.submit()
    qtbot.waitUntil(lambda: "not right" in announced[-1].text, timeout=10_000)
    assert announced[-1].assertive
    assert edit.accessibleDescription().startswith("Invalid entry: That code is not right.")


def test_full_width_digits_and_invisible_characters_are_a_code_and_a_huge_paste_is_not(
    qtbot: QtBot, services: Services, clock: FakeClock
) -> None:
    _user_id, secret = _enrolled(services, clock)
    dialog = _code_step(services)
    qtbot.addWidget(dialog)
    dialog.show()
    edit = child(dialog, QLineEdit, "totpCodeEdit")
    edit.insert("7" * 10_000_000)  # a 10 MB paste: the field keeps what a code could be, with room
    assert len(edit.text()) == 64
    dialog.submit()
    qtbot.waitUntil(lambda: _error_text(dialog, "totpCodeEdit") != "", timeout=10_000)
    _idle(qtbot, dialog)
    assert dialog.isVisible()
    code = _code(secret, clock)
    full_width = "".join(chr(ord(digit) + 0xFEE0) for digit in code)  # "１２３４５６"
    edit.clear()
    edit.insert(f"{full_width[:3]}\u200b\u2060 {full_width[3:]}")
    with qtbot.waitSignal(dialog.signed_in, timeout=10_000) as signed:
        dialog.submit()
    assert signed.args[0].email == ADA


def test_the_secret_is_read_only_and_the_qr_code_says_what_it_is(qtbot: QtBot, services: Services) -> None:
    (user_id,) = register_accounts(services, ADA)
    dialog = TwoFactorSetupDialog(TaskRunner(), services, user_id=user_id)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.uri is not None and not dialog.busy, timeout=10_000)
    secret = child(dialog, QLineEdit, "totpSecretEdit")
    assert secret.isReadOnly()
    assert secret.accessibleName() == "Secret key"
    qtbot.keyClicks(secret, "x")
    assert secret.text() == grouped(parse_qs(urlsplit(dialog.uri or "").query)["secret"][0])
    label = child(dialog, QLabel, "qrCodeLabel")
    assert label.accessibleName() == "QR code for your authenticator app"
    assert "secret key" in label.accessibleDescription()
    dialog.set_busy(True)  # while working, the secret stays read-only afterwards too
    dialog.set_busy(False)
    assert secret.isReadOnly()
    dialog.reject()
    assert secret.text() == ""  # closing forgets the secret


def test_the_two_factor_dialogs_show_their_messages_whole_in_both_themes(
    qtbot: QtBot, services: Services, clock: FakeClock, themed: None
) -> None:
    """A long error under the code grows the dialog instead of being cut off; the titles are one line."""
    from desktop_auth.ui.dialogs.two_factor_setup import TwoFactorOffDialog

    user_id, secret = _enrolled(services, clock)
    (bob,) = register_accounts(services, "bob@example.com")
    runner = TaskRunner()
    setup = TwoFactorSetupDialog(runner, services, user_id=bob)
    for dialog in (setup, TwoFactorOffDialog(runner, services, user_id), _code_step(services)):
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.waitExposed(dialog)
        its_secret = secret
        if dialog is setup:
            qtbot.waitUntil(lambda: setup.uri is not None and not setup.busy, timeout=10_000)
            its_secret = parse_qs(urlsplit(setup.uri or "").query)["secret"][0]
        if dialog.findChild(QLineEdit, "currentPasswordEdit") is not None:
            type_into(qtbot, dialog, "currentPasswordEdit", STRONG_PASSWORD)
        _submit_code(qtbot, dialog, _wrong(_code(its_secret, clock)))
        qtbot.waitUntil(lambda d=dialog: _error_text(d, "totpCodeEdit") != "", timeout=10_000)
        _idle(qtbot, dialog)
        assert not clipped(dialog), f"{dialog.objectName()}: {clipped(dialog)}"
        title = child(dialog, QLabel, "titleLabel")
        assert title.width() >= title.fontMetrics().horizontalAdvance(title.text()), dialog.objectName()
        dialog.hide()


def test_moved_to_a_screen_with_another_scale_the_qr_code_is_drawn_again_for_it(
    qtbot: QtBot, services: Services, tmp_path: Path
) -> None:
    from PySide6.QtCore import QCoreApplication, QEvent

    (user_id,) = register_accounts(services, ADA)
    dialog = TwoFactorSetupDialog(TaskRunner(), services, user_id=user_id)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.uri is not None and not dialog.busy, timeout=10_000)
    before = dialog.qr_picture
    assert before is not None
    assert before.devicePixelRatio() == 1.0
    dialog.devicePixelRatioF = lambda: 2.0  # type: ignore[method-assign]  # as on a 200 % screen
    QCoreApplication.sendEvent(dialog, QEvent(QEvent.Type.DevicePixelRatioChange))
    qtbot.waitUntil(
        lambda: dialog.qr_picture is not None and dialog.qr_picture.devicePixelRatio() == 2.0, timeout=10_000
    )
    after = dialog.qr_picture
    assert after is not None
    assert after.width() >= 2 * before.width() - 2 * 45  # twice the device pixels (whole ones per module)
    assert abs(after.deviceIndependentSize().width() - before.width()) <= 45  # about the same size on screen
    path = tmp_path / "scaled.png"
    assert after.save(str(path), "PNG")
    assert _decoded(path) == dialog.uri


def test_screen_readers_meet_the_setup_in_the_order_shown(qtbot: QtBot, services: Services) -> None:
    """The QR code, then the secret and Copy, the password, the code; then the buttons."""
    from PySide6.QtGui import QAccessible

    (user_id,) = register_accounts(services, ADA)
    dialog = TwoFactorSetupDialog(TaskRunner(), services, user_id=user_id)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.uri is not None and not dialog.busy, timeout=10_000)
    interface = QAccessible.queryAccessibleInterface(dialog)
    assert interface is not None
    children = [interface.child(i) for i in range(interface.childCount())]
    names = [str(node.text(QAccessible.Text.Name)) for node in children]
    expected = [
        "QR code for your authenticator app",
        "Secret key:",
        "Current password:",
        "Code from the app:",
    ]
    positions = [names.index(name) for name in expected]
    assert positions == sorted(positions), names
    buttons = next(i for i, node in enumerate(children) if node.object() is dialog.buttons)
    assert positions[-1] < buttons, names
    secret_row = child(dialog, QLineEdit, "totpSecretEdit").parentWidget()
    assert names.index("Secret key:") < next(i for i, c in enumerate(children) if c.object() is secret_row)


def test_a_signed_in_administrator_is_told_when_two_factor_becomes_required(
    qtbot: QtBot, services: Services, admin: Actor, clock: FakeClock, start_app
) -> None:
    from desktop_auth.ui.account_window import two_factor_due

    controller = start_app(services)
    window = sign_in(qtbot, controller, "root@example.com", STRONG_PASSWORD)
    notice = child(window, QLabel, "errorLabel")
    services.app_settings.update(Actor.operator("ops"), require_two_factor_for_admins=True)
    window.check_session()  # as its timer does every 30 seconds, and before each action
    qtbot.waitUntil(lambda: notice.isVisible() and notice.text() == two_factor_due(), timeout=10_000)
    enrollment = services.two_factor.start_enrollment(admin.user_id or 0)
    services.two_factor.enable(
        admin.user_id or 0, STRONG_PASSWORD, enrollment.secret, _code(enrollment.secret, clock)
    )
    window.check_session()
    qtbot.waitUntil(lambda: not notice.isVisible(), timeout=10_000)
