"""A person's own account, from the account window: change its email address, delete it; and an operator's
rename of someone's address (``desktop-auth users rename OLD NEW``).

**The current password** is checked like a sign-in: the attempt is counted against the account's address
before the (slow) hash runs, outside any transaction (``services/throttle.py``). A wrong one counts like a
wrong sign-in (audited); when it locks the address the call raises AccountLockedError and the window signs
out, as Change password does. A locked account can change nothing here. The right one forgets the address's
failures, as a successful sign-in would.

**The lockout key follows the address**, so a change can never shed a lockout:

- a change is refused while the account is locked (the attempt is reserved on the current address first);
- failures already counted against the *new* address stay: the account takes them over with the address
  (a lock in force there applies to it at once);
- an operator's rename (no password is proven) carries the old address's failures and lock over to the new
  one, merged with any the new address had (the larger of each), and the old address's row goes.

**One address, one account**, as at registration: the same uniqueness and look-alike rules
(``desktop_auth.identity``), and when two accounts take the same new address at once the unique indexes let
one in; the other is told the address is taken. The account's ``version`` goes up (an administrator's edit
made on the old row is then refused as stale) and the change is audited ("email_change", "changed email from
OLD to NEW" in ``detail``, where the operator's erase of a deleted person's address finds both addresses;
``old_value``/``new_value`` are left empty for that reason).

**Deleting one's own account** needs the current password, and is refused for the last active
administrator: it claims the ``admins`` guard (``services/guards.py``) before counting them, so two last
administrators deleting themselves at once (also through two Galera nodes) cannot both succeed. The audit row
("delete_own": the role in ``old_value``, "deleted own account #42" in ``new_value``, as the administrators'
"delete" writes) keeps the address in ``target``: the account's id is gone from
``target_id`` with the account (ON DELETE SET NULL), and its recovery codes with it (CASCADE).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, lazyload

from desktop_auth.errors import InvalidInputError
from desktop_auth.identity import lookalike_range, may_look_alike, normalize_email, skeleton_key
from desktop_auth.messages import message
from desktop_auth.models import ADMIN_ROLE, LoginThrottle, Role, User
from desktop_auth.services import audit, guards, throttle
from desktop_auth.services.accounts import count_active_admins
from desktop_auth.services.attempts import Attempts, FailureNote
from desktop_auth.services.context import (
    ServiceContext,
    admin_guard,
    require_admin,
    require_admin_to_change,
    retried,
    to_record,
)
from desktop_auth.services.errors import (
    AccountInactiveError,
    EmailAlreadyRegisteredError,
    EmailLooksLikeAnotherError,
    LastAdminSelfDeleteError,
    NotFoundError,
    PasswordChangeRequiredError,
)
from desktop_auth.services.guards import ADMINS_GUARD
from desktop_auth.services.records import Actor, UserRecord

log = logging.getLogger(__name__)

WRONG_PASSWORD = message("OwnAccount", "The current password is incorrect.")
CHANGED_ELSEWHERE = message("OwnAccount", "Your account was changed elsewhere meanwhile; sign in again.")


@dataclass(frozen=True, slots=True)
class _Own:
    """What the password check needs of one's own account, read before the slow hash."""

    email: str
    password_hash: str | None


