"""Recovery codes: one-time codes with which a person who forgot their password sets a new one, without an
administrator and without email.

A batch is ``CODES_PER_BATCH`` random codes, each ``CODE_GROUPS`` groups of four characters from the
temporary passwords' alphabet without look-alikes (``k7md-9xqz-abcd-efgh``: 16 random characters, about 79
bits). Being random and that long, a code needs no slow hash: the database keeps, per code, an HMAC-SHA-256
of it keyed with the batch's random salt (``models.RecoveryCode``), so one check is one fast hash and one
indexed lookup on (user_id, digest). A new batch deletes the earlier one.

"Forgot password" (``reset_with_code``) counts each attempt against the same per-address lockout as
sign-in (``services.throttle``), before the code is checked. An unknown address, an inactive account, an
account without codes and a wrong or spent code all get ``InvalidRecoveryCodeError`` after the same work:
the new password is hashed every time (that hash is the attempt's cost, ~0.3 s with the default method),
and the database is asked about as much (an unknown address one or two quick questions fewer than an
account: fractions of a millisecond, which tests/test_recovery_timing.py shows are lost in the hash's
spread). A valid code is spent in the transaction that stores the new password, by an UPDATE
that only matches it while unused, under the account's row lock: of two clients using one code at once,
exactly one succeeds.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
import unicodedata
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Connection, Row, bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session, lazyload

from desktop_auth.errors import InvalidInputError
from desktop_auth.identity import normalize_email, sign_in_key
from desktop_auth.messages import Message, message
from desktop_auth.models import RecoveryCode, User
from desktop_auth.security import totp
from desktop_auth.services import audit, throttle
from desktop_auth.services.attempts import Attempts
from desktop_auth.services.context import ServiceContext, require_admin, require_admin_to_change, retried
from desktop_auth.services.errors import (
    AccountInactiveError,
    AccountLockedError,
    AuthenticatorCodeRequiredError,
    InvalidRecoveryCodeError,
    NotFoundError,
    PasswordChangeRequiredError,
)
from desktop_auth.services.records import Actor, RecoveryCodes, RecoveryReset
from desktop_auth.services.temporary_passwords import ALPHABET, GROUP_LENGTH, SEPARATOR, private_text_file
from desktop_auth.services.timestamps import utc_text
from desktop_auth.text import scrub

log = logging.getLogger(__name__)

CODES_PER_BATCH = 10
CODE_GROUPS = 4
CODE_LENGTH = CODE_GROUPS * GROUP_LENGTH  # random characters in a code (16: about 79 bits)
#: Typed input beyond this many characters is not looked at (a code with a separator, a space and a
#: zero-width character after every character is still far shorter): a 50 MB paste costs nothing more.
MAX_TYPED_LENGTH = 256
_SALT_BYTES = 16  # 32 hex characters (models.RECOVERY_SALT_LENGTH)
_NO_SALT = "00" * _SALT_BYTES  # for an address with no codes: the digest is computed all the same

# Spaces, hyphens and dashes of every kind, and invisible format characters (zero-width space and joiner,
# soft hyphen, BOM...): none is ever part of a code, all are left out before comparing.
_IGNORED = re.compile(r"[\s\u00ad\u2010-\u2015\u2212\ufe58\ufe63\uff0d_.-]")

#: How the GUI shows a Message in the person's language (``desktop_auth.ui.shell.i18n.render``).
Render = Callable[[Message], str]


def normalize_code(typed: str) -> str:
    """A typed code as it is compared: NFKC (full-width letters and digits become plain ones), lower case,
    without spaces, hyphens, dashes or invisible characters. Anything else stays, so it cannot match."""
    text = unicodedata.normalize("NFKC", scrub(typed[:MAX_TYPED_LENGTH]))
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return _IGNORED.sub("", text).lower()


def format_code(characters: str) -> str:
    """A code as shown: groups of four joined by hyphens."""
    return SEPARATOR.join(
        characters[start : start + GROUP_LENGTH] for start in range(0, len(characters), GROUP_LENGTH)
    )


def new_code() -> str:
    """One random code, formatted (``CODE_LENGTH`` characters of ``ALPHABET``, from the OS's CSPRNG)."""
    return format_code("".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH)))


