"""Brute-force protection: failed sign-ins counted per normalized email, in the database.

Counting happens whether or not an account exists, so the lockout itself reveals nothing. After
``lockout_threshold`` failures the address is refused for ``lockout_base_seconds``, doubling with each
further lockout up to ``lockout_max_seconds``. A successful sign-in or an admin's unlock resets it.

Each attempt is **reserved** (counted as a failure) before its password is checked, so however many
attempts arrive at once, no more than the threshold are ever checked: the one after them is refused and
locks the address. A success then forgets the count; a failure is already counted.

Failures stop counting once the address has been quiet (no failure, no lock in force) for the failure
window, which is as long as the longest lockout; such rows are purged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import ScalarSelect, bindparam, delete, or_, select, update
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from desktop_auth.models import LoginThrottle, User
from desktop_auth.services import audit

PURGE_BATCH = 1000


class LockoutRules(Protocol):
    """The numbers that govern lockouts (the database's shared settings)."""

    @property
    def lockout_threshold(self) -> int: ...
    @property
    def lockout_base_seconds(self) -> int: ...
    @property
    def lockout_max_seconds(self) -> int: ...


def locked_until(session: Session, email: str, now: datetime) -> datetime | None:
    until = session.scalar(select(LoginThrottle.locked_until).where(LoginThrottle.email == email))
    return until if until is not None and until > now else None


def lockout_duration(settings: LockoutRules, previous_lockouts: int) -> timedelta:
    # Cap the exponent before shifting so a long history cannot overflow.
    seconds = settings.lockout_base_seconds * (1 << min(previous_lockouts, 32))
    return timedelta(seconds=min(seconds, settings.lockout_max_seconds))


def failure_window(settings: LockoutRules) -> timedelta:
    """How long a failure counts: as long as the longest lockout."""
    return timedelta(seconds=settings.lockout_max_seconds)


# Every sign-in runs these (see accounts.py, "Sign-in's statements"): Core statements built once, run on the
# session's connection.
_COLUMNS = (
    LoginThrottle.email,
    LoginThrottle.failed_count,
    LoginThrottle.lockout_count,
    LoginThrottle.locked_until,
    LoginThrottle.last_failure_at,
)
_NEW_ROW = {"email": bindparam("key"), "failed_count": 0, "lockout_count": 0}
_MYSQL_INSERT = mysql_insert(LoginThrottle).values(_NEW_ROW)
_INSERT_MISSING_SQLITE = sqlite_insert(LoginThrottle).values(_NEW_ROW).on_conflict_do_nothing()
_INSERT_MISSING_MYSQL = _MYSQL_INSERT.on_duplicate_key_update(email=_MYSQL_INSERT.inserted.email)
_READ_LOCKED = select(*_COLUMNS).where(LoginThrottle.email == bindparam("key")).with_for_update()
_WRITE = (
    update(LoginThrottle)
    .where(LoginThrottle.email == bindparam("key"))
    .values(
        failed_count=bindparam("new_failed_count"),
        lockout_count=bindparam("new_lockout_count"),
        locked_until=bindparam("new_locked_until"),
        last_failure_at=bindparam("new_last_failure_at"),
    )
)
_DELETE_ONE = delete(LoginThrottle).where(LoginThrottle.email == bindparam("key"))


def counting() -> ScalarSelect[str]:
    """A column for another statement's SELECT list, bound to ``key``: the address if it has a row here,
    else NULL. A plain read (no lock), also inside a ``FOR UPDATE`` statement on MariaDB."""
    return select(LoginThrottle.email).where(LoginThrottle.email == bindparam("key")).scalar_subquery()


@dataclass
class _Row:
    """One address's counters, read locked and written back whole (``_write``)."""

    email: str
    failed_count: int
    lockout_count: int
    locked_until: datetime | None
    last_failure_at: datetime | None


def _locked_row(session: Session, email: str) -> _Row:
    """The address's row, created if missing, locked for this transaction (one atomic upsert first, so
    concurrent attempts on a new address never collide on the insert; an UPDATE-then-INSERT would take gap
    locks on MariaDB and deadlock)."""
    connection = session.connection()
    sqlite = connection.dialect.name == "sqlite"
    connection.execute(_INSERT_MISSING_SQLITE if sqlite else _INSERT_MISSING_MYSQL, {"key": email})
    return _Row(*connection.execute(_READ_LOCKED, {"key": email}).one())


def _write(session: Session, row: _Row) -> None:
    values = {
        "key": row.email,
        "new_failed_count": row.failed_count,
        "new_lockout_count": row.lockout_count,
        "new_locked_until": row.locked_until,
        "new_last_failure_at": row.last_failure_at,
    }
    session.connection().execute(_WRITE, values)


def reserve_attempt(session: Session, rules: LockoutRules, email: str, now: datetime) -> datetime | None:
    """Count one attempt as failed before its password is checked.

    Returns None when the attempt may be checked, or the time until which the address is locked when it
    may not (a lock in force, or the threshold's worth of attempts already counted: this one locks it).
    """
    row = _locked_row(session, email)
    if row.locked_until is not None and row.locked_until > now:
        return row.locked_until
    if _quiet_since(row) <= now - failure_window(rules):
        row.failed_count = 0
        row.lockout_count = 0
    if row.failed_count >= rules.lockout_threshold:
        return _lock(session, rules, row, now)
    row.failed_count += 1
    row.last_failure_at = now
    _write(session, row)
    return None


def _quiet_since(row: _Row) -> datetime:
    """When the address last failed or its last lock ended, whichever is later: the failure window counts
    from there, so a lock's own length never counts as quiet time (the next lock keeps doubling)."""
    moments = [moment for moment in (row.last_failure_at, row.locked_until) if moment is not None]
    return max(moments) if moments else datetime.min.replace(tzinfo=UTC)


def confirm_failure(session: Session, rules: LockoutRules, email: str, now: datetime) -> datetime | None:
    """A reserved attempt failed its check (it is counted already). Returns the lock expiry when the count
    has reached the threshold and this failure locked the address."""
    row = _locked_row(session, email)
    if row.locked_until is not None and row.locked_until > now:
        return None  # locked meanwhile by a concurrent attempt
    recounted = row.failed_count == 0 and row.last_failure_at is None
    if recounted:
        # The row was reset (an unlock or a success) while this attempt was checked: count it afresh.
        row.failed_count, row.last_failure_at = 1, now
    if row.failed_count >= rules.lockout_threshold:
        return _lock(session, rules, row, now)
    if recounted:
        _write(session, row)
    return None


def _lock(session: Session, rules: LockoutRules, row: _Row, now: datetime) -> datetime:
    until = now + lockout_duration(rules, row.lockout_count)
    row.locked_until = until
    row.lockout_count += 1
    row.failed_count = 0
    row.last_failure_at = now
    _write(session, row)
    user_id = session.scalar(select(User.id).where(User.email == row.email))
    audit.record(
        session,
        now,
        None,
        "lockout",
        row.email,
        target_id=user_id,
        new_value=until.isoformat(timespec="seconds"),
        detail=f"{rules.lockout_threshold} failed attempts; lockout #{row.lockout_count}",
    )
    return until


def forget(session: Session, email: str) -> None:
    """Forget one address's failures, its row having been seen (``counting``) in this transaction: a DELETE
    that matches nothing takes gap locks on MariaDB (see ``reset``)."""
    session.connection().execute(_DELETE_ONE, {"key": email})


def reset(session: Session, emails: list[str]) -> int:
    """Forget failures and lockouts for these addresses; return how many were locked or counting."""
    if not emails:
        return 0
    # Delete only rows that exist: a DELETE that matches nothing still takes gap locks on MariaDB, and
    # concurrent sign-ins of one account would deadlock on them.
    present = list(session.scalars(select(LoginThrottle.email).where(LoginThrottle.email.in_(emails))))
    if not present:
        return 0
    result = session.execute(
        delete(LoginThrottle)
        .where(LoginThrottle.email.in_(present))
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def purge_expired(session: Session, rules: LockoutRules, now: datetime) -> int:
    """Delete up to PURGE_BATCH rows whose failures have stopped counting and whose lock has expired
    (most are addresses nobody holds); return how many went."""
    cutoff = now - failure_window(rules)
    stale = list(
        session.scalars(
            select(LoginThrottle.email)
            .where(
                or_(LoginThrottle.last_failure_at.is_(None), LoginThrottle.last_failure_at <= cutoff),
                or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until <= cutoff),
            )
            .limit(PURGE_BATCH)
        )
    )
    if not stale:
        return 0
    return reset(session, stale)
