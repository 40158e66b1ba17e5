"""Accounts from their owner's side: first administrator, registration, sign-in, own password."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import Row, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, lazyload

from desktop_auth.db.errors import DatabaseBusyError, DatabaseConnectionLostError
from desktop_auth.errors import InvalidInputError
from desktop_auth.identity import lookalike_range, may_look_alike, normalize_email, sign_in_key, skeleton_key
from desktop_auth.messages import message
from desktop_auth.models import ADMIN_ROLE, USER_ROLE, Role, User
from desktop_auth.security import totp
from desktop_auth.services import audit, throttle
from desktop_auth.services.app_settings import read_shared_settings
from desktop_auth.services.attempts import Attempts, FailureNote
from desktop_auth.services.context import (
    ServiceContext,
    lock_admin_set,
    retried,
    role_by_name,
    to_record,
    two_factor_required_of_admins,
)
from desktop_auth.services.errors import (
    AccountInactiveError,
    AccountLockedError,
    EmailAlreadyRegisteredError,
    EmailLooksLikeAnotherError,
    InvalidCredentialsError,
    NotFoundError,
    RegistrationClosedError,
    SecondFactorRequiredError,
    SetupAlreadyDoneError,
    SignInExpiredError,
    TemporaryPasswordExpiredError,
    TwoFactorEnrollmentRequiredError,
    TwoFactorStateError,
)
from desktop_auth.services.records import (
    Actor,
    SessionState,
    SignedInUser,
    SignInChallenge,
    UserRecord,
    temporary_password_expiry,
)
from desktop_auth.services.recovery import RecoveryService
from desktop_auth.services.sql import is_missing_parent
from desktop_auth.services.two_factor import TwoFactorService

log = logging.getLogger(__name__)

WRONG_SECOND_STEP = message(
    "Accounts",
    "That code is not right. Type the newest code your authenticator app shows (a code works once, and "
    "the phone's clock must be right). A recovery code works once too.",
)

PURGE_INTERVAL = timedelta(minutes=10)

# -- Sign-in's statements -------------------------------------------------------------------------------
# A sign-in's reads and writes are Core statements built once (here, in throttle.py and app_settings.py) and
# run on the session's connection, not ORM statements built per call: those cost ~0.25 ms each to build,
# cache and run, these ~0.02 ms (SQLite), and bench/signin_overhead.py's 1.5x target (issue #15) needs the
# difference.
_ACCOUNT_BY_EMAIL = select(User.id, User.password_hash, User.must_change_password).where(
    User.email == bindparam("key")
)
# The user row locked alone: MariaDB has no FOR UPDATE OF, and locking the role row too made concurrent
# sign-ins deadlock with administrators changing roles. The role's name and whether the address has failures
# to forget are scalar subqueries, which MariaDB reads without locking (tests/test_signin_statements.py).
_USER_LOCKED = (
    select(
        User.id,
        User.email,
        User.password_hash,
        User.active,
        User.last_login_at,
        User.login_count,
        User.must_change_password,
        User.password_changed_at,
        User.totp_secret.is_not(None).label("has_factor"),
        select(Role.name).where(Role.id == User.role_id).scalar_subquery().label("role"),
        throttle.counting().label("counting"),
    )
    .where(User.id == bindparam("user_id"))
    .with_for_update()
)
# Sign-in bookkeeping is not an edit of the account: it leaves version and update_date alone, so an admin's
# pending edit does not conflict with the user merely signing in.
_RECORD_LOGIN = (
    update(User)
    .where(User.id == bindparam("user_id"))
    .values(last_login_at=bindparam("now"), login_count=User.login_count + 1, update_date=User.update_date)
)
_RECORD_LOGIN_AND_REHASH = _RECORD_LOGIN.values(password_hash=bindparam("new_hash"))


def count_active_admins(session: Session, locking: bool = False) -> int:
    """How many active administrators there are; ``locking`` reads the latest committed rows (and locks
    them) rather than the transaction's snapshot, for a check made after claiming the ``admins`` guard."""
    statement = (
        select(func.count(User.id)).join(User.role).where(Role.name == ADMIN_ROLE, User.active.is_(True))
    )
    return int(session.scalar(statement.with_for_update(read=True) if locking else statement) or 0)