class OwnAccountService:
    def __init__(self, context: ServiceContext) -> None:
        self._context = context
        self._attempts = Attempts(context)

    # -- change email --------------------------------------------------------------------------------

    def change_email(self, user_id: int, current_password: str, new_email: str) -> UserRecord:
        """Give one's own account another address. Raises InvalidInputError for the ``email`` field (invalid,
        taken, a look-alike, the same) or the ``current_password`` field (wrong), AccountLockedError."""
        new = normalize_email(new_email)
        own = self._own(user_id)
        if new == own.email:
            raise InvalidInputError("email", [message("OwnAccount", "This is already your email address.")])
        self._check_free(user_id, new)  # before the slow hash; checked again when written
        self._verify(user_id, own, current_password, "email_change_failed")
        return self._store_email(user_id, own, new, Actor(user_id, own.email), by_owner=True)

    def rename(self, actor: Actor, old_email: str, new_email: str) -> UserRecord:
        """An administrator's or operator's change of someone's address (the CLI's ``users rename``): the
        same checks, audited as the actor's; the old address's failures and lock move to the new one."""
        old, new = normalize_email(old_email), normalize_email(new_email)
        user_id, own = self._by_email(actor, old)
        if new == old:
            raise InvalidInputError(
                "email", [message("OwnAccount", "{email} already has that address.").format(email=old)]
            )
        return self._store_email(user_id, own, new, actor, by_owner=False)

    @retried
    def _by_email(self, actor: Actor, email: str) -> tuple[int, _Own]:
        with self._context.database.transaction() as session:
            require_admin(session, actor)
            row = session.execute(
                select(User.id, User.password_hash).where(User.email == email)
            ).one_or_none()
        if row is None:
            raise NotFoundError(
                message("OwnAccount", "No account has the email address {email}.").format(email=email)
            )
        return row.id, _Own(email, row.password_hash)

    @retried
    def _check_free(self, user_id: int, email: str) -> None:
        with self._context.database.transaction() as session:
            _require_free(session, user_id, email)

    @retried
    def _store_email(self, user_id: int, own: _Own, new: str, actor: Actor, by_owner: bool) -> UserRecord:
        now = self._context.clock()
        with self._context.database.transaction(write=True) as session:
            if not by_owner:
                actor = require_admin_to_change(session, actor)
            user = self._locked_user(session, user_id)
            if user is None or user.email != own.email or user.password_hash != own.password_hash:
                if by_owner:
                    raise InvalidInputError("current_password", [CHANGED_ELSEWHERE])
                raise NotFoundError(
                    message(
                        "OwnAccount", "{email} was changed or deleted meanwhile; nothing was renamed."
                    ).format(email=own.email)
                )
            _require_free(session, user_id, new)
            try:
                with session.begin_nested():  # a savepoint, so a lost race can be explained below
                    user.email = new
                    user.email_skeleton = skeleton_key(new)
                    user.update_date = now
                    session.flush()  # the mapper's version_id_col bumps ``version``
            except IntegrityError as error:
                # Another account took the address (or a look-alike of it) meanwhile: the unique indexes
                # let one in. A locking read sees the winner's row even under MariaDB's repeatable read.
                taken = select(User.id).where(User.email == new).with_for_update(read=True)
                with session.no_autoflush:
                    if "email_skeleton" in str(error.orig) and session.scalar(taken) is None:
                        raise EmailLooksLikeAnotherError() from None
                raise EmailAlreadyRegisteredError() from None
            if by_owner:
                throttle.reset(session, [own.email])  # the right password: as a successful sign-in
            else:
                _carry_failures(session, own.email, new)
            audit.record(
                session,
                now,
                actor,
                "email_change",
                new,
                user.id,
                detail=f"changed email from {own.email} to {new}",
            )
            log.info("Account %s changed its email address", user.id)
            return to_record(user, throttle.locked_until(session, new, now))

    # -- delete own account --------------------------------------------------------------------------

    def delete_account(self, user_id: int, current_password: str) -> str:
        """Delete one's own account; returns the address it had. Refused (LastAdminSelfDeleteError) for
        the last active administrator; InvalidInputError (``current_password``) or AccountLockedError for a
        wrong password, as in ``change_email``."""
        own = self._own(user_id)
        self._check_not_last_admin(user_id)  # before the slow hash; checked again under the guard
        self._verify(user_id, own, current_password, "delete_own_failed")
        return self._delete(user_id, own)

    @retried
    def _check_not_last_admin(self, user_id: int) -> None:
        with self._context.database.transaction() as session:
            _refuse_last_admin(session, user_id, locking=False)

    @retried
    def _delete(self, user_id: int, own: _Own) -> str:
        now = self._context.clock()
        with self._context.database.transaction(write=True) as session:
            # Claimed before any read (services/guards.py): a competing removal of an administrator, or a
            # second last administrator deleting themselves, runs before or after this one, never beside it.
            guards.claim(session, ADMINS_GUARD, admin_guard(user_id))
            user = self._locked_user(session, user_id)
            if user is None or user.email != own.email or user.password_hash != own.password_hash:
                raise InvalidInputError("current_password", [CHANGED_ELSEWHERE])
            _refuse_last_admin(session, user_id, locking=True)
            role = user.role.name
            audit.record(
                session,
                now,
                Actor(user_id, own.email),
                "delete_own",
                own.email,
                user_id,
                old_value=role,
                new_value=f"deleted own account #{user_id}",
            )
            throttle.reset(session, [own.email])  # the right password: its failures are forgotten
            session.execute(
                delete(User).where(User.id == user_id).execution_options(synchronize_session=False)
            )
            session.expunge(user)
        log.info("Account %s deleted by its owner", user_id)
        return own.email

    # -- the current password ------------------------------------------------------------------------

    @retried
    def _own(self, user_id: int) -> _Own:
        with self._context.database.transaction() as session:
            user = session.get(User, user_id)
            if user is None or not user.active:
                raise AccountInactiveError()
            if user.must_change_password:
                raise PasswordChangeRequiredError()
            return _Own(user.email, user.password_hash)

    def _verify(self, user_id: int, own: _Own, password: str, failed_action: str) -> None:
        """Check the current password as a sign-in attempt on the account's address (module docstring)."""
        hasher = self._context.hasher
        password = password[: self._context.policy.max_length + 1]  # longer cannot match: keep it cheap
        self._attempts.check(
            own.email,
            lambda: hasher.verify(own.password_hash, password),  # slow: outside any transaction
            lambda: InvalidInputError("current_password", [WRONG_PASSWORD]),
            FailureNote(Actor(user_id, own.email), failed_action, "wrong current password"),
            burn=lambda: hasher.burn_time(password),
        )

    @staticmethod
    def _locked_user(session: Session, user_id: int) -> User | None:
        return session.scalars(
            select(User).options(lazyload(User.role)).where(User.id == user_id).with_for_update()
        ).one_or_none()


