"""The first run (``setupAdminDialog``): a database without an administrator asks for one, then signs in as
them."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

from desktop_auth.errors import DesktopAuthError
from desktop_auth.ui.dialogs.register import NewAccount, NewAccountDialog, first_recovery_codes
from desktop_auth.ui.shell.messages import describe
from desktop_auth.ui.shell.tasks import TaskRunner
from desktop_auth.ui.shell.widgets import button

if TYPE_CHECKING:
    from desktop_auth.services.facade import Services
    from desktop_auth.ui.dialogs.sign_in import TypedSoFar

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NotSignedIn:
    """The administrator was created (and their codes made), but signing them in failed: why."""

    email: str
    error: DesktopAuthError


class SetupAdminDialog(NewAccountDialog):
    """First run: create the administrator, show their first recovery codes, then sign in as them.
    ``succeeded`` carries a SignedInUser.

    ``taken`` fires when another client created the administrator first: this one then goes to sign-in.
    ``sign_in_instead`` (email, message) fires when the account was created but signing in failed (the
    database went away in between): once its codes are put away, the sign-in form says so.
    """

    taken = Signal(str)
    sign_in_instead = Signal(str, str)

    def __init__(self, runner: TaskRunner, services: Services, parent: QWidget | None = None) -> None:
        super().__init__(
            "setupAdminDialog",
            self.tr("Create the administrator account"),
            self.tr(
                "This database has no administrator yet. The account you create here manages everyone else's."
            ),
            button(self.tr("&Create administrator"), "createAdminButton", self.tr("Create administrator")),
            runner,
            services,
            parent,
        )
        self._carried: TypedSoFar | None = None

    def take_over(self, typed: TypedSoFar) -> None:
        """Continue from the sign-in form this dialog replaces: its email and password (masked here too)
        fill the same fields, and once shown the focus and the cursor are where they were, so typing goes
        on where it was."""
        self.email_edit.setText(typed.email)
        self.password_edit.setText(typed.password)
        if typed.email or typed.password:
            self.show_notice(self.tr("What you typed to sign in is kept below."))
        self._carried = typed

    def setVisible(self, visible: bool) -> None:
        super().setVisible(visible)
        # After showing: QDialog.setVisible gives the focus field a tab-reason focus-in, and a line edit
        # takes that as a cue to select all its text (the next key would replace the whole password).
        typed, self._carried = self._carried, None
        if visible and typed is not None:
            self._put_cursor_back(typed)

    def _put_cursor_back(self, typed: TypedSoFar) -> None:
        edit = {"email": self.email_edit, "password": self.password_edit}.get(typed.focus or "")
        if edit is None:  # the focus was on a button, or nowhere (waiting to sign in): the first empty field
            empty = [
                field
                for field in (self.email_edit, self.password_edit, self.confirm_edit)
                if not field.text()
            ]
            (empty[0] if empty else self.submit_button).setFocus()
            return
        edit.setFocus()
        if typed.selection is None:
            edit.deselect()
            edit.setCursorPosition(typed.cursor)
            return
        start, length = typed.selection
        # setSelection leaves the cursor at its second end: start + length, or start when length < 0
        if typed.cursor == start:
            edit.setSelection(start + length, -length)
        else:
            edit.setSelection(start, length)

    def busy_text(self) -> str:
        return self.tr("Creating the administrator…")

    def _failed(self, error: BaseException) -> None:
        from desktop_auth.services.errors import SetupAlreadyDoneError

        if isinstance(error, SetupAlreadyDoneError):
            self.set_busy(False)
            self.taken.emit(describe(error))
            self.accept()
            return
        super()._failed(error)

    def work(self, email: str, password: str) -> NewAccount:
        accounts = self._services.accounts
        record = accounts.create_first_admin(email, password)
        codes = first_recovery_codes(self._services, record.id, password)
        try:
            return NewAccount(accounts.authenticate(email, password), codes)
        except DesktopAuthError as error:  # the account exists: its codes are shown all the same
            log.warning("The first administrator was created; signing in failed: %s", error)
            return NewAccount(NotSignedIn(record.email, error), codes)

    def _finish(self, result: object) -> None:
        if isinstance(result, NotSignedIn):
            self.sign_in_instead.emit(
                result.email,
                self.tr("Your administrator account was created, but signing in failed: {reason}").format(
                    reason=describe(result.error)
                ),
            )
            self.accept()
            return
        super()._finish(result)