def find_lookalike(session: Session, email: str) -> str | None:
    """Another account's address that ``email`` (normalized) looks too much like, or None.

    Only an address with a non-ASCII character can be refused (desktop_auth.identity explains the rule
    and the key); the lookup is one range of the unique ``email_skeleton`` index.
    """
    if not may_look_alike(email):
        return None
    low, high = lookalike_range(email)
    return session.scalar(
        select(User.email)
        .where(User.email_skeleton >= low, User.email_skeleton < high, User.email != email)
        .limit(1)
    )


def require_new_identity(session: Session, email: str) -> None:
    """Refuse an address (normalized) that is already an account's, or that looks like one's."""
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise EmailAlreadyRegisteredError()
    if find_lookalike(session, email) is not None:
        raise EmailLooksLikeAnotherError()


def insert_account(
    session: Session,
    context: ServiceContext,
    email: str,
    password_hash: str,
    role: Role,
    actor: Actor | None,
    how: str,
) -> UserRecord:
    """Insert one account (email already normalized, password already hashed) and audit it.

    Every path that creates an account comes through here, so each is refused alike when the address is
    taken or looks like another account's; the unique indexes settle a race between two clients.
    """
    require_new_identity(session, email)
    now = context.clock()
    user = User(
        email=email,
        email_skeleton=skeleton_key(email),
        password_hash=password_hash,
        role=role,
        active=True,
        must_change_password=False,
        login_count=0,
        password_changed_at=now,
        create_date=now,
        update_date=now,
    )
    try:
        with session.begin_nested():  # a savepoint, so the refusal can be explained below
            session.add(user)
            session.flush()
    except IntegrityError as error:
        if is_missing_parent(error):
            raise NotFoundError(
                message("Accounts", "There is no role named '{role}'.").format(role=role.name)
            ) from None  # removed meanwhile
        # A concurrent registration won. The same non-ASCII address breaks both unique indexes, and the
        # backend names whichever it checked first: only a look-alike key with the address free is a
        # look-alike. (A locking read sees the winner's row even under MariaDB's repeatable read.)
        taken = select(User.id).where(User.email == email).with_for_update(read=True)
        if "email_skeleton" in str(error.orig) and session.scalar(taken) is None:
            raise EmailLooksLikeAnotherError() from None
        raise EmailAlreadyRegisteredError() from None
    audit.record(
        session,
        now,
        actor or Actor(user.id, email),
        "create",
        email,
        user.id,
        new_value=role.name,
        detail=how,
    )
    log.info("Account %s created (%s)", user.id, how)
    return to_record(user)