def _require_free(session: Session, user_id: int, email: str) -> None:
    """Refuse an address another account has, or looks like (the account's own address may look like the
    new one: fixing one's own spelling is no impersonation)."""
    if session.scalar(select(User.id).where(User.email == email, User.id != user_id)) is not None:
        raise EmailAlreadyRegisteredError()
    if may_look_alike(email):
        low, high = lookalike_range(email)
        other = session.scalar(
            select(User.id)
            .where(User.email_skeleton >= low, User.email_skeleton < high, User.id != user_id)
            .limit(1)
        )
        if other is not None:
            raise EmailLooksLikeAnotherError()


def _refuse_last_admin(session: Session, user_id: int, locking: bool) -> None:
    role = session.scalar(
        select(Role.name).join(User, User.role_id == Role.id).where(User.id == user_id, User.active.is_(True))
    )
    if role == ADMIN_ROLE and count_active_admins(session, locking=locking) <= 1:
        raise LastAdminSelfDeleteError()


def _carry_failures(session: Session, old: str, new: str) -> None:
    """Move the old address's failure counts and lock to the new address, keeping the larger of each where
    the new address has its own; the old address's row goes (an operator's rename: no password proven)."""
    moved = session.scalars(
        select(LoginThrottle).where(LoginThrottle.email == old).with_for_update()
    ).one_or_none()
    if moved is None:
        return
    connection = session.connection()
    values = {"email": new, "failed_count": 0, "lockout_count": 0}
    if connection.dialect.name == "sqlite":
        connection.execute(sqlite_insert(LoginThrottle).values(values).on_conflict_do_nothing())
    else:
        upsert = mysql_insert(LoginThrottle).values(values)
        connection.execute(upsert.on_duplicate_key_update(email=upsert.inserted.email))
    target = session.scalars(
        select(LoginThrottle)
        .where(LoginThrottle.email == new)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    target.failed_count = max(target.failed_count or 0, moved.failed_count or 0)
    target.lockout_count = max(target.lockout_count or 0, moved.lockout_count or 0)
    target.locked_until = _later(target.locked_until, moved.locked_until)
    target.last_failure_at = _later(target.last_failure_at, moved.last_failure_at)
    session.delete(moved)
    session.flush()


def _later(first: datetime | None, second: datetime | None) -> datetime | None:
    moments = [moment for moment in (first, second) if moment is not None]
    return max(moments) if moments else None
