"""Typed errors the services raise. Each message is written for the person in front of the app or CLI."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

# The database layer's errors, re-exported: the layers above the services never import desktop_auth.db.
from desktop_auth.db.errors import CommitOutcomeUnknownError as CommitOutcomeUnknownError
from desktop_auth.db.errors import DatabaseBusyError as DatabaseBusyError
from desktop_auth.db.errors import DatabaseConnectionLostError as DatabaseConnectionLostError
from desktop_auth.db.errors import DatabaseUnavailableError as DatabaseUnavailableError
from desktop_auth.db.errors import DatabaseUrlError as DatabaseUrlError
from desktop_auth.db.errors import IdentityConflictError as IdentityConflictError
from desktop_auth.db.errors import SchemaError as SchemaError
from desktop_auth.db.errors import SchemaOutdatedError as SchemaOutdatedError
from desktop_auth.errors import DesktopAuthError, InvalidInputError
from desktop_auth.messages import Message, message, message_n

if TYPE_CHECKING:  # the GUI imports these errors at start-up: keep datetime out of that path
    from datetime import datetime

    from desktop_auth.services.records import SignInChallenge


class ServiceError(DesktopAuthError):
    """A refused operation. Nothing was changed."""


class EmailAlreadyRegisteredError(InvalidInputError):
    def __init__(self) -> None:
        super().__init__(
            "email", [message("ServiceErrors", "An account with this email address already exists.")]
        )


class EmailLooksLikeAnotherError(InvalidInputError):
    """A non-ASCII address whose look-alike skeleton is an existing account's (desktop_auth.identity)."""

    def __init__(self) -> None:
        super().__init__(
            "email",
            [
                message(
                    "ServiceErrors", "This address looks too much like an existing account's. Choose another."
                )
            ],
        )


class InvalidCredentialsError(ServiceError):
    def __init__(self) -> None:
        # One message for an unknown email and a wrong password: the answer must not reveal which.
        super().__init__(message("ServiceErrors", "The email address or password is incorrect."))


class AccountInactiveError(ServiceError):
    def __init__(self) -> None:
        super().__init__(
            message(
                "ServiceErrors", "This account has been deactivated. Ask an administrator to reactivate it."
            )
        )


class TemporaryPasswordExpiredError(ServiceError):
    def __init__(self) -> None:
        super().__init__(
            message(
                "ServiceErrors", "This temporary password has expired. Ask an administrator for a new one."
            )
        )


class PasswordChangeRequiredError(ServiceError):
    def __init__(self) -> None:
        super().__init__(message("ServiceErrors", "Choose your own password before you do anything else."))


