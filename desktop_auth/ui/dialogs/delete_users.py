"""Confirming the deletion of accounts (objectName ``deleteUsersDialog``), from the role editor.

It states how many accounts (or which one) and asks the administrator to type the count, or the address
when it is one account, in ``deleteConfirmEdit``; ``deleteConfirmButton`` (or Enter) then deletes them on
the worker (``LifecycleService.delete_users``), all or none. A refusal (the last active administrator,
say) is shown in the dialog and announced; Escape cancels.

The dialog takes the accounts already resolved (``DeletionTargets``): how the caller chose them is its
own affair.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialogButtonBox, QLineEdit, QWidget

from desktop_auth.ui.dialogs.form import FormDialog
from desktop_auth.ui.shell.i18n import isolate, number, translate_n
from desktop_auth.ui.shell.widgets import button

if TYPE_CHECKING:
    from desktop_auth.services.facade import Services
    from desktop_auth.services.records import Actor, DeletionTargets
    from desktop_auth.ui.shell.tasks import TaskRunner

# Thousands, as people type them (U+066C: the Arabic one).
_SEPARATORS = (",", " ", "\u00a0", "\u202f", "'", ".", "\u066c")


def _folded(text: str) -> str:
    return unicodedata.normalize("NFC", text.strip()).casefold()


def _ascii_digits(text: str) -> str:
    """Digits of any script (Arabic-Indic ones, say) as 0-9: a count may be typed as the language writes it."""
    return "".join(str(unicodedata.digit(char)) if char.isdigit() else char for char in text)


class DeleteUsersDialog(FormDialog):
    #: Emitted with how many accounts were deleted.
    deleted = Signal(int)

    def __init__(
        self,
        runner: TaskRunner,
        services: Services,
        actor: Actor,
        targets: DeletionTargets,
        parent: QWidget | None = None,
    ) -> None:
        self.targets = targets
        one = targets.single_email
        count = targets.count
        if one:
            title = self.tr("Delete account")
            question = self.tr("Delete the account {email}?").format(email=isolate(one))
        else:
            title = self.tr("Delete accounts")
            question = translate_n("DeleteUsersDialog", "Delete {n} account?", "Delete {n} accounts?", count)
        super().__init__("deleteUsersDialog", title, question, parent)
        self._runner, self._services, self._actor = runner, services, actor
        self.answer = one if one is not None else str(count)
        # As the person is asked to type it: the count in the language's digits (either kind is accepted).
        self.shown_answer = one if one is not None else number(count)
        if one:
            notice = [
                self.tr(
                    "This cannot be undone. The history keeps what was done by and to it, under the address, "
                    "until an operator erases it."
                )
            ]
        else:
            notice = [
                self.tr(
                    "This cannot be undone. The history keeps what was done by and to them, under the "
                    "address, until an operator erases it."
                )
            ]
            named = ", ".join(isolate(email) for email in targets.emails)
            more = count - len(targets.emails)
            notice.append(
                translate_n(
                    "DeleteUsersDialog",
                    "They include {named} and {n} more.",
                    "They include {named} and {n} more.",
                    more,
                ).format(named=named)
                if more > 0
                else self.tr("They include {named}.").format(named=named)
            )
        if targets.admins:
            count = targets.admins
            notice.append(
                self.tr("It is an administrator.")
                if one
                else translate_n(
                    "DeleteUsersDialog",
                    "{n} of them is an administrator.",
                    "{n} of them are administrators.",
                    count,
                )
            )
        self.show_notice(" ".join(notice))
        self.confirm_edit = QLineEdit()
        self.confirm_edit.setObjectName("deleteConfirmEdit")
        self.confirm_edit.setAccessibleName(
            self.tr("Type {answer} to confirm").format(answer=isolate(self.shown_answer))
        )
        shown = isolate(
            self.shown_answer.replace("&", "&&")
        )  # an address may hold an ampersand: not a mnemonic
        self.confirm_error = self.add_field(
            self.tr("&Type the address, {answer}, to confirm:").format(answer=shown)
            if one
            else self.tr("&Type the number of accounts, {answer}, to confirm:").format(answer=shown),
            self.confirm_edit,
        )
        self.delete_button = self.add_button(
            button(
                self.tr("&Delete account") if one else self.tr("&Delete accounts"),
                "deleteConfirmButton",
                self.tr("Delete the account")
                if one
                else translate_n("DeleteUsersDialog", "Delete {n} account", "Delete {n} accounts", count),
            ),
            QDialogButtonBox.ButtonRole.AcceptRole,
        )
        self.delete_button.setDefault(True)
        self.delete_button.clicked.connect(self.submit)
        self.cancel_button = self.add_button(
            button(self.tr("Cancel"), "cancelButton", self.tr("Cancel")),
            QDialogButtonBox.ButtonRole.RejectRole,
        )
        self.confirm_edit.textChanged.connect(lambda _text: self.confirm_error.clear_message())
        self.confirm_edit.setFocus()

    def confirmed(self) -> bool:
        """Whether the typed text is the answer (an address in any case; a count with or without thousands
        separators)."""
        typed = _folded(self.confirm_edit.text())
        if self.targets.single_email is not None:
            return typed == _folded(self.answer)
        typed = _ascii_digits(typed)
        for separator in _SEPARATORS:
            typed = typed.replace(separator, "")
        return typed == self.answer

    def submit(self) -> None:
        if self.busy:
            return
        self.clear_errors()
        if not self.confirmed():
            answer = isolate(self.shown_answer)
            self.confirm_error.show_message(
                self.tr("Type the address, {answer}, to confirm.").format(answer=answer)
                if self.targets.single_email
                else self.tr("Type the number of accounts, {answer}, to confirm.").format(answer=answer),
                announce_it=True,
            )
            self.confirm_edit.setFocus()
            return
        lifecycle, actor, ids = self._services.lifecycle, self._actor, self.targets.user_ids
        count = len(ids)
        self.set_busy(
            True,
            translate_n("DeleteUsersDialog", "Deleting {n} account…", "Deleting {n} accounts…", count),
        )
        self._runner.run(lambda: lifecycle.delete_users(actor, ids), self._done, self._failed, owner=self)

    def _failed(self, error: BaseException) -> None:
        self.show_failure(error)
        self.cancel_button.setFocus()

    def _done(self, count: int) -> None:
        self.set_busy(False)
        self.deleted.emit(count)
        self.accept()