def code_digest(salt: str, normalized: str) -> str:
    """HMAC-SHA-256 of a normalized code keyed with its batch's salt (hex), as hex."""
    return hmac.new(bytes.fromhex(salt), normalized.encode("utf-8"), hashlib.sha256).hexdigest()


# -- statements -----------------------------------------------------------------------------------------
_ACCOUNT = select(User.id, User.active).where(User.email == bindparam("key"))
_ACCOUNT_LOCKED = (
    select(User.id, User.active, User.totp_secret, User.totp_last_step, User.email)
    .where(User.id == bindparam("owner"))
    .with_for_update()
)
_LockedAccount = Row[int, bool, str | None, int | None, str]
# The account's authenticator step moves on only forward: a code is good once (services/two_factor.py).
_SPEND_STEP = (
    update(User)
    .where(
        User.id == bindparam("owner"),
        User.totp_last_step.is_(None) | (User.totp_last_step < bindparam("step")),
    )
    .values(totp_last_step=bindparam("step"))
)
_SALT = select(RecoveryCode.salt).where(RecoveryCode.user_id == bindparam("owner")).limit(1)
_UNUSED = (RecoveryCode.user_id == bindparam("owner"), RecoveryCode.used_at.is_(None))
_FIND_UNUSED = select(RecoveryCode.id).where(*_UNUSED, RecoveryCode.digest == bindparam("typed_digest"))
_SPEND = (
    update(RecoveryCode)
    .where(*_UNUSED, RecoveryCode.digest == bindparam("typed_digest"))
    .values(used_at=bindparam("spent_at"))
)
_LEFT = select(func.count(RecoveryCode.id)).where(*_UNUSED)


