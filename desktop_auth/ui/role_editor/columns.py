"""The user table's columns: their order, headings, the sort each stands for, and a user's saved values as
the table shows them. No Qt: the table model, the view and the scripts that drive the table share it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from desktop_auth.services.records import SortKey, UserRecord
from desktop_auth.ui.shell.dates import local_time
from desktop_auth.ui.shell.words import count

(
    COL_EMAIL,
    COL_ROLE,
    COL_ACTIVE,
    COL_LOCKED,
    COL_LAST_LOGIN,
    COL_LOGINS,
    COL_CREATED,
    COL_UPDATED,
    COL_MUST_CHANGE,
    COL_TEMPORARY_EXPIRES,
    COL_RECOVERY_CODES,
    COL_TWO_FACTOR,
) = range(12)
HEADERS = (
    "Email",
    "Role",
    "Active",
    "Locked until",
    "Last sign-in",
    "Sign-ins",
    "Created",
    "Updated",
    "Must change password",
    "Temporary password expires",
    "Recovery codes",
    "2FA",
)
#: What the header shows: the lifecycle columns' long names on two lines, so the columns can be as narrow as
#: their values (their full names are the accessible ones, HEADERS).
HEADER_LINES = tuple(
    {
        "Must change password": "Must change\npassword",
        "Temporary password expires": "Temporary password\nexpires",
        "Recovery codes": "Recovery\ncodes",
    }.get(name, name)
    for name in HEADERS
)
EXPIRED_TEXT = "expired"
TWO_FACTOR_ON, TWO_FACTOR_OFF = "on", "off"
# Sortable columns. Not the temporary password's expiry (computed from a shared setting) nor the recovery
# codes (a count per user): sorting by either would compute it for every user before the first page. Nor
# two-factor: no index holds user.totp_secret, so sorting by it would read and sort the whole user table.
SORT_KEYS = {
    COL_EMAIL: SortKey.EMAIL,
    COL_ROLE: SortKey.ROLE,
    COL_ACTIVE: SortKey.ACTIVE,
    COL_LOCKED: SortKey.LOCKED_UNTIL,
    COL_LAST_LOGIN: SortKey.LAST_LOGIN,
    COL_LOGINS: SortKey.LOGIN_COUNT,
    COL_CREATED: SortKey.CREATED,
    COL_UPDATED: SortKey.UPDATED,
    COL_MUST_CHANGE: SortKey.MUST_CHANGE,
}


def _time(value: datetime | None) -> str:
    # The GUI's one way of showing a moment (local time with its zone); local_time uses isoformat, not
    # strftime: strftime imports the time module on every call, and under PySide's import hook that is a
    # Python function call each time (6 us instead of 2, for every date on screen).
    return local_time(value)


def _expiry(record: UserRecord) -> str:
    """When the temporary password expires; "expired" once it has (as the services' clock said when the
    record was read: the sign-in refusal follows the same clock)."""
    expires = record.temporary_password_expires_at
    if expires is None:
        return ""
    return EXPIRED_TEXT if record.temporary_password_expired else local_time(expires)


def cells(record: UserRecord) -> tuple[Any, ...]:
    """The saved values of one user as the table shows them, column by column."""
    return (
        record.email,
        record.role,
        None,  # active: the check box says it
        _time(record.locked_until),
        _time(record.last_login_at),
        record.login_count,
        _time(record.created_at),
        _time(record.updated_at),
        "yes" if record.must_change_password else "no",
        _expiry(record),
        record.recovery_codes_left,
        TWO_FACTOR_ON if record.two_factor else TWO_FACTOR_OFF,
    )


def spoken(record: UserRecord, column: int) -> str | None:
    """What a screen reader says for a lifecycle cell, whose short text needs its column to make sense
    ("yes", "3"); None for the other columns (their text says it)."""
    if column == COL_MUST_CHANGE:
        return "must change password" if record.must_change_password else "need not change password"
    if column == COL_TEMPORARY_EXPIRES:
        expires = record.temporary_password_expires_at
        if expires is None:
            return "no temporary password"
        if record.temporary_password_expired:
            return "temporary password expired"
        return f"temporary password expires {local_time(expires)}"
    if column == COL_RECOVERY_CODES:
        left = record.recovery_codes_left
        return "no recovery codes left" if left == 0 else f"{count(left, 'recovery code')} left"
    if column == COL_TWO_FACTOR:
        return "two-factor on" if record.two_factor else "two-factor off"
    return None
