# Over 300 lines: the app's window flow in one place (start-up, first run, sign-in, registration, the session, a
# language change); split, the order in which windows replace each other would be read across modules.
"""Which window is on screen, and when: start-up, first run, sign-in, registration, the signed-in session.

The sign-in dialog appears at once; the database layer is loaded and checked behind it on a worker
thread, so the app is usable as soon as the window is. Typing is welcome meanwhile: when the database
says it has no administrator yet, the first run's form replaces the sign-in dialog and carries what was
typed into the same fields (``dialogs/sign_in.py`` says how; a sign-in asked for with Enter meanwhile is
not made, and nothing pressed reaches the new form's default button).

Quitting does not wait for the loading: it is abandoned (``shell/tasks.py``), except a schema upgrade of
the embedded database, which is always finished first.

A language chosen in the account window is installed at once, and the windows are built again in it: the
sign-in dialog (hidden meanwhile) and the account window, for the same session at the same place.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QObject, QTimer, Signal

from desktop_auth.ui.dialogs.sign_in import LoginDialog
from desktop_auth.ui.shell import i18n
from desktop_auth.ui.shell.help import install_help
from desktop_auth.ui.shell.i18n import translate
from desktop_auth.ui.shell.tasks import TaskRunner

if TYPE_CHECKING:
    from PySide6.QtCore import QRect
    from PySide6.QtWidgets import QDialog, QWidget

    from desktop_auth.config import Settings
    from desktop_auth.services.facade import Services
    from desktop_auth.services.records import SignedInUser
    from desktop_auth.ui.account_window import AccountWindow
    from desktop_auth.ui.dialogs.change_password import ChangePasswordDialog
    from desktop_auth.ui.dialogs.sign_in import TypedSoFar
    from desktop_auth.ui.role_editor.window import RoleEditor
    from desktop_auth.ui.startup import StartupState

# Only the sign-in dialog is imported at start-up; every other window loads when first needed, so the
# first window appears sooner.

log = logging.getLogger(__name__)

# Quitting waits this long at most for the work that must finish (a save, an upgrade of the embedded database).
SHUTDOWN_WAIT_MS = 120_000


def _freeze_garbage() -> None:
    """Move everything alive now (modules, the database layer, caches) out of the garbage collector's
    view. A full collection walks every tracked object on whichever thread triggers it, which is often the
    GUI thread: with the database layer loaded that walk alone stalled the window for 50-90 ms. Still
    needed (2026-12-02): without it bench/responsiveness.py saw sign-in stall 105-132 ms on SQLite (target
    50 ms; 17-35 ms with it)."""
    gc.freeze()


#: Windows on their way out, held until Qt has deleted them (see _keep_until_deleted).
_GOING: set[QWidget] = set()


def _keep_until_deleted(widget: QWidget) -> None:
    """Hold ``widget`` until Qt deletes it. Once the app lets go of a window, its wrapper may live on only
    in a reference cycle (a lambda connected to its own signal); a garbage collection that a worker thread
    happens to trigger before Qt's deferred delete would then free it there, and PySide would delete the
    window on that thread: a crash (seen in CI after a language change rebuilt the windows)."""
    _GOING.add(widget)
    widget.destroyed.connect(lambda: _GOING.discard(widget))


def _delete_on_close(widget: QWidget) -> None:
    # Imported here, not with the module: PySide builds its whole Qt enum namespace (~15 ms) on the first
    # import of Qt, and this module is on the way to the first window.
    from PySide6.QtCore import Qt

    widget.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    _keep_until_deleted(widget)


class AppController(QObject):
    """Drives the windows. ``finished`` carries the exit code when the person quits."""

    finished = Signal(int)
    window_changed = Signal(object)  # the dialog or window now in front (for tests and the self-test)

    def __init__(
        self,
        settings: Settings | Callable[[], Settings],
        services: Services | None = None,
        runner: TaskRunner | None = None,
        session_check_ms: int = 30_000,
        idle_timeout_ms: int | None = None,
        database_option: Callable[[], str] = str,
    ) -> None:
        super().__init__()
        # The command line's database option, repeated in the start-up error's suggested command.
        self._database_option = database_option
        # Settings may come as a loader, run on the worker with the database layer, so that the sign-in
        # dialog is on screen before any configuration is read.
        self._settings_source = settings
        self.settings: Settings | None = None if callable(settings) else settings
        self.runner = runner or TaskRunner(self)
        self.services: Services | None = None
        self._given_services = services
        self._session_check_ms = session_check_ms
        self._idle_timeout_override = idle_timeout_ms
        self._idle_timeout_ms = idle_timeout_ms or 15 * 60_000
        self._registration_open = False
        self.login = self._build_login()
        self.window: AccountWindow | None = None
        self.role_editor: RoleEditor | None = None
        self.current: object = None
        self._quitting = False

    def _build_login(self) -> LoginDialog:
        login = LoginDialog(self.runner)
        install_help(login, "signing-in-and-registering")
        login.rejected.connect(lambda: self.finished.emit(0))
        login.signed_in.connect(self._signed_in)
        login.create_account_requested.connect(self._show_register)
        login.second_step_opened.connect(self._second_step)
        return login

    # -- start-up ------------------------------------------------------------------------------------

    def start(self) -> None:
        self._front(self.login)
        self.login.show()
        # Load the database layer once the dialog is on screen: the importing worker would otherwise
        # compete with the first paint for the interpreter.
        QTimer.singleShot(0, self._connect)

    def _connect(self) -> None:
        source, given = self._settings_source, self._given_services

        def load() -> StartupState:
            from desktop_auth.ui.startup import open_database

            settings = source() if callable(source) else source
            state = open_database(settings, given, upgrading=self.runner.finish_before_exit)
            if self._quitting and given is None:  # abandoned, and finished after all: nobody will close it
                state.services.close()
            return state

        # Nobody needs its result once the person quits: quitting does not wait for it (but for an upgrade).
        self.runner.run(load, self._opened, self._open_failed, owner=self.login, abandon_at_exit=True)

    def _opened(self, state: StartupState) -> None:
        self.services = state.services
        self.settings = state.services.settings
        # The database's shared setting wins over this computer's configuration.
        self._idle_timeout_ms = self._idle_timeout_override or state.idle_timeout_minutes * 60_000
        # Handed over first: a sign-in waiting for the database (Enter pressed) must not be made.
        typed = self.login.hand_over() if state.needs_first_admin else None
        self._registration_open = state.registration_open
        self.login.set_services(state.services, state.registration_open)
        if typed is not None:
            self._show_setup(state.services, typed)
        # The windows a sign-in leads to, imported now while the person types.
        self._preload("desktop_auth.ui.account_window", "desktop_auth.ui.dialogs.register")
        _freeze_garbage()

    def _preload(self, *modules: str) -> None:
        """Import windows before they are needed, so that showing them stalls nothing: the order is worked
        out on the worker, the imports are made on the GUI thread a module at a time (``shell/preload.py``)."""
        from desktop_auth.ui.shell.preload import import_in_turns, import_order

        def load(order: list[str]) -> None:
            import_in_turns(order, self, _freeze_garbage, self._preload_failed)

        self.runner.run(lambda: import_order(modules), load, self._preload_failed, abandon_at_exit=True)

    def _preload_failed(self, error: Exception) -> None:
        # Nothing to show: the window imports its modules again when it opens, and fails there if it must.
        log.warning("Loading windows ahead of time failed", exc_info=error)

    def _open_failed(self, error: BaseException) -> None:
        from desktop_auth.ui.dialogs.startup_error import StartupErrorDialog

        log.warning("Start-up failed: %s", error)
        self.login.hide()
        dialog = StartupErrorDialog(error, self._database_option())
        _delete_on_close(dialog)
        dialog.accepted.connect(self._retry)
        dialog.rejected.connect(lambda: self.finished.emit(1))
        self._front(dialog)
        dialog.show()

    def _retry(self) -> None:
        self.login.await_database()
        self._front(self.login)
        self.login.show()
        self._connect()

    # -- first run, registration ---------------------------------------------------------------------

    def _show_setup(self, services: Services, typed: TypedSoFar) -> None:
        from desktop_auth.ui.dialogs.first_run import SetupAdminDialog

        dialog = SetupAdminDialog(self.runner, services)
        _delete_on_close(dialog)
        install_help(dialog, "signing-in-and-registering")
        dialog.succeeded.connect(self._signed_in)
        dialog.taken.connect(lambda message: self._signed_out("", message))
        dialog.sign_in_instead.connect(self._signed_out)
        dialog.rejected.connect(lambda: self.finished.emit(0))
        dialog.take_over(typed)
        # Where the sign-in dialog was, unless it remembers a place of its own: the form changes in place.
        dialog.adjustSize()
        dialog.move(self.login.frameGeometry().center() - dialog.rect().center())
        self._front(dialog)
        dialog.show()
        self.login.forward_keys_to(dialog)

    def _show_register(self, email: str) -> None:
        if self.services is None:
            return
        from desktop_auth.ui.dialogs.register import RegisterDialog

        dialog = RegisterDialog(self.runner, self.services, email)
        _delete_on_close(dialog)
        install_help(dialog, "signing-in-and-registering")
        dialog.succeeded.connect(
            lambda registered: self.login.prefill(
                str(registered), translate("AppController", "Your account is ready. Sign in below.")
            )
        )
        dialog.finished.connect(lambda _result: self._back_to_login())
        self.login.hide()
        self._front(dialog)
        dialog.show()

    def _back_to_login(self) -> None:
        self._front(self.login)
        self.login.show()
        self.login.focus_first_empty()

    def _second_step(self, dialog: QDialog) -> None:
        """The code step of a sign-in (or setting up the authenticator it requires), over the sign-in
        dialog: in front until it closes; a sign-in it completes arrives through the sign-in dialog."""
        install_help(dialog, "two-factor-sign-in")
        dialog.rejected.connect(lambda: self._front(self.login) if self.login.isVisible() else None)
        self._front(dialog)

    # -- the signed-in session -----------------------------------------------------------------------

    def _signed_in(self, user: SignedInUser) -> None:
        assert self.services is not None
        self.login.hide()
        if user.must_change_password:
            from desktop_auth.ui.dialogs.change_password import ChangePasswordDialog

            dialog = ChangePasswordDialog(self.runner, self.services, user.id, user.email, forced=True)
            _delete_on_close(dialog)
            install_help(dialog, "your-account")
            dialog.accepted.connect(lambda: self._open_account(self._with_new_password(user, dialog)))
            dialog.rejected.connect(lambda: self._signed_out(user.email, ""))
            dialog.locked_out.connect(lambda reason: self._signed_out(user.email, reason))
            self._front(dialog)
            dialog.show()
            return
        self._open_account(user)

    @staticmethod
    def _with_new_password(user: SignedInUser, dialog: ChangePasswordDialog) -> SignedInUser:
        from dataclasses import replace

        record = dialog.result_record
        changed_at = record.password_changed_at if record is not None else user.password_changed_at
        return replace(user, must_change_password=False, password_changed_at=changed_at)

    def _open_account(self, user: SignedInUser, geometry: QRect | None = None) -> AccountWindow:
        """The account window for ``user``, shown on the next turn of the event loop; where it was last time,
        or at ``geometry`` and at once (in place of the window it replaces, in another language)."""
        from desktop_auth.ui.account_window import AccountWindow

        assert self.services is not None
        window = AccountWindow(
            self.runner,
            self.services,
            user,
            idle_timeout_ms=self._idle_timeout_ms,
            check_interval_ms=self._session_check_ms,
        )
        _delete_on_close(window)
        if geometry is not None:
            window.setProperty("geometryRestored", "yes")  # not where it was last time: where it is
            window.setGeometry(geometry)
        window.signed_out.connect(lambda reason: self._signed_out(window.sign_in_email, reason))
        window.role_editor_requested.connect(lambda: self._open_role_editor(window.user))
        window.admin_lost.connect(self._close_role_editor)
        window.language_changed.connect(self._change_language)
        self.window = window
        if user.is_admin:
            # Import the role editor's modules now, so opening it later stalls nothing.
            self._preload("desktop_auth.ui.role_editor.window")
        if geometry is not None:
            # At once: the window it replaces closes next, and the app ends when its last window closes.
            self._show_account(window)
            return window
        # Show on the next turn of the event loop: building and first painting a window are each a
        # few tens of ms, and done back to back they would stall the loop past the 50 ms budget.
        QTimer.singleShot(0, lambda: self._show_account(window))
        return window

    def _show_account(self, window: AccountWindow) -> None:
        if self.window is window:
            self._front(window)
            window.show()

    def _signed_out(self, email: str, reason: str) -> None:
        if not shiboken6.isValid(self.login):  # the app is closing: windows close after the sign-in dialog
            return
        self._close_role_editor()
        self.window = None
        self.login.prefill(email, reason)
        self._front(self.login)
        self.login.show()

    def _open_role_editor(self, user: SignedInUser) -> None:
        if self.services is None:
            return
        if self.role_editor is None:
            from desktop_auth.ui.role_editor.table_view import show_with_first_rows
            from desktop_auth.ui.role_editor.window import RoleEditor

            editor = RoleEditor(self.runner, self.services, user.actor)
            _delete_on_close(editor)
            install_help(editor, "changing-many-users-at-once")
            editor.closed.connect(self._role_editor_closed)
            self.role_editor = editor
            # Built now, shown on a later turn of the event loop (two shorter pauses than one long one),
            # when its first rows are in.
            show_with_first_rows(self._show_role_editor, editor.model, editor)
            return
        self._show_role_editor()

    def _show_role_editor(self) -> None:
        if self.role_editor is None:
            return
        self._front(self.role_editor)
        self.role_editor.show()
        self.role_editor.raise_()
        self.role_editor.activateWindow()

    def _role_editor_closed(self) -> None:
        self.role_editor = None
        if self.window is not None:
            self._front(self.window)

    def _close_role_editor(self) -> None:
        if self.role_editor is not None:
            self.role_editor.close_without_asking()
            self.role_editor = None

    # -- the language --------------------------------------------------------------------------------

    def _change_language(self, language: str) -> None:
        """Speak ``language`` from now on: install it, then build the sign-in dialog and the account window
        again in it (the session goes on: closing the old window does not sign out). An open role editor
        closes as it does when its window is closed (asking about unsaved edits; kept open if the person
        says so, in the language it was built in)."""
        from PySide6.QtWidgets import QApplication

        if language == i18n.current_language():
            return
        app = QApplication.instance()
        assert app is not None
        i18n.install(app, language)
        if self.role_editor is not None:
            self.role_editor.close()
        self._rebuild_login()
        old = self.window
        if old is None or self.services is None:
            return
        window = self._open_account(old.session_user, old.geometry())
        old.close_for_rebuild()
        window.language_combo.setFocus()  # where the person was, in the new window

    def _rebuild_login(self) -> None:
        """A new sign-in dialog in the current language, in place of the hidden one (deleted)."""
        old = self.login
        if old.isVisible():  # only rebuilt while it is hidden (a session is open)
            return
        old.blockSignals(True)  # going away is not quitting (its rejected signal ends the app)
        self.login = self._build_login()
        if self.services is not None:
            self.login.set_services(self.services, self._registration_open)
        _keep_until_deleted(old)
        old.deleteLater()

    # -- helpers -------------------------------------------------------------------------------------

    def _front(self, widget: object) -> None:
        self.current = widget
        self.window_changed.emit(widget)

    def shutdown(self) -> None:
        """The app is quitting: wait for the work that must finish, not for the loading (module docstring)."""
        self._quitting = True
        if not self.runner.shutdown(SHUTDOWN_WAIT_MS):
            log.warning(
                "Quitting with background work unfinished after %d s (an interrupted schema upgrade is "
                "rolled back, and runs again at the next start)",
                SHUTDOWN_WAIT_MS // 1000,
            )
        if self.services is not None:
            self.services.close()
        # The interpreter's last garbage collection walks every tracked object: 120-250 ms once the database
        # layer is imported, most of quitting's time. Frozen objects are skipped, as after start-up.
        _freeze_garbage()
