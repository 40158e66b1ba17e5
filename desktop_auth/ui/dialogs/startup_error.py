"""Shown when the database cannot be used at start-up: what is wrong, what fixes it, Retry or Quit."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QDialogButtonBox, QWidget

from desktop_auth.errors import ConfigError
from desktop_auth.services.errors import (
    DatabaseUnavailableError,
    DatabaseUrlError,
    SchemaError,
    SchemaOutdatedError,
)
from desktop_auth.ui.dialogs.fields import keep_left_to_right
from desktop_auth.ui.dialogs.form import FormDialog
from desktop_auth.ui.shell.i18n import translate
from desktop_auth.ui.shell.messages import describe
from desktop_auth.ui.shell.widgets import button, styled_label


def remedy_for(error: BaseException, database_option: str = "") -> tuple[str, str]:
    """(what to do, a command or setting to copy) for a start-up failure; ``database_option`` is the
    command line's --database-url (masked) or --database-url-file, repeated in a suggested command. The
    advice is in the current language; the command is not translated."""
    command = f"desktop-auth {database_option} db" if database_option else "desktop-auth db"
    if isinstance(error, SchemaOutdatedError):
        return translate("StartupErrorDialog", "An operator upgrades the database schema with:"), (
            f"{command} upgrade"
        )
    if isinstance(error, SchemaError):
        return translate(
            "StartupErrorDialog", "Install the version of desktop-auth that matches this database."
        ), ""
    if isinstance(error, DatabaseUrlError):
        return (
            translate(
                "StartupErrorDialog",
                "Correct DATABASE_URL in the environment or the .env file (or the file DATABASE_URL_FILE names), "
                "for example:",
            ),
            "DATABASE_URL=mysql+pymysql://user:password@host:3306/dbname",
        )
    if isinstance(error, ConfigError):
        return translate(
            "StartupErrorDialog",
            "Correct that setting in the environment or the .env file (see .env.example), then retry.",
        ), ""
    if isinstance(error, DatabaseUnavailableError):
        return translate(
            "StartupErrorDialog",
            "Check that the database server is running and reachable, then retry. To test it:",
        ), f"{command} current"
    return translate("StartupErrorDialog", "Retry; if it happens again, the log file has the details."), ""


class StartupErrorDialog(FormDialog):
    def __init__(
        self, error: BaseException, database_option: str = "", parent: QWidget | None = None
    ) -> None:
        problem = describe(error)
        super().__init__("startupErrorDialog", self.tr("Cannot open the database"), problem, parent)
        self.setAccessibleDescription(problem)  # read with the dialog's name when it opens
        self.subtitle_label.setObjectName("problemLabel")
        self.subtitle_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        advice, command = remedy_for(error, database_option)
        self.advice_label = styled_label(advice, "subtitle", "adviceLabel")
        self.form.addRow(self.advice_label)
        # A selectable label, not a read-only QLineEdit: Qt reports a read-only line edit to AT-SPI as
        # editable (and lets a screen reader's EditableText change it). Its name is the command itself;
        # the advice above it is its label (labelled-by).
        self.command_edit = styled_label(command, "value", "fixCommand")
        self.command_edit.setWordWrap(False)
        self.command_edit.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.command_edit.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.command_edit.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # reachable with Tab, to copy it
        keep_left_to_right(self.command_edit)  # a command reads left to right in every language
        self.command_edit.setVisible(bool(command))
        self.advice_label.setBuddy(self.command_edit)
        self.form.addRow(self.command_edit)
        self.retry_button = self.add_button(
            button(self.tr("&Retry"), "retryButton", self.tr("Retry")), QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.retry_button.setDefault(True)
        self.retry_button.clicked.connect(self.accept)
        self.quit_button = self.add_button(
            button(self.tr("&Quit"), "quitButton", self.tr("Quit")), QDialogButtonBox.ButtonRole.RejectRole
        )