class RecoveryService:
    def __init__(self, context: ServiceContext) -> None:
        self._context = context
        self._box = totp.SecretBox(context.settings.totp_key)
        self._attempts = Attempts(context)

    # -- making codes --------------------------------------------------------------------------------

    def generate(self, user_id: int, current_password: str) -> RecoveryCodes:
        """A new batch for one's own account, replacing the earlier one; the current password must be
        given. A wrong one counts against the sign-in lockout (AccountLockedError once locked)."""
        context = self._context
        current_password = current_password[: context.policy.max_length + 1]
        email, stored_hash = self._own_account(user_id)
        self._attempts.check(
            email,
            lambda: context.hasher.verify(stored_hash, current_password),
            lambda: InvalidInputError(
                "current_password", [message("Recovery", "The current password is incorrect.")]
            ),
            burn=lambda: context.hasher.burn_time(current_password),
        )
        return self._replace_batch(Actor(user_id, email), user_id, stored_hash, forget=email)

    def issue_for(self, actor: Actor, email: str) -> RecoveryCodes:
        """A new batch for someone else's account, made by an administrator or an operator (who hands it
        over); the earlier codes stop working. Audited."""
        key = normalize_email(email)
        user_id = self._user_id(actor, key)
        return self._replace_batch(actor, user_id, None, forget=None)

    @retried
    def _own_account(self, user_id: int) -> tuple[str, str | None]:
        with self._context.database.transaction() as session:
            user = session.get(User, user_id)
            if user is None or not user.active:
                raise AccountInactiveError()
            if user.must_change_password:
                raise PasswordChangeRequiredError()
            return user.email, user.password_hash

    @retried
    def _user_id(self, actor: Actor, key: str) -> int:
        with self._context.database.transaction() as session:
            require_admin(session, actor)
            user_id = session.scalar(select(User.id).where(User.email == key))
            if user_id is None:
                raise NotFoundError(
                    message("Recovery", "No account has the email address {email}.").format(email=key)
                )
            return user_id

    @retried
    def _replace_batch(
        self, actor: Actor, user_id: int, checked_hash: str | None, forget: str | None
    ) -> RecoveryCodes:
        """Delete the account's codes and store a new batch, in one transaction. ``checked_hash``: the
        password the person just gave must still be the account's (None: an administrator's act)."""
        now = self._context.clock()
        codes = _distinct_codes(CODES_PER_BATCH)
        salt = secrets.token_hex(_SALT_BYTES)
        with self._context.database.transaction(write=True) as session:
            if checked_hash is None:  # not the holder with their password: an administrator's act
                actor = require_admin_to_change(session, actor)
            user = _locked_user(session, user_id)
            if user is None:
                raise NotFoundError(message("Recovery", "This account no longer exists."))
            if checked_hash is not None and user.password_hash != checked_hash:
                raise InvalidInputError(
                    "current_password",
                    [message("Recovery", "The password was changed elsewhere meanwhile; sign in again.")],
                )
            connection = session.connection()
            replaced = connection.execute(
                delete(RecoveryCode).where(RecoveryCode.user_id == user_id)
            ).rowcount
            connection.execute(
                insert(RecoveryCode),
                [
                    {
                        "user_id": user_id,
                        "salt": salt,
                        "digest": code_digest(salt, normalize_code(code)),
                        "created_at": now,
                    }
                    for code in codes
                ],
            )
            if forget is not None:
                throttle.reset(session, [forget])  # the right password: this attempt was no failure
            audit.record(
                session,
                now,
                actor,
                "recovery_codes",
                user.email,
                user_id,
                new_value=str(len(codes)),
                detail="replaced the earlier codes" if replaced else None,
            )
            log.info("New recovery codes for account %s", user_id)
            return RecoveryCodes(user_id, user.email, now, tuple(codes), replaced_earlier=bool(replaced))

    # -- what is left ------------------------------------------------------------------------------------

    @retried
    def codes_left(self, user_id: int) -> int:
        """How many of one's own codes are unused (0: none made yet, or all spent)."""
        with self._context.database.transaction() as session:
            return int(session.execute(_LEFT, {"owner": user_id}).scalar_one())

    # -- forgot password -----------------------------------------------------------------------------

    def reset_with_code(
        self, email: str, code: str, new_password: str, authenticator_code: str = ""
    ) -> RecoveryReset:
        """Set a new password with an unused recovery code, which is then spent.

        The new password must meet the policy (checked first: it says nothing about any account). Every
        attempt counts against the address's sign-in lockout; a locked address gets AccountLockedError.
        Everything else that fails gets InvalidRecoveryCodeError, after the same work (module docstring).
        One factor never stands in for two: an account with two-factor sign-in also needs a current
        ``authenticator_code``; only a valid recovery code learns that (AuthenticatorCodeRequiredError,
        counted like a wrong code, nothing spent).
        """
        context = self._context
        key = sign_in_key(email)
        context.policy.validate(new_password, key, field_name="password")
        typed = normalize_code(code)
        if key is None:  # no one's address: refused like any other, after the same hash
            context.hasher.hash(new_password)
            raise InvalidRecoveryCodeError()
        until = self._attempts.reserve(key)
        if until is not None:
            context.hasher.burn_time(new_password)
            raise AccountLockedError(until, context.clock())
        new_hash = context.hasher.hash(new_password)  # slow: outside any transaction, whatever follows
        try:
            reset = self._redeem(key, typed, new_hash, authenticator_code)
        except AuthenticatorCodeRequiredError:
            self._attempts.fail(key)
            raise
        if reset is None:
            self._attempts.fail(key)
            raise InvalidRecoveryCodeError()
        return reset

    @retried
    def _redeem(self, key: str, typed: str, new_hash: str, authenticator_code: str) -> RecoveryReset | None:
        """Spend the code and store the new password, in one transaction; None (nothing changed) when the
        address has no active account or the code is not one of its unused codes."""
        now = self._context.clock()
        with self._context.database.transaction(write=True) as session:
            connection = session.connection()
            found = connection.execute(_ACCOUNT, {"key": key}).one_or_none()
            account = None
            if found is not None and found.active:
                # The account's row lock serializes every use of its codes; the UPDATE below reads the latest
                # committed codes (a plain read could see this transaction's older snapshot on MariaDB).
                account = connection.execute(_ACCOUNT_LOCKED, {"owner": found.id}).one_or_none()
            user_id = account.id if account is not None and account.active else 0
            salt = connection.execute(_SALT, {"owner": user_id}).scalar() or _NO_SALT
            digest = code_digest(salt, typed)
            if user_id == 0:  # the same questions, none of them able to match or to take a lock
                connection.execute(_FIND_UNUSED, {"owner": 0, "typed_digest": digest}).all()
                return None
            if account is not None and account.totp_secret is not None:
                self._spend_authenticator_step(connection, account, digest, authenticator_code, now)
            spent = connection.execute(
                _SPEND, {"owner": user_id, "typed_digest": digest, "spent_at": now}
            ).rowcount
            if spent != 1:
                return None  # nothing matched, so nothing was written
            left = int(connection.execute(_LEFT, {"owner": user_id}).scalar_one())
            user = _locked_user(session, user_id)
            assert user is not None  # locked above
            user.password_hash = new_hash
            user.must_change_password = False
            user.password_changed_at = now
            user.update_date = now
            session.flush()
            throttle.reset(session, [key])
            audit.record(
                session,
                now,
                Actor(user_id, user.email),
                "recovery_reset",
                user.email,
                user_id,
                new_value=str(left),
                detail=f"reset own password with a recovery code ({left} left)",
            )
            log.info("Account %s reset its password with a recovery code", user_id)
            return RecoveryReset(user.email, left, now)

    def _spend_authenticator_step(
        self, connection: Connection, account: _LockedAccount, digest: str, typed: str, now: datetime
    ) -> None:
        """For an account with two-factor sign-in, whose recovery code ``digest`` names an unused one: the
        authenticator's current code must come too, and is spent (raises, nothing written, otherwise)."""
        if connection.execute(_FIND_UNUSED, {"owner": account.id, "typed_digest": digest}).first() is None:
            return  # a wrong recovery code: the caller's answer says nothing of a second factor
        secret = self._box.open(account.totp_secret or "")
        step = totp.matching_step(secret, typed, now, account.totp_last_step)
        if step is None or connection.execute(_SPEND_STEP, {"owner": account.id, "step": step}).rowcount != 1:
            raise AuthenticatorCodeRequiredError()

    def spend_at_sign_in(self, user_id: int, code: str) -> bool:
        """At the code step of a sign-in (the password was right), a recovery code standing in for the
        authenticator: True when it was one of the account's unused codes, now spent. Audited; the caller
        counts the attempt (``services/attempts.py``)."""
        return self._spend_for_sign_in(user_id, normalize_code(code))

    @retried
    def _spend_for_sign_in(self, user_id: int, typed: str) -> bool:
        now = self._context.clock()
        with self._context.database.transaction(write=True) as session:
            connection = session.connection()
            account = connection.execute(_ACCOUNT_LOCKED, {"owner": user_id}).one_or_none()
            if account is None or not account.active:
                return False
            salt = connection.execute(_SALT, {"owner": user_id}).scalar() or _NO_SALT
            spent = connection.execute(
                _SPEND, {"owner": user_id, "typed_digest": code_digest(salt, typed), "spent_at": now}
            ).rowcount
            if spent != 1:
                return False
            left = int(connection.execute(_LEFT, {"owner": user_id}).scalar_one())
            email = account.email
            throttle.reset(session, [email])
            audit.record(
                session,
                now,
                Actor(user_id, email),
                "recovery_sign_in",
                email,
                user_id,
                new_value=str(left),
                detail=f"signed in with a recovery code instead of the authenticator ({left} left)",
            )
            return True


