# Over 300 lines: turning two-factor sign-in on and off, which share the code field and the recovery codes made
# after turning it on; the off dialog is the last 70 lines.
"""Two-factor sign-in with an authenticator app: turning it on (``twoFactorSetupDialog``) and off
(``twoFactorOffDialog``).

Turning it on shows a new secret as a QR code (``shell/qr.py``) and as text to type, then asks for the code
the app shows, which proves the app holds the secret: nothing is stored before that
(``TwoFactorService.enable``). From the account window the current password is asked too; right after
enabling, a person without unused recovery codes gets new ones, made with the password just typed (kept in
memory for that one call, never stored) and shown in the recovery codes dialog. At sign-in, for an
administrator the organisation requires it of (``required``), the password was just checked: there is no
password field, and success signs in (``AccountService.enroll_at_sign_in``).

Everything slow (the secret, hashing, the code check) runs on the worker; errors show under their field
and are announced (``dialogs/form.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from PySide6.QtCore import QEvent, Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication, QPixmap
from PySide6.QtWidgets import QDialogButtonBox, QHBoxLayout, QLabel, QLineEdit, QWidget

from desktop_auth.errors import DesktopAuthError
from desktop_auth.ui.dialogs.fields import keep_left_to_right
from desktop_auth.ui.dialogs.form import OwnAccountDialog
from desktop_auth.ui.dialogs.totp_code import code_edit, code_problem, ends_the_sign_in
from desktop_auth.ui.shell import qr
from desktop_auth.ui.shell.announce import announce
from desktop_auth.ui.shell.messages import log_only
from desktop_auth.ui.shell.widgets import button, grow_to_fit

if TYPE_CHECKING:
    from desktop_auth.services.facade import Services
    from desktop_auth.services.records import RecoveryCodes, SignedInUser, SignInChallenge
    from desktop_auth.ui.shell.tasks import TaskRunner


def grouped(secret: str) -> str:
    """The secret in groups of four, as people read and type it (authenticator apps ignore the spaces)."""
    return " ".join(secret[start : start + 4] for start in range(0, len(secret), 4))


class _Prepared(NamedTuple):
    secret: str
    uri: str
    png: bytes


class Enabled(NamedTuple):
    """What turning it on from the account window led to: the unused recovery codes the person has, and
    the new batch when they had none (None if they had some, or making them failed: ``codes_problem``,
    described on the GUI thread)."""

    codes_left: int
    issued: RecoveryCodes | None
    codes_problem: DesktopAuthError | None


class TwoFactorSetupDialog(OwnAccountDialog):
    #: Turned on from the account window (carries ``Enabled``).
    enabled = Signal(object)
    #: Required at sign-in: set up and signed in (carries the SignedInUser).
    signed_in = Signal(object)
    #: Required at sign-in: the sign-in cannot go on (expired, locked, changed meanwhile; carries the error).
    abandoned = Signal(object)
    #: From the account window: too many wrong passwords locked the account (carries the message).

    def __init__(
        self,
        runner: TaskRunner,
        services: Services,
        user_id: int | None = None,
        challenge: SignInChallenge | None = None,
        parent: QWidget | None = None,
    ) -> None:
        assert (user_id is None) != (challenge is None), "either one's own account or a sign-in"
        self.required = challenge is not None
        subtitle = (
            self.tr(
                "Your organisation requires administrators to sign in with an authenticator app too. Set it "
                "up now: scan the QR code with the app (or type the secret key into it), then type the code "
                "it shows."
            )
            if self.required
            else self.tr(
                "After your password, signing in will also ask for a code from an authenticator app on "
                "your phone. Scan the QR code with the app (or type the secret key into it), then type the "
                "code it shows."
            )
        )
        super().__init__("twoFactorSetupDialog", self.tr("Set up two-factor sign-in"), subtitle, parent)
        self.subtitle_label.setMinimumWidth(420)
        self._runner, self._services, self._challenge = runner, services, challenge
        self._user_id = challenge.user_id if challenge is not None else user_id
        self._secret: str | None = None
        self.uri: str | None = None  # the enrollment's otpauth:// URI, once made (for tests)
        self.qr_picture: QPixmap | None = None

        self.qr_label = QLabel()
        self.qr_label.setObjectName("qrCodeLabel")
        self.qr_label.setAccessibleName(self.tr("QR code for your authenticator app"))
        self.qr_label.setAccessibleDescription(
            self.tr("If you cannot scan it, type the secret key below into the app.")
        )
        self.qr_label.setMinimumSize(qr.TARGET_SIZE, qr.TARGET_SIZE)
        qr_row = QHBoxLayout()
        qr_row.addStretch(1)
        qr_row.addWidget(self.qr_label)
        qr_row.addStretch(1)
        self.form.addRow(qr_row)

        self.secret_edit = QLineEdit()
        self.secret_edit.setObjectName("totpSecretEdit")
        self.secret_edit.setAccessibleName(self.tr("Secret key"))
        self.secret_edit.setReadOnly(True)
        keep_left_to_right(self.secret_edit)
        self.secret_edit.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        # The whole secret in view (32 characters in groups of four), with room for the frame and caret.
        shown = self.secret_edit.fontMetrics().horizontalAdvance(grouped("M" * 32))
        self.secret_edit.setMinimumWidth(shown + 16)
        self.copy_button = button(self.tr("Co&py"), "copySecretButton", self.tr("Copy the secret key"))
        self.copy_button.setEnabled(False)
        self.copy_button.clicked.connect(self.copy_secret)
        secret_row = QWidget()
        row = QHBoxLayout(secret_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.secret_edit, 1)
        row.addWidget(self.copy_button)
        label = QLabel(self.tr("&Secret key:"))
        label.setBuddy(self.secret_edit)
        self.form.addRow(label, secret_row)
        self._inputs.append(self.copy_button)  # the secret itself stays read-only: never made editable

        self.current_edit: QLineEdit | None = None
        if not self.required:
            self.current_edit, self.current_error = self.add_current_password()
            self.current_edit.textChanged.connect(lambda _t: self.current_error.clear_message())
        self.code_edit = code_edit()
        self.code_error = self.add_field(
            self.tr("&Code from the app:"), self.code_edit, service_field="totp_code"
        )
        self.code_edit.textChanged.connect(lambda _t: self.code_error.clear_message())

        self.enable_button = self.add_button(
            button(self.tr("&Turn on"), "enableTwoFactorButton", self.tr("Turn on two-factor sign-in")),
            QDialogButtonBox.ButtonRole.AcceptRole,
        )
        self.enable_button.setDefault(True)
        self.enable_button.clicked.connect(self.submit)
        self.cancel_button = self.add_button(
            button(self.tr("Cancel"), "cancelButton", self.tr("Cancel")),
            QDialogButtonBox.ButtonRole.RejectRole,
        )
        if self.current_edit is not None:
            self.setTabOrder(self.copy_button, self.current_edit)
            self.setTabOrder(self.current_edit, self.code_edit)
        else:
            self.setTabOrder(self.copy_button, self.code_edit)
        self.setTabOrder(self.code_edit, self.enable_button)
        self.setTabOrder(self.enable_button, self.cancel_button)
        (self.current_edit or self.code_edit).setFocus()
        # The form's own minimum (the whole secret and Copy), not only FormDialog's fixed one.
        layout = self.layout()
        assert layout is not None
        self.setMinimumWidth(max(self.minimumWidth(), layout.totalMinimumSize().width()))
        self._prepare()

    # -- the secret ----------------------------------------------------------------------------------

    def _prepare(self) -> None:
        two_factor, user_id = self._services.two_factor, self._user_id
        assert user_id is not None
        ratio = max(1.0, self.devicePixelRatioF())

        def make() -> _Prepared:
            enrollment = two_factor.start_enrollment(user_id)
            return _Prepared(enrollment.secret, enrollment.uri, qr.png(enrollment.uri, ratio))

        self.set_busy(True, self.tr("Making a new secret key…"))
        self.enable_button.setEnabled(False)
        self._runner.run(make, lambda made: self._prepared(made, ratio), self._not_prepared, owner=self)

    def _prepared(self, made: _Prepared, ratio: float) -> None:
        self.set_busy(False)
        self._secret, self.uri = made.secret, made.uri
        self._show_qr(qr.pixmap(made.png, ratio))
        self.secret_edit.setText(grouped(made.secret))
        self.secret_edit.setCursorPosition(0)
        self.copy_button.setEnabled(True)
        self.enable_button.setEnabled(True)
        grow_to_fit(self)

    def _not_prepared(self, error: BaseException) -> None:
        if self.required and isinstance(error, ends_the_sign_in()):
            self._abandon(error)
            return
        self.show_failure(error)
        self.enable_button.setEnabled(False)  # nothing to turn on

    def event(self, event: QEvent) -> bool:
        """Moved to a screen with another scale: the QR code is drawn again for it (on the worker), so
        that its modules stay whole pixels there too."""
        if event.type() == QEvent.Type.DevicePixelRatioChange and self.uri is not None:
            self._redraw(self.uri, max(1.0, self.devicePixelRatioF()))
        return super().event(event)

    def _redraw(self, uri: str, ratio: float) -> None:
        def drawn(data: bytes) -> None:
            if self.uri == uri:  # not closed meanwhile
                self._show_qr(qr.pixmap(data, ratio))

        # A failure leaves the picture drawn for the last scale on screen (and in the log).
        self._runner.run(lambda: qr.png(uri, ratio), drawn, log_only, owner=self, key="qr")

    def _show_qr(self, picture: QPixmap) -> None:
        self.qr_picture = picture  # as drawn (the label hands back its own copy at the screen's scale)
        self.qr_label.setPixmap(picture)

    def copy_secret(self) -> None:
        if self._secret is not None:
            QGuiApplication.clipboard().setText(self._secret)
            said = self.tr("Copied the secret key.")
            self.status_label.setText(said)
            self.status_label.show()
            announce(self.status_label, said)

    # -- turning it on -------------------------------------------------------------------------------

    def submit(self) -> None:
        secret = self._secret
        if self.busy or secret is None:
            return
        self.clear_errors()
        self.status_label.hide()
        current = self.current_edit.text() if self.current_edit is not None else ""
        if self.current_edit is not None and not current:
            self.current_error.show_message(self.tr("Enter your current password."))
            self.current_edit.setFocus()
            return
        code = self.code_edit.text()
        if problem := code_problem(code):
            self.code_error.show_message(problem)
            self.code_edit.setFocus()
            return
        services = self._services
        self.set_busy(True, self.tr("Checking the code…"))
        if self._challenge is not None:
            challenge = self._challenge
            self._runner.run(
                lambda: services.accounts.enroll_at_sign_in(challenge, secret, code),
                self._signed_in,
                self._failed,
                owner=self,
            )
            return
        user_id = self._user_id
        assert user_id is not None

        def enable() -> Enabled:
            services.two_factor.enable(user_id, current, secret, code)
            return _recovery_codes_after(services, user_id, current)

        self._runner.run(enable, self._enabled, self._failed, owner=self)

    def _failed(self, error: BaseException) -> None:
        from desktop_auth.services.errors import AccountLockedError

        if self.required and isinstance(error, ends_the_sign_in()):
            self._abandon(error)
            return
        if isinstance(error, AccountLockedError):
            self._forget()
        if self.end_if_locked_out(error):
            return
        self.show_failure(error)
        if self.code_edit.hasFocus():
            self.code_edit.selectAll()

    def _abandon(self, error: BaseException) -> None:
        self._forget()
        self.set_busy(False)
        self.close()  # "rejected" first (back to the sign-in form), then why
        self.abandoned.emit(error)

    def _enabled(self, result: Enabled) -> None:
        self._forget()
        self.set_busy(False)
        self.accept()
        self.enabled.emit(result)

    def _signed_in(self, user: SignedInUser) -> None:
        self._forget()
        self.set_busy(False)
        self.accept()
        self.signed_in.emit(user)

    def _forget(self) -> None:
        if self.current_edit is not None:
            self.current_edit.clear()
        self.code_edit.clear()

    def done(self, result: int) -> None:
        self._secret = self.uri = None
        self.secret_edit.clear()
        self.qr_label.clear()
        self.qr_picture = None
        if self.current_edit is not None:
            self.current_edit.clear()
        super().done(result)


def _recovery_codes_after(services: Services, user_id: int, current_password: str) -> Enabled:
    """After turning it on (on the worker): new recovery codes for a person who has no unused ones. Two-factor
    is on whatever happens here; a failure is only reported."""
    try:
        left = services.recovery.codes_left(user_id)
        if left:
            return Enabled(left, None, None)
        return Enabled(0, services.recovery.generate(user_id, current_password), None)
    except DesktopAuthError as error:
        return Enabled(0, None, error)


class TwoFactorOffDialog(OwnAccountDialog):
    """Turning two-factor sign-in off: the current password and a current code (one counted attempt)."""

    #: Too many wrong passwords or codes locked the account (carries the message).

    def __init__(
        self, runner: TaskRunner, services: Services, user_id: int, parent: QWidget | None = None
    ) -> None:
        super().__init__(
            "twoFactorOffDialog",
            self.tr("Turn off two-factor sign-in"),
            self.tr(
                "Signing in will ask for your password only. Type your current password and the code your "
                "authenticator app shows."
            ),
            parent,
        )
        self._runner, self._services, self._user_id = runner, services, user_id
        self.current_edit, self.current_error = self.add_current_password()
        self.code_edit = code_edit()
        self.code_error = self.add_field(
            self.tr("&Code from the app:"), self.code_edit, service_field="totp_code"
        )
        self.current_edit.textChanged.connect(lambda _t: self.current_error.clear_message())
        self.code_edit.textChanged.connect(lambda _t: self.code_error.clear_message())
        self.disable_button = self.add_button(
            button(self.tr("&Turn off"), "disableTwoFactorButton", self.tr("Turn off two-factor sign-in")),
            QDialogButtonBox.ButtonRole.AcceptRole,
        )
        self.disable_button.setDefault(True)
        self.disable_button.clicked.connect(self.submit)
        self.cancel_button = self.add_button(
            button(self.tr("Cancel"), "cancelButton", self.tr("Cancel")),
            QDialogButtonBox.ButtonRole.RejectRole,
        )
        self.setTabOrder(self.current_edit, self.code_edit)
        self.setTabOrder(self.code_edit, self.disable_button)
        self.setTabOrder(self.disable_button, self.cancel_button)

    def submit(self) -> None:
        if self.busy:
            return
        self.clear_errors()
        current, code = self.current_edit.text(), self.code_edit.text()
        if not current:
            self.current_error.show_message(self.tr("Enter your current password."))
            self.current_edit.setFocus()
            return
        if problem := code_problem(code):
            self.code_error.show_message(problem)
            self.code_edit.setFocus()
            return
        two_factor, user_id = self._services.two_factor, self._user_id
        self.set_busy(True, self.tr("Turning it off…"))
        self._runner.run(
            lambda: two_factor.disable(user_id, current, code),
            lambda _none: self._done(),
            self._failed,
            owner=self,
        )

    def _failed(self, error: BaseException) -> None:
        if self.end_if_locked_out(error, self.current_edit, self.code_edit):
            return
        self.show_failure(error)
        if self.code_edit.hasFocus():
            self.code_edit.selectAll()

    def _done(self) -> None:
        self.set_busy(False)
        self.current_edit.clear()
        self.code_edit.clear()
        self.accept()
