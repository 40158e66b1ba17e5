"""The user table's columns: their order, headings, the sort each stands for, and a user's saved values as
the table shows them. No Qt: the table model, the view and the scripts that drive the table share it; its
words are ``desktop_auth.messages`` Messages, which the table model shows in the person's language."""

from __future__ import annotations

from datetime import datetime

from desktop_auth.messages import Message, message, message_n
from desktop_auth.services.records import SortKey, UserRecord

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
# Messages, not text: the table model shows them in the person's language (i18n.render), once per language.
HEADERS: tuple[Message, ...] = (
    message("UserTable", "Email"),
    message("UserTable", "Role"),
    message("UserTable", "Active"),
    message("UserTable", "Locked until"),
    message("UserTable", "Last sign-in"),
    message("UserTable", "Sign-ins"),
    message("UserTable", "Created"),
    message("UserTable", "Updated"),
    message("UserTable", "Must change password"),
    message("UserTable", "Temporary password expires"),
    message("UserTable", "Recovery codes"),
    message("UserTable", "2FA"),
)
#: What the header shows: the lifecycle columns' long names on two lines, so the columns can be as narrow as
#: their values (their full names are the accessible ones, HEADERS).
HEADER_LINES: tuple[Message, ...] = (
    *HEADERS[:COL_MUST_CHANGE],
    message("UserTable", "Must change\npassword"),
    message("UserTable", "Temporary password\nexpires"),
    message("UserTable", "Recovery\ncodes"),
    HEADERS[COL_TWO_FACTOR],
)
YES, NO = message("UserTable", "yes"), message("UserTable", "no")
EXPIRED = message("UserTable", "expired")
TWO_FACTOR_ON, TWO_FACTOR_OFF = message("UserTable", "on"), message("UserTable", "off")
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


#: A cell's saved value: text that is data (an address, a role), a count, a moment (the table model writes
#: it in local time, as the person's language does), a word (a Message), or "" / None for nothing.
Cell = str | int | datetime | Message | None


def _expiry(record: UserRecord) -> datetime | Message | str:
    """When the temporary password expires; "expired" once it has (as the services' clock said when the
    record was read: the sign-in refusal follows the same clock)."""
    expires = record.temporary_password_expires_at
    if expires is None:
        return ""
    return EXPIRED if record.temporary_password_expired else expires


def _moment(value: datetime | None) -> datetime | str:
    return "" if value is None else value


def cells(record: UserRecord) -> tuple[Cell, ...]:
    """The saved values of one user, column by column: moments and words as they are (the table model
    writes them in the person's language, once per row)."""
    return (
        record.email,
        record.role,
        None,  # active: the check box says it
        _moment(record.locked_until),
        _moment(record.last_login_at),
        record.login_count,
        _moment(record.created_at),
        _moment(record.updated_at),
        YES if record.must_change_password else NO,
        _expiry(record),
        record.recovery_codes_left,
        TWO_FACTOR_ON if record.two_factor else TWO_FACTOR_OFF,
    )


def spoken(record: UserRecord, column: int) -> Message | None:
    """What a screen reader says for a lifecycle cell, whose short text needs its column to make sense
    ("yes", "3"); None for the other columns (their text says it)."""
    if column == COL_MUST_CHANGE:
        if record.must_change_password:
            return message("UserTable", "must change password")
        return message("UserTable", "need not change password")
    if column == COL_TEMPORARY_EXPIRES:
        expires = record.temporary_password_expires_at
        if expires is None:
            return message("UserTable", "no temporary password")
        if record.temporary_password_expired:
            return message("UserTable", "temporary password expired")
        return message("UserTable", "temporary password expires {moment}").format(moment=expires)
    if column == COL_RECOVERY_CODES:
        left = record.recovery_codes_left
        if left == 0:
            return message("UserTable", "no recovery codes left")
        return message_n("UserTable", "{n} recovery code left", "{n} recovery codes left", left)
    if column == COL_TWO_FACTOR:
        return (
            message("UserTable", "two-factor on")
            if record.two_factor
            else message("UserTable", "two-factor off")
        )
    return None
