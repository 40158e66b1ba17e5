"""Reading users: the column set every user list shows, the search and role filters, the sort keys, and
the page, count and batch queries built from them. Shared by administration (pages, counts, one user, the
rows a change touched) and the CSV export (batches in id order).

No permission checks here: each caller checks its actor in the same transaction as the query.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, false, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from desktop_auth.models import AppSetting, BulkChangeMember, LoginThrottle, RecoveryCode, Role, User
from desktop_auth.services.records import (
    DEFAULT_TEMPORARY_PASSWORD_HOURS,
    BulkSelection,
    SortKey,
    UserQuery,
    UserRecord,
    temporary_password_expiry,
)
from desktop_auth.services.search import clean_search, escape_like, matches_nothing, prefix_upper_bound
from desktop_auth.services.sql import chunks, ids_in
from desktop_auth.text import scrub

AnySelect = Select[*tuple[Any, ...]]
MAX_PAGE_SIZE = 1000
ALL_USERS = UserQuery()
TEMPORARY_HOURS_KEY = "temporary_password_hours"  # the shared setting (services.app_settings)


def user_columns() -> AnySelect:
    """A UserRecord's columns, in ``record_from_row``'s order: each user with its role and any lockout, its
    unused recovery codes counted, whether it has two-factor sign-in, and the shared lifetime of temporary passwords (read in the same
    statement, so every row's expiry follows one value; one uncorrelated subquery, evaluated once).

    The codes are counted per row by a correlated subquery on ``ix_recovery_code_user_id_digest`` (which
    starts with user_id): a page of 200 users costs 200 index probes, whatever the size of the tables,
    where a join on an aggregate would count every user's codes first."""
    codes_left = (
        select(func.count(RecoveryCode.id))
        .where(RecoveryCode.user_id == User.id, RecoveryCode.used_at.is_(None))
        .correlate(User)
        .scalar_subquery()
    )
    temporary_hours = select(AppSetting.value).where(AppSetting.key == TEMPORARY_HOURS_KEY).scalar_subquery()
    statement: AnySelect = select(
        User.id,
        User.email,
        Role.name.label("role"),
        User.active,
        User.must_change_password,
        LoginThrottle.locked_until,
        User.last_login_at,
        User.login_count,
        User.create_date,
        User.update_date,
        User.version,
        User.password_changed_at,
        codes_left.label("recovery_codes_left"),
        temporary_hours.label("temporary_password_hours"),
        # Whether there is a second factor, never the secret: the value does not leave the database.
        User.totp_secret.is_not(None).label("two_factor"),
    ).select_from(
        User.__table__.join(Role.__table__, User.role_id == Role.id).outerjoin(
            LoginThrottle.__table__, LoginThrottle.email == User.email
        )
    )
    return statement


SORT_COLUMNS: dict[SortKey, ColumnElement[Any]] = {
    SortKey.EMAIL: User.email,  # type: ignore[dict-item]
    SortKey.ROLE: Role.name,  # type: ignore[dict-item]
    SortKey.ACTIVE: User.active,  # type: ignore[dict-item]
    SortKey.LOCKED_UNTIL: LoginThrottle.locked_until,  # type: ignore[dict-item]
    SortKey.LAST_LOGIN: User.last_login_at,  # type: ignore[dict-item]
    SortKey.LOGIN_COUNT: User.login_count,  # type: ignore[dict-item]
    SortKey.CREATED: User.create_date,  # type: ignore[dict-item]
    SortKey.UPDATED: User.update_date,  # type: ignore[dict-item]
    SortKey.MUST_CHANGE: User.must_change_password,  # type: ignore[dict-item]
}


def record_from_row(row: Any, now: datetime) -> UserRecord:
    """A UserRecord from a row of ``user_columns()`` (unpacked by position: pages hold hundreds of rows)."""
    (
        user_id,
        email,
        role,
        active,
        must_change,
        locked_until,
        last_login,
        logins,
        created,
        updated,
        version,
        password_changed,
        codes_left,
        hours_text,
        two_factor,
    ) = row
    # As services.app_settings reads it: a value not stored (or not a number) is the default.
    hours = int(hours_text) if hours_text and hours_text.isdigit() else DEFAULT_TEMPORARY_PASSWORD_HOURS
    expires = temporary_password_expiry(must_change, password_changed, hours)
    return UserRecord(
        id=user_id,
        email=email,
        role=role,
        active=active,
        must_change_password=must_change,
        locked_until=locked_until if locked_until is not None and locked_until > now else None,
        last_login_at=last_login,
        login_count=logins,
        created_at=created,
        updated_at=updated,
        version=version,
        password_changed_at=password_changed,
        temporary_password_expires_at=expires,
        temporary_password_expired=expires is not None and expires <= now,
        recovery_codes_left=int(codes_left or 0),
        two_factor=bool(two_factor),  # MariaDB answers 0 or 1
    )


def filter_users(statement: AnySelect, query: UserQuery, dialect: str, walk_ids: bool = False) -> AnySelect:
    """``statement`` narrowed to the query's search (a literal substring or prefix of the address; see
    desktop_auth.services.search, which also refuses over-long searches) and role.

    ``walk_ids``: for a caller reading chunks in id order (a bulk change's snapshot), which must walk the
    primary key: the role is then compared so that no index answers it (``role_id + 0``). Without it SQLite,
    which has no statistics until an ANALYZE, walked the role index for every chunk (22 s of a 1,000,000-user
    snapshot, 0.8 s with it)."""
    text = clean_search(query.search).strip().lower()
    if text and matches_nothing(text):
        statement = statement.where(false())
    elif text:
        pattern = f"{escape_like(text)}%" if query.prefix else f"%{escape_like(text)}%"
        statement = statement.where(User.email.like(pattern, escape="\\"))
        upper = prefix_upper_bound(text) if query.prefix and dialect == "sqlite" else None
        if upper is not None:
            # SQLite's LIKE is case-insensitive, so it cannot walk the (binary) email index and reads every
            # row (~1 s at a million users). Addresses are stored lower-cased and binary order is code point
            # order, so every match also lies in [text, text with its last character bumped): a range the
            # index answers. (MariaDB's LIKE 'x%' uses its index already.)
            statement = statement.where(User.email >= text, User.email < upper)
    if query.role:
        # By id, through a one-row subquery: the user table alone answers, with no join to plan around.
        role_id = select(Role.id).where(Role.name == scrub(query.role)).scalar_subquery()
        role_column = User.role_id + 0 if walk_ids else User.role_id
        statement = statement.where(role_column == role_id)
    return statement


@dataclass(frozen=True, slots=True)
class UserPage:
    """One page of users and, row by row, whether a staged bulk change (``bulk_change_member``) is for that
    user: the database's answer, whatever filter or selection the change was made from."""

    records: list[UserRecord]
    in_change: list[bool]


def _page_statement(query: UserQuery, offset: int, limit: int, dialect: str) -> AnySelect:
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    ids, order = ordered_ids(query, dialect)
    page = ids.offset(max(0, offset)).limit(limit).subquery()
    return user_columns().join(page, page.c.id == User.id).order_by(*order)


def user_page(
    session: Session, query: UserQuery, offset: int, limit: int, dialect: str, now: datetime
) -> list[UserRecord]:
    """One page of users (at most MAX_PAGE_SIZE), filtered and sorted by the database."""
    statement = _page_statement(query, offset, limit, dialect)
    # Core execution: the columns need none of the ORM's per-row loading machinery.
    return [record_from_row(row, now) for row in session.connection().execute(statement)]


def user_page_in_change(
    session: Session, query: UserQuery, offset: int, limit: int, dialect: str, now: datetime, change_id: int
) -> UserPage:
    """``user_page``, each row with whether the staged change ``change_id`` is for its user: one EXISTS per
    row on bulk_change_member's primary key (change_id, user_id), a single index lookup each."""
    member = (
        select(BulkChangeMember.user_id)
        .where(BulkChangeMember.change_id == change_id, BulkChangeMember.user_id == User.id)
        .exists()
    )
    statement = _page_statement(query, offset, limit, dialect).add_columns(member.label("in_change"))
    records: list[UserRecord] = []
    flags: list[bool] = []
    for *columns, in_change in session.connection().execute(statement):
        records.append(record_from_row(columns, now))
        flags.append(bool(in_change))  # MariaDB answers 0 or 1
    return UserPage(records, flags)


def ordered_ids(query: UserQuery, dialect: str) -> tuple[AnySelect, list[ColumnElement[Any]]]:
    """The ids of the users matching ``query``, in its order (the order of its pages), and that order."""
    column = SORT_COLUMNS[query.sort]
    # Ties broken by id so pages are stable; email is unique already, and a tie-breaker there would
    # stop MariaDB from walking its unique index (it sorts the whole table instead).
    keys = [column] if query.sort is SortKey.EMAIL else [column, User.id]
    order: list[ColumnElement[Any]] = [key.desc() if query.descending else key.asc() for key in keys]
    # Pick the page's ids from the user table alone (an index walk: ORDER BY email LIMIT 200 reads
    # 200 index entries even at a million rows), then join roles and lockouts for just those rows.
    # Joining first let MariaDB start from the role table and sort the whole user table.
    ids = select(User.id)
    if query.sort is SortKey.ROLE:
        ids = ids.join(Role, Role.id == User.role_id)
    elif query.sort is SortKey.LOCKED_UNTIL:
        ids = ids.outerjoin(LoginThrottle, LoginThrottle.email == User.email)
    return filter_users(ids, query, dialect).order_by(*order), order


def count_users(session: Session, query: UserQuery, dialect: str) -> int:
    statement = filter_users(select(func.count()).select_from(User), query, dialect)
    return int(session.scalar(statement) or 0)


def user_by_email(session: Session, email: str, now: datetime) -> UserRecord | None:
    """The user with this (normalized) address, or None."""
    row = session.execute(user_columns().where(User.email == email)).one_or_none()
    return None if row is None else record_from_row(row, now)


def users_by_id(session: Session, ids: Sequence[int], now: datetime) -> list[UserRecord]:
    """These users as they are now, in the order of ``ids`` (deleted ones left out)."""
    by_id: dict[int, UserRecord] = {}
    for chunk in chunks(list(ids)):
        for row in session.execute(user_columns().where(ids_in(User.id, chunk))):
            by_id[row.id] = record_from_row(row, now)
    return [by_id[i] for i in ids if i in by_id]


def users_after(
    session: Session, query: UserQuery, last_id: int, limit: int, dialect: str, now: datetime
) -> list[UserRecord]:
    """Up to ``limit`` users matching the query's filters (not its sort) with ids above ``last_id``, in id
    order: keyset paging, stable while rows are added or changed meanwhile."""
    statement: AnySelect = (
        filter_users(user_columns(), query, dialect).where(User.id > last_id).order_by(User.id).limit(limit)
    )
    return [record_from_row(row, now) for row in session.execute(statement)]


def in_selection(selection: BulkSelection, dialect: str) -> ColumnElement[bool]:
    """Whether a user is in ``selection``, as a condition on ``user`` (for a statement over few rows, such
    as the lockouts among a million selected users: each run becomes a derived table of its rows' ids)."""
    chosen: ColumnElement[bool]
    if selection.runs is None:
        chosen = User.id.in_(filter_users(select(User.id), selection.query, dialect))
    else:
        ordered, _order = ordered_ids(selection.query, dialect)
        runs = [ordered.offset(start).limit(stop - start).subquery() for start, stop in selection.runs]
        chosen = or_(false(), *(User.id.in_(select(run.c.id)) for run in runs))
    if selection.excluded:
        chosen = chosen & ~ids_in(User.id, sorted(selection.excluded))
    if selection.included:
        chosen = chosen | ids_in(User.id, sorted(selection.included))
    return chosen
