"""Administration of other accounts: listing, roles, activation, unlocking, password resets.

Every method checks, inside its own transaction, that the actor is an active administrator (or an operator
at the CLI), so hiding buttons in the GUI is a convenience, not the protection. Changes are set-based SQL,
guarded by version numbers (a stale edit is refused, never silently applied) and by the rule that the
database always keeps at least one active administrator. The queries that read users are
``desktop_auth.services.user_queries``; this module holds the rules around them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, case, null, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from desktop_auth.errors import InvalidInputError
from desktop_auth.messages import message, message_n
from desktop_auth.models import ADMIN_ROLE, USER_ROLE, LoginThrottle, Role, User
from desktop_auth.services import audit, throttle, user_queries
from desktop_auth.services.accounts import count_active_admins, insert_account, require_new_identity
from desktop_auth.services.app_settings import read_shared_settings
from desktop_auth.services.context import (
    ServiceContext,
    claim_admin_targets,
    require_admin,
    require_admin_to_change,
    retried,
    role_by_name,
)
from desktop_auth.services.emails import normalize_email
from desktop_auth.services.errors import (
    LastAdminError,
    NotFoundError,
    SelfDeactivationError,
    StaleEditError,
)
from desktop_auth.services.records import (
    Actor,
    AuditRecord,
    BulkSelection,
    TemporaryPassword,
    TemporaryPasswords,
    UserEdit,
    UserQuery,
    UserRecord,
)
from desktop_auth.services.sql import chunks, ids_in, is_missing_parent
from desktop_auth.services.temporary_passwords import generate_distinct
from desktop_auth.services.user_queries import ALL_USERS, MAX_PAGE_SIZE, UserPage

_HASH_BATCH = 1000  # rows per UPDATE when each row gets its own value (two parameters per row)


def _is_active_admin(role: str, active: bool) -> bool:
    return role == ADMIN_ROLE and active


def _admin_after(edit: UserEdit, row: _Current) -> bool:
    """Will the account be an active administrator once ``edit`` is applied to ``row``?"""
    return _is_active_admin(
        row.role if edit.role is None else edit.role, row.active if edit.active is None else edit.active
    )


class _Current(NamedTuple):
    """A locked row as it is now; emails are fetched only when a message needs them."""

    version: int
    role: str
    active: bool


#: Temporary passwords are reset in one transaction (all or none), returned together and handed out one by
#: one: a selection of a million users (Ctrl+A) is a mistake to refuse before any work, not a million
#: passwords to hash, hold and show. 20,000 resets take a few seconds (tests/test_password_reset.py).
MAX_PASSWORD_RESETS = 50_000


class AdminService:
    def __init__(self, context: ServiceContext) -> None:
        self._context = context

    # -- reading -------------------------------------------------------------------------------------

    @retried
    def list_users(
        self, actor: Actor, query: UserQuery = ALL_USERS, offset: int = 0, limit: int = 200
    ) -> list[UserRecord]:
        """One page of users (at most MAX_PAGE_SIZE), filtered and sorted by the database."""
        with self._context.database.transaction() as session:
            require_admin(session, actor)
            dialect, now = self._context.database.dialect_name, self._context.clock()
            return user_queries.user_page(session, query, offset, limit, dialect, now)

    @retried
    def user_page(
        self,
        actor: Actor,
        query: UserQuery = ALL_USERS,
        offset: int = 0,
        limit: int = 200,
        pending_change_id: int | None = None,
    ) -> UserPage:
        """``list_users``, and for each user whether the staged bulk change ``pending_change_id`` is for
        them (asked of its snapshot: right under any filter, for any selection it was made from)."""
        with self._context.database.transaction() as session:
            require_admin(session, actor)
            dialect, now = self._context.database.dialect_name, self._context.clock()
            if pending_change_id is None:
                records = user_queries.user_page(session, query, offset, limit, dialect, now)
                return UserPage(records, [False] * len(records))
            return user_queries.user_page_in_change(
                session, query, offset, limit, dialect, now, pending_change_id
            )

    @retried
    def count_users(self, actor: Actor, query: UserQuery = ALL_USERS) -> int:
        with self._context.database.transaction() as session:
            require_admin(session, actor)
            return user_queries.count_users(session, query, self._context.database.dialect_name)

    @retried
    def get_user(self, actor: Actor, email: str) -> UserRecord:
        normalized = normalize_email(email)
        with self._context.database.transaction() as session:
            require_admin(session, actor)
            record = user_queries.user_by_email(session, normalized, self._context.clock())
            if record is None:
                raise NotFoundError(
                    message("Admin", "No account has the email address {email}.").format(email=normalized)
                )
            return record

    @retried
    def audit_log(
        self, actor: Actor, search: str = "", limit: int = 200, offset: int = 0
    ) -> list[AuditRecord]:
        with self._context.database.transaction() as session:
            require_admin(session, actor)
            return audit.list_events(session, search, max(1, min(limit, MAX_PAGE_SIZE)), max(0, offset))

    # -- changing ------------------------------------------------------------------------------------

    def create_user(self, actor: Actor, email: str, password: str, role: str = USER_ROLE) -> UserRecord:
        """Create an account for someone else (an administrator's or operator's act, open or not)."""
        normalized = normalize_email(email)
        self._context.policy.validate(password, normalized)
        self._check_new_user(actor, normalized, role)  # before the slow hash; checked again at insert
        password_hash = self._context.hasher.hash(password)
        return self._insert_user(actor, normalized, password_hash, role)

    @retried
    def _check_new_user(self, actor: Actor, email: str, role: str) -> None:
        with self._context.database.transaction() as session:
            require_admin(session, actor)
            role_by_name(session, role)
            require_new_identity(session, email)

    @retried
    def _insert_user(self, actor: Actor, email: str, password_hash: str, role: str) -> UserRecord:
        with self._context.database.transaction(write=True) as session:
            actor = require_admin_to_change(session, actor)
            how = f"created by {actor.label}"
            return insert_account(
                session, self._context, email, password_hash, role_by_name(session, role), actor, how
            )

    @retried
    def apply_edits(
        self, actor: Actor, edits: Sequence[UserEdit], return_records: bool = True
    ) -> list[UserRecord]:
        """Apply role/active edits to many users in one transaction: all of them, or none.

        Returns the changed users as they are now, unless ``return_records`` is False (bulk changes whose
        caller reloads anyway: re-reading 10,000 rows would cost more than the change itself).

        Raises StaleEditError naming every row changed since its ``expected_version`` was read,
        LastAdminError when no active administrator would remain, SelfDeactivationError.
        """
        edits = [edit for edit in edits if edit.role is not None or edit.active is not None]
        if not edits:
            return []
        if len({edit.user_id for edit in edits}) != len(edits):
            raise InvalidInputError(
                "edits", [message("Admin", "Each account may appear only once in one save.")]
            )
        now = self._context.clock()
        with self._context.database.transaction(write=True) as session:
            actor = require_admin_to_change(session, actor)
            current = self._lock_rows(session, [edit.user_id for edit in edits])
            missing = [edit.user_id for edit in edits if edit.user_id not in current]
            if missing:
                raise StaleEditError({user_id: f"deleted account #{user_id}" for user_id in missing})
            stale = [
                edit.user_id
                for edit in edits
                if edit.expected_version is not None
                and current[edit.user_id].version != edit.expected_version
            ]
            if stale:
                raise StaleEditError(self._emails(session, stale))
            if not actor.is_operator and any(
                edit.user_id == actor.user_id and edit.active is False for edit in edits
            ):
                raise SelfDeactivationError()
            role_ids = {
                name: role_by_name(session, name).id for name in {e.role for e in edits if e.role is not None}
            }
            removing = [edit for edit in edits if self._removes_an_admin(edit, current[edit.user_id])]
            claim_admin_targets(session, self._active_admins_among(current), removing_an_admin=bool(removing))
            if removing:
                self._guard_last_admin(session, edits, current)
            try:
                self._write(session, actor, edits, current, role_ids, now)
            except IntegrityError as error:
                # A role removed meanwhile: the foreign key (on a cluster, certification) refused it.
                if not is_missing_parent(error):
                    raise
                names = list(role_ids)
                present = select(Role.name).where(Role.name.in_(names)).with_for_update(read=True)
                gone = sorted(set(names) - set(session.scalars(present))) or sorted(names)
                raise NotFoundError(
                    message("Admin", "There is no role named '{role}'.").format(role=gone[0])
                ) from None
            if not return_records:
                return []
            return user_queries.users_by_id(session, [edit.user_id for edit in edits], now)

    def set_role(
        self, actor: Actor, email: str, role: str, expected_version: int | None = None
    ) -> UserRecord:
        user_id = self._id_for(email)
        return self.apply_edits(actor, [UserEdit(user_id, expected_version, role=role)])[0]

    def set_active(
        self, actor: Actor, email: str, active: bool, expected_version: int | None = None
    ) -> UserRecord:
        user_id = self._id_for(email)
        return self.apply_edits(actor, [UserEdit(user_id, expected_version, active=active)])[0]

    def bulk_set_role(self, actor: Actor, versions: dict[int, int | None], role: str) -> int:
        """Give many users one role (``versions`` maps user id -> version seen, or None); returns how many."""
        edits = [UserEdit(uid, version, role=role) for uid, version in versions.items()]
        self.apply_edits(actor, edits, return_records=False)
        return len(edits)

    def bulk_set_active(self, actor: Actor, versions: dict[int, int | None], active: bool) -> int:
        edits = [UserEdit(uid, version, active=active) for uid, version in versions.items()]
        self.apply_edits(actor, edits, return_records=False)
        return len(edits)

    @retried
    def unlock(self, actor: Actor, emails: Sequence[str]) -> int:
        """Lift lockouts and forget failed attempts for these addresses; returns how many were affected."""
        normalized = sorted({normalize_email(email) for email in emails})
        now = self._context.clock()
        with self._context.database.transaction(write=True) as session:
            actor = require_admin_to_change(session, actor)
            locked = dict(
                session.execute(
                    select(LoginThrottle.email, LoginThrottle.locked_until).where(
                        LoginThrottle.email.in_(normalized)
                    )
                ).all()
            )
            count = throttle.reset(session, normalized)
            ids = dict(session.execute(select(User.email, User.id).where(User.email.in_(normalized))).all())
            audit.record_many(
                session,
                now,
                actor,
                "unlock",
                [
                    (
                        ids.get(email),
                        email,
                        "locked" if (locked[email] or now) > now else "counting",
                        "unlocked",
                    )
                    for email in normalized
                    if email in locked
                ],
            )
            return count

    def unlock_selection(self, actor: Actor, selection: BulkSelection) -> int:
        """``unlock`` for every selected user, however many: only the addresses with failures are read."""
        return self.unlock(actor, self._counting_among(actor, selection))

    @retried
    def _counting_among(self, actor: Actor, selection: BulkSelection) -> list[str]:
        with self._context.database.transaction() as session:
            require_admin(session, actor)
            dialect = self._context.database.dialect_name
            return list(
                session.scalars(
                    select(LoginThrottle.email)
                    .join(User, User.email == LoginThrottle.email)
                    .where(user_queries.in_selection(selection, dialect))
                )
            )

    @retried
    def reset_password(
        self,
        actor: Actor,
        user_ids: Sequence[int],
        expected_versions: Mapping[int, int | None] | None = None,
    ) -> TemporaryPasswords:
        """Give each user their own random temporary password, which they must change at their next sign-in
        and which expires after the shared ``temporary_password_hours``. All of them, or none.

        Returns every (id, email, password) and the expiry, for the administrator to hand out once; the
        database keeps only a fast salted hash of each (they are random and short-lived). Raises
        StaleEditError naming every account changed (or deleted) since its ``expected_versions`` entry was
        read, InvalidInputError for the actor's own account (their session would end before they could read
        the result; they use Change password).
        """
        ids = self._reset_targets(actor, user_ids)
        with self._context.database.transaction() as session:
            actor = require_admin(
                session, actor
            )  # before the hashing work, which a refused caller must not cause
        policy, hasher = self._context.policy, self._context.hasher
        passwords = dict(
            zip(ids, generate_distinct(len(ids), policy.min_length, policy.max_length), strict=True)
        )
        hashes = {user_id: hasher.hash_temporary(password) for user_id, password in passwords.items()}
        now = self._context.clock()
        with self._context.database.transaction(write=True) as session:
            actor = require_admin_to_change(session, actor)
            expires_at = self._store_temporary(session, actor, hashes, expected_versions or {}, now)
            emails = self._emails(session, ids)
        return TemporaryPasswords(
            expires_at, tuple(TemporaryPassword(uid, emails[uid], passwords[uid]) for uid in ids)
        )

    def set_temporary_password(
        self, actor: Actor, user_id: int, password: str, expected_version: int | None = None
    ) -> datetime:
        """Set a temporary password an operator chose (the CLI's ``--password-stdin``): checked against the
        policy and stored with the configured (slow) method, since a person chose it. It must be changed at
        the next sign-in and expires like a generated one; returns when."""
        (user_id,) = self._reset_targets(actor, [user_id])
        email = self._email_of(actor, user_id)
        if email is None:
            raise StaleEditError({user_id: f"deleted account #{user_id}"})
        self._context.policy.validate(password, email, field_name="temporary_password")
        password_hash = self._context.hasher.hash(password)  # slow: outside the transaction
        return self._store_chosen_temporary(actor, user_id, password_hash, expected_version)

    @retried
    def _email_of(self, actor: Actor, user_id: int) -> str | None:
        with self._context.database.transaction() as session:
            require_admin(session, actor)
            return session.scalar(select(User.email).where(User.id == user_id))

    @retried
    def _store_chosen_temporary(
        self, actor: Actor, user_id: int, password_hash: str, expected_version: int | None
    ) -> datetime:
        now = self._context.clock()
        with self._context.database.transaction(write=True) as session:
            actor = require_admin_to_change(session, actor)
            return self._store_temporary(
                session, actor, {user_id: password_hash}, {user_id: expected_version}, now
            )

    # -- helpers -------------------------------------------------------------------------------------

    @staticmethod
    def _reset_targets(actor: Actor, user_ids: Sequence[int]) -> list[int]:
        ids = list(dict.fromkeys(int(user_id) for user_id in user_ids))
        if len(ids) > MAX_PASSWORD_RESETS:
            count = len(ids)
            raise InvalidInputError(
                "user_ids",
                [
                    message_n(
                        "Admin",
                        "Reset at most {limit} passwords at once ({n} were selected): "
                        "each person must be given their own. Narrow the selection.",
                        "Reset at most {limit} passwords at once ({n} were selected): "
                        "each person must be given their own. Narrow the selection.",
                        count,
                    ).format(limit=MAX_PASSWORD_RESETS)
                ],
            )
        if not actor.is_operator and actor.user_id in ids:
            raise InvalidInputError(
                "user_ids",
                [message("Admin", "Your own password cannot be reset here; use Change password instead.")],
            )
        return ids

    def _store_temporary(
        self,
        session: Session,
        actor: Actor,
        hashes: dict[int, str],
        expected: Mapping[int, int | None],
        now: datetime,
    ) -> datetime:
        """Store temporary password hashes (must change at next sign-in, expiring), bump versions, lift
        lockouts and audit each, after checking every row against the version its editor saw. Set-based:
        an UPDATE per thousand rows, an INSERT ... SELECT of audit rows and a lockout clean-up per chunk.
        Returns when the passwords expire."""
        ids = sorted(hashes)
        current = self._lock_rows(session, ids)
        # A temporary password ends an administrator's powers until it is changed.
        claim_admin_targets(session, self._active_admins_among(current), removing_an_admin=False)
        missing = [uid for uid in ids if uid not in current]
        if missing:
            raise StaleEditError({uid: f"deleted account #{uid}" for uid in missing})
        stale = [
            uid for uid in ids if expected.get(uid) is not None and current[uid].version != expected[uid]
        ]
        if stale:
            raise StaleEditError(self._emails(session, stale))
        hours = read_shared_settings(session, self._context.settings).temporary_password_hours
        expires_at = now + timedelta(hours=hours)
        expires = f"temporary, expires {expires_at.isoformat(timespec='seconds')}"
        table = cast(Table, User.__table__)
        for chunk in chunks(ids):
            # No password and no hash in the audit: only that it was reset and when the new one expires.
            audit.record_from_users(session, now, actor, "password_reset", chunk, old=null(), new=expires)
            for batch in chunks(chunk, _HASH_BATCH):
                # One UPDATE per batch, each row's hash picked by CASE id: a round trip per batch, not per
                # row (an executemany is one round trip per row on MariaDB: 20,000 cost 1.2 s, this 0.5 s).
                session.execute(
                    update(table)
                    .where(ids_in(User.id, batch))
                    .values(
                        password_hash=case({uid: hashes[uid] for uid in batch}, value=table.c.id),
                        must_change_password=True,
                        password_changed_at=now,
                        update_date=now,
                        version=table.c.version + 1,
                    )
                )
            self._forget_failures(session, chunk)
        return expires_at

    @staticmethod
    def _forget_failures(session: Session, ids: Sequence[int]) -> None:
        """Lift the lockouts and failure counts of these accounts (the rows that exist only: see
        ``throttle.reset``), found through the user table rather than thousands of bound emails."""
        emails = select(User.email).where(ids_in(User.id, ids))
        present = list(session.scalars(select(LoginThrottle.email).where(LoginThrottle.email.in_(emails))))
        if present:
            throttle.reset(session, present)

    @retried
    def _id_for(self, email: str) -> int:
        normalized = normalize_email(email)
        with self._context.database.transaction() as session:
            user_id = session.scalar(select(User.id).where(User.email == normalized))
        if user_id is None:
            raise NotFoundError(
                message("Admin", "No account has the email address {email}.").format(email=normalized)
            )
        return user_id

    @staticmethod
    def _lock_rows(session: Session, ids: Sequence[int]) -> dict[int, _Current]:
        """Lock the rows (FOR UPDATE, in id order so concurrent saves cannot deadlock) and read what the
        checks need: version, role, active. Lean on purpose: a bulk change may lock 10,000 rows."""
        role_names = dict(session.execute(select(Role.id, Role.name)).all())
        current: dict[int, _Current] = {}
        for chunk in chunks(sorted(ids)):
            rows = session.execute(
                select(User.id, User.version, User.role_id, User.active)
                .where(ids_in(User.id, chunk))
                .order_by(User.id)
                .with_for_update()
            )
            for user_id, version, role_id, active in rows:
                current[user_id] = _Current(version, role_names[role_id], bool(active))
        return current

    @staticmethod
    def _emails(session: Session, ids: Sequence[int]) -> dict[int, str]:
        emails: dict[int, str] = {}
        for chunk in chunks(list(ids)):
            emails.update(session.execute(select(User.id, User.email).where(ids_in(User.id, chunk))).all())
        return emails

    @staticmethod
    def _active_admins_among(current: Mapping[int, _Current]) -> list[int]:
        return [user_id for user_id, row in current.items() if _is_active_admin(row.role, row.active)]

    @staticmethod
    def _removes_an_admin(edit: UserEdit, row: _Current) -> bool:
        return _is_active_admin(row.role, row.active) and not _admin_after(edit, row)

    @staticmethod
    def _guard_last_admin(session: Session, edits: Sequence[UserEdit], current: dict[int, _Current]) -> None:
        before = count_active_admins(session, locking=True)
        if before == 0:
            return  # nothing to protect (e.g. an operator repairing a database with no admin)
        after = before
        for edit in edits:
            row = current[edit.user_id]
            after += int(_admin_after(edit, row)) - int(_is_active_admin(row.role, row.active))
        if after < 1:
            raise LastAdminError()

    @staticmethod
    def _write(
        session: Session,
        actor: Actor,
        edits: Sequence[UserEdit],
        current: dict[int, _Current],
        role_ids: dict[str, int],
        now: datetime,
    ) -> None:
        # Group identical changes so that 10,000 users given one role cost one UPDATE per chunk.
        groups: dict[tuple[str | None, bool | None], list[int]] = {}
        for edit in edits:
            row = current[edit.user_id]
            role = edit.role if edit.role is not None and edit.role != row.role else None
            active = edit.active if edit.active is not None and edit.active != row.active else None
            if role is not None or active is not None:
                groups.setdefault((role, active), []).append(edit.user_id)
        for (role, active), ids in groups.items():
            values: dict[str, Any] = {"update_date": now, "version": User.version + 1}
            if role is not None:
                values["role_id"] = role_ids[role]
            if active is not None:
                values["active"] = active
            for chunk in chunks(ids):
                # Audit first, from the rows as they still are, in one INSERT ... SELECT per chunk.
                if role is not None:
                    audit.record_from_users(session, now, actor, "role", chunk, old=Role.name, new=role)
                if active is not None:
                    was = case((User.active.is_(True), "true"), else_="false")
                    action = "activate" if active else "deactivate"
                    audit.record_from_users(
                        session, now, actor, action, chunk, old=was, new=str(active).lower()
                    )
                session.execute(
                    update(User)
                    .where(ids_in(User.id, chunk))
                    .values(**values)
                    .execution_options(synchronize_session=False)
                )
