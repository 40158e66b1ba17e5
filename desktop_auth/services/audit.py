"""Writing and reading the audit log."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import insert, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from desktop_auth.models import AuditEvent
from desktop_auth.services.records import Actor, AuditRecord
from desktop_auth.text import scrub

SYSTEM_ACTOR = "system"


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
        session.execute(insert(AuditEvent), rows)


def search_filter(search: str) -> ColumnElement[bool]:
    """Events whose actor, target or action contains ``search`` (wildcards taken literally)."""
    pattern = f"%{escape_like(scrub(search))}%"
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


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
