"""Two-factor sign-in with an authenticator app (TOTP, ``security/totp.py``): enrolling, the code check
that follows a right password, turning it off, and an administrator's reset.

- Enrolling stores the secret only after a right code proves the app holds it, and with the current
  password (a person who left a session open cannot tie someone else's phone to it).
- A code is good once: the step it matched is stored (``user.totp_last_step``) with an UPDATE that only
  raises it, so the same code used twice, even by two clients at the same moment through different
  cluster nodes, gets in once.
- Wrong codes and wrong passwords here count against the same per-address lockout as the sign-in form
  (``services/attempts.py``).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session, lazyload

from desktop_auth.errors import InvalidInputError
from desktop_auth.identity import sign_in_key
from desktop_auth.messages import message
from desktop_auth.models import ADMIN_ROLE, User
from desktop_auth.security import totp
from desktop_auth.services import audit, throttle
from desktop_auth.services.attempts import Attempts, FailureNote
from desktop_auth.services.context import (
    ServiceContext,
    claim_admin_targets,
    require_admin_to_change,
    retried,
    two_factor_required_of_admins,
)
from desktop_auth.services.errors import (
    AccountInactiveError,
    NotFoundError,
    PasswordChangeRequiredError,
    TwoFactorStateError,
)
from desktop_auth.services.records import Actor, TwoFactorEnrollment

WRONG_PASSWORD = message("TwoFactor", "The current password is incorrect.")
WRONG_CODE = message(
    "TwoFactor",
    "That code is not right. Type the newest code your authenticator app shows (a code works once, and "
    "the phone's clock must be right).",
)
_BASE32_SECRET = re.compile(r"[A-Z2-7]{32}")


class _Factor(NamedTuple):
    email: str
    password_hash: str | None
    sealed_secret: str | None
    last_step: int | None


class TwoFactorService:
    def __init__(self, context: ServiceContext) -> None:
        self._context = context
        self._attempts = Attempts(context)
        self._box = totp.SecretBox(context.settings.totp_key)

    # -- one's own factor ------------------------------------------------------------------------------

    def has_factor(self, user_id: int) -> bool:
        return self._factor(user_id).sealed_secret is not None

    def start_enrollment(self, user_id: int) -> TwoFactorEnrollment:
        """A new secret and its ``otpauth://`` URI for the QR code; nothing is stored until ``enable``
        (also for an account that must change its password: an administrator at sign-in, see
        ``enable_proven``)."""
        factor = self._factor(user_id, signing_in=True)
        if factor.sealed_secret is not None:
            raise TwoFactorStateError(
                message("TwoFactor", "Two-factor sign-in is already on for this account.")
            )
        secret = totp.new_secret()
        return TwoFactorEnrollment(factor.email, secret, totp.provisioning_uri(secret, factor.email))

    def enable(self, user_id: int, current_password: str, secret: str, code: str) -> None:
        """Turn two-factor sign-in on with ``secret`` (from ``start_enrollment``) once ``code`` shows the
        app holds it; the current password must be given (a wrong one counts toward the lockout)."""
        factor = self._factor_to_enable(user_id, secret)
        self._check_password(user_id, factor, current_password, "two_factor_enable_failed")
        self._enable(user_id, factor, secret, code)

    def enable_proven(self, user_id: int, checked_hash: str | None, secret: str, code: str) -> None:
        """``enable`` within a sign-in whose password was just checked (``checked_hash``, what it matched):
        an administrator setting up the factor the organisation requires before going on."""
        factor = self._factor_to_enable(user_id, secret, signing_in=True)
        if factor.password_hash != checked_hash:
            raise TwoFactorStateError(
                message("TwoFactor", "Your password was changed meanwhile; sign in again.")
            )
        self._enable(user_id, factor, secret, code)

    def _factor_to_enable(self, user_id: int, secret: str, signing_in: bool = False) -> _Factor:
        if not _BASE32_SECRET.fullmatch(secret):
            raise InvalidInputError(
                "totp_secret", [message("TwoFactor", "That is not a secret this app made; start again.")]
            )
        factor = self._factor(user_id, signing_in)
        if factor.sealed_secret is not None:
            raise TwoFactorStateError(
                message("TwoFactor", "Two-factor sign-in is already on for this account.")
            )
        return factor

    def _enable(self, user_id: int, factor: _Factor, secret: str, code: str) -> None:
        step = totp.matching_step(secret, code, self._context.clock())
        if step is None:  # the password was right: a mistyped code here guesses nothing
            raise InvalidInputError("totp_code", [WRONG_CODE])
        self._store(user_id, factor, self._box.seal(secret), step, "two_factor_enable")

    def disable(self, user_id: int, current_password: str, code: str) -> None:
        """Turn it off: the current password and a current code, checked as one attempt."""
        factor = self._factor(user_id)
        if factor.sealed_secret is None:
            raise TwoFactorStateError(message("TwoFactor", "Two-factor sign-in is not on for this account."))
        self._refuse_if_required(user_id)
        secret = self._box.open(factor.sealed_secret)
        problems: list[InvalidInputError] = []

        def passes() -> bool:
            if not self._context.hasher.verify(factor.password_hash, self._bounded(current_password)):
                problems.append(InvalidInputError("current_password", [WRONG_PASSWORD]))
            elif totp.matching_step(secret, code, self._context.clock(), factor.last_step) is None:
                problems.append(InvalidInputError("totp_code", [WRONG_CODE]))
            return not problems

        self._attempts.check(
            factor.email,
            passes,
            lambda: problems[0],
            FailureNote(Actor(user_id, factor.email), "two_factor_disable_failed", "wrong password or code"),
        )
        self._store(user_id, factor, None, None, "two_factor_disable")

    # -- the code step of a sign-in -------------------------------------------------------------------

    def verify_code(self, user_id: int, code: str) -> None:
        """The second step of a sign-in whose password was right: ``code`` must be the app's current
        code and not one used before. A wrong or reused code counts toward the address's lockout
        (AccountLockedError once locked; InvalidInputError('totp_code') before that)."""
        factor = self._factor(user_id, signing_in=True)
        if factor.sealed_secret is None:
            raise TwoFactorStateError(message("TwoFactor", "Two-factor sign-in is not on for this account."))
        secret = self._box.open(factor.sealed_secret)
        matched: list[int] = []

        def passes() -> bool:
            step = totp.matching_step(secret, code, self._context.clock(), factor.last_step)
            if step is not None:
                matched.append(step)
            return step is not None

        note = FailureNote(Actor(user_id, factor.email), "two_factor_failed", "wrong or reused code")
        self._attempts.check(factor.email, passes, lambda: InvalidInputError("totp_code", [WRONG_CODE]), note)
        if not self._spend(user_id, factor.email, matched[0]):
            # Another client used this very code a moment ago: a replay, counted like a wrong code.
            self._attempts.fail(factor.email, note)
            raise InvalidInputError("totp_code", [WRONG_CODE])

    @retried
    def _spend(self, user_id: int, email: str, step: int) -> bool:
        with self._context.database.transaction(write=True) as session:
            spent = (
                session.connection()
                .execute(  # a Connection's result knows its rowcount
                    update(User)
                    .where(
                        User.id == user_id,
                        User.totp_secret.is_not(None),
                        (User.totp_last_step.is_(None)) | (User.totp_last_step < step),
                    )
                    .values(totp_last_step=step)
                )
                .rowcount
            )
            if spent:
                throttle.reset(session, [email])
            return bool(spent)

    # -- administrators ---------------------------------------------------------------------------------

    @retried
    def reset(self, actor: Actor, email: str) -> None:
        """Remove a person's factor (they lost their phone); they sign in with the password alone and may
        enroll again. Audited."""
        key = sign_in_key(email)
        now = self._context.clock()
        with self._context.database.transaction(write=True) as session:
            actor = require_admin_to_change(session, actor)
            user = None if key is None else _locked(session, User.email == key)
            if user is None:
                raise NotFoundError(
                    message("TwoFactor", "There is no account '{email}'.").format(email=email)
                )
            if user.totp_secret is None:
                raise TwoFactorStateError(
                    message("TwoFactor", "{email} has no two-factor sign-in to reset.").format(
                        email=user.email
                    )
                )
            if user.active and user.role.name == ADMIN_ROLE:  # another administrator's authority
                claim_admin_targets(session, [user.id], removing_an_admin=False)
            user.totp_secret = None
            user.totp_last_step = None
            user.update_date = now
            session.flush()
            audit.record(session, now, actor, "two_factor_reset", user.email, user.id)

    # -- helpers ----------------------------------------------------------------------------------------

    @retried
    def _refuse_if_required(self, user_id: int) -> None:
        with self._context.database.transaction() as session:
            user = session.get(User, user_id)
            if user is not None:
                _refuse_while_required(session, user)

    def _bounded(self, password: str) -> str:
        return password[: self._context.policy.max_length + 1]  # longer cannot match: keep it cheap

    def _check_password(self, user_id: int, factor: _Factor, password: str, failed_action: str) -> None:
        password = self._bounded(password)
        hasher = self._context.hasher
        self._attempts.check(
            factor.email,
            lambda: hasher.verify(factor.password_hash, password),
            lambda: InvalidInputError("current_password", [WRONG_PASSWORD]),
            FailureNote(Actor(user_id, factor.email), failed_action, "wrong current password"),
            burn=lambda: hasher.burn_time(password),
        )

    @retried
    def _factor(self, user_id: int, signing_in: bool = False) -> _Factor:
        """The account's factor. ``signing_in``: a step of a sign-in, which a temporary password does not
        stop (the sign-in ends in Change password, as without two-factor); anything else it stops."""
        with self._context.database.transaction() as session:
            user = session.get(User, user_id)
            if user is None or not user.active:
                raise AccountInactiveError()
            if user.must_change_password and not signing_in:
                raise PasswordChangeRequiredError()
            return _Factor(user.email, user.password_hash, user.totp_secret, user.totp_last_step)

    @retried
    def _store(
        self, user_id: int, factor: _Factor, sealed: str | None, step: int | None, action: str
    ) -> None:
        now = self._context.clock()
        with self._context.database.transaction(write=True) as session:
            user = _locked(session, User.id == user_id)
            if (
                user is None
                or user.password_hash != factor.password_hash
                or user.totp_secret != factor.sealed_secret
            ):
                raise TwoFactorStateError(
                    message(
                        "TwoFactor",
                        "Your account was changed elsewhere meanwhile (password or two-factor); try again.",
                    )
                )
            if sealed is None and action == "two_factor_disable":
                _refuse_while_required(session, user)  # required meanwhile: checked again under the lock
            user.totp_secret = sealed
            user.totp_last_step = step
            user.update_date = now
            session.flush()  # the version column moves on with the row (stale edits elsewhere notice)
            throttle.reset(session, [factor.email])
            audit.record(session, now, Actor(user_id, factor.email), action, factor.email, user_id)


def _refuse_while_required(session: Session, user: User) -> None:
    """An active administrator keeps the factor the organisation requires of administrators."""
    if user.active and user.role.name == ADMIN_ROLE and two_factor_required_of_admins(session):
        raise TwoFactorStateError(
            message(
                "TwoFactor",
                "This organisation requires two-factor sign-in of administrators: it cannot be turned off. "
                "To move it to a new phone, turn it on again after an administrator resets it.",
            )
        )


def _locked(session: Session, where: ColumnElement[bool]) -> User | None:
    return session.scalars(
        select(User).options(lazyload(User.role)).where(where).with_for_update()
    ).one_or_none()
