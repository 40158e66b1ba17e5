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
from desktop_auth.ui.shell import words
from desktop_auth.ui.shell.widgets import button

if TYPE_CHECKING:
    from desktop_auth.services.facade import Services
    from desktop_auth.services.records import Actor, DeletionTargets
    from desktop_auth.ui.shell.tasks import TaskRunner

_SEPARATORS = (",", " ", "\u00a0", "\u202f", "'", ".")  # thousands, as people type them


def _folded(text: str) -> str:
    return unicodedata.normalize("NFC", text.strip()).casefold()


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
        title = "Delete account" if one else "Delete accounts"
        question = f"Delete the account {one}?" if one else f"Delete {words.count(count, 'account')}?"
        super().__init__("deleteUsersDialog", title, question, parent)
        self._runner, self._services, self._actor = runner, services, actor
        self.answer = one if one is not None else str(count)
        notice = [
            "This cannot be undone. The history keeps what was done by and to "
            f"{'it' if one else 'them'}, under the address, until an operator erases it."
        ]
        if not one:
            named = ", ".join(targets.emails)
            more = count - len(targets.emails)
            notice.append(f"They include {named}{f' and {more:,} more' if more > 0 else ''}.")
        if targets.admins:
            notice.append(
                "It is an administrator."
                if one
                else f"{words.count(targets.admins, 'of them is an administrator', 'of them are administrators')}."
            )
        self.show_notice(" ".join(notice))
        self.confirm_edit = QLineEdit()
        self.confirm_edit.setObjectName("deleteConfirmEdit")
        self.confirm_edit.setAccessibleName(f"Type {self.answer} to confirm")
        what = "the address" if one else "the number of accounts"
        shown = self.answer.replace("&", "&&")  # an address may hold an ampersand: not a mnemonic
        self.confirm_error = self.add_field(f"&Type {what}, {shown}, to confirm:", self.confirm_edit)
        self.delete_button = self.add_button(
            button(
                "&Delete account" if one else "&Delete accounts",
                "deleteConfirmButton",
                "Delete the account" if one else f"Delete {words.count(count, 'account')}",
            ),
            QDialogButtonBox.ButtonRole.AcceptRole,
        )
        self.delete_button.setDefault(True)
        self.delete_button.clicked.connect(self.submit)
        self.cancel_button = self.add_button(
            button("Cancel", "cancelButton", "Cancel"), QDialogButtonBox.ButtonRole.RejectRole
        )
        self.confirm_edit.textChanged.connect(lambda _text: self.confirm_error.clear_message())
        self.confirm_edit.setFocus()

    def confirmed(self) -> bool:
        """Whether the typed text is the answer (an address in any case; a count with or without thousands
        separators)."""
        typed = _folded(self.confirm_edit.text())
        if self.targets.single_email is not None:
            return typed == _folded(self.answer)
        for separator in _SEPARATORS:
            typed = typed.replace(separator, "")
        return typed == self.answer

    def submit(self) -> None:
        if self.busy:
            return
        self.clear_errors()
        if not self.confirmed():
            what = "the address" if self.targets.single_email else "the number of accounts"
            self.confirm_error.show_message(f"Type {what}, {self.answer}, to confirm.", announce_it=True)
            self.confirm_edit.setFocus()
            return
        lifecycle, actor, ids = self._services.lifecycle, self._actor, self.targets.user_ids
        self.set_busy(True, f"Deleting {words.count(len(ids), 'account')}…")
        self._runner.run(lambda: lifecycle.delete_users(actor, ids), self._done, self._failed, owner=self)

    def _failed(self, error: BaseException) -> None:
        self.show_failure(error)
        self.cancel_button.setFocus()

    def _done(self, count: int) -> None:
        self.set_busy(False)
        self.deleted.emit(count)
        self.accept()
