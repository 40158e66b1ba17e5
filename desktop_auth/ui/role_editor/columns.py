"""The user table's columns: their order, headings, the sort each stands for, and a user's saved values as
the table shows them. No Qt: the table model, the view and the scripts that drive the table share it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from desktop_auth.services.records import SortKey, UserRecord
from desktop_auth.ui.shell.dates import local_time

COL_EMAIL, COL_ROLE, COL_ACTIVE, COL_LOCKED, COL_LAST_LOGIN, COL_LOGINS, COL_CREATED, COL_UPDATED = range(8)
HEADERS = ("Email", "Role", "Active", "Locked until", "Last sign-in", "Sign-ins", "Created", "Updated")
SORT_KEYS = {
    COL_EMAIL: SortKey.EMAIL,
    COL_ROLE: SortKey.ROLE,
    COL_ACTIVE: SortKey.ACTIVE,
    COL_LOCKED: SortKey.LOCKED_UNTIL,
    COL_LAST_LOGIN: SortKey.LAST_LOGIN,
    COL_LOGINS: SortKey.LOGIN_COUNT,
    COL_CREATED: SortKey.CREATED,
    COL_UPDATED: SortKey.UPDATED,
}


def _time(value: datetime | None) -> str:
    # The GUI's one way of showing a moment (local time with its zone); local_time uses isoformat, not
    # strftime: strftime imports the time module on every call, and under PySide's import hook that is a
    # Python function call each time (6 us instead of 2, for every date on screen).
    return local_time(value)


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
    )
