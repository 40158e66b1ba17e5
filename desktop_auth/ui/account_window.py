# Over 300 lines: one window and its eight actions, each opened after a session check and taking its dialog's
# result back; the session rules they all share (checks, idle sign-out, powers lost) are what holds it together.
"""The signed-in window (objectName ``accountWindow``): own account (change password, change email, delete
the account), the language of the app on this computer, help and about, sign out, and the role editor for
administrators.

It never keeps powers it lost: the session is re-checked against the database every ``check_interval_ms``
(30 s) and before each action, and signs out after ``idle_timeout_ms`` without input. The check also brings
the account's address up to date when it was changed elsewhere (the audit names an administrator by the
address their account has when they act: ``services.context.require_admin``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QKeySequence, QWindow
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_auth.ui.dialogs.change_email import ChangeEmailDialog
from desktop_auth.ui.dialogs.change_password import ChangePasswordDialog
from desktop_auth.ui.dialogs.delete_account import DeleteAccountDialog
from desktop_auth.ui.shell import i18n, settings_store
from desktop_auth.ui.shell.announce import announce, show_message
from desktop_auth.ui.shell.help import install_help, open_help
from desktop_auth.ui.shell.i18n import date_time, isolate, render, translate, translate_n
from desktop_auth.ui.shell.messages import describe
from desktop_auth.ui.shell.tasks import TaskRunner
from desktop_auth.ui.shell.theme import icon
from desktop_auth.ui.shell.widgets import AppWindow, button, order_children_as_laid_out, styled_label

if TYPE_CHECKING:
    from desktop_auth.services.facade import Services
    from desktop_auth.services.records import SessionState, SignedInUser
    from desktop_auth.ui.dialogs.two_factor_setup import Enabled

_ACTIVITY_EVENTS = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseMove,
        QEvent.Type.Wheel,
        QEvent.Type.TouchBegin,
    }
)


HELP_SECTION = "your-account"  # README.md's "Your account"


def format_time(moment: datetime | None) -> str:
    """A moment as the GUI shows every moment (local time with its zone); "This is your first sign-in" for none."""
    return (
        date_time(moment) if moment is not None else translate("AccountWindow", "This is your first sign-in")
    )


class _ActivityWatcher(QObject):
    """Restarts the idle timer on keyboard or mouse input in any of the app's windows.

    It filters each window (QWindow) once that window has had focus, not the whole application: input
    reaches a window before its widgets, while an application-wide Python filter sees every event of every
    widget, and converting all those objects made PySide build the enums of ~150 classes at sign-in (25 ms).
    """

    def __init__(self, on_activity: Callable[[], None], parent: QObject) -> None:
        super().__init__(parent)
        self._on_activity: Callable[[], None] | None = on_activity
        app = QGuiApplication.instance()
        assert isinstance(app, QGuiApplication)
        self._app = app
        app.focusWindowChanged.connect(self.watch)
        self.watch(app.focusWindow())

    def watch(self, window: QWindow | None) -> None:
        if window is not None and self._on_activity is not None:
            window.installEventFilter(self)  # Qt keeps one entry per filter, however often installed

    def stop(self) -> None:
        self._on_activity = None
        self._app.focusWindowChanged.disconnect(self.watch)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if self._on_activity is not None and event.type() in _ACTIVITY_EVENTS:
            self._on_activity()
        return False


def two_factor_due() -> str:
    return translate(
        "AccountWindow",
        "Administrators must now use two-factor sign-in: set it up with Two-factor sign-in… (Alt+T) to go on "
        "administering.",
    )


class AccountWindow(AppWindow, QMainWindow):
    signed_out = Signal(str)  # why ("" when the person chose to sign out)
    role_editor_requested = Signal()
    admin_lost = Signal()  # the account is no longer an administrator: close admin windows
    #: The person chose a language (or the system's): carries the language the app should now speak.
    language_changed = Signal(str)

    def __init__(
        self,
        runner: TaskRunner,
        services: Services,
        user: SignedInUser,
        idle_timeout_ms: int,
        check_interval_ms: int = 30_000,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("accountWindow")
        self.setWindowTitle(self.tr("{email} — desktop-auth").format(email=isolate(user.email)))
        self.setAccessibleName(self.tr("Your account"))
        self._runner = runner
        self._services = services
        self.user = user
        self._password_changed_at = user.password_changed_at
        # Session checks asked, and the newest whose answer was applied (``check_session``).
        self._checks_asked = self._checks_applied = 0
        self._ended = False
        self._deleted = False
        self.recovery_codes_dialog: QWidget | None = None  # the codes made on turning on two-factor sign-in

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(24, 20, 24, 20)
        layout.setSpacing(14)
        header = QHBoxLayout()
        avatar = QLabel()
        avatar.setPixmap(icon("user").pixmap(40, 40))
        avatar.setAccessibleName(self.tr("Account"))
        header.addWidget(avatar, 0, Qt.AlignmentFlag.AlignTop)
        titles = QVBoxLayout()
        titles.addWidget(styled_label(self.tr("Your account"), "title", "titleLabel"))
        titles.addWidget(styled_label(self.tr("You are signed in."), "subtitle", "subtitleLabel"))
        header.addLayout(titles, 1)
        layout.addLayout(header)

        details = QFormLayout()
        details.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.email_value = self._value(details, self.tr("Email:"), "emailValue", user.email)
        self.role_value = self._value(details, self.tr("Role:"), "roleValue", user.role)
        self.last_sign_in_value = self._value(
            details, self.tr("Last sign-in:"), "lastSignInValue", format_time(user.previous_login_at)
        )
        self.two_factor_value = self._value(details, self.tr("Two-factor sign-in:"), "twoFactorValue", "…")
        self.language_note: QLabel | None = None
        self.language_combo = self._language_choice(details)
        layout.addLayout(details)

        self.notice_label = styled_label("", "error", "errorLabel")  # its name is its text: no accessibleName
        self.notice_label.hide()
        layout.addWidget(self.notice_label)
        layout.addStretch(1)

        actions = QHBoxLayout()  # the account's own actions
        self.change_password_button = button(
            self.tr("&Change password…"), "changePasswordButton", self.tr("Change password"), "key"
        )
        self.change_email_button = button(
            self.tr("Change &email…"), "changeEmailButton", self.tr("Change email address")
        )
        self.delete_account_button = button(
            self.tr("&Delete account…"), "deleteAccountButton", self.tr("Delete your account")
        )
        self.role_editor_button = button(
            self.tr("&Role editor…"), "roleEditorButton", self.tr("Open the role editor"), "roles"
        )
        self.help_button = button(self.tr("&Help"), "helpButton", self.tr("Help"))
        self.help_button.setToolTip(self.tr("Help for this window (F1)"))
        self.about_button = button(self.tr("&About…"), "aboutButton", self.tr("About desktop-auth"))
        self.sign_out_button = button(self.tr("Sign &out"), "signOutButton", self.tr("Sign out"), "sign-out")
        # The Ctrl shortcuts are actions of the window: a button's setShortcut would replace the shortcut of
        # its underlined letter (Alt+C, Alt+R, Alt+O), which then did nothing.
        for push, keys in (
            (self.change_password_button, "Ctrl+Shift+P"),
            (self.role_editor_button, "Ctrl+E"),
            (self.sign_out_button, "Ctrl+Shift+Q"),
        ):
            self._shortcut(push, keys)
        actions.addWidget(self.change_password_button)
        actions.addWidget(self.change_email_button)
        from desktop_auth.ui.dialogs.recovery_codes import open_recovery_codes

        self.recovery_codes_button = button(
            self.tr("Recover&y codes…"), "recoveryCodesButton", self.tr("Recovery codes")
        )
        self.recovery_codes_button.clicked.connect(
            lambda: self._after_check(lambda: open_recovery_codes(self, runner, services, user.id))
        )
        actions.addWidget(self.recovery_codes_button)
        self.two_factor_on: bool | None = None  # not known yet
        self.two_factor_button = button(
            self.tr("&Two-factor sign-in…"), "twoFactorButton", self.tr("Two-factor sign-in")
        )
        self.two_factor_button.clicked.connect(lambda: self._after_check(self._open_two_factor))
        actions.addWidget(self.two_factor_button)
        # (further actions on the account go here, before the stretch)
        actions.addStretch(1)
        actions.addWidget(self.delete_account_button)
        layout.addLayout(actions)
        more = QHBoxLayout()  # the rest: administration, help, leaving
        more.addWidget(self.role_editor_button)
        more.addWidget(self.help_button)
        more.addWidget(self.about_button)
        more.addStretch(1)
        more.addWidget(self.sign_out_button)
        layout.addLayout(more)
        self.setCentralWidget(central)
        order_children_as_laid_out(central)  # the accessibility tree in the order shown
        # What the status bar says is announced too (e.g. "Your password was changed.").
        self.statusBar().messageChanged.connect(lambda text: announce(self.statusBar(), text))
        self.statusBar().showMessage(self.tr("Signed in as {email}").format(email=isolate(user.email)))
        # No fixed minimum: the layout's own (every button's whole text) is the window's, so a narrow
        # remembered geometry cannot squeeze the buttons and clip their words.
        self._apply_role(user.role)

        self.change_password_button.clicked.connect(lambda: self._after_check(self._open_change_password))
        self.role_editor_button.clicked.connect(lambda: self._after_check(self._open_role_editor))
        self.change_email_button.clicked.connect(lambda: self._after_check(self._open_change_email))
        self.delete_account_button.clicked.connect(lambda: self._after_check(self._open_delete_account))
        self.help_button.clicked.connect(lambda: open_help(HELP_SECTION))
        self.about_button.clicked.connect(self._open_about)
        self.sign_out_button.clicked.connect(lambda: self.end_session(""))
        install_help(self, HELP_SECTION)

        self.idle_timer = QTimer(self)
        self.idle_timer.setSingleShot(True)
        self.idle_timer.setInterval(idle_timeout_ms)
        minutes = max(1, round(idle_timeout_ms / 60_000))
        self.idle_timer.timeout.connect(
            lambda: self.end_session(
                translate_n(
                    "AccountWindow",
                    "You were signed out after {n} minute without activity.",
                    "You were signed out after {n} minutes without activity.",
                    minutes,
                )
            )
        )
        self._watcher = _ActivityWatcher(self.idle_timer.start, self)
        self.idle_timer.start()

        self.check_timer = QTimer(self)
        self.check_timer.setInterval(check_interval_ms)
        self.check_timer.timeout.connect(lambda: self.check_session())
        self.check_timer.start()
        self._ask_two_factor()

    def _shortcut(self, push: QPushButton, keys: str) -> None:
        action = QAction(push.accessibleName(), self)
        action.setShortcut(QKeySequence(keys))
        action.triggered.connect(lambda: push.click() if push.isVisible() and push.isEnabled() else None)
        self.addAction(action)
        keys_shown = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        push.setToolTip(self.tr("{action} ({keys})").format(action=push.accessibleName(), keys=keys_shown))

    @staticmethod
    def _value(form: QFormLayout, caption: str, name: str, text: str) -> QLabel:
        """A value shown under a caption. It has no accessibleName, so screen readers read the value
        itself; the caption is its label (its buddy: AT-SPI's labelled-by relation)."""
        label = styled_label(text, "value", name)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        caption_label = QLabel(caption)
        caption_label.setBuddy(label)
        form.addRow(caption_label, label)
        return label

    # -- the language ----------------------------------------------------------------------------------

    def _language_choice(self, form: QFormLayout) -> QComboBox:
        """``languageCombo``: the system's language or one of ours, remembered on this computer. A note under
        it says when ``DESKTOP_AUTH_LANGUAGE`` decides instead, for now."""
        combo = QComboBox()
        combo.setObjectName("languageCombo")
        combo.setAccessibleName(self.tr("Language"))
        combo.addItem(self.tr("System default"), "")
        for code, name in i18n.LANGUAGES.items():  # each in its own language: its speakers find it
            combo.addItem(name, code)
        saved = i18n.saved_language()
        combo.setCurrentIndex(max(0, combo.findData(saved)) if saved else 0)
        caption = QLabel(self.tr("&Language:"))
        caption.setBuddy(combo)
        field = QWidget()
        column = QVBoxLayout(field)
        column.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(combo)
        row.addStretch(1)
        column.addLayout(row)
        if i18n.supported(os.environ.get(i18n.LANGUAGE_ENV)) is not None:
            self.language_note = styled_label(
                self.tr(
                    "The DESKTOP_AUTH_LANGUAGE environment variable decides the language for now: your choice "
                    "applies once it is unset."
                ),
                "subtitle",
                "languageNote",
            )
            column.addWidget(self.language_note)
        form.addRow(caption, field)
        combo.currentIndexChanged.connect(self._language_chosen)
        return combo

    def _language_chosen(self, index: int) -> None:
        code = self.language_combo.itemData(index)
        if isinstance(code, str) and code:
            i18n.save_language(code)
        else:  # the system's: no choice of this computer's any more
            QSettings().remove(i18n.LANGUAGE_KEY)
        self.language_changed.emit(i18n.chosen_language())

    def _apply_role(self, role: str) -> None:
        from desktop_auth.constants import ADMIN_ROLE

        was_admin = self.role_value.text() == ADMIN_ROLE
        self.role_value.setText(role)
        self.role_editor_button.setVisible(role == ADMIN_ROLE)
        self.role_editor_button.setEnabled(role == ADMIN_ROLE)
        if was_admin and role != ADMIN_ROLE:
            self.admin_lost.emit()

    @property
    def is_admin(self) -> bool:
        return self.role_editor_button.isVisible()

    # -- session checks ------------------------------------------------------------------------------

    def check_session(self, then: Callable[[], None] | None = None) -> None:
        """Ask the database whether this session may go on; sign out or drop admin powers if not."""
        services, user_id, changed_at = self._services, self.user.id, self._password_changed_at
        self._checks_asked += 1
        asked = self._checks_asked

        def checked(state: SessionState) -> None:
            if not state.valid and changed_at != self._password_changed_at:
                # Asked before this window changed its own password, answered after: "changed elsewhere" is
                # about that change. Ask again, with the new one.
                self.check_session(then)
                return
            if not state.valid:
                self.end_session(render(state.reason) if state.reason else self.tr("Your session ended."))
                return
            # Checks run side by side on the pool (the timer, the check before each action): an older answer
            # can come last, and must not put back an address or a role a newer one (or this window) replaced.
            if asked > self._checks_applied:
                self._checks_applied = asked
                if state.email is not None and state.email != self.user.email:  # renamed elsewhere
                    self._show_email(state.email)
                self._apply_role(state.role or "")
                self._say_two_factor_due(state.two_factor_due)
            if then is not None:
                then()

        def failed(error: BaseException) -> None:
            show_message(self.notice_label, describe(error))

        self._runner.run(
            lambda: services.accounts.check_session(user_id, changed_at), checked, failed, owner=self
        )

    def _say_two_factor_due(self, due: bool) -> None:
        """Two-factor sign-in became required of administrators during this session: say what to do (the
        services refuse every administrative action meanwhile)."""
        said = two_factor_due()
        if due and self.notice_label.text() != said:
            show_message(self.notice_label, said)
        elif not due and self.notice_label.text() == said:
            show_message(self.notice_label, "")

    def _after_check(self, action: Callable[[], None]) -> None:
        self.check_session(then=action)

    def _open_change_password(self) -> None:
        dialog = ChangePasswordDialog(
            self._runner, self._services, self.user.id, self.user.email, parent=self
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        install_help(dialog, HELP_SECTION)
        dialog.accepted.connect(lambda: self._password_changed(dialog))
        dialog.locked_out.connect(self.end_session)
        dialog.open()

    def _password_changed(self, dialog: ChangePasswordDialog) -> None:
        if dialog.result_record is not None:
            self._password_changed_at = dialog.result_record.password_changed_at
            self.statusBar().showMessage(self.tr("Your password was changed."), 10_000)

    # -- two-factor sign-in (dialogs/two_factor_setup.py) ---------------------------------------------

    def _ask_two_factor(self, then: Callable[[], None] | None = None) -> None:
        services, user_id = self._services, self.user.id

        def known(on: bool) -> None:
            self._show_two_factor(on)
            if then is not None:
                then()

        def failed(error: BaseException) -> None:
            if then is not None:  # asked for: say why nothing opens (at start the value just stays unknown)
                show_message(self.notice_label, describe(error))

        self._runner.run(lambda: services.two_factor.has_factor(user_id), known, failed, owner=self)

    def _show_two_factor(self, on: bool) -> None:
        self.two_factor_on = on
        self.two_factor_value.setText(self.tr("On") if on else self.tr("Off"))
        self.two_factor_button.setAccessibleName(
            self.tr("Two-factor sign-in (on)") if on else self.tr("Two-factor sign-in (off)")
        )
        self.two_factor_button.setToolTip(
            self.tr("Two-factor sign-in is on: turn it off")
            if on
            else self.tr("Two-factor sign-in is off: turn it on")
        )

    def _open_two_factor(self) -> None:
        """Ask the database first (an administrator may have reset it meanwhile), then on or off."""
        self._ask_two_factor(then=self._open_two_factor_dialog)

    def _open_two_factor_dialog(self) -> None:
        from desktop_auth.ui.dialogs.two_factor_setup import TwoFactorOffDialog, TwoFactorSetupDialog

        dialog: TwoFactorOffDialog | TwoFactorSetupDialog
        if self.two_factor_on:
            dialog = TwoFactorOffDialog(self._runner, self._services, self.user.id, parent=self)
            dialog.accepted.connect(self._two_factor_turned_off)
        else:
            dialog = TwoFactorSetupDialog(self._runner, self._services, user_id=self.user.id, parent=self)
            dialog.enabled.connect(self._two_factor_turned_on)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        install_help(dialog, "two-factor-sign-in")
        dialog.locked_out.connect(self.end_session)
        dialog.open()

    def _two_factor_turned_off(self) -> None:
        self._show_two_factor(False)
        self.statusBar().showMessage(
            self.tr("Two-factor sign-in is off: signing in asks for your password only."), 10_000
        )

    def _two_factor_turned_on(self, result: Enabled) -> None:
        from desktop_auth.ui.dialogs.recovery_codes import RecoveryCodesDialog

        self._show_two_factor(True)
        if result.codes_left:
            count = result.codes_left
            said = translate_n(
                "AccountWindow",
                "Two-factor sign-in is on: signing in now asks for a code from your authenticator app. You have "
                "{n} recovery code.",
                "Two-factor sign-in is on: signing in now asks for a code from your authenticator app. You have "
                "{n} recovery codes.",
                count,
            )
        elif result.codes_problem is not None:
            said = self.tr(
                "Two-factor sign-in is on: signing in now asks for a code from your authenticator app. No "
                "recovery codes were made: {problem}"
            ).format(problem=describe(result.codes_problem))
        else:
            said = self.tr(
                "Two-factor sign-in is on: signing in now asks for a code from your authenticator app."
            )
        self.statusBar().showMessage(said, 15_000)
        if result.issued is not None:  # none left: the new ones, shown once
            codes = RecoveryCodesDialog(
                self._runner, self._services, self.user.id, result.issued, parent=self
            )
            codes.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            codes.locked_out.connect(self.end_session)
            self.recovery_codes_dialog = codes
            codes.open()

    def _open_change_email(self) -> None:
        dialog = ChangeEmailDialog(self._runner, self._services, self.user.id, self.user.email, parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self._email_changed(dialog))
        dialog.locked_out.connect(self.end_session)
        dialog.open()

    def _email_changed(self, dialog: ChangeEmailDialog) -> None:
        record = dialog.result_record
        if record is not None:
            self._checks_applied = self._checks_asked  # checks asked before this change answer too early
            self._show_email(record.email)

    def _show_email(self, email: str) -> None:
        """The account's address is now ``email`` (changed in this window, or elsewhere): shown, kept for the
        calls that follow (``user``), and said."""
        old = self.user.email
        self.user = replace(self.user, email=email)
        self.email_value.setText(email)
        self.setWindowTitle(self.tr("{email} — desktop-auth").format(email=isolate(email)))
        if settings_store.last_email() == old:  # this computer remembers the address it signs in with
            settings_store.remember_email(email)
        self.statusBar().showMessage(
            self.tr("Your email address is now {email}.").format(email=isolate(email)), 10_000
        )

    def _open_delete_account(self) -> None:
        dialog = DeleteAccountDialog(self._runner, self._services, self.user.id, self.user.email, parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.deleted.connect(self._account_deleted)
        dialog.locked_out.connect(self.end_session)
        dialog.open()

    def _account_deleted(self, email: str) -> None:
        self._deleted = True
        if settings_store.last_email() == email:
            settings_store.remember_email("")
        self.end_session(self.tr("Your account {email} was deleted.").format(email=isolate(email)))

    @property
    def sign_in_email(self) -> str:
        """The address the sign-in dialog offers after this session: none once the account is deleted."""
        return "" if self._deleted else self.user.email

    def _open_about(self) -> None:
        from desktop_auth.ui.dialogs.about import AboutDialog

        dialog = AboutDialog(self._runner, self._services, parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def _open_role_editor(self) -> None:
        if self.is_admin:
            self.role_editor_requested.emit()

    @property
    def session_user(self) -> SignedInUser:
        """The signed-in user as this session knows it now (its address and password change included): what
        a window opened for the same session (in another language) starts from."""
        return replace(self.user, password_changed_at=self._password_changed_at)

    def end_session(self, reason: str) -> None:
        if not self._ended:
            self._finish(reason)
            self.close()

    def close_for_rebuild(self) -> None:
        """Close without signing out: the same session goes on in a new window (another language)."""
        if not self._ended:
            self._stop()
        self.close()

    def _stop(self) -> None:
        self._ended = True
        self.idle_timer.stop()
        self.check_timer.stop()
        self._watcher.stop()

    def _finish(self, reason: str) -> None:
        self._stop()
        self.signed_out.emit(reason)

    # -- window state --------------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        settings_store.save_geometry(self)
        if not self._ended:  # closing the window signs out
            self._finish("")
        super().closeEvent(event)