def _wait(seconds: float) -> tuple[bool, int]:
    """``(in_seconds, count)``: a wait under a minute in whole seconds, else in minutes rounded up (never
    promise less than the real wait)."""
    whole = max(1, round(seconds))
    return (True, whole) if whole < 60 else (False, -(-whole // 60))


def describe_wait(seconds: float) -> Message:
    """The wait as a person reads it: "42 seconds", "3 minutes"."""
    in_seconds, count = _wait(seconds)
    if in_seconds:
        return message_n("ServiceErrors", "{n} second", "{n} seconds", count)
    return message_n("ServiceErrors", "{n} minute", "{n} minutes", count)


class AccountLockedError(ServiceError):
    def __init__(self, locked_until: datetime, now: datetime) -> None:
        self.locked_until = locked_until
        self.seconds_left = max(0.0, (locked_until - now).total_seconds())
        super().__init__(self.message_with(self.seconds_left))

    @staticmethod
    def message_with(seconds_left: float) -> Message:
        """The refusal with this much of the wait left (a countdown shows it again as time passes)."""
        in_seconds, count = _wait(seconds_left)
        if in_seconds:
            return message_n(
                "ServiceErrors",
                "Too many failed sign-ins. Try again in {n} second, or ask an administrator to unlock the account.",
                "Too many failed sign-ins. Try again in {n} seconds, or ask an administrator to unlock the account.",
                count,
            )
        return message_n(
            "ServiceErrors",
            "Too many failed sign-ins. Try again in {n} minute, or ask an administrator to unlock the account.",
            "Too many failed sign-ins. Try again in {n} minutes, or ask an administrator to unlock the account.",
            count,
        )


class PermissionDeniedError(ServiceError):
    def __init__(self, text: str | Message | None = None) -> None:
        super().__init__(
            text
            if text is not None
            else message("ServiceErrors", "Only an active administrator can do this.")
        )


class NotFoundError(ServiceError):
    pass


class StaleEditError(ServiceError):
    """Rows changed since they were read; nothing was saved. ``conflicts`` maps user id -> email."""

    def __init__(self, conflicts: dict[int, str]) -> None:
        self.conflicts = dict(conflicts)
        if not self.conflicts:
            super().__init__(
                message(
                    "ServiceErrors",
                    "Changed by someone else meanwhile: the edited accounts. Nothing was saved; review the "
                    "reloaded rows and save again.",
                )
            )
            return
        super().__init__(
            message(
                "ServiceErrors",
                "Changed by someone else meanwhile: {emails}. Nothing was saved; review the reloaded rows and "
                "save again.",
            ).format(emails=", ".join(sorted(self.conflicts.values())))
        )


class LastAdminError(ServiceError):
    def __init__(self) -> None:
        super().__init__(
            message("ServiceErrors", "This change would leave no active administrator, so it was not made.")
        )


class SelfDeactivationError(ServiceError):
    def __init__(self) -> None:
        super().__init__(message("ServiceErrors", "You cannot deactivate your own account."))


class SelfDemotionError(ServiceError):
    """A bulk change would take away the actor's own administrator role; sent again with
    ``confirm_self_demotion=True`` once the person has said yes."""

    def __init__(self) -> None:
        super().__init__(
            message(
                "ServiceErrors",
                "This change takes away your own administrator role: you would lose access to the role editor.",
            )
        )


class BulkChangeEndedError(ServiceError):
    def __init__(self, state: str) -> None:
        self.state = state
        texts = {
            "staged": message(
                "ServiceErrors", "This change has already ended (staged); stage it again to apply it."
            ),
            "running": message(
                "ServiceErrors", "This change has already ended (running); stage it again to apply it."
            ),
            "failed": message(
                "ServiceErrors", "This change has already ended (failed); stage it again to apply it."
            ),
            "cancelled": message(
                "ServiceErrors", "This change has already ended (cancelled); stage it again to apply it."
            ),
            "done": message(
                "ServiceErrors", "This change has already ended (done); stage it again to apply it."
            ),
        }
        fallback = message(
            "ServiceErrors", "This change has already ended ({state}); stage it again to apply it."
        )
        super().__init__(texts.get(state) or fallback.format(state=state))


class RoleProtectedError(ServiceError):
    def __init__(self, name: str, action: Literal["removed", "renamed"] = "removed") -> None:
        if action == "renamed":
            text = message("ServiceErrors", "The role '{name}' is built in and cannot be renamed.")
        else:
            text = message("ServiceErrors", "The role '{name}' is built in and cannot be removed.")
        super().__init__(text.format(name=name))


class RoleInUseError(ServiceError):
    def __init__(self, name: str, holders: int) -> None:
        self.holders = holders
        super().__init__(
            message_n(
                "ServiceErrors",
                "The role '{name}' is held by {n} account; give them another role first.",
                "The role '{name}' is held by {n} accounts; give them another role first.",
                holders,
            ).format(name=name)
        )


class RoleExistsError(InvalidInputError):
    def __init__(self, name: str) -> None:
        super().__init__(
            "role", [message("ServiceErrors", "A role named '{name}' already exists.").format(name=name)]
        )


class SetupAlreadyDoneError(ServiceError):
    def __init__(self) -> None:
        super().__init__(
            message("ServiceErrors", "An administrator account already exists. Sign in instead.")
        )


class RegistrationClosedError(ServiceError):
    def __init__(self) -> None:
        super().__init__(
            message(
                "ServiceErrors",
                "Self-registration is turned off. Ask an administrator to create your account.",
            )
        )


class LastAdminDeletionError(LastAdminError):
    """A deletion would leave no active administrator (``services.lifecycle``)."""

    def __init__(self) -> None:
        ServiceError.__init__(
            self,
            message(
                "ServiceErrors",
                "This would delete the last active administrator, so nothing was deleted. "
                "Make another account an administrator first.",
            ),
        )


class SelfDeletionError(ServiceError):
    def __init__(self) -> None:
        super().__init__(
            message(
                "ServiceErrors",
                "Your own account is among those selected: you cannot delete it from here. "
                "Leave it out of the selection (Ctrl+click it).",
            )
        )


class TooManyDeletionsError(ServiceError):
    def __init__(self, selected: int, limit: int) -> None:
        self.selected, self.limit = selected, limit
        super().__init__(
            message_n(
                "ServiceErrors",
                "Delete at most {limit} accounts at once ({n} is selected); nothing was deleted. "
                "Narrow the selection, for example with the filter.",
                "Delete at most {limit} accounts at once ({n} are selected); nothing was deleted. "
                "Narrow the selection, for example with the filter.",
                selected,
            ).format(limit=limit)
        )


class InvalidRecoveryCodeError(InvalidInputError):
    """Forgot password refused: one answer for an unknown address, an inactive account, an account without
    codes and a wrong or spent code (``services.recovery``), shown under the code's field."""

    def __init__(self) -> None:
        super().__init__(
            "recovery_code",
            [
                message(
                    "ServiceErrors",
                    "That code is not valid for that address. If you have no recovery codes, ask an administrator.",
                )
            ],
        )


class LastAdminSelfDeleteError(ServiceError):
    """Deleting one's own account would leave no active administrator (services/own_account.py)."""

    def __init__(self) -> None:
        super().__init__(
            message(
                "ServiceErrors",
                "You are the last active administrator, so your account cannot be deleted. "
                "Make someone else an administrator first.",
            )
        )


class ImportRefusedError(ServiceError):
    """A CSV import whose preview has problems (``services.user_import``); nothing was written."""

    def __init__(self, rows_with_problems: int, whole_file: bool = False) -> None:
        self.rows_with_problems = rows_with_problems
        if whole_file:
            super().__init__(
                message(
                    "ServiceErrors",
                    "The file cannot be imported as it is; nothing was imported. Fix it and try again.",
                )
            )
            return
        super().__init__(
            message_n(
                "ServiceErrors",
                "{n} row of the file has problems; nothing was imported. Fix them and try again.",
                "{n} rows of the file have problems; nothing was imported. Fix them and try again.",
                rows_with_problems,
            )
        )


class ImportConflictError(ServiceError):
    """Addresses of a CSV import registered (or a look-alike of them) by someone else since the preview;
    the whole import was refused, nothing written. ``emails`` names them."""

    SHOWN = 5  # addresses named; the rest are counted

    def __init__(self, emails: list[str]) -> None:
        self.emails = tuple(emails)
        named = ", ".join(self.emails[: self.SHOWN])
        if not self.emails:
            text = message(
                "ServiceErrors",
                "Meanwhile someone else registered one of the addresses (or a look-alike); nothing was imported. "
                "Check the file again and remove it.",
            )
        elif len(self.emails) <= self.SHOWN:
            text = message(
                "ServiceErrors",
                "Meanwhile someone else registered {emails} (or a look-alike); nothing was imported. "
                "Check the file again and remove it.",
            ).format(emails=named)
        else:
            count = len(self.emails) - self.SHOWN
            text = message_n(
                "ServiceErrors",
                "Meanwhile someone else registered {emails} and {n} more (or a look-alike); nothing was imported. "
                "Check the file again and remove it.",
                "Meanwhile someone else registered {emails} and {n} more (or a look-alike); nothing was imported. "
                "Check the file again and remove it.",
                count,
            ).format(emails=named)
        super().__init__(text)


class ImportCancelledError(ServiceError):
    def __init__(self) -> None:
        super().__init__(message("ServiceErrors", "The import was cancelled; nothing was imported."))


class TwoFactorStateError(ServiceError):
    """Two-factor sign-in is not in the state the request needs (already on, not on, changed meanwhile)."""


class SecondFactorRequiredError(ServiceError):
    """The password was right; the account signs in with an authenticator code too (``challenge``)."""

    def __init__(self, challenge: SignInChallenge) -> None:
        self.challenge = challenge
        super().__init__(message("ServiceErrors", "Type the code from your authenticator app."))


class TwoFactorEnrollmentRequiredError(ServiceError):
    """The password was right; this administrator must set up two-factor sign-in before going on."""

    def __init__(self, challenge: SignInChallenge) -> None:
        self.challenge = challenge
        super().__init__(
            message(
                "ServiceErrors",
                "Administrators of this organisation sign in with an authenticator app too: set one up to go on.",
            )
        )


class SignInExpiredError(ServiceError):
    def __init__(self) -> None:
        super().__init__(message("ServiceErrors", "That took too long: sign in again."))


class AuthenticatorCodeRequiredError(InvalidInputError):
    """Forgot password on an account with two-factor sign-in: the recovery code was right, and a current
    authenticator code must come with it (one factor never stands in for two)."""

    def __init__(self) -> None:
        super().__init__(
            "authenticator_code",
            [
                message(
                    "ServiceErrors",
                    "This account uses two-factor sign-in: type the current code from its authenticator app "
                    "too. If you lost it, ask an administrator.",
                )
            ],
        )
