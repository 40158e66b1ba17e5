"""Writing and reading the audit log."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Integer, Select, String, Table, false, insert, literal, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.elements import ColumnElement

from desktop_auth.db.types import UTCDateTime
from desktop_auth.models import AuditEvent, Role, User
from desktop_auth.services.records import Actor, AuditRecord
from desktop_auth.services.search import clean_search, escape_like, matches_nothing
from desktop_auth.services.sql import ids_in

SYSTEM_ACTOR = "system"
AUDIT_TABLE = cast(Table, AuditEvent.__table__)
AnySelect = Select[*tuple[Any, ...]]


def record(
    session: Session,
    now: datetime,
    actor: Actor | None,
    action: str,
    target: str,
    target_id: int | None = None,
    old_value: str | None = None,
    new_value: str | None = None,
    detail: str | None = None,
) -> None:
    record_many(session, now, actor, action, [(target_id, target, old_value, new_value)], detail)


def record_many(
    session: Session,
    now: datetime,
    actor: Actor | None,
    action: str,
    changes: Iterable[tuple[int | None, str, str | None, str | None]],
    detail: str | None = None,
) -> None:
    """One audit row per (target id, target email, old value, new value), in one multi-row INSERT."""
    rows: list[dict[str, Any]] = [
        {
            "created_at": now,
            "actor_id": actor.user_id if actor else None,
            "actor": actor.label if actor else SYSTEM_ACTOR,
            "action": action,
            "target_id": target_id,
            "target": target,
            "old_value": old_value,
            "new_value": new_value,
            "detail": detail,
        }
        for target_id, target, old_value, new_value in changes
    ]
    if rows:
        # Core executemany (multi-row INSERTs), not the ORM's bulk path.
        session.connection().execute(insert(AUDIT_TABLE), rows)


def record_from_users(
    session: Session,
    now: datetime,
    actor: Actor | None,
    action: str,
    user_ids: Sequence[int],
    old: ColumnElement[Any] | InstrumentedAttribute[str],
    new: str,
) -> None:
    """One audit row per user, written by the database itself (INSERT ... SELECT): set-based, so a bulk
    change of 10,000 users costs one statement, not 10,000 rows of parameters. ``old`` is read from the
    user's row (and its role) before the caller changes it."""
    record_from_query(
        session,
        now,
        actor,
        action,
        lambda users: users.join(Role, Role.id == User.role_id).where(ids_in(User.id, user_ids)),
        old,
        new,
    )


def record_from_query(
    session: Session,
    now: datetime,
    actor: Actor | None,
    action: str,
    narrow: Callable[[AnySelect], AnySelect],
    old: ColumnElement[Any] | InstrumentedAttribute[str],
    new: str,
) -> None:
    """``record_from_users`` for the users ``narrow`` picks from a SELECT of users (a join or a WHERE of the
    caller's: a bulk change picks a chunk of its snapshot; a join to ``role`` when ``old`` reads it)."""
    source: AnySelect = select(
        literal(now, UTCDateTime()),
        literal(actor.user_id if actor else None, Integer()),
        literal(actor.label if actor else SYSTEM_ACTOR, String()),
        literal(action, String()),
        User.id,
        User.email,
        old,
        literal(new, String()),
    ).select_from(User)
    columns = ["created_at", "actor_id", "actor", "action", "target_id", "target", "old_value", "new_value"]
    session.execute(insert(AUDIT_TABLE).from_select(columns, narrow(source)))


def search_filter(search: str) -> ColumnElement[bool]:
    """Events whose actor, target or action contains ``search`` literally (desktop_auth.services.search);
    raises InvalidInputError (field "search") for a search longer than any of those fields."""
    text = clean_search(search)
    if matches_nothing(text):
        return false()
    pattern = f"%{escape_like(text)}%"
    return or_(
        AuditEvent.actor.like(pattern, escape="\\"),
        AuditEvent.target.like(pattern, escape="\\"),
        AuditEvent.action.like(pattern, escape="\\"),
    )


def list_events(session: Session, search: str = "", limit: int = 200, offset: int = 0) -> list[AuditRecord]:
    statement = select(AuditEvent).order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    if search:
        statement = statement.where(search_filter(search))
    events = session.scalars(statement.limit(limit).offset(offset))
    return [
        AuditRecord(e.id, e.created_at, e.actor, e.action, e.target, e.old_value, e.new_value, e.detail)
        for e in events
    ]
