"""Brute-force protection: failed sign-ins counted per normalized email, in the database.

Counting happens whether or not an account exists, so the lockout itself reveals nothing. After
``lockout_threshold`` failures the address is refused for ``lockout_base_seconds``, doubling with each
further lockout up to ``lockout_max_seconds``. A successful sign-in or an admin's unlock resets it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import delete, select
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from desktop_auth.models import LoginThrottle, User
from desktop_auth.services import audit


class LockoutRules(Protocol):
    """The numbers that govern lockouts (the client's Settings, or the database's shared settings)."""

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


def _count_failure(session: Session, email: str, now: datetime) -> None:
    """Add one failure in a single atomic upsert, so concurrent failures are never lost.

    (An UPDATE-then-INSERT would take gap locks on MariaDB and deadlock under concurrency.)
    """
    values = {"email": email, "failed_count": 1, "lockout_count": 0, "last_failure_at": now}
    if session.get_bind().dialect.name == "sqlite":
        sqlite_statement = sqlite_insert(LoginThrottle).values(values)
        session.execute(
            sqlite_statement.on_conflict_do_update(
                index_elements=[LoginThrottle.email],
                set_={"failed_count": LoginThrottle.failed_count + 1, "last_failure_at": now},
            )
        )
    else:
        mysql_statement = mysql_insert(LoginThrottle).values(values)
        session.execute(
            mysql_statement.on_duplicate_key_update(
                failed_count=LoginThrottle.failed_count + 1, last_failure_at=now
            )
        )


def record_failure(session: Session, settings: LockoutRules, email: str, now: datetime) -> datetime | None:
    """Count one failure; return the lock expiry when this failure triggered a lockout."""
    _count_failure(session, email, now)
    throttle = session.scalars(
        select(LoginThrottle)
        .where(LoginThrottle.email == email)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if throttle.failed_count < settings.lockout_threshold:
        return None
    until = now + lockout_duration(settings, throttle.lockout_count)
    throttle.locked_until = until
    throttle.lockout_count += 1
    throttle.failed_count = 0
    user_id = session.scalar(select(User.id).where(User.email == email))
    audit.record(
        session,
        now,
        None,
        "lockout",
        email,
        target_id=user_id,
        new_value=until.isoformat(timespec="seconds"),
        detail=f"{settings.lockout_threshold} failed sign-ins; lockout #{throttle.lockout_count}",
    )
    return until


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
        .where(LoginThrottle.email.in_(emails))
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
