"""The first run (``setupAdminDialog``): a database without an administrator asks for one, then signs in as
them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

from desktop_auth.ui.dialogs.register import NewAccountDialog
from desktop_auth.ui.shell.tasks import TaskRunner
from desktop_auth.ui.shell.widgets import button

if TYPE_CHECKING:
    from desktop_auth.services.facade import Services


class SetupAdminDialog(NewAccountDialog):
    """First run: create the administrator, then sign in as them. ``succeeded`` carries a SignedInUser.

    ``taken`` fires when another client created the administrator first: this one then goes to sign-in.
    """

    taken = Signal(str)

    def __init__(self, runner: TaskRunner, services: Services, parent: QWidget | None = None) -> None:
        super().__init__(
            "setupAdminDialog",
            "Create the administrator account",
            "This database has no administrator yet. The account you create here manages everyone else's.",
            button("&Create administrator", "createAdminButton", "Create administrator"),
            runner,
            services,
            parent,
        )

    def busy_text(self) -> str:
        return "Creating the administrator…"

    def _failed(self, error: BaseException) -> None:
        from desktop_auth.services.errors import SetupAlreadyDoneError

        if isinstance(error, SetupAlreadyDoneError):
            self.set_busy(False)
            self.taken.emit(error.message)
            self.accept()
            return
        super()._failed(error)

    def work(self, email: str, password: str) -> object:
        accounts = self._services.accounts
        accounts.create_first_admin(email, password)
        return accounts.authenticate(email, password)
