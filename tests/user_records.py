"""Users made up for the role editor's tests (no database, no Qt)."""

from __future__ import annotations

from datetime import UTC, datetime

from desktop_auth.services.records import UserRecord

CREATED = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)


def user_record(n: int, role: str = "user", version: int = 1, two_factor: bool = False) -> UserRecord:
    """User number ``n``: id n + 1, user{n:04d}@example.com, n sign-ins (``two_factor``: with an
    authenticator)."""
    return UserRecord(
        id=n + 1,
        email=f"user{n:04d}@example.com",
        role=role,
        active=True,
        must_change_password=False,
        locked_until=None,
        last_login_at=None,
        login_count=n,
        created_at=CREATED,
        updated_at=CREATED,
        version=version,
        two_factor=two_factor,
    )
