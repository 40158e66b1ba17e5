"""Confirming an administrator's reset of a person's two-factor sign-in (objectName ``resetTwoFactorDialog``),
from the role editor's ``resetTwoFactorButton``.

It names the account and says what follows (the password alone signs in until they set up an authenticator
again); ``resetTwoFactorConfirmButton`` (or Enter) removes the factor on the worker
(``TwoFactorService.reset``, audited), Escape or Cancel leaves it. A refusal (no longer an administrator,
the account gone, its factor already removed) is shown in the dialog and announced.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialogButtonBox, QWidget

from desktop_auth.services.errors import NotFoundError, TwoFactorStateError
from desktop_auth.ui.dialogs.form import FormDialog
from desktop_auth.ui.shell.i18n import isolate
from desktop_auth.ui.shell.widgets import button

if TYPE_CHECKING:
    from desktop_auth.services.facade import Services
    from desktop_auth.services.records import Actor
    from desktop_auth.ui.shell.tasks import TaskRunner


class ResetTwoFactorDialog(FormDialog):
    #: Emitted with the address whose factor was removed.
    reset_done = Signal(str)
    #: Emitted when the account changed meanwhile (gone, or its factor already removed): reload the rows.
    selection_stale = Signal()

    def __init__(
        self,
        runner: TaskRunner,
        services: Services,
        actor: Actor,
        email: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            "resetTwoFactorDialog",
            self.tr("Reset two-factor sign-in"),
            self.tr("Reset the two-factor sign-in of {email}?").format(email=isolate(email)),
            parent,
        )
        self._runner, self._services, self._actor = runner, services, actor
        self.email = email
        self.show_notice(
            self.tr(
                "Their authenticator app stops working for this account: until they set one up again in their "
                "account window, the password alone signs in. Do this when they have lost their phone and "
                "their recovery codes, and you are sure the request is theirs. The history records it."
            )
        )
        self.confirm_button = self.add_button(
            button(
                self.tr("&Reset two-factor sign-in"),
                "resetTwoFactorConfirmButton",
                self.tr("Reset the two-factor sign-in of {email}").format(email=isolate(email)),
            ),
            QDialogButtonBox.ButtonRole.AcceptRole,
        )
        self.confirm_button.setDefault(True)
        self.confirm_button.clicked.connect(self.submit)
        self.cancel_button = self.add_button(
            button(self.tr("Cancel"), "cancelButton", self.tr("Cancel")),
            QDialogButtonBox.ButtonRole.RejectRole,
        )

    def submit(self) -> None:
        if self.busy or not self.confirm_button.isEnabled():
            return
        self.clear_errors()
        two_factor, actor, email = self._services.two_factor, self._actor, self.email
        self.set_busy(
            True, self.tr("Resetting the two-factor sign-in of {email}…").format(email=isolate(email))
        )
        self._runner.run(lambda: two_factor.reset(actor, email), self._done, self._failed, owner=self)

    def _failed(self, error: BaseException) -> None:
        self.show_failure(error)
        if isinstance(error, NotFoundError | TwoFactorStateError):
            # Asking again would be refused again: the table shows the account as it is now.
            self.confirm_button.setEnabled(False)
            self.selection_stale.emit()
        self.cancel_button.setFocus()

    def _done(self, _result: object) -> None:
        self.set_busy(False)
        self.reset_done.emit(self.email)
        self.accept()
