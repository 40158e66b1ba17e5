"""The Settings tab (``settingsTab``): the rules stored in the database, which every client follows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QCheckBox, QFormLayout, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from desktop_auth.errors import InvalidInputError
from desktop_auth.ui.dialogs.fields import FieldError
from desktop_auth.ui.role_editor.lazy_tab import LazyTab
from desktop_auth.ui.shell.announce import show_message
from desktop_auth.ui.shell.i18n import describe_error
from desktop_auth.ui.shell.messages import describe
from desktop_auth.ui.shell.tasks import TaskRunner
from desktop_auth.ui.shell.widgets import button, styled_label

if TYPE_CHECKING:
    from desktop_auth.services.facade import Services
    from desktop_auth.services.records import Actor, SharedSettings


class SettingsTab(LazyTab):
    def __init__(self, runner: TaskRunner, services: Services, actor: Actor) -> None:
        super().__init__("settingsTab")
        self._runner, self._services, self._actor = runner, services, actor

    def _build(self) -> None:
        self.self_registration = QCheckBox(self.tr("Allow people to create their own accounts"))
        self.self_registration.setObjectName("selfRegistrationCheck")
        self.self_registration.setAccessibleName(self.tr("Allow self-registration"))
        self.threshold = self._spin(
            "lockoutThresholdSpin", self.tr("Failed sign-ins before a lockout"), 1, 100, ""
        )
        self.base = self._spin(
            "lockoutBaseSpin", self.tr("First lockout in seconds"), 1, 86_400, self.tr(" s")
        )
        self.maximum = self._spin(
            "lockoutMaxSpin", self.tr("Longest lockout in seconds"), 1, 7 * 86_400, self.tr(" s")
        )
        self.idle = self._spin(
            "idleTimeoutSpin", self.tr("Idle sign-out in minutes"), 1, 24 * 60, self.tr(" min")
        )
        self.temporary_hours = self._spin(
            "temporaryPasswordHoursSpin",
            self.tr("Temporary passwords expire after, in hours"),
            1,
            30 * 24,
            self.tr(" h"),
        )
        self.temporary_hours.setToolTip(
            self.tr(
                "How long a temporary password from a reset works; it must be changed at the next sign-in"
            )
        )
        self.require_two_factor = QCheckBox(self.tr("&Require two-factor sign-in for administrators"))
        self.require_two_factor.setObjectName("requireTwoFactorCheck")
        self.require_two_factor.setAccessibleName(self.tr("Require two-factor sign-in for administrators"))
        self.require_two_factor.setToolTip(
            self.tr(
                "Administrators then sign in with a code from an authenticator app too; one without it is taken "
                "to set it up right after the password. Set up your own first (Account window)."
            )
        )
        # Inline under the box: the services refuse to turn it on for an administrator without a factor.
        self.require_two_factor_error = FieldError(
            self.require_two_factor, "requireTwoFactorError", required=False
        )
        two_factor = QWidget()
        two_factor_column = QVBoxLayout(two_factor)
        two_factor_column.setContentsMargins(0, 0, 0, 0)
        two_factor_column.setSpacing(3)
        two_factor_column.addWidget(self.require_two_factor)
        two_factor_column.addWidget(self.require_two_factor_error)
        self.require_two_factor.toggled.connect(lambda _on: self.require_two_factor_error.clear_message())
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.FieldsStayAtSizeHint)
        form.addRow(self.tr("Self-registration:"), self.self_registration)
        form.addRow(self.tr("Two-factor sign-in:"), two_factor)
        for text, spin in (
            (self.tr("Failed sign-ins before a &lockout:"), self.threshold),
            (self.tr("&First lockout:"), self.base),
            (self.tr("Lo&ngest lockout:"), self.maximum),
            (self.tr("&Idle sign-out after:"), self.idle),
            (self.tr("&Temporary passwords expire after:"), self.temporary_hours),
        ):
            label = QLabel(text)
            label.setBuddy(spin)
            form.addRow(label, spin)
        self.save_button = button(self.tr("Sa&ve settings"), "saveSettingsButton", self.tr("Save settings"))
        self.error_label = styled_label("", "error", "settingsErrorLabel")
        self.error_label.hide()
        self.saved_label = styled_label("", "subtitle", "settingsSavedLabel")
        layout = QVBoxLayout(self)
        layout.addWidget(
            styled_label(
                self.tr(
                    "These settings are stored in the database: every client of this database follows them."
                ),
                "subtitle",
            )
        )
        layout.addLayout(form)
        row = QHBoxLayout()
        row.addWidget(self.save_button)
        row.addWidget(self.saved_label, 1)
        layout.addLayout(row)
        layout.addWidget(self.error_label)
        layout.addStretch(1)
        self.save_button.clicked.connect(self.save)

    @staticmethod
    def _spin(name: str, accessible: str, low: int, high: int, suffix: str) -> QSpinBox:
        spin = QSpinBox()
        spin.setObjectName(name)
        spin.setAccessibleName(accessible)
        spin.setRange(low, high)
        spin.setSuffix(suffix)
        spin.setMinimumWidth(120)
        return spin

    def reload(self) -> None:
        self.ensure_built()
        app_settings = self._services.app_settings
        self._runner.run(app_settings.get, self.show_settings, self._failed, owner=self)

    def show_settings(self, shared: SharedSettings) -> None:
        self.self_registration.setChecked(shared.allow_self_registration)
        self.threshold.setValue(shared.lockout_threshold)
        self.base.setValue(shared.lockout_base_seconds)
        self.maximum.setValue(shared.lockout_max_seconds)
        self.idle.setValue(shared.idle_timeout_minutes)
        self.temporary_hours.setValue(shared.temporary_password_hours)
        self.require_two_factor.setChecked(shared.require_two_factor_for_admins)

    def save(self) -> None:
        changes = {
            "allow_self_registration": self.self_registration.isChecked(),
            "lockout_threshold": self.threshold.value(),
            "lockout_base_seconds": self.base.value(),
            "lockout_max_seconds": self.maximum.value(),
            "idle_timeout_minutes": self.idle.value(),
            "temporary_password_hours": self.temporary_hours.value(),
            "require_two_factor_for_admins": self.require_two_factor.isChecked(),
        }
        app_settings, actor = self._services.app_settings, self._actor
        self.error_label.hide()
        self.require_two_factor_error.clear_message()
        self._runner.run(lambda: app_settings.update(actor, **changes), self._saved, self._failed, owner=self)

    def _saved(self, shared: SharedSettings) -> None:
        self.show_settings(shared)
        self.saved_label.setText(self.tr("Saved."))

    def _failed(self, error: BaseException) -> None:
        self.saved_label.setText("")
        if isinstance(error, InvalidInputError) and error.field == "require_two_factor_for_admins":
            # Nothing was saved; the refusal is said under the box it is about, and the focus goes there.
            self.require_two_factor_error.show_message(describe_error(error), announce_it=True)
            self.require_two_factor.setFocus()
            return
        show_message(self.error_label, describe(error))
