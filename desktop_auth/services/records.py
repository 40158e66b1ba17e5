"""Plain, immutable results of the services. No live ORM objects ever leave the service layer."""

from __future__ import annotations

import enum
import getpass
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from desktop_auth.constants import ADMIN_ROLE

if TYPE_CHECKING:
    from desktop_auth.config import Settings


@dataclass(frozen=True, slots=True)
class Actor:
    """Who performs an operation: a signed-in user, or an operator at the CLI (who holds database credentials
    anyway, so is trusted like the database itself)."""

    user_id: int | None
    label: str

    @classmethod
    def operator(cls, label: str | None = None) -> Actor:
        return cls(None, label or f"operator:{_os_user()}")

    @property
    def is_operator(self) -> bool:
        return self.user_id is None


OPERATOR_NAME_MAX_LENGTH = 64


def _os_user() -> str:
    """The OS account name, as printable text: it comes from LOGNAME/USER, which anyone can set, and it
    ends up in audit rows and CSV exports."""
    try:
        name = getpass.getuser()
    except Exception:
        name = ""
    printable = "".join(ch for ch in name if ch.isprintable()).strip()[:OPERATOR_NAME_MAX_LENGTH]
    return printable or "unknown"


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: int
    email: str
    role: str
    active: bool
    must_change_password: bool
    locked_until: datetime | None
    last_login_at: datetime | None
    login_count: int
    created_at: datetime
    updated_at: datetime
    version: int
    password_changed_at: datetime | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN_ROLE


@dataclass(frozen=True, slots=True)
class SessionState:
    """Whether a signed-in session may go on, re-checked against the database while it is open."""

    valid: bool
    role: str | None = None
    reason: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.valid and self.role == ADMIN_ROLE


@dataclass(frozen=True, slots=True)
class SignedInUser:
    """The result of a successful sign-in."""

    id: int
    email: str
    role: str
    #: The sign-in before this one (None on the first), for "last signed in" displays.
    previous_login_at: datetime | None
    login_count: int
    must_change_password: bool
    password_changed_at: datetime | None

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN_ROLE

    @property
    def actor(self) -> Actor:
        return Actor(self.id, self.email)


@dataclass(frozen=True, slots=True)
class RoleRecord:
    id: int
    name: str
    user_count: int
    protected: bool


@dataclass(frozen=True, slots=True)
class AuditRecord:
    id: int
    created_at: datetime
    actor: str
    action: str
    target: str
    old_value: str | None
    new_value: str | None
    detail: str | None


class SortKey(enum.Enum):
    EMAIL = "email"
    ROLE = "role"
    ACTIVE = "active"
    LOCKED_UNTIL = "locked_until"
    LAST_LOGIN = "last_login_at"
    LOGIN_COUNT = "login_count"
    CREATED = "created"
    UPDATED = "updated"


@dataclass(frozen=True, slots=True)
class UserQuery:
    """Which users to list: every filter and the sort are applied by the database."""

    search: str = ""
    #: True matches addresses that start with ``search`` (uses the index); False matches anywhere.
    prefix: bool = False
    role: str | None = None
    sort: SortKey = SortKey.EMAIL
    descending: bool = False


@dataclass(frozen=True, slots=True)
class UserEdit:
    """One pending change to one user, based on the version the editor saw (None: whatever is current)."""

    user_id: int
    expected_version: int | None = None
    role: str | None = None
    active: bool | None = None


Run = tuple[int, int]  # rows start, start + 1, ..., stop - 1 of a query's order (half-open, like range())


@dataclass(frozen=True, slots=True)
class BulkSelection:
    """Which users a bulk change is for, said as a query instead of a list of users.

    The users matching ``query``'s filters (``runs`` None: all of them, whatever the sort) or at the rows
    ``runs`` of its order, except the user ids in ``excluded``, plus the user ids in ``included``. Selecting
    a million rows is one small request.
    """

    query: UserQuery
    runs: tuple[Run, ...] | None = None
    excluded: frozenset[int] = frozenset()
    included: frozenset[int] = frozenset()


class BulkState(enum.Enum):
    STAGED = "staged"  # the users are chosen (a snapshot); nothing is changed yet
    RUNNING = "running"  # being applied, chunk by chunk; an interrupted one is resumed from where it was
    FAILED = "failed"  # stopped by a rule (say, no administrator would remain); may be resumed
    CANCELLED = "cancelled"  # stopped by a person; the users not reached are left as they were
    DONE = "done"


@dataclass(frozen=True, slots=True)
class BulkChangeStatus:
    """Where a bulk change stands. ``done`` counts the users it has reached; of them, ``changed`` were
    changed and ``conflicts`` were left alone because someone changed (or deleted) them after the change was
    staged. ``conflict_emails``: some of those, for the report (from this run only)."""

    id: int
    role: str | None
    active: bool | None
    state: BulkState
    total: int
    done: int = 0
    changed: int = 0
    conflicts: int = 0
    message: str | None = None
    conflict_emails: tuple[str, ...] = ()

    @property
    def finished(self) -> bool:
        return self.state in (BulkState.DONE, BulkState.CANCELLED)

    def describe_change(self) -> str:
        return describe_change(self.role, self.active)


def describe_change(role: str | None, active: bool | None) -> str:
    """A change to many users in words: 'role → admin', 'deactivate', 'role → user, activate'."""
    parts = [] if role is None else [f"role → {role}"]
    if active is not None:
        parts.append("activate" if active else "deactivate")
    return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class TemporaryPassword:
    """One account's new temporary password, for that person alone (left out of ``repr``, so no log or
    traceback ever shows it)."""

    user_id: int
    email: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class TemporaryPasswords:
    """The outcome of a password reset: each account's own temporary password, all expiring together.

    The administrator sees them once; nothing stores them in the clear."""

    expires_at: datetime
    entries: tuple[TemporaryPassword, ...] = field(repr=False)


DEFAULT_TEMPORARY_PASSWORD_HOURS = 72


@dataclass(frozen=True)
class SharedSettings:
    """The rules every client of one database follows (``desktop_auth.services.app_settings``)."""

    allow_self_registration: bool
    lockout_threshold: int
    lockout_base_seconds: int
    lockout_max_seconds: int
    idle_timeout_minutes: int
    temporary_password_hours: int

    @classmethod
    def defaults(cls, settings: Settings) -> SharedSettings:
        """What a client seeds into a database that has none yet."""
        return cls(
            allow_self_registration=True,
            lockout_threshold=settings.lockout_threshold,
            lockout_base_seconds=settings.lockout_base_seconds,
            lockout_max_seconds=settings.lockout_max_seconds,
            idle_timeout_minutes=settings.idle_timeout_minutes,
            temporary_password_hours=DEFAULT_TEMPORARY_PASSWORD_HOURS,
        )


@dataclass(frozen=True, slots=True)
class CreatedAccount:
    """An account an administrator created (``services.lifecycle``), with its random temporary password:
    shown once to the administrator, never stored in the clear (left out of ``repr``)."""

    record: UserRecord
    password: str = field(repr=False)
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class DeletionTargets:
    """The accounts a deletion is for, resolved from a selection when the administrator asked: what the
    confirmation states (how many; the address when it is one) and the ids the deletion then takes."""

    user_ids: tuple[int, ...]
    #: Some of their addresses, in id order (all of them when few), for the confirmation.
    emails: tuple[str, ...]
    #: How many of them are active administrators.
    admins: int = 0

    @property
    def count(self) -> int:
        return len(self.user_ids)

    @property
    def single_email(self) -> str | None:
        return self.emails[0] if len(self.user_ids) == 1 and self.emails else None