def codes_text(issued: RecoveryCodes, render: Render | None = None) -> str:
    """The batch as plain text, for the clipboard and the saved file: its heading in English (the moment in
    UTC, as the CLI writes it), or through ``render`` (the GUI's ``i18n.render``: the person's language and
    local time)."""
    words = message(
        "Recovery",
        "desktop-auth recovery codes for {email}, made {moment}.\n"
        "Each code resets your password once. A new batch replaces these.",
    ).format(email=issued.email)
    if render is None:
        heading = str(words.format(moment=utc_text(issued.created_at)))
    else:
        heading = render(words.format(moment=issued.created_at))
    return heading + "\n\n" + "".join(f"{code}\n" for code in issued.codes)


def write_codes(path: str | os.PathLike[str], text: str) -> None:
    """Save a batch's ``codes_text`` to a file only its owner may read (0600 on POSIX, from its first byte:
    see ``temporary_passwords.private_text_file``); raises ExportFailedError, leaving nothing behind."""
    with private_text_file(path) as out:
        out.write(text)


def _locked_user(session: Session, user_id: int) -> User | None:
    return session.scalars(
        select(User).options(lazyload(User.role)).where(User.id == user_id).with_for_update()
    ).one_or_none()


def _distinct_codes(count: int) -> list[str]:
    codes: list[str] = []
    while len(codes) < count:
        code = new_code()
        if code not in codes:
            codes.append(code)
    return codes
