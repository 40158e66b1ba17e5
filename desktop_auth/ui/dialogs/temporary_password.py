# Over 300 lines on purpose: one dialog whose stages (ask, reset, show once, forget) read best together.
"""The password reset of the role editor (objectName ``temporaryPasswordDialog``).

It first asks "Reset the passwords of N accounts?", naming how long temporary passwords last; the reset
runs on the worker (``AdminService.reset_password``, with the ids and the versions the caller saw); then it
shows each account's own temporary password once, in ``temporaryPasswordTable``, to copy (all, or the
selected rows) or export to a file only the administrator can read. Closing forgets them, after a
confirmation when some were neither copied nor exported.

The dialog takes ids and versions, not a selection: how the caller picked the accounts is its own affair.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from desktop_auth.services import temporary_passwords
from desktop_auth.services.errors import StaleEditError
from desktop_auth.ui.dialogs.form import FormDialog
from desktop_auth.ui.dialogs.temporary_password_table import PasswordTable, TemporaryPasswordModel
from desktop_auth.ui.shell.i18n import date_time, isolate, number, translate_n
from desktop_auth.ui.shell.messages import describe
from desktop_auth.ui.shell.widgets import button

if TYPE_CHECKING:
    from desktop_auth.services.facade import Services
    from desktop_auth.services.records import Actor, SharedSettings, TemporaryPasswords
    from desktop_auth.ui.shell.tasks import TaskRunner


class TemporaryPasswordDialog(FormDialog):
    """Reset the passwords of the given accounts, then show each new temporary password once."""

    #: Emitted with how many accounts got a temporary password.
    passwords_reset = Signal(int)
    #: Emitted when the reset was refused because an account changed since it was read.
    selection_stale = Signal()

    def __init__(
        self,
        runner: TaskRunner,
        services: Services,
        actor: Actor,
        versions: Mapping[int, int | None],
        single_email: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        count = len(versions)
        question = (
            self.tr("Reset the password of {email}?").format(email=isolate(single_email))
            if single_email
            else translate_n(
                "TemporaryPasswordDialog",
                "Reset the passwords of {n} account?",
                "Reset the passwords of {n} accounts?",
                count,
            )
        )
        super().__init__("temporaryPasswordDialog", self.tr("Reset password"), question, parent)
        self._runner, self._services, self._actor = runner, services, actor
        self._versions = dict(versions)
        self._result: TemporaryPasswords | None = None
        self._kept: set[int] = set()  # rows copied or exported
        self.model = TemporaryPasswordModel(self)
        self.table: PasswordTable | None = None
        self.question: QMessageBox | None = None  # "Close without copying?" while it is open
        self._explain(None)
        self.reset_button = self.add_button(
            button(
                self.tr("&Reset passwords") if count != 1 else self.tr("&Reset password"),
                "resetButton",
                self.tr("Reset the passwords") if count != 1 else self.tr("Reset the password"),
            ),
            QDialogButtonBox.ButtonRole.AcceptRole,
        )
        self.reset_button.setDefault(True)
        self.cancel_button = self.add_button(
            button(self.tr("Cancel"), "cancelButton", self.tr("Cancel")),
            QDialogButtonBox.ButtonRole.RejectRole,
        )
        self.reset_button.clicked.connect(self.submit)
        app_settings = services.app_settings
        runner.run(app_settings.get, self._lifetime_known, self._lifetime_unknown, owner=self)

    # -- asking --------------------------------------------------------------------------------------

    def _explain(self, hours: int | None) -> None:
        if hours:
            notice = translate_n(
                "TemporaryPasswordDialog",
                "Each account gets its own random temporary password, shown to you once, here, after the reset. "
                "Current passwords stop working at once. The new ones must be changed at the next sign-in and "
                "expire after {n} hour.",
                "Each account gets its own random temporary password, shown to you once, here, after the reset. "
                "Current passwords stop working at once. The new ones must be changed at the next sign-in and "
                "expire after {n} hours.",
                hours,
            )
        else:
            notice = self.tr(
                "Each account gets its own random temporary password, shown to you once, here, after the reset. "
                "Current passwords stop working at once. The new ones must be changed at the next sign-in and "
                "expire after the time set in Settings."
            )
        self.show_notice(notice)

    def _lifetime_known(self, shared: SharedSettings) -> None:
        if self._result is None:
            self._explain(shared.temporary_password_hours)

    def _lifetime_unknown(self, _error: BaseException) -> None:
        """The general wording stays; the reset itself reports any database problem."""

    def submit(self) -> None:
        if self.busy or self._result is not None:
            return
        self.clear_errors()
        admin, actor, versions = self._services.admin, self._actor, dict(self._versions)
        count = len(versions)
        self.set_busy(
            True,
            translate_n(
                "TemporaryPasswordDialog", "Resetting {n} password…", "Resetting {n} passwords…", count
            ),
        )
        self._runner.run(
            lambda: admin.reset_password(actor, list(versions), versions),
            self._done,
            self._failed,
            owner=self,
        )

    def _failed(self, error: BaseException) -> None:
        self.show_failure(error)
        if isinstance(error, StaleEditError):
            # The same versions would be refused again: the caller reloads, the person selects again.
            self.reset_button.setEnabled(False)
            self.cancel_button.setFocus()
            self.selection_stale.emit()

    # -- showing -------------------------------------------------------------------------------------

    def _done(self, result: TemporaryPasswords) -> None:
        self.set_busy(False)
        self._result = result
        count = len(result.entries)
        self.reset_button.hide()
        self.cancel_button.hide()
        title = self.tr("Temporary passwords")
        self.title_label.setText(title)
        self.setWindowTitle(title)
        self.setAccessibleName(title)
        self.subtitle_label.setText(
            self.tr(
                "Give each person their own password; they expire at {expires}. They are shown only now: copy "
                "or export them before you close this window."
            ).format(expires=date_time(result.expires_at))
        )
        self.show_notice("")
        self.model.set_entries(result.entries)
        self._build_result_controls()
        self.passwords_reset.emit(count)

    def _build_result_controls(self) -> None:
        table = PasswordTable(self.model)
        label = QLabel(self.tr("&Passwords:"))
        label.setBuddy(table)
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(label)
        column.addWidget(table)
        self.form.addRow(box)
        self._inputs.append(table)
        self.table = table
        self.give_the_form_the_height()

        self.copy_all_button = self.add_button(
            button(self.tr("Copy &all"), "copyAllButton", self.tr("Copy all passwords")),
            QDialogButtonBox.ButtonRole.ActionRole,
        )
        self.copy_button = self.add_button(
            button(self.tr("&Copy selected"), "copyButton", self.tr("Copy the selected passwords")),
            QDialogButtonBox.ButtonRole.ActionRole,
        )
        self.export_button = self.add_button(
            button(self.tr("&Export…"), "exportButton", self.tr("Export the passwords to a file")),
            QDialogButtonBox.ButtonRole.ActionRole,
        )
        self.close_button = self.add_button(
            button(self.tr("C&lose"), "closeButton", self.tr("Close and forget the passwords")),
            QDialogButtonBox.ButtonRole.RejectRole,
        )
        self.close_button.setDefault(True)
        self.copy_all_button.clicked.connect(self.copy_all)
        self.copy_button.clicked.connect(self.copy_selected)
        self.export_button.clicked.connect(self._export)
        table.copy_requested.connect(self.copy_selected)
        table.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        self._update_buttons()
        self.resize(max(self.width(), 640), max(self.height(), 520))
        # A widget added to a visible dialog is shown by a posted event, and a hidden one cannot take the
        # focus: show the new controls now, so the focus lands on the table however busy the machine is.
        box.show()
        table.setFocus()

    def _update_buttons(self) -> None:
        if self.table is not None and not self.busy:
            self.copy_button.setEnabled(self.table.selectionModel().hasSelection())

    def set_busy(self, busy: bool, status: str = "") -> None:
        super().set_busy(busy, status)
        self._update_buttons()

    # -- keeping -------------------------------------------------------------------------------------

    def copy_all(self) -> None:
        self._copy(range(self.model.rowCount()))

    def copy_selected(self) -> None:
        self._copy(self.table.selected_rows() if self.table is not None else [])

    def _copy(self, rows: Iterable[int]) -> None:
        rows = list(rows)
        if not rows:
            return
        QGuiApplication.clipboard().setText(self.model.as_text(rows))
        self._kept.update(rows)
        count = len(rows)
        self.status_label.setText(
            translate_n("TemporaryPasswordDialog", "Copied {n} password.", "Copied {n} passwords.", count)
        )
        self.status_label.show()

    def _export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self,
            self.tr("Export temporary passwords"),
            "temporary-passwords.csv",
            self.tr("CSV files") + " (*.csv)",
        )
        if path:
            self.export(path)

    def export(self, path: str) -> None:
        """Write every password to ``path`` as CSV, readable by its owner only, on the worker."""
        result = self._result
        if result is None or self.busy:
            return
        self.show_error("")
        self.set_busy(True, self.tr("Exporting…"))
        self._runner.run(
            lambda: temporary_passwords.write_csv(path, result),
            lambda count: self._exported(count, path),
            self._export_failed,
            owner=self,
        )

    def _exported(self, count: int, path: str) -> None:
        self.set_busy(False)
        self._kept.update(range(count))
        self.status_label.setText(
            translate_n(
                "TemporaryPasswordDialog",
                "Exported {n} password to {path} (readable only by you).",
                "Exported {n} passwords to {path} (readable only by you).",
                count,
            ).format(path=isolate(path))
        )
        self.status_label.show()

    def _export_failed(self, error: BaseException) -> None:
        self.set_busy(False)
        self.show_error(describe(error))

    # -- forgetting ----------------------------------------------------------------------------------

    @property
    def unkept(self) -> int:
        """How many passwords were neither copied nor exported."""
        return self.model.rowCount() - len(self._kept)

    def reject(self) -> None:
        # Escape, Close, the window's close button: the passwords are forgotten, so ask first if some
        # would be lost.
        if self.busy:
            return
        if self._result is not None and self.unkept:
            self._ask_before_forgetting()
            return
        self._forget_and_close()

    def _forget_and_close(self) -> None:
        self._result = None
        self._kept.clear()
        self.model.clear()
        super().reject()

    def _ask_before_forgetting(self) -> None:
        # A window-modal box answered through a signal, not QMessageBox.question(): its nested event loop
        # would let a sign-out delete this dialog under the open question.
        if self.question is not None:
            self.question.raise_()
            return
        total, unkept = self.model.rowCount(), self.unkept
        if unkept == total:
            text = self.tr(
                "None of the passwords were copied or exported. They are not shown again: those accounts will "
                "need another reset before anyone can sign in to them."
            )
        else:
            # The noun agrees with the total (the count the catalog's forms follow); never 1 here.
            text = translate_n(
                "TemporaryPasswordDialog",
                "{unkept} of {n} passwords were not copied or exported. They are not shown again: those "
                "accounts will need another reset before anyone can sign in to them.",
                "{unkept} of {n} passwords were not copied or exported. They are not shown again: those "
                "accounts will need another reset before anyone can sign in to them.",
                total,
            ).format(unkept=number(unkept))
        question = self.tr("Close without copying?")
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            question,
            text,
            QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setObjectName("forgetPasswordsQuestion")
        box.setAccessibleName(question)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setEscapeButton(QMessageBox.StandardButton.Cancel)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda _result: self._answered(box))
        self.question = box
        box.open()

    def _answered(self, box: QMessageBox) -> None:
        self.question = None
        if box.standardButton(box.clickedButton()) == QMessageBox.StandardButton.Discard:
            self._forget_and_close()
