"""One's own recovery codes (objectName ``recoveryCodesDialog``).

From the account window it first asks for the current password and warns that new codes replace the
earlier ones; ``RecoveryService.generate`` runs on the worker (a wrong password counts against the sign-in
lockout: ``locked_out`` then ends the session). Right after registration it opens with the new batch
already made. Either way it then shows the ten codes once, in ``recoveryCodesView``, to copy or save to a
file only the person can read; closing forgets them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from desktop_auth.ui.dialogs.fields import keep_left_to_right
from desktop_auth.ui.dialogs.form import OwnAccountDialog
from desktop_auth.ui.shell.help import install_help
from desktop_auth.ui.shell.i18n import isolate, render, translate, translate_n
from desktop_auth.ui.shell.messages import describe, log_only
from desktop_auth.ui.shell.widgets import button, grow_to_fit

if TYPE_CHECKING:
    from desktop_auth.services.facade import Services
    from desktop_auth.services.records import RecoveryCodes
    from desktop_auth.ui.account_window import AccountWindow
    from desktop_auth.ui.shell.tasks import TaskRunner


def replaces() -> str:
    """The warning that a new batch makes the earlier codes stop working."""
    return translate(
        "RecoveryCodesDialog", "New codes replace your earlier ones: those stop working at once."
    )


class RecoveryCodesDialog(OwnAccountDialog):
    #: Too many wrong current passwords locked the account: the session must end (carries the message).

    def __init__(
        self,
        runner: TaskRunner,
        services: Services,
        user_id: int,
        issued: RecoveryCodes | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            "recoveryCodesDialog",
            self.tr("Recovery codes"),
            self.tr("If you forget your password, one of these codes lets you choose a new one."),
            parent,
        )
        self._runner, self._services, self._user_id = runner, services, user_id
        install_help(self, "recovery-codes")  # README.md's "Recovery codes"
        self.issued: RecoveryCodes | None = None
        self.view: QPlainTextEdit | None = None
        self.kept = False  # copied or saved
        self.question: QMessageBox | None = None  # "Close without keeping them?" while it is open
        if issued is not None:
            self._show_codes(issued)
            return
        self.show_notice(replaces())
        self.current_edit, self.current_error = self.add_current_password()
        self.make_button = self.add_button(
            button(self.tr("&Make new codes"), "makeCodesButton", self.tr("Make new recovery codes")),
            QDialogButtonBox.ButtonRole.AcceptRole,
        )
        self.make_button.setDefault(True)
        self.make_button.clicked.connect(self.submit)
        self.cancel_button = self.add_button(
            button(self.tr("Cancel"), "cancelButton", self.tr("Cancel")),
            QDialogButtonBox.ButtonRole.RejectRole,
        )
        self.current_edit.textChanged.connect(lambda _t: self.current_error.clear_message())
        recovery = services.recovery
        runner.run(lambda: recovery.codes_left(user_id), self._left_known, log_only, owner=self)

    def _left_known(self, left: int) -> None:
        if self.issued is None:
            if left == 0:
                self.show_notice(self.tr("You have no unused codes."))
                return
            have = translate_n(
                "RecoveryCodesDialog", "You have {n} unused code.", "You have {n} unused codes.", left
            )
            self.show_notice(f"{have} {replaces()}")  # two whole sentences

    # -- making --------------------------------------------------------------------------------------

    def submit(self) -> None:
        if self.busy or self.issued is not None:
            return
        self.clear_errors()
        current = self.current_edit.text()
        if not current:
            self.current_error.show_message(self.tr("Enter your current password."))
            self.current_edit.setFocus()
            return
        recovery, user_id = self._services.recovery, self._user_id
        self.set_busy(True, self.tr("Making new codes…"))
        self._runner.run(lambda: recovery.generate(user_id, current), self._made, self._failed, owner=self)

    def _failed(self, error: BaseException) -> None:
        if not self.end_if_locked_out(error, self.current_edit):
            self.show_failure(error)

    def _made(self, issued: RecoveryCodes) -> None:
        self.set_busy(False)
        self.current_edit.clear()
        self.make_button.hide()
        self.cancel_button.hide()
        for row in range(self.form.rowCount()):  # the password's row: the codes take its place
            self.form.setRowVisible(row, False)
        self._show_codes(issued)

    # -- showing -------------------------------------------------------------------------------------

    def _show_codes(self, issued: RecoveryCodes) -> None:
        self.issued = issued
        self.subtitle_label.setText(
            self.tr(
                "Keep them somewhere safe, on paper or in a password manager: each one resets your password "
                "once. They are shown only now."
            )
        )
        notice = self.tr("Your earlier codes no longer work.") if issued.replaced_earlier else ""
        self.show_notice(notice)
        view = QPlainTextEdit("\n".join(issued.codes))
        view.setObjectName("recoveryCodesView")
        view.setAccessibleName(self.tr("Recovery codes"))
        view.setReadOnly(True)
        keep_left_to_right(view)
        view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        lines = view.fontMetrics().lineSpacing() * (len(issued.codes) + 1)
        view.setMinimumHeight(lines + 12)
        label = QLabel(self.tr("Your &codes:"))
        label.setBuddy(view)
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(label)
        column.addWidget(view)
        self.form.addRow(box)
        self._inputs.append(view)
        self.view = view
        self.copy_button = self.add_button(
            button(self.tr("Co&py"), "copyCodesButton", self.tr("Copy the codes")),
            QDialogButtonBox.ButtonRole.ActionRole,
        )
        self.save_button = self.add_button(
            button(self.tr("&Save to file…"), "saveCodesButton", self.tr("Save the codes to a file")),
            QDialogButtonBox.ButtonRole.ActionRole,
        )
        self.close_button = self.add_button(
            button(self.tr("&Done"), "closeButton", self.tr("Close and forget the codes")),
            QDialogButtonBox.ButtonRole.RejectRole,
        )
        self.close_button.setDefault(True)
        self.copy_button.clicked.connect(self.copy)
        self.save_button.clicked.connect(self._save)
        # Shown now (a widget added to a visible dialog is shown by a posted event), so the focus lands.
        box.show()
        view.setFocus()
        grow_to_fit(self)

    def copy(self) -> None:
        from desktop_auth.services.recovery import codes_text

        if self.issued is not None:
            QGuiApplication.clipboard().setText(codes_text(self.issued, render))
            self.kept = True
            self._say(self.tr("Copied the codes."))

    def _save(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self,
            self.tr("Save recovery codes"),
            "desktop-auth-recovery-codes.txt",
            self.tr("Text files") + " (*.txt)",
        )
        if path:
            self.save(path)

    def save(self, path: str) -> None:
        """Write the codes to ``path``, readable by its owner only, on the worker."""
        from desktop_auth.services.recovery import codes_text, write_codes

        issued = self.issued
        if issued is None or self.busy:
            return
        self.show_error("")
        self.set_busy(True, self.tr("Saving…"))
        # Worded here, in the person's language and local time: the worker only writes (it touches no Qt).
        text = codes_text(issued, render)
        self._runner.run(
            lambda: write_codes(path, text),
            lambda _none: self._saved(path),
            self._save_failed,
            owner=self,
        )

    def _saved(self, path: str) -> None:
        self.set_busy(False)
        self.kept = True
        self._say(self.tr("Saved the codes to {path} (readable only by you).").format(path=isolate(path)))

    def _save_failed(self, error: BaseException) -> None:
        self.set_busy(False)
        self.show_error(describe(error))

    def _say(self, text: str) -> None:
        from desktop_auth.ui.shell.announce import announce

        self.status_label.setText(text)
        self.status_label.show()
        announce(self.status_label, text)

    def reject(self) -> None:
        """Done, Escape, the close button: the codes are forgotten, so ask first when they were neither
        copied nor saved (a window-modal box answered through a signal, as in temporary_password.py)."""
        if self.busy:
            return
        if self.issued is None or self.kept:
            super().reject()
            return
        if self.question is not None:
            self.question.raise_()
            return
        from PySide6.QtCore import Qt

        box = QMessageBox(
            QMessageBox.Icon.Warning,
            self.tr("Close without keeping the codes?"),
            self.tr(
                "The codes were neither copied nor saved, and they are not shown again. Without them, a "
                "forgotten password needs an administrator (you can make new codes from your account window)."
            ),
            QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setObjectName("forgetCodesQuestion")
        box.setAccessibleName(self.tr("Close without keeping the codes?"))
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setEscapeButton(QMessageBox.StandardButton.Cancel)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda _result: self._answered(box))
        self.question = box
        box.open()

    def _answered(self, box: QMessageBox) -> None:
        self.question = None
        if box.standardButton(box.clickedButton()) == QMessageBox.StandardButton.Discard:
            self.kept = True  # the person chose to forget them
            super().reject()

    def done(self, result: int) -> None:
        if self.view is not None:  # forget them
            self.view.clear()
        self.issued = None
        super().done(result)


def open_recovery_codes(window: AccountWindow, runner: TaskRunner, services: Services, user_id: int) -> None:
    """The account window's "Recovery codes…": the dialog over ``window``; a lockout ends the session."""
    from PySide6.QtCore import Qt

    dialog = RecoveryCodesDialog(runner, services, user_id, parent=window)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.locked_out.connect(window.end_session)
    dialog.open()
