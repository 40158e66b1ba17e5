"""About desktop-auth (objectName ``aboutDialog``): the version, the database in use (its password masked)
and the licence. The facts are read on a worker (package metadata costs ~40 ms to load)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QWidget

from desktop_auth.ui.dialogs.form import FormDialog
from desktop_auth.ui.shell.help import install_help
from desktop_auth.ui.shell.tasks import TaskRunner
from desktop_auth.ui.shell.widgets import button, styled_label

if TYPE_CHECKING:
    from desktop_auth.services.facade import Services
    from desktop_auth.services.records import AboutInfo


class AboutDialog(FormDialog):
    def __init__(self, runner: TaskRunner, services: Services, parent: QWidget | None = None) -> None:
        super().__init__(
            "aboutDialog", self.tr("About desktop-auth"), self.tr("A desktop account manager."), parent
        )
        self.version_value = self._value(self.tr("&Version:"), "versionValue")
        self.database_value = self._value(self.tr("&Database:"), "databaseValue")
        self.licence_value = self._value(self.tr("&Licence:"), "licenceValue")
        self.close_button = self.add_button(
            button(self.tr("Close"), "closeButton", self.tr("Close")), QDialogButtonBox.ButtonRole.RejectRole
        )
        self.close_button.setDefault(True)
        self.close_button.setFocus()  # not a value: its caret would sit in the version
        install_help(self, "help-and-about")
        settings = services.settings
        self.set_busy(True, self.tr("Reading…"))

        def read() -> AboutInfo:
            from desktop_auth.services.about import about_app

            return about_app(settings)

        runner.run(read, self._show, self.show_failure, owner=self)

    def reject(self) -> None:
        # Closing while the facts are read loses nothing (a form would wait for its change to finish): the
        # reading's result is dropped with its owner.
        QDialog.reject(self)

    def _value(self, caption: str, name: str) -> QLabel:
        """A read-only value the keyboard can reach and select (to copy it), named by its caption."""
        label = styled_label("", "value", name)
        label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        label.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        caption_label = QLabel(caption)
        caption_label.setBuddy(label)
        self.form.addRow(caption_label, label)
        return label

    def _show(self, info: AboutInfo) -> None:
        self.set_busy(False)
        self.version_value.setText(info.version)
        self.database_value.setText(info.database)
        self.licence_value.setText(info.licence)
