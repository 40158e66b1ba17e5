"""Accounts an administrator creates and deletes, and erasing a deleted person's address from the audit.

**Creating** an account gives it a random temporary password (``services.temporary_passwords``), stored
with the fast salted hash of a reset and marked ``must_change_password``: it expires after the shared
``temporary_password_hours`` (counted from ``password_changed_at``, as for a reset) and sign-in makes the
person choose their own before anything else. The administrator sees it once.

**Deleting** accounts is one transaction, all or nothing, for at most ``MAX_DELETIONS`` accounts; a larger
selection is refused before anything is done (a mass deletion cannot be undone, and is more likely a
slip of Ctrl+A than a wish: narrow the filter, or delete in steps). The rules hold in SQL under the same
guards as every other change to who is an administrator (``services.guards``): only an active
administrator (or an operator) deletes; the last active administrator is never deleted (counted with a
locking read after claiming the ``admins`` guard, so it holds under races, across Galera nodes too); and
nobody deletes their own account from here (that is the account window's "Delete my account").

Each deleted account leaves one audit row, written before the row goes: action ``delete``, ``target`` its
address, ``old_value`` its role, ``new_value`` "deleted account #42" and ``detail`` "deleted account #42,
was ada@example.com". The foreign keys then set ``target_id``/``actor_id`` of the account's audit rows to
NULL; the rows keep the address as text, so the history stays readable. Its recovery codes go with it
(ON DELETE CASCADE).

**Erasing** (``erase_address``, the operator's ``desktop-auth audit erase EMAIL``) replaces a deleted
person's address in the audit (actor, target, detail) and in finished bulk-change records with that
account's "deleted account #N" label, and forgets the address's failed sign-in counts; the erasure is
audited without the address.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from desktop_auth.errors import InvalidInputError
from desktop_auth.messages import Message, message, message_n
from desktop_auth.models import ADMIN_ROLE, USER_ROLE, AuditEvent, BulkChange, Role, User
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
    LastAdminDeletionError,
    NotFoundError,
    SelfDeletionError,
    TooManyDeletionsError,
)
from desktop_auth.services.records import Actor, BulkSelection, CreatedAccount, DeletionTargets
from desktop_auth.services.search import escape_like
from desktop_auth.services.sql import chunks, ids_in
from desktop_auth.services.temporary_passwords import generate

#: Most accounts one deletion takes (one transaction: all of them or none). The same size as one
#: transaction of a bulk change (``services.bulk.BULK_TRANSACTION_ROWS``): about three rows written per
#: account (the account, its audit row, its audit rows' references), well inside a Galera node's limits.
MAX_DELETIONS = 10_000
# Cost on SQLite: deleting a user sets ``audit_event.actor_id`` of its entries to NULL (ON DELETE SET NULL),
# and that column has no index there (InnoDB makes one for every foreign key), so each deleted account is a
# pass over the whole audit table: ~16 ms per account at 200,000 entries. An index on the column (a schema
# change, not made with this code) would make it a lookup.
#: Addresses a ``DeletionTargets`` carries for the confirmation.
NAMED_TARGETS = 5

DELETE_ACTION = "delete"
#: Deletions whose audit row names the account ("deleted account #42"): by an administrator, or by its owner.
DELETE_ACTIONS = (DELETE_ACTION, "delete_own")
ERASE_ACTION = "audit_erase"
ERASED_LABEL = "erased address"  # for an address no deleted account held (say, failed sign-ins only)


def deleted_label(user_id: int) -> str:
    """What a deleted account is called in the audit once its address is gone."""
    return f"deleted account #{user_id}"


def _no_account_has(unknown: Sequence[str]) -> Message:
    """The refusal naming the addresses no account has (the first ``NAMED_TARGETS`` of them)."""
    names = ", ".join(unknown[:NAMED_TARGETS])
    more = len(unknown) - NAMED_TARGETS
    if more > 0:
        return message_n(
            "Lifecycle",
            "No account has the address {emails} and {n} more; nothing was deleted.",
            "No account has the address {emails} and {n} more; nothing was deleted.",
            more,
        ).format(emails=names)
    return message("Lifecycle", "No account has the address {emails}; nothing was deleted.").format(
        emails=names
    )


class LifecycleService:
    def __init__(self, context: ServiceContext) -> None:
        self._context = context

    # -- creating ------------------------------------------------------------------------------------

    def create_user(self, actor: Actor, email: str, role: str = USER_ROLE) -> CreatedAccount:
        """Create an account with a random temporary password (returned once, with when it expires).

        Raises InvalidInputError (field ``email``) for an invalid address, EmailAlreadyRegisteredError,
        EmailLooksLikeAnotherError, NotFoundError for an unknown role, PermissionDeniedError."""
        normalized = normalize_email(email)
        self._check_new_user(actor, normalized, role)  # before any work; checked again at insert
        policy = self._context.policy
        password = generate(policy.min_length, policy.max_length)
        return self._insert(actor, normalized, self._context.hasher.hash_temporary(password), role, password)

    @retried
    def _check_new_user(self, actor: Actor, email: str, role: str) -> None:
        with self._context.database.transaction() as session:
            require_admin(session, actor)
            role_by_name(session, role)
            require_new_identity(session, email)

    @retried
    def _insert(
        self, actor: Actor, email: str, password_hash: str, role: str, password: str
    ) -> CreatedAccount:
        now = self._context.clock()
        with self._context.database.transaction(write=True) as session:
            actor = require_admin_to_change(session, actor)
            how = f"created by {actor.label} with a temporary password"
            record = insert_account(
                session, self._context, email, password_hash, role_by_name(session, role), actor, how
            )
            session.execute(
                update(User)
                .where(User.id == record.id)
                .values(must_change_password=True, password_changed_at=now)
                .execution_options(synchronize_session=False)
            )
            hours = read_shared_settings(session, self._context.settings).temporary_password_hours
        record = replace(record, must_change_password=True, password_changed_at=now)
        return CreatedAccount(record, password, now + timedelta(hours=hours))

    # -- deleting ------------------------------------------------------------------------------------

    @retried
    def deletion_targets(self, actor: Actor, selection: BulkSelection) -> DeletionTargets:
        """The accounts in ``selection`` (a query, however many it matches), for the confirmation; refused
        above ``MAX_DELETIONS`` (TooManyDeletionsError) or with the actor's own account among them."""
        with self._context.database.transaction() as session:
            actor = require_admin(session, actor)
            chosen = user_queries.in_selection(selection, self._context.database.dialect_name)
            rows = session.execute(
                select(User.id, User.email).where(chosen).order_by(User.id).limit(MAX_DELETIONS + 1)
            ).all()
            if len(rows) > MAX_DELETIONS:
                total = session.scalar(select(func.count(User.id)).where(chosen)) or 0
                raise TooManyDeletionsError(int(total), MAX_DELETIONS)
            ids = tuple(user_id for user_id, _email in rows)
            return self._targets(session, actor, ids, [email for _id, email in rows])

    @retried
    def targets_by_email(self, actor: Actor, emails: Sequence[str]) -> DeletionTargets:
        """The accounts with these addresses (the CLI's ``users delete``); NotFoundError names every
        address no account has."""
        normalized = list(dict.fromkeys(normalize_email(email) for email in emails))
        if len(normalized) > MAX_DELETIONS:
            raise TooManyDeletionsError(len(normalized), MAX_DELETIONS)
        with self._context.database.transaction() as session:
            actor = require_admin(session, actor)
            found = dict(session.execute(select(User.email, User.id).where(User.email.in_(normalized))).all())
            unknown = [email for email in normalized if email not in found]
            if unknown:
                raise NotFoundError(_no_account_has(unknown))
            ids = tuple(sorted(found.values()))
            by_id = {user_id: email for email, user_id in found.items()}
            return self._targets(session, actor, ids, [by_id[user_id] for user_id in ids])

    def _targets(
        self, session: Session, actor: Actor, ids: tuple[int, ...], emails: list[str]
    ) -> DeletionTargets:
        if not actor.is_operator and actor.user_id in ids:
            raise SelfDeletionError()
        admins = 0
        for chunk in chunks(list(ids)):
            admins += int(
                session.scalar(
                    select(func.count(User.id))
                    .join(Role, Role.id == User.role_id)
                    .where(ids_in(User.id, chunk), Role.name == ADMIN_ROLE, User.active.is_(True))
                )
                or 0
            )
        return DeletionTargets(ids, tuple(emails[:NAMED_TARGETS]), admins)

    @retried
    def delete_users(self, actor: Actor, user_ids: Sequence[int]) -> int:
        """Delete these accounts in one transaction: all of them or none. Returns how many were deleted
        (an account someone else deleted meanwhile is not counted).

        Raises LastAdminDeletionError when no active administrator would remain, SelfDeletionError,
        TooManyDeletionsError above ``MAX_DELETIONS``, PermissionDeniedError."""
        ids = sorted({int(user_id) for user_id in user_ids})
        if len(ids) > MAX_DELETIONS:
            raise TooManyDeletionsError(len(ids), MAX_DELETIONS)
        if not actor.is_operator and actor.user_id in ids:
            raise SelfDeletionError()
        if not ids:
            return 0
        now = self._context.clock()
        with self._context.database.transaction(write=True) as session:
            actor = require_admin_to_change(session, actor)
            rows = self._lock(session, ids)
            admins = [
                user_id for user_id, (_email, role, active) in rows.items() if role == ADMIN_ROLE and active
            ]
            claim_admin_targets(session, admins, removing_an_admin=bool(admins))
            if admins and count_active_admins(session, locking=True) - len(admins) < 1:
                raise LastAdminDeletionError()
            session.connection().execute(
                insert(audit.AUDIT_TABLE),
                [
                    {
                        "created_at": now,
                        "actor_id": actor.user_id,
                        "actor": actor.label,
                        "action": DELETE_ACTION,
                        "target_id": user_id,
                        "target": email,
                        "old_value": role,
                        "new_value": deleted_label(user_id),
                        "detail": f"{deleted_label(user_id)}, was {email}",
                    }
                    for user_id, (email, role, _active) in rows.items()
                ],
            )
            for chunk in chunks(list(rows)):
                session.execute(
                    delete(User).where(ids_in(User.id, chunk)).execution_options(synchronize_session=False)
                )
            return len(rows)

    @staticmethod
    def _lock(session: Session, ids: Sequence[int]) -> dict[int, tuple[str, str, bool]]:
        """Lock the accounts (FOR UPDATE, in id order, as ``AdminService`` does) and read what the rules
        and the audit need: address, role, active."""
        role_names = dict(session.execute(select(Role.id, Role.name)).all())
        rows: dict[int, tuple[str, str, bool]] = {}
        for chunk in chunks(ids):
            for user_id, email, role_id, active in session.execute(
                select(User.id, User.email, User.role_id, User.active)
                .where(ids_in(User.id, chunk))
                .order_by(User.id)
                .with_for_update()
            ):
                rows[user_id] = (email, role_names[role_id], bool(active))
        return rows

    # -- erasing an address from the audit -----------------------------------------------------------

    @retried
    def erase_address(self, actor: Actor, email: str) -> int:
        """Replace ``email`` (a deleted account's address) in the audit with "deleted account #N" (the
        latest account deleted with it; ERASED_LABEL if none was) and forget its failed sign-ins. Returns
        how many audit rows were changed. Refused while an account still has the address."""
        address = normalize_email(email)
        now = self._context.clock()
        with self._context.database.transaction(write=True) as session:
            actor = require_admin_to_change(session, actor)
            if session.scalar(select(User.id).where(User.email == address)) is not None:
                raise InvalidInputError(
                    "email",
                    [
                        message(
                            "Lifecycle", "An account still has the address {email}: delete the account first."
                        ).format(email=address)
                    ],
                )
            # The audit's text columns compare without case or accents on MariaDB: SQL finds candidates,
            # Python decides exactly (so ada@ and Ádá@ stay two people, each with its own label).
            deletions = session.execute(
                select(AuditEvent.target, AuditEvent.new_value)
                .where(AuditEvent.action.in_(DELETE_ACTIONS), AuditEvent.target == address)
                .order_by(AuditEvent.id.desc())
            )
            label = next((value for target, value in deletions if target == address), None)
            label = label if label is not None and label.startswith("deleted ") else ERASED_LABEL
            changed = self._erase_in_audit(session, address, label)
            self._erase_in_bulk_changes(session, address, label)
            throttle.reset(session, [address])
            audit.record(
                session,
                now,
                actor,
                ERASE_ACTION,
                label,
                new_value=str(changed),
                detail=f"address of {label} erased from {changed} audit entries",
            )
            return changed

    @staticmethod
    def _erase_in_audit(session: Session, address: str, label: str) -> int:
        pattern = f"%{escape_like(address)}%"
        candidates = session.execute(
            select(AuditEvent.id, AuditEvent.actor, AuditEvent.target, AuditEvent.detail)
            .where(
                or_(
                    AuditEvent.actor.like(pattern, escape="\\"),
                    AuditEvent.target.like(pattern, escape="\\"),
                    AuditEvent.detail.like(pattern, escape="\\"),
                )
            )
            .with_for_update()
        ).all()
        changes: list[dict[str, Any]] = []
        for event_id, actor, target, detail in candidates:
            new = {
                "event_id": event_id,
                "new_actor": label if actor == address else actor,
                "new_target": label if target == address else target,
                "new_detail": _erased_detail(detail, address, label),
            }
            if (new["new_actor"], new["new_target"], new["new_detail"]) != (actor, target, detail):
                changes.append(new)
        if changes:
            table = audit.AUDIT_TABLE
            session.connection().execute(
                update(table)
                .where(table.c.id == bindparam("event_id"))
                .values(
                    actor=bindparam("new_actor"),
                    target=bindparam("new_target"),
                    detail=bindparam("new_detail"),
                ),
                changes,
            )
        return len(changes)

    @staticmethod
    def _erase_in_bulk_changes(session: Session, address: str, label: str) -> None:
        ids = [
            change_id
            for change_id, actor in session.execute(
                select(BulkChange.id, BulkChange.actor).where(
                    BulkChange.actor.like(escape_like(address), escape="\\")
                )
            )
            if actor == address
        ]
        for chunk in chunks(ids):
            session.execute(
                update(BulkChange)
                .where(ids_in(BulkChange.id, chunk))
                .values(actor=label)
                .execution_options(synchronize_session=False)
            )


def _erased_detail(detail: str | None, address: str, label: str) -> str | None:
    if not detail:
        return detail
    if detail == f"{label}, was {address}":  # the deletion's own entry: not "#42, was deleted account #42"
        return f"{label}, address erased"
    return replace_address(detail, address, label)


_EDGE = r"""\s,;:()<>\[\]"'"""


def replace_address(text: str, address: str, label: str) -> str:
    """``text`` with every whole occurrence of ``address`` replaced by ``label``: not inside a longer
    address (erasing ada@example.com leaves bada@example.com and ada@example.com.au alone)."""
    pattern = rf"(?<![^{_EDGE}]){re.escape(address)}(?=$|[{_EDGE}]|\.(?:\s|$))"
    return re.sub(pattern, lambda _match: label, text)
