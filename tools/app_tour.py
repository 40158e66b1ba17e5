"""A tour of the app: every window and dialog, with the real widgets and services on a throw-away SQLite
database, each in a telling state (a refused sign-in, a weak password, unsaved edits, a locked account…).

``docs/render_screenshots.py`` saves each to PNG; the translation tests (tests/test_translated_layout.py) look
at each in the pseudo-translation, German and Arabic for clipped and untranslated text.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtWidgets import QApplication, QWidget

from desktop_auth.ui.shell import i18n

PASSWORD = "violet-tundra-quartz-88-lagoon"
ROLE_DESCRIPTIONS = {
    "en": ("Reads the history and exports it", "Manages accounts, roles and shared settings"),
    "de": ("Liest den Verlauf und exportiert ihn", "Verwaltet Konten, Rollen und gemeinsame Einstellungen"),
    "ar": ("يقرأ السجل ويصدّره", "يدير الحسابات والأدوار والإعدادات المشتركة"),
}


def wait(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def wait_for(condition: Callable[[], bool], timeout_ms: int = 10_000) -> None:
    waited = 0
    while not condition():
        if waited > timeout_ms:
            raise TimeoutError("the app did not reach the expected state")
        wait(20)
        waited += 20


def _show(visit: Callable[[QWidget, str], None], widget: QWidget, name: str) -> None:
    widget.show()
    wait(60)
    visit(widget, name)


def tour(visit: Callable[[QWidget, str], None], theme: str, workdir: Path) -> None:
    """Open every window and dialog in a telling state, one after another, and ``visit`` each while it is
    on screen (laid out and painted), with its name. ``theme`` is "light" or "dark"; the database is a new
    SQLite file in ``workdir``."""
    from desktop_auth.config import Settings
    from desktop_auth.db import migrate
    from desktop_auth.db.errors import DatabaseUnavailableError
    from desktop_auth.services.facade import Services
    from desktop_auth.services.records import Actor, SignedInUser
    from desktop_auth.ui.account_window import AccountWindow
    from desktop_auth.ui.dialogs.change_password import ChangePasswordDialog
    from desktop_auth.ui.dialogs.first_run import SetupAdminDialog
    from desktop_auth.ui.dialogs.register import RegisterDialog
    from desktop_auth.ui.dialogs.sign_in import LoginDialog
    from desktop_auth.ui.dialogs.startup_error import StartupErrorDialog
    from desktop_auth.ui.shell.tasks import TaskRunner
    from desktop_auth.ui.shell.theme import apply_theme

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    apply_theme(app, Qt.ColorScheme.Dark if theme == "dark" else Qt.ColorScheme.Light)
    settings = Settings(
        database_url=f"sqlite:///{workdir / f'{theme}.sqlite3'}",
        hash_method="pbkdf2:sha256:1000",
        allow_weak_hash_for_tests=True,
    )
    services = Services(settings)
    migrate.upgrade(services.database)
    runner = TaskRunner()

    setup = SetupAdminDialog(runner, services)
    setup.email_edit.setText("admin@example.com")
    setup.password_edit.setText("correct horse battery staple")
    wait_for(lambda: setup.meter.report is not None)
    _show(visit, setup, "setup-admin")
    setup.close()

    admin = services.accounts.create_first_admin("admin@example.com", PASSWORD)

    login = LoginDialog(runner)
    login.set_services(services, registration_open=True)
    login.email_edit.setText("admin@example.com")
    login.password_edit.setText("not my password")
    login.submit()
    wait_for(lambda: not login.busy)
    _show(visit, login, "sign-in")
    for _attempt in range(services.settings.lockout_threshold):  # until the address locks: the countdown
        login.submit()
        wait_for(lambda: not login.busy)
    _show(visit, login, "sign-in-locked")
    login.close()
    services.admin.unlock(Actor(admin.id, admin.email), [admin.email])

    from desktop_auth.ui.dialogs.reset_password import ResetPasswordDialog

    forgot = ResetPasswordDialog(runner, services, "admin@example.com")
    forgot.code_edit.setText("k7md-9xqz-4hvp-2wcn")
    forgot.password_edit.setText("maple-harbor-velvet-19-comet")
    forgot.confirm_edit.setText("maple-harbor-velvet-19-comet")
    wait_for(lambda: forgot.meter.report is not None)
    forgot.submit()  # no such code: the one answer, under the code's field
    wait_for(lambda: not forgot.busy)
    _show(visit, forgot, "forgot-password")
    forgot.close()

    register = RegisterDialog(runner, services, "new.person@example")
    register.email_edit.editingFinished.emit()
    register.password_edit.setText("password1234")
    register.confirm_edit.setText("password123")
    wait_for(lambda: register.meter.report is not None)
    _show(visit, register, "register")
    register.close()

    user = SignedInUser(
        admin.id, admin.email, "admin", admin.created_at, 12, False, admin.password_changed_at
    )
    window = AccountWindow(runner, services, user, idle_timeout_ms=15 * 60_000)
    window.resize(window.sizeHint().expandedTo(window.minimumSize()).width(), 360)
    _show(visit, window, "account")

    change = ChangePasswordDialog(runner, services, admin.id, admin.email, parent=window)
    change.current_edit.setText(PASSWORD)
    change.password_edit.setText("maple-harbor-velvet-19-comet")
    change.confirm_edit.setText("maple-harbor-velvet-19-comet")
    wait_for(lambda: change.meter.report is not None)
    _show(visit, change, "change-password")
    change.close()

    from desktop_auth.ui.dialogs.about import AboutDialog
    from desktop_auth.ui.dialogs.change_email import ChangeEmailDialog
    from desktop_auth.ui.dialogs.delete_account import DeleteAccountDialog

    new_email = ChangeEmailDialog(runner, services, admin.id, admin.email, parent=window)
    new_email.email_edit.setText("ada.admin@example.com")
    new_email.current_edit.setText(PASSWORD)
    _show(visit, new_email, "change-email")
    new_email.close()
    delete = DeleteAccountDialog(runner, services, admin.id, admin.email, parent=window)
    delete.current_edit.setText(PASSWORD)
    delete.submit()  # the only administrator: refused, and the dialog says why
    wait_for(lambda: not delete.busy)
    _show(visit, delete, "delete-account")
    delete.close()
    about = AboutDialog(runner, services, parent=window)
    wait_for(lambda: not about.busy)
    _show(visit, about, "about")
    about.close()
    from desktop_auth.ui.dialogs.recovery_codes import RecoveryCodesDialog

    issued = services.recovery.generate(admin.id, PASSWORD)
    codes = RecoveryCodesDialog(runner, services, admin.id, issued, parent=window)
    _show(visit, codes, "recovery-codes")
    codes.kept = True  # closing would ask first
    codes.close()
    window.end_session("")

    from desktop_auth.ui.role_editor.columns import COL_ACTIVE, COL_ROLE
    from desktop_auth.ui.role_editor.window import RoleEditor

    actor = Actor(admin.id, admin.email)
    services.roles.add_role(actor, "auditor")
    for name in ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"):
        services.accounts.register(f"{name}@example.com", PASSWORD)
    services.admin.set_role(actor, "bob@example.com", "auditor")
    services.admin.set_active(actor, "judy@example.com", False)
    # What an administrator would type, in their own language (descriptions are data, not ours to translate).
    auditor, admins = ROLE_DESCRIPTIONS.get(i18n.current_language(), ROLE_DESCRIPTIONS["en"])
    services.roles.describe_role(actor, "auditor", auditor)
    services.roles.describe_role(actor, "admin", admins)
    services.admin.reset_password(actor, [services.admin.get_user(actor, "carol@example.com").id])
    editor = RoleEditor(runner, services, actor)
    # Wide enough for every column, the lifecycle ones included (they are not part of the minimum width);
    # after show(), which restores the geometry the first theme's pass left behind.
    editor.show()
    editor.resize(
        editor.minimumSizeHint().width() + editor.table.full_width - editor.table.minimumWidth(), 560
    )
    wait_for(lambda: editor.model.total is not None and not editor.model.loading)
    model = editor.model
    model.setData(model.index(3, COL_ROLE), "admin", Qt.ItemDataRole.EditRole)
    model.setData(model.index(5, COL_ACTIVE), Qt.CheckState.Unchecked.value, Qt.ItemDataRole.CheckStateRole)
    editor.select_rows([7, 8])
    _show(visit, editor, "role-editor-users")
    for index, name in ((1, "roles"), (2, "settings"), (3, "history")):
        editor.tabs.setCurrentIndex(index)
        wait(300)
        runner.wait()
        wait(100)
        if name == "roles":
            editor.roles_tab.view.selectRow(1)  # auditor: its name and description in the fields below
            wait(50)
        _show(visit, editor, f"role-editor-{name}")
    from desktop_auth.ui.dialogs.import_users import ImportUsersDialog

    people = workdir / f"people-{theme}.csv"
    people.write_text(
        'email,role\nkim@example.com,user\nlee@example.com,auditor\n=HYPERLINK("http://x"),user\n'
        "alice@example.com,user\nmia@example.com,boss\nnoor@example.com,user\nKim@Example.com,admin\n",
        encoding="utf-8",
    )
    from desktop_auth.services.records import DeletionTargets
    from desktop_auth.ui.dialogs.create_user import CreateUserDialog
    from desktop_auth.ui.dialogs.delete_users import DeleteUsersDialog

    create = CreateUserDialog(runner, services, actor, ["admin", "auditor", "user"], parent=editor)
    create.show()
    create.email_edit.setText(f"new.hire.{theme}@example.com")
    create.submit()
    wait_for(lambda: not create.busy)
    runner.wait()
    wait(100)
    _show(visit, create, "create-user")
    create.close()
    doomed = [services.admin.get_user(actor, f"{name}@example.com") for name in ("ivan", "judy")]
    delete_many = DeleteUsersDialog(
        runner,
        services,
        actor,
        DeletionTargets(tuple(user.id for user in doomed), tuple(user.email for user in doomed)),
        parent=editor,
    )
    delete_many.show()
    wait(50)
    _show(visit, delete_many, "delete-users")
    delete_many.close()
    importing = ImportUsersDialog(runner, services, actor, parent=editor)
    importing.load(str(people))
    wait_for(lambda: not importing.busy)
    _show(visit, importing, "import-users")
    importing.close()
    editor.model.discard()
    editor.close()

    # Two-factor sign-in, last: the administrator's factor would show in the role editor's 2FA column.
    from datetime import UTC, datetime

    from desktop_auth.security import totp
    from desktop_auth.services.errors import SecondFactorRequiredError
    from desktop_auth.ui.dialogs.totp_code import TotpCodeDialog
    from desktop_auth.ui.dialogs.two_factor_setup import TwoFactorSetupDialog

    enroll = TwoFactorSetupDialog(runner, services, user_id=admin.id)
    wait_for(lambda: enroll.uri is not None and not enroll.busy)
    enroll.current_edit.setText(PASSWORD)  # type: ignore[union-attr]
    enroll.code_edit.setText("492 81")
    enroll.submit()  # five digits: said under the code
    _show(visit, enroll, "two-factor-setup")
    enroll.close()
    enrollment = services.two_factor.start_enrollment(admin.id)
    now = totp.step_at(datetime.now(UTC))
    services.two_factor.enable(admin.id, PASSWORD, enrollment.secret, totp.code_for(enrollment.secret, now))
    try:
        services.accounts.authenticate(admin.email, PASSWORD)
        raise AssertionError("the code step was expected")
    except SecondFactorRequiredError as asked:
        challenge = asked.challenge
    step = TotpCodeDialog(runner, services, challenge)
    step.code_edit.setText(totp.code_for(enrollment.secret, now))  # used to enroll: a code works once
    step.submit()
    wait_for(lambda: not step.busy)
    _show(visit, step, "two-factor-code")
    step.close()

    from desktop_auth.messages import message

    # As desktop_auth/db/engine.py words it: our sentence around the driver's own (which stays as it is).
    error = StartupErrorDialog(
        DatabaseUnavailableError(
            message("DatabaseErrors", "The database is unavailable ({location}): {detail}").format(
                location="mysql+pymysql://app:***@db.example.com/accounts",
                detail="Can't connect to MySQL server on 'db.example.com'",
            )
        )
    )
    _show(visit, error, "database-unavailable")
    error.close()

    runner.wait()
    services.close()
