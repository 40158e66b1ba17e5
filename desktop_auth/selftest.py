"""``desktop-auth --self-test``: drive the real app end to end on a throw-away database, offscreen.

Works from source and from the PyInstaller bundle. Prints each check; exit status 0 when all pass.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, TypeVar

if TYPE_CHECKING:
    from PySide6.QtCore import QCoreApplication

W = TypeVar("W")

ADMIN_EMAIL = "selftest-admin@example.com"
USER_EMAIL = "selftest-user@example.com"
ADMIN_PASSWORD = "violet-tundra-quartz-88-lagoon"
USER_PASSWORD = "amber-glacier-piano-71-thistle"


def mysql8_password_crypto() -> None:
    """PyMySQL's caching_sha2_password path, as a MySQL 8 server without TLS asks for it: the password is
    RSA-encrypted with the server's public key. A bundle that lost cryptography's native parts fails here."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    from pymysql import _auth

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    assert len(_auth.sha2_rsa_encrypt(b"password", b"0123456789abcdef0123", public_pem)) == 256


def sources_readable() -> None:
    """The bundle ships the sources the app reads to import its windows ahead of time, a module per turn."""
    from desktop_auth.ui.shell.preload import sources_found

    assert sources_found(), "desktop_auth's sources are not beside the package"


class SelfTest:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.passed = 0

    def check(self, description: str, step: Callable[[], object]) -> None:
        started = time.perf_counter()
        step()
        self.passed += 1
        print(
            f"  ok  {description} ({(time.perf_counter() - started) * 1000:.0f} ms)",
            file=self.out,
            flush=True,
        )


def catalogs_load(app: QCoreApplication) -> None:
    """Each shipped language finds our catalog and Qt's (the bundle must carry both), then back to English."""
    from desktop_auth.ui.shell import i18n

    try:
        for language, cancel in (("de", "Abbrechen"), ("ar", "إلغاء")):
            i18n.install(app, language)
            ours = i18n.translate("LoginDialog", "Sign in")
            assert ours != "Sign in", f"{language}: our catalog did not load"
            qt_context = "QPlatformTheme"  # Qt's words, not ours: a name, so our catalog does not take it in
            qt_cancel = i18n.translate(qt_context, "Cancel")
            assert qt_cancel != "Cancel", f"{language}: Qt's catalog did not load ({cancel!r} expected)"
    finally:
        i18n.install(app, i18n.chosen_language())


