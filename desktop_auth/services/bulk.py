"""Bulk changes as queries: "every user matching this filter, except these, plus these" in one request.

A change is **staged** first: the database copies who it is for, with each user's version, into
``bulk_change_member`` (a snapshot taken then, by the database, in chunks). Applying it changes the users
whose version is still the one in the snapshot and reports the others as **conflicts** (changed or deleted by
someone else since), never overwriting them. Up to ``BULK_TRANSACTION_ROWS`` users the change is one
transaction: all of it or nothing. Beyond that it is a job committed in chunks of that many users (so no
transaction's write set outgrows a Galera node's limits or holds SQLite's lock for long), each chunk
audited in its own transaction with the change's progress (``last_user_id``), so an interrupted job is
resumed where it stopped, by this client or another, and can be cancelled between chunks.

The rules hold in SQL, inside each transaction: only an active administrator (or an operator) acts; the
last active administrator is never removed (checked up front for the whole change, and again in each chunk
under the ``admins`` guard); nobody deactivates their own account; taking away one's own administrator role
needs ``confirm_self_demotion``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, case, delete, func, insert, literal, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from desktop_auth.errors import InvalidInputError
from desktop_auth.messages import message
from desktop_auth.models import ADMIN_ROLE, BulkChange, BulkChangeMember, Role, User
from desktop_auth.services import audit, user_queries
from desktop_auth.services.accounts import count_active_admins
from desktop_auth.services.context import (
    ServiceContext,
    claim_admin_targets,
    require_admin,
    require_admin_to_change,
    retried,
    role_by_name,
)
from desktop_auth.services.errors import (
    BulkChangeEndedError,
    DatabaseBusyError,
    LastAdminError,
    NotFoundError,
    SelfDeactivationError,
    SelfDemotionError,
)
from desktop_auth.services.records import (
    Actor,
    BulkChangeStatus,
    BulkSelection,
    BulkState,
    UserQuery,
)
from desktop_auth.services.sql import chunks, ids_in

log = logging.getLogger(__name__)

#: Users per transaction: a change to at most this many is all-or-nothing; a larger one is committed in
#: chunks of this many. Each chunk writes about three rows per user (the user, its audit row, the snapshot
#: row it removes): some 30,000 rows and a few MB of write set, far under a Galera node's limits.
BULK_TRANSACTION_ROWS = 10_000
#: A staged change nobody applied or discarded (its window closed, its client crashed) is removed after this.
ABANDONED_AFTER = timedelta(days=1)
CONFLICT_SAMPLE = 20  # conflicting addresses kept for the report

MEMBERS = cast(Table, BulkChangeMember.__table__)
Progress = Callable[[BulkChangeStatus], None]
ShouldStop = Callable[[], bool]


@dataclass(frozen=True)
class _Chunk:
    """What one committed chunk did."""

    status: BulkChangeStatus
    conflict_emails: tuple[str, ...]


class BulkService:
    def __init__(self, context: ServiceContext) -> None:
        self._context = context

    # -- staging -------------------------------------------------------------------------------------

    def stage(
        self, actor: Actor, selection: BulkSelection, role: str | None = None, active: bool | None = None
    ) -> BulkChangeStatus:
        """Choose the users of a change (a snapshot of who they are and their versions, taken now by the
        database) and return it, staged: nothing is changed until ``apply``."""
        if role is None and active is None:
            raise InvalidInputError(
                "change", [message("BulkChange", "Choose a role or whether the accounts are active.")]
            )
        change_id, abandoned = self._create(actor, role, active)
        for old in abandoned:
            self._remove_quietly(old)
        staged = False
        try:
            if selection.runs is None:
                self._snapshot_matching(actor, change_id, selection.query)
            else:
                for start, stop in selection.runs:
                    self._snapshot_rows(actor, change_id, selection.query, start, stop)
            if selection.included:
                self._snapshot_ids(actor, change_id, sorted(selection.included))
            for excluded in chunks(sorted(selection.excluded)):
                self._unsnapshot(actor, change_id, excluded)
            status = self._counted(actor, change_id)
            staged = True
            return status
        finally:
            if not staged:  # failed, or interrupted: no half-taken snapshot is left staged
                self._remove_quietly(change_id)

    def exclude(self, actor: Actor, change_id: int, user_ids: Sequence[int]) -> BulkChangeStatus:
        """Leave these users out of a staged change (say, edited one by one since: their own edit wins)."""
        for chunk in chunks(sorted(set(user_ids))):
            self._unsnapshot(actor, change_id, chunk)
        return self._counted(actor, change_id)

    @retried
    def _create(self, actor: Actor, role: str | None, active: bool | None) -> tuple[int, list[int]]:
        """A new staged change's id, and abandoned ones to remove."""
        now = self._context.clock()
        with self._context.database.transaction(write=True) as session:
            actor = require_admin_to_change(session, actor)
            if role is not None:
                role_by_name(session, role)
            change = BulkChange(
                created_at=now,
                updated_at=now,
                actor_id=actor.user_id,
                actor=actor.label,
                role=role,
                active=active,
                state=BulkState.STAGED.value,
            )
            session.add(change)
            session.flush()
            return change.id, self._abandoned(session, now)

    def _snapshot_matching(self, actor: Actor, change_id: int, query: UserQuery) -> None:
        """Every user matching the query's filters, ``BULK_TRANSACTION_ROWS`` per transaction, in id order."""
        after: int | None = 0
        while after is not None:
            after = self._snapshot_matching_chunk(actor, change_id, query, after)

    @retried
    def _snapshot_matching_chunk(
        self, actor: Actor, change_id: int, query: UserQuery, after: int
    ) -> int | None:
        dialect = self._context.database.dialect_name
        with self._context.database.transaction(write=True) as session:
            require_admin(session, actor)
            ids = user_queries.filter_users(select(User.id), query, dialect, walk_ids=True).where(
                User.id > after
            )
            bound = session.scalar(ids.order_by(User.id).offset(BULK_TRANSACTION_ROWS - 1).limit(1))
            source = user_queries.filter_users(
                select(literal(change_id), User.id, User.version), query, dialect, walk_ids=True
            ).where(User.id > after)
            if bound is not None:
                source = source.where(User.id <= bound)
            session.execute(insert(MEMBERS).from_select(["change_id", "user_id", "version"], source))
            return bound

    def _snapshot_rows(self, actor: Actor, change_id: int, query: UserQuery, start: int, stop: int) -> None:
        """The users at rows [start, stop) of the query's order, as its pages show them."""
        for offset in range(max(0, start), stop, BULK_TRANSACTION_ROWS):
            self._snapshot_rows_chunk(
                actor, change_id, query, offset, min(BULK_TRANSACTION_ROWS, stop - offset)
            )

    @retried
    def _snapshot_rows_chunk(
        self, actor: Actor, change_id: int, query: UserQuery, offset: int, limit: int
    ) -> None:
        ids, _order = user_queries.ordered_ids(query, self._context.database.dialect_name)
        rows = ids.offset(offset).limit(limit).subquery()
        with self._context.database.transaction(write=True) as session:
            require_admin(session, actor)
            # Rows move while a long selection is copied (someone registers); a user met twice counts once.
            source = (
                select(literal(change_id), User.id, User.version)
                .join(rows, rows.c.id == User.id)
                .where(~self._is_member(change_id, User.id))
            )
            session.execute(insert(MEMBERS).from_select(["change_id", "user_id", "version"], source))

    @retried
    def _snapshot_ids(self, actor: Actor, change_id: int, user_ids: list[int]) -> None:
        with self._context.database.transaction(write=True) as session:
            require_admin(session, actor)
            for chunk in chunks(user_ids):
                source = select(literal(change_id), User.id, User.version).where(
                    ids_in(User.id, chunk), ~self._is_member(change_id, User.id)
                )
                session.execute(insert(MEMBERS).from_select(["change_id", "user_id", "version"], source))

    @retried
    def _unsnapshot(self, actor: Actor, change_id: int, user_ids: Sequence[int]) -> None:
        with self._context.database.transaction(write=True) as session:
            require_admin(session, actor)
            state = BulkState(self._locked(session, change_id).state)
            if state is not BulkState.STAGED:
                raise BulkChangeEndedError(state.value)  # a started change keeps its users
            session.execute(
                delete(MEMBERS).where(
                    MEMBERS.c.change_id == change_id, ids_in(BulkChangeMember.user_id, user_ids)
                )
            )

    @retried
    def _counted(self, actor: Actor, change_id: int) -> BulkChangeStatus:
        with self._context.database.transaction(write=True) as session:
            require_admin(session, actor)
            total = int(
                session.scalar(
                    select(func.count()).select_from(MEMBERS).where(MEMBERS.c.change_id == change_id)
                )
                or 0
            )
            change = self._locked(session, change_id)
            change.total = total
            return _status(change)

    @staticmethod
    def _is_member(change_id: int, user_id: Any) -> ColumnElement[bool]:
        return (
            select(BulkChangeMember.user_id)
            .where(BulkChangeMember.change_id == change_id, BulkChangeMember.user_id == user_id)
            .exists()
        )

    # -- applying ------------------------------------------------------------------------------------

    def apply(
        self,
        actor: Actor,
        change_id: int,
        confirm_self_demotion: bool = False,
        progress: Progress | None = None,
        should_stop: ShouldStop | None = None,
    ) -> BulkChangeStatus:
        """Apply a staged change, or resume one that stopped: chunk by chunk, ``progress`` told after each.

        The first transaction checks the whole change (last administrator, own account) before changing
        anything; a change of at most ``BULK_TRANSACTION_ROWS`` users is that one transaction. Between
        chunks, ``should_stop()`` (or a cancel from anywhere) ends it as cancelled. A rule that refuses a
        later chunk (someone removed the other administrators meanwhile) leaves the change failed, with the
        chunks before it applied, and raises; it can be resumed once the cause is gone.
        """
        samples: list[str] = []
        first = True
        seen = self.status(actor, change_id)
        while True:
            if should_stop is not None and should_stop():
                return replace(self.cancel(actor, change_id), conflict_emails=tuple(samples))
            try:
                chunk = self._apply_chunk(actor, change_id, first, confirm_self_demotion)
            except (LastAdminError, NotFoundError, SelfDeactivationError) as error:
                if not first:
                    self._fail(actor, change_id, str(error))
                raise
            except DatabaseBusyError:
                # Through another Galera node, a second client applying the same change wins chunk after
                # chunk (the change's row lock does not make them queue there): while the change moves on,
                # that is progress, not a database too busy to answer.
                now = self.status(actor, change_id)
                if (now.done, now.state) == (seen.done, seen.state):
                    raise
                seen = now
                if now.state is not BulkState.RUNNING:
                    return replace(now, conflict_emails=tuple(samples))
                continue
            first = False
            seen = chunk.status
            samples.extend(chunk.conflict_emails[: CONFLICT_SAMPLE - len(samples)])
            status = replace(chunk.status, conflict_emails=tuple(samples))
            if progress is not None:
                progress(status)
            if status.state is not BulkState.RUNNING:
                return status

    @retried
    def _apply_chunk(self, actor: Actor, change_id: int, first: bool, confirm_self_demotion: bool) -> _Chunk:
        now = self._context.clock()
        with self._context.database.transaction(write=True) as session:
            # The change's row first: two clients resuming one change take turns, chunk by chunk (and
            # through different Galera nodes both write it, so one is retried and sees the other's progress).
            change = self._locked(session, change_id)
            actor = require_admin_to_change(session, actor)
            state = BulkState(change.state)
            if state is BulkState.CANCELLED and first:
                raise BulkChangeEndedError(state.value)
            if state in (BulkState.DONE, BulkState.CANCELLED):
                return _Chunk(
                    _status(change), ()
                )  # done (by another client too): applying it again is a no-op
            role_id = role_by_name(session, change.role).id if change.role is not None else None
            admin_id = role_by_name(session, ADMIN_ROLE).id
            scope = _Scope(change, role_id, admin_id)
            if first:
                self._check_whole(session, actor, scope, confirm_self_demotion)
                if state is not BulkState.RUNNING:
                    audit.record(
                        session,
                        now,
                        actor,
                        "bulk_change",
                        f"{change.total:,} users (change #{change.id})",
                        old_value=None,
                        new_value=str(_status(change).describe_change()),
                    )
            upper = session.scalar(
                select(BulkChangeMember.user_id)
                .where(
                    BulkChangeMember.change_id == change.id, BulkChangeMember.user_id > change.last_user_id
                )
                .order_by(BulkChangeMember.user_id)
                .offset(BULK_TRANSACTION_ROWS - 1)
                .limit(1)
            )
            if upper is None:  # the last chunk: whatever is left
                upper = session.scalar(
                    select(func.max(BulkChangeMember.user_id)).where(BulkChangeMember.change_id == change.id)
                )
            conflict_emails: tuple[str, ...] = ()
            if upper is not None and upper > change.last_user_id:
                conflict_emails = self._apply_range(session, actor, scope, upper, now)
            finished = upper is None or self._finished_at(session, change)
            change.state = (BulkState.DONE if finished else BulkState.RUNNING).value
            change.message = None
            change.updated_at = now
            if change.state == BulkState.DONE.value:
                audit.record(
                    session,
                    now,
                    actor,
                    "bulk_change_done",
                    f"{change.total:,} users (change #{change.id})",
                    old_value=None,
                    new_value=f"changed {change.changed:,}, left alone {change.conflicts:,}",
                )
            return _Chunk(_status(change), conflict_emails)

    def _check_whole(
        self, session: Session, actor: Actor, scope: _Scope, confirm_self_demotion: bool
    ) -> None:
        """The rules for the whole change, before its first chunk changes anything."""
        change = scope.change
        remaining = BulkChangeMember.user_id > change.last_user_id
        if actor.user_id is not None:
            own = session.execute(
                select(User.role_id, User.active)
                .join(BulkChangeMember, scope.member_join())
                .where(scope.of_change(), remaining, User.id == actor.user_id, scope.differs())
            ).one_or_none()
            if own is not None and change.active is False:
                raise SelfDeactivationError()
            demotes = scope.role_id is not None and scope.role_id != scope.admin_id
            if own is not None and own.role_id == scope.admin_id and demotes and not confirm_self_demotion:
                raise SelfDemotionError()
        if scope.removes_admins:
            removed = self._admins_removed(session, scope, remaining)
            if removed:
                self._guard_last_admin(session, removed)

    def _apply_range(
        self, session: Session, actor: Actor, scope: _Scope, upper: int, now: datetime
    ) -> tuple[str, ...]:
        """Change the members in (last_user_id, upper] whose version still matches; count the rest as
        conflicts; remove the range from the snapshot; move the change's progress to ``upper``."""
        change = scope.change
        in_range = and_(
            BulkChangeMember.user_id > change.last_user_id,
            BulkChangeMember.user_id <= upper,
            User.id > change.last_user_id,
            User.id <= upper,
        )
        # Lock the users this chunk will change, so the audit and the update below see the same rows.
        to_change = int(
            session.scalar(
                select(func.count())
                .select_from(User)
                .join(BulkChangeMember, scope.member_join())
                .where(scope.of_change(), in_range, scope.differs())
                .with_for_update()
            )
            or 0
        )
        conflicts = session.execute(
            select(BulkChangeMember.user_id, User.email)
            .select_from(BulkChangeMember)
            .outerjoin(User, User.id == BulkChangeMember.user_id)
            .where(
                scope.of_change(),
                BulkChangeMember.user_id > change.last_user_id,
                BulkChangeMember.user_id <= upper,
                or_(User.id.is_(None), User.version != BulkChangeMember.version),
            )
            .with_for_update()  # the latest rows, like the count above: an edit committed meanwhile is seen
        ).all()
        if scope.removes_admins:
            removed = self._admins_removed(session, scope, in_range)
            if removed:
                self._guard_last_admin(session, removed)
        if to_change:
            self._audit_range(session, actor, scope, in_range, now)
            values: dict[str, Any] = {"update_date": now, "version": User.version + 1}
            if scope.role_id is not None:
                values["role_id"] = scope.role_id
            if change.active is not None:
                values["active"] = change.active
            session.execute(
                update(User)
                .where(scope.member_join(), scope.of_change(), in_range, scope.differs())
                .values(**values)
                .execution_options(synchronize_session=False)
            )
        in_snapshot = int(
            session.scalar(
                select(func.count())
                .select_from(BulkChangeMember)
                .where(
                    scope.of_change(),
                    BulkChangeMember.user_id > change.last_user_id,
                    BulkChangeMember.user_id <= upper,
                )
            )
            or 0
        )
        session.execute(
            delete(MEMBERS).where(
                MEMBERS.c.change_id == change.id,
                MEMBERS.c.user_id > change.last_user_id,
                MEMBERS.c.user_id <= upper,
            )
        )
        change.last_user_id = upper
        change.done += in_snapshot
        change.changed += to_change
        change.conflicts += len(conflicts)
        return tuple(email or f"deleted account #{user_id}" for user_id, email in conflicts[:CONFLICT_SAMPLE])

    @staticmethod
    def _audit_range(
        session: Session, actor: Actor, scope: _Scope, in_range: ColumnElement[bool], now: datetime
    ) -> None:
        """An audit row per user the chunk changes, written by the database from the rows as they still are."""
        change = scope.change

        def narrow(users: Any, also: ColumnElement[bool]) -> Any:
            return users.join(BulkChangeMember, scope.member_join()).where(scope.of_change(), in_range, also)

        if scope.role_id is not None:
            # The old role's name read per row, not by a join: joined, MariaDB started from the role table
            # and read every user holding it, for each chunk (246 ms a chunk at a million users, 75 without).
            old_role = select(Role.name).where(Role.id == User.role_id).scalar_subquery()
            audit.record_from_query(
                session,
                now,
                actor,
                "role",
                lambda users: narrow(users, User.role_id != scope.role_id),
                old=old_role,
                new=str(change.role),
            )
        if change.active is not None:
            was = case((User.active.is_(True), "true"), else_="false")
            action = "activate" if change.active else "deactivate"
            audit.record_from_query(
                session,
                now,
                actor,
                action,
                lambda users: narrow(users, User.active != change.active),
                old=was,
                new=str(change.active).lower(),
            )

    @staticmethod
    def _admins_removed(session: Session, scope: _Scope, where: ColumnElement[bool]) -> list[int]:
        """Active administrators among the members ``where`` picks that the change would remove (locked)."""
        return list(
            session.scalars(
                select(User.id)
                .join(BulkChangeMember, scope.member_join())
                .where(
                    scope.of_change(),
                    where,
                    scope.differs(),
                    User.role_id == scope.admin_id,
                    User.active.is_(True),
                )
                .order_by(User.id)
                .with_for_update()
            )
        )

    @staticmethod
    def _guard_last_admin(session: Session, removed: list[int]) -> None:
        claim_admin_targets(session, removed, removing_an_admin=True)
        before = count_active_admins(session, locking=True)
        if before and before - len(removed) < 1:
            raise LastAdminError()

    @staticmethod
    def _finished_at(session: Session, change: BulkChange) -> bool:
        left = session.scalar(
            select(BulkChangeMember.user_id).where(BulkChangeMember.change_id == change.id).limit(1)
        )
        return left is None

    # -- stopping, reading, discarding ----------------------------------------------------------------

    @retried
    def cancel(self, actor: Actor, change_id: int) -> BulkChangeStatus:
        """Stop a change between chunks (the users it has not reached stay as they are); the snapshot of
        those users is removed in chunks."""
        now = self._context.clock()
        with self._context.database.transaction(write=True) as session:
            change = self._locked(session, change_id)
            actor = require_admin_to_change(session, actor)
            if BulkState(change.state) in (BulkState.DONE, BulkState.CANCELLED):
                return _status(change)
            started = change.state != BulkState.STAGED.value
            change.state = BulkState.CANCELLED.value
            change.updated_at = now
            if started:
                audit.record(
                    session,
                    now,
                    actor,
                    "bulk_change_cancelled",
                    f"{change.total:,} users (change #{change.id})",
                    old_value=None,
                    new_value=f"changed {change.changed:,} of {change.total:,}",
                )
            status = _status(change)
        self._drop_members(change_id)
        return status

    def discard(self, actor: Actor, change_id: int) -> None:
        """Forget a staged change (reverted before it was saved)."""
        self.cancel(actor, change_id)

    @retried
    def status(self, actor: Actor, change_id: int) -> BulkChangeStatus:
        with self._context.database.transaction() as session:
            require_admin(session, actor)
            change = session.get(BulkChange, change_id)
            if change is None:
                raise NotFoundError(
                    message("BulkChange", "There is no bulk change #{id}.").format(id=str(change_id))
                )
            return _status(change)

    @retried
    def unfinished(self, actor: Actor) -> list[BulkChangeStatus]:
        """Changes that were started and stopped before the end (a crash, a lost connection, a rule): they
        can be resumed with ``apply`` or cancelled."""
        with self._context.database.transaction() as session:
            require_admin(session, actor)
            changes = session.scalars(
                select(BulkChange)
                .where(BulkChange.state.in_([BulkState.RUNNING.value, BulkState.FAILED.value]))
                .order_by(BulkChange.id)
            )
            return [_status(change) for change in changes]

    @retried
    def _fail(self, actor: Actor, change_id: int, message: str) -> None:
        now = self._context.clock()
        with self._context.database.transaction(write=True) as session:
            change = self._locked(session, change_id)
            if change.state == BulkState.RUNNING.value:
                change.state = BulkState.FAILED.value
                change.message = message
                change.updated_at = now

    def _drop_members(self, change_id: int) -> None:
        """Delete a change's snapshot ``BULK_TRANSACTION_ROWS`` rows per transaction."""
        while self._drop_member_chunk(change_id):
            pass

    @retried
    def _drop_member_chunk(self, change_id: int) -> bool:
        with self._context.database.transaction(write=True) as session:
            upper = session.scalar(
                select(BulkChangeMember.user_id)
                .where(BulkChangeMember.change_id == change_id)
                .order_by(BulkChangeMember.user_id)
                .offset(BULK_TRANSACTION_ROWS - 1)
                .limit(1)
            )
            statement = delete(MEMBERS).where(MEMBERS.c.change_id == change_id)
            if upper is not None:
                statement = statement.where(MEMBERS.c.user_id <= upper)
            session.execute(statement)
            return upper is not None

    def _remove_quietly(self, change_id: int) -> None:
        """Undo a staging that failed half-way (best effort: an abandoned one is purged later anyway)."""
        try:
            self._drop_members(change_id)
            with self._context.database.transaction(write=True) as session:
                session.execute(delete(BulkChange).where(BulkChange.id == change_id))
        except Exception:
            log.warning(
                "Could not remove the half-staged bulk change #%d; it will be purged later", change_id
            )

    @staticmethod
    def _abandoned(session: Session, now: datetime) -> list[int]:
        """Staged changes nobody applied for ``ABANDONED_AFTER`` (a few at a time), to remove: their
        snapshots in chunks first (one cascading DELETE of a million rows would be one huge write set)."""
        return list(
            session.scalars(
                select(BulkChange.id)
                .where(
                    BulkChange.state == BulkState.STAGED.value, BulkChange.updated_at < now - ABANDONED_AFTER
                )
                .limit(10)
            )
        )

    @staticmethod
    def _locked(session: Session, change_id: int) -> BulkChange:
        change = session.scalar(select(BulkChange).where(BulkChange.id == change_id).with_for_update())
        if change is None:
            raise NotFoundError(
                message("BulkChange", "There is no bulk change #{id}.").format(id=str(change_id))
            )
        return change


