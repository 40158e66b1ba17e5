"""CSV exports of the user table and the audit log, streamed in batches so a million rows never sit in
memory at once. Every batch is its own short transaction, with the administrator re-checked each time.

Dates are written in UTC with their offset, as the command line writes them (``services.timestamps``)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TextIO

from sqlalchemy import select

from desktop_auth import file_modes
from desktop_auth.models import AuditEvent
from desktop_auth.services.audit import search_filter
from desktop_auth.services.context import ServiceContext, require_admin, retried
from desktop_auth.services.records import Actor, UserQuery, UserRecord
from desktop_auth.services.timestamps import utc_text
from desktop_auth.services.user_queries import users_after
from desktop_auth.text import inert_in_spreadsheets

BATCH = 2000
USER_HEADER = [
    "email",
    "role",
    "active",
    "locked_until",
    "last_login_at",
    "login_count",
    "created",
    "updated",
    "must_change_password",
    "temporary_password_expires",
    "recovery_codes_left",
    "two_factor",  # on or off; the secret itself is never exported
]
AUDIT_HEADER = ["when", "actor", "action", "target", "old_value", "new_value", "detail"]


def open_export_file(path: str | Path) -> TextIO:
    """Open ``path`` to write an export into: a new file is created 0600 (owner only) on POSIX, so the
    addresses in it are never readable by others. The folder, which the person chose, is left as it is;
    so is the mode of a file that already exists."""
    return open(file_modes.open_private(Path(path)), "w", newline="", encoding="utf-8")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return utc_text(value)  # one format for every CLI and export date: 2026-12-02 17:30:05+00:00
    if isinstance(value, bool):
        return "yes" if value else "no"
    return inert_in_spreadsheets(str(value))


class ExportService:
    def __init__(self, context: ServiceContext) -> None:
        self._context = context

    def iter_users(self, actor: Actor, query: UserQuery) -> Iterator[list[UserRecord]]:
        """Batches of users matching ``query`` (filters only; ordered by id for stable keyset paging)."""
        last_id = 0
        while batch := self._users_after(actor, query, last_id):
            yield batch
            last_id = batch[-1].id

    # Each batch is read again whole when the connection drops (a cluster node failing over mid-export):
    # keyset paging makes the repeat read the same rows, so the file neither loses nor repeats any.
    @retried
    def _users_after(self, actor: Actor, query: UserQuery, last_id: int) -> list[UserRecord]:
        with self._context.database.transaction() as session:
            require_admin(session, actor)
            dialect, now = self._context.database.dialect_name, self._context.clock()
            return users_after(session, query, last_id, BATCH, dialect, now)

    def write_users_csv(self, actor: Actor, query: UserQuery, out: TextIO) -> int:
        writer = csv.writer(out)
        writer.writerow(USER_HEADER)
        count = 0
        for batch in self.iter_users(actor, query):
            for u in batch:
                writer.writerow(
                    [
                        _cell(v)
                        for v in (
                            u.email,
                            u.role,
                            u.active,
                            u.locked_until,
                            u.last_login_at,
                            u.login_count,
                            u.created_at,
                            u.updated_at,
                            u.must_change_password,
                            u.temporary_password_expires_at,
                            u.recovery_codes_left,
                            u.two_factor,
                        )
                    ]
                )
            count += len(batch)
        return count

    def write_audit_csv(self, actor: Actor, search: str, out: TextIO) -> int:
        writer = csv.writer(out)
        writer.writerow(AUDIT_HEADER)
        count = 0
        last_id: int | None = None
        while True:
            events = self._events_before(actor, search, last_id)
            if not events:
                return count
            for e in events:
                writer.writerow(
                    [
                        _cell(v)
                        for v in (
                            e.created_at,
                            e.actor,
                            e.action,
                            e.target,
                            e.old_value,
                            e.new_value,
                            e.detail,
                        )
                    ]
                )
            count += len(events)
            last_id = events[-1].id

    @retried  # as _users_after
    def _events_before(self, actor: Actor, search: str, last_id: int | None) -> list[AuditEvent]:
        with self._context.database.transaction() as session:
            require_admin(session, actor)
            statement = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(BATCH)
            if search:
                statement = statement.where(search_filter(search))
            if last_id is not None:
                statement = statement.where(AuditEvent.id < last_id)
            return list(session.scalars(statement))