def run(out: TextIO = sys.stdout) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings, Qt
    from PySide6.QtWidgets import QApplication, QWidget

    from desktop_auth import __version__
    from desktop_auth.config import load_settings
    from desktop_auth.ui.account_window import AccountWindow
    from desktop_auth.ui.dialogs.first_run import SetupAdminDialog
    from desktop_auth.ui.dialogs.recovery_codes import RecoveryCodesDialog
    from desktop_auth.ui.dialogs.register import NewAccountDialog, RegisterDialog
    from desktop_auth.ui.dialogs.sign_in import LoginDialog
    from desktop_auth.ui.role_editor.columns import COL_EMAIL, COL_ROLE
    from desktop_auth.ui.role_editor.window import RoleEditor
    from desktop_auth.ui.shell.controller import AppController
    from desktop_auth.ui.shell.theme import apply_theme, make_application
    from desktop_auth.ui.shell.waiting import wait_for

    test = SelfTest(out)
    print(f"desktop-auth {__version__} self-test", file=out)
    with tempfile.TemporaryDirectory(prefix="desktop-auth-selftest-") as scratch:
        app = QApplication.instance() or make_application(sys.argv[0])
        assert isinstance(app, QApplication)
        QSettings.setDefaultFormat(QSettings.Format.IniFormat)
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, scratch)
        apply_theme(app)
        database = Path(scratch) / "selftest.sqlite3"
        # The real default hash (scrypt) on purpose: the bundle must carry a working OpenSSL.
        settings = load_settings(
            f"sqlite:///{database}", environ={}, dotenv_files=[], embedded=True, log_dir=Path(scratch)
        )
        controller = AppController(settings)
        try:
            controller.start()

            def current(name: str, kind: type[W]) -> W:
                wait_for(
                    lambda: (
                        isinstance(controller.current, QWidget)
                        and controller.current.objectName() == name
                        and controller.current.isVisible()
                    ),
                    what=name,
                )
                widget = controller.current
                assert isinstance(widget, kind)
                return widget

            def put_away_codes(form: NewAccountDialog) -> None:
                """A new account's first recovery codes, shown over its form: kept (copied), then closed."""
                wait_for(lambda: form.codes_dialog is not None, what="the recovery codes")
                codes = form.codes_dialog
                assert isinstance(codes, RecoveryCodesDialog)
                codes.copy()
                codes.accept()

            def create_admin() -> None:
                setup = current("setupAdminDialog", SetupAdminDialog)
                setup.email_edit.setText(ADMIN_EMAIL)
                setup.password_edit.setText(ADMIN_PASSWORD)
                setup.confirm_edit.setText(ADMIN_PASSWORD)
                setup.submit()
                put_away_codes(setup)
                window = current("accountWindow", AccountWindow)
                assert window.role_value.text() == "admin"
                window.end_session("")

            def register_user() -> None:
                current("loginDialog", LoginDialog)
                controller.login.create_account_requested.emit(USER_EMAIL)
                dialog = current("registerDialog", RegisterDialog)
                dialog.password_edit.setText(USER_PASSWORD)
                dialog.confirm_edit.setText(USER_PASSWORD)
                dialog.submit()
                put_away_codes(dialog)
                current("loginDialog", LoginDialog)
                assert controller.login.email_edit.text() == USER_EMAIL

            def sign_in(email: str, password: str) -> AccountWindow:
                login = current("loginDialog", LoginDialog)
                wait_for(lambda: not controller.login.busy, what="the sign-in form")
                controller.login.email_edit.setText(email)
                controller.login.password_edit.setText(password)
                controller.login.submit()
                assert login is controller.login
                return current("accountWindow", AccountWindow)

            def user_signs_in() -> None:
                window = sign_in(USER_EMAIL, USER_PASSWORD)
                assert not window.is_admin, "a user gets no role editor"
                window.end_session("")

            def admin_changes_a_role() -> None:
                window = sign_in(ADMIN_EMAIL, ADMIN_PASSWORD)
                window.role_editor_button.click()
                editor = current("roleEditor", RoleEditor)
                model = editor.model
                wait_for(lambda: model.total == 2 and not model.loading, what="the user table")
                row = next(
                    r for r in range(model.rowCount()) if model.index(r, COL_EMAIL).data() == USER_EMAIL
                )
                model.setData(model.index(row, COL_ROLE), "admin", Qt.ItemDataRole.EditRole)
                editor.save()
                wait_for(lambda: not model.pending and not model.loading, what="the save")
                assert controller.services is not None
                operator = __import__("desktop_auth.services.records", fromlist=["Actor"]).Actor.operator(
                    "selftest"
                )
                record = controller.services.admin.get_user(operator, USER_EMAIL)
                assert record.role == "admin", f"role is {record.role}"
                editor.close()
                window.end_session("")

            test.check(
                "the database was created and migrated; first run asks for an administrator",
                lambda: current("setupAdminDialog", SetupAdminDialog),
            )
            test.check("created the administrator and signed in (scrypt hash)", create_admin)
            test.check("registered a user from the sign-in dialog", register_user)
            test.check("signed in as the user, without the role editor", user_signs_in)
            test.check(
                "signed in as the administrator, opened the role editor, changed a role, saved",
                admin_changes_a_role,
            )
            test.check(
                "MySQL 8 sign-in can encrypt the password (cryptography loads)", mysql8_password_crypto
            )
            test.check("speaks German and Arabic (our catalogs and Qt's load)", lambda: catalogs_load(app))
            test.check("can read its sources to import windows a module at a time", sources_readable)
        except Exception:
            print("FAILED:", file=out)
            traceback.print_exc(file=out)
            return 1
        finally:
            for widget in QApplication.topLevelWidgets():
                widget.close()
            controller.shutdown()
    print(f"self-test passed: {test.passed} checks", file=out)
    return 0