@dataclass(frozen=True)
class _Scope:
    """One change's SQL pieces: which snapshot rows are its, and which users it would change."""

    change: BulkChange
    role_id: int | None
    admin_id: int

    def of_change(self) -> ColumnElement[bool]:
        return BulkChangeMember.change_id == self.change.id

    @staticmethod
    def member_join() -> ColumnElement[bool]:
        """A member whose user still has the version it had when the change was staged."""
        return and_(BulkChangeMember.user_id == User.id, BulkChangeMember.version == User.version)

    def differs(self) -> ColumnElement[bool]:
        """The users the change would actually change (the others are left as they are, unaudited)."""
        differences = []
        if self.role_id is not None:
            differences.append(User.role_id != self.role_id)
        if self.change.active is not None:
            differences.append(User.active != self.change.active)
        return or_(*differences)

    @property
    def removes_admins(self) -> bool:
        return self.change.active is False or (self.role_id is not None and self.role_id != self.admin_id)


def _status(change: BulkChange) -> BulkChangeStatus:
    return BulkChangeStatus(
        id=change.id,
        role=change.role,
        active=change.active,
        state=BulkState(change.state),
        total=change.total,
        done=change.done,
        changed=change.changed,
        conflicts=change.conflicts,
        message=change.message,
    )