class AccountService:
    def __init__(self, context: ServiceContext) -> None:
        self._context = context
        self._next_purge_at: datetime | None = None
        self._two_factor = TwoFactorService(context)
        self._attempts = Attempts(context)
        self._recovery = RecoveryService(context)

    # -- first run -----------------------------------------------------------------------------------

    @retried
    def needs_first_admin(self) -> bool:
        """True while the database has no active administrator (the app then offers to create one)."""
        with self._context.database.transaction() as session:
            return count_active_admins(session) == 0

    @retried
    def registration_open(self) -> bool:
        with self._context.database.transaction() as session:
            return read_shared_settings(session, self._context.settings).allow_self_registration

    def create_first_admin(self, email: str, password: str) -> UserRecord:
        """Create the administrator of an empty database. Of two clients racing, exactly one succeeds."""
        normalized = normalize_email(email)
        self._context.policy.validate(password, normalized)
        password_hash = self._context.hasher.hash(password)  # slow: outside any transaction
        return self._insert_first_admin(normalized, password_hash)

    @retried
    def _insert_first_admin(self, email: str, password_hash: str) -> UserRecord:
        with self._context.database.transaction(write=True) as session:
            admin_role = lock_admin_set(session)  # two first administrators through two nodes: one waits
            if count_active_admins(session) > 0:
                raise SetupAlreadyDoneError()
            return insert_account(
                session, self._context, email, password_hash, admin_role, None, "first administrator"
            )

    # -- registration --------------------------------------------------------------------------------

    def register(self, email: str, password: str) -> UserRecord:
        """Self-registration: a new account with the role named 'user'."""
        normalized = normalize_email(email)
        self._context.policy.validate(password, normalized)
        self._check_registration(normalized)  # before the slow hash; checked again at insert
        password_hash = self._context.hasher.hash(password)
        return self._insert_registered(normalized, password_hash)

    @retried
    def _check_registration(self, email: str) -> None:
        with self._context.database.transaction() as session:
            if not read_shared_settings(session, self._context.settings).allow_self_registration:
                raise RegistrationClosedError()
            require_new_identity(session, email)

    @retried
    def _insert_registered(self, email: str, password_hash: str) -> UserRecord:
        with self._context.database.transaction(write=True) as session:
            if not read_shared_settings(session, self._context.settings).allow_self_registration:
                raise RegistrationClosedError()  # closed while the password was being hashed
            role = role_by_name(session, USER_ROLE)
            return insert_account(
                session, self._context, email, password_hash, role, None, "self-registration"
            )

    # -- sign-in -------------------------------------------------------------------------------------

    def authenticate(self, email: str, password: str) -> SignedInUser:
        """Check a password. Every failure (unknown address, wrong password, lockout) reads alike and takes
        as long as any other: one verification's worth, whatever the account holds."""
        context = self._context
        password = self._bounded(password)
        key = sign_in_key(email)
        if key is None:
            context.hasher.burn_time(password)
            raise InvalidCredentialsError()
        until, account, factor_for_admins = self._reserve(key)
        if until is not None:
            context.hasher.burn_time(password)
            raise AccountLockedError(until, context.clock())
        stored_hash = account.password_hash if account is not None else None
        # Hashing happens outside any transaction: no locks are held for a third of a second.
        matched = context.hasher.verify(stored_hash, password)
        if account is None or not matched:
            self._fail(key)
            raise InvalidCredentialsError()
        # A temporary password is replaced by the person's own at once: no point in rehashing it.
        rehash = not account.must_change_password and context.hasher.needs_rehash(stored_hash)
        new_hash = context.hasher.hash(password) if rehash else None
        return self._succeed(account.id, key, stored_hash, new_hash, factor_for_admins)

    # -- the second step, for accounts with an authenticator (services/two_factor.py) ------------------

    def complete_sign_in(self, challenge: SignInChallenge, code: str) -> SignedInUser:
        """Finish a sign-in that raised SecondFactorRequiredError with the authenticator's ``code``, or one
        of the person's unused recovery codes instead (then spent). A wrong or reused code counts toward
        the address's lockout (the password's attempt stays counted until the code is right, so knowing
        the password buys no extra guesses)."""
        self._refuse_stale(challenge, enroll=False)
        self._refuse_spent(challenge)  # before a code is spent on it; checked again under the row lock
        if totp.normalize_code(code) is None:  # not six digits: a recovery code standing in for the app
            self._attempts.check(
                challenge.email,
                lambda: self._recovery.spend_at_sign_in(challenge.user_id, code),
                lambda: InvalidInputError("totp_code", [WRONG_SECOND_STEP]),
                FailureNote(
                    Actor(challenge.user_id, challenge.email), "two_factor_failed", "wrong recovery code"
                ),
            )
        else:
            self._two_factor.verify_code(challenge.user_id, code)
        return self._finish(challenge)

    def enroll_at_sign_in(self, challenge: SignInChallenge, secret: str, code: str) -> SignedInUser:
        """Finish a sign-in that raised TwoFactorEnrollmentRequiredError: set up the authenticator
        (``secret`` from ``two_factor.start_enrollment``, proven by ``code``), then sign in."""
        self._refuse_stale(challenge, enroll=True)
        self._two_factor.enable_proven(challenge.user_id, challenge.checked_hash, secret, code)
        return self._finish(challenge)

    def _refuse_stale(self, challenge: SignInChallenge, enroll: bool) -> None:
        if challenge.enroll != enroll:
            raise TwoFactorStateError(
                message("Accounts", "This sign-in needs the other second step; sign in again.")
            )
        if challenge.expired(self._context.clock()):
            raise SignInExpiredError()

    @retried
    def _refuse_spent(self, challenge: SignInChallenge) -> None:
        """A challenge that got in already, or whose password was changed since, is refused before the
        code step spends anything (an authenticator step, a recovery code) or forgets the failures."""
        with self._context.database.transaction() as session:
            row = session.execute(
                select(User.password_hash, User.login_count).where(User.id == challenge.user_id)
            ).one_or_none()
        if row is None or row.password_hash != challenge.checked_hash:
            raise InvalidCredentialsError()
        if row.login_count != challenge.login_count:
            raise SignInExpiredError()

    def _finish(self, challenge: SignInChallenge) -> SignedInUser:
        return self._succeed(
            challenge.user_id,
            challenge.email,
            challenge.checked_hash,
            challenge.new_hash,
            factor_for_admins=False,
            second_step_done=True,
            login_count=challenge.login_count,
        )

    def _bounded(self, password: str) -> str:
        """Typed passwords beyond the policy's maximum cannot match (no stored password is that long):
        checking only one character more keeps a 50 MB "password" as cheap as any other."""
        return password[: self._context.policy.max_length + 1]

    def _refuse_expired_temporary_password(
        self, session: Session, must_change_password: bool, changed_at: datetime | None
    ) -> None:
        if not must_change_password:
            return
        hours = read_shared_settings(session, self._context.settings).temporary_password_hours
        expires_at = temporary_password_expiry(must_change_password, changed_at, hours)
        if expires_at is None or expires_at <= self._context.clock():
            raise TemporaryPasswordExpiredError()

    @retried
    def _reserve(self, key: str) -> tuple[datetime | None, Row[int, str | None, bool] | None, bool]:
        """Count the attempt before the password is checked (see services/throttle.py); read the account
        and whether administrators must use two-factor sign-in."""
        with self._context.database.transaction(write=True) as session:
            rules = read_shared_settings(session, self._context.settings, seed=True)
            until = throttle.reserve_attempt(session, rules, key, self._context.clock())
            account = session.connection().execute(_ACCOUNT_BY_EMAIL, {"key": key}).one_or_none()
        if until is not None:
            log.warning("Sign-in refused for a locked address (until %s)", until.isoformat())
        return until, account, rules.require_two_factor_for_admins

    @retried
    def _fail(self, key: str) -> datetime | None:
        """Confirm a reserved sign-in attempt failed."""
        now = self._context.clock()
        with self._context.database.transaction(write=True) as session:
            rules = read_shared_settings(session, self._context.settings, seed=True)
            until = throttle.confirm_failure(session, rules, key, now)
        if until is not None:
            log.warning("Sign-in locked for an address after repeated failures (until %s)", until.isoformat())
        self._purge_now_and_then(now)
        return until

    def _purge_now_and_then(self, now: datetime) -> None:
        """Forget expired failure counts (mostly of addresses nobody holds) at most every few minutes."""
        if self._next_purge_at is not None and now < self._next_purge_at:
            return
        self._next_purge_at = now + PURGE_INTERVAL
        try:
            with self._context.database.transaction(write=True) as session:
                rules = read_shared_settings(session, self._context.settings)
                purged = throttle.purge_expired(session, rules, now)
        except (DatabaseBusyError, DatabaseConnectionLostError):
            return  # another client is busy there, or the line dropped; the next purge will do
        if purged:
            log.info("Purged %s expired failed sign-in counters", purged)

    @retried
    def _succeed(
        self,
        user_id: int,
        key: str,
        checked_hash: str | None,
        new_hash: str | None,
        factor_for_admins: bool,
        second_step_done: bool = False,
        login_count: int | None = None,
    ) -> SignedInUser:
        now = self._context.clock()
        with self._context.database.transaction(write=True) as session:
            connection = session.connection()
            user = connection.execute(_USER_LOCKED, {"user_id": user_id, "key": key}).one_or_none()
            if user is None or user.password_hash != checked_hash:
                # Deleted, or its password changed while we were hashing: the checked password is stale.
                raise InvalidCredentialsError()
            if not user.active:
                raise AccountInactiveError()
            if login_count is not None and user.login_count != login_count:
                raise SignInExpiredError()  # the challenge got in already (or another sign-in came between)
            self._refuse_expired_temporary_password(
                session, user.must_change_password, user.password_changed_at
            )
            if not second_step_done and (user.has_factor or (factor_for_admins and user.role == ADMIN_ROLE)):
                # Nothing is recorded yet, and the attempt stays counted until the second step succeeds.
                challenge = SignInChallenge(
                    user.id, user.email, not user.has_factor, now, checked_hash, new_hash, user.login_count
                )
                if user.has_factor:
                    raise SecondFactorRequiredError(challenge)
                raise TwoFactorEnrollmentRequiredError(challenge)
            if new_hash is None:
                connection.execute(_RECORD_LOGIN, {"user_id": user_id, "now": now})
            else:
                connection.execute(
                    _RECORD_LOGIN_AND_REHASH, {"user_id": user_id, "now": now, "new_hash": new_hash}
                )
                log.info("Password hash of account %s upgraded to the configured method", user_id)
            if user.counting is not None:
                throttle.forget(session, key)
            return SignedInUser(
                id=user.id,
                email=user.email,
                role=user.role or "",
                previous_login_at=user.last_login_at,
                login_count=user.login_count + 1,
                must_change_password=user.must_change_password,
                password_changed_at=user.password_changed_at,
            )

    # -- own account ---------------------------------------------------------------------------------

    @retried
    def get_account(self, user_id: int) -> UserRecord:
        with self._context.database.transaction() as session:
            user = session.get(User, user_id)
            if user is None:
                raise NotFoundError(message("Accounts", "This account no longer exists."))
            return to_record(user, throttle.locked_until(session, user.email, self._context.clock()))

    @retried
    def check_session(self, user_id: int, password_changed_at: datetime | None) -> SessionState:
        """Re-check an open session: it ends when the account is gone, deactivated or its password changed
        elsewhere; ``role`` tells the window which powers it still has, ``email`` the address it has now
        (renamed meanwhile, perhaps)."""
        with self._context.database.transaction() as session:
            user = session.get(User, user_id)
            if user is None:
                return SessionState(False, reason=message("Accounts", "Your account no longer exists."))
            if not user.active:
                return SessionState(False, reason=message("Accounts", "Your account has been deactivated."))
            if user.password_changed_at != password_changed_at:
                return SessionState(
                    False, reason=message("Accounts", "Your password was changed elsewhere. Sign in again.")
                )
            try:
                self._refuse_expired_temporary_password(
                    session, user.must_change_password, password_changed_at
                )
            except TemporaryPasswordExpiredError as expired:
                return SessionState(False, reason=expired.text)
            due = (
                user.role.name == ADMIN_ROLE
                and user.totp_secret is None
                and two_factor_required_of_admins(session)
            )
            return SessionState(True, role=user.role.name, two_factor_due=due, email=user.email)

    def change_password(self, user_id: int, current_password: str, new_password: str) -> UserRecord:
        """Change one's own password; the current one must be given. Wrong current passwords count against
        the same lockout as sign-in and are audited; once locked, this raises AccountLockedError (the
        window then signs the session out)."""
        context = self._context
        current_password = self._bounded(current_password)
        email, stored_hash = self._own_password(user_id)
        context.policy.validate(new_password, email, field_name="new_password")
        self._attempts.check(
            email,
            lambda: context.hasher.verify(stored_hash, current_password),
            lambda: InvalidInputError(
                "current_password", [message("Accounts", "The current password is incorrect.")]
            ),
            FailureNote(Actor(user_id, email), "password_change_failed", "wrong current password"),
            burn=lambda: context.hasher.burn_time(current_password),
        )
        self._forget_failures(email)  # the right current password: this attempt was no failure
        if context.hasher.verify(stored_hash, new_password):
            raise InvalidInputError(
                "new_password", [message("Accounts", "The new password must differ from the current one.")]
            )
        return self._store_new_password(user_id, stored_hash, context.hasher.hash(new_password))

    @retried
    def _own_password(self, user_id: int) -> tuple[str, str | None]:
        with self._context.database.transaction() as session:
            user = session.get(User, user_id)
            if user is None or not user.active:
                raise AccountInactiveError()
            self._refuse_expired_temporary_password(
                session, user.must_change_password, user.password_changed_at
            )
            return user.email, user.password_hash

    @retried
    def _store_new_password(self, user_id: int, stored_hash: str | None, new_hash: str) -> UserRecord:
        now = self._context.clock()
        with self._context.database.transaction(write=True) as session:
            user = session.scalars(
                select(User).options(lazyload(User.role)).where(User.id == user_id).with_for_update()
            ).one_or_none()
            if user is None or user.password_hash != stored_hash:
                raise InvalidInputError(
                    "current_password",
                    [message("Accounts", "The password was changed elsewhere meanwhile; sign in again.")],
                )
            user.password_hash = new_hash
            user.must_change_password = False
            user.password_changed_at = now
            user.update_date = now
            session.flush()
            audit.record(session, now, Actor(user.id, user.email), "password_change", user.email, user.id)
            return to_record(user)

    @retried
    def _forget_failures(self, email: str) -> None:
        with self._context.database.transaction(write=True) as session:
            throttle.reset(session, [email])
