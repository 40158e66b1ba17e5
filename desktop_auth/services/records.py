"""Plain, immutable results of the services. No live ORM objects ever leave the service layer."""

from __future__ import annotations

import enum
import getpass
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from desktop_auth.constants import ADMIN_ROLE
from desktop_auth.messages import Message, message, verbatim

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
    #: When the temporary password stops working (``temporary_password_expiry``); None: no temporary one.
    temporary_password_expires_at: datetime | None = None
    #: Whether that moment had passed when the record was read (by the services' clock).
    temporary_password_expired: bool = False
    #: Recovery codes not used yet (administrators see how many, never the codes).
    recovery_codes_left: int = 0
    #: Whether the account has two-factor sign-in on (never the secret itself).
    two_factor: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN_ROLE


@dataclass(frozen=True, slots=True)
class SessionState:
    """Whether a signed-in session may go on, re-checked against the database while it is open."""

    valid: bool
    role: str | None = None
    #: Why it may not (translatable; ``str()`` of it is the English).
    reason: Message | None = None
    #: An administrator without an authenticator while the organisation requires one (set since this
    #: session began): every administrative action is refused until they set it up.
    two_factor_due: bool = False
    #: The account's address now (set when valid): an administrator or operator may have renamed it, or its
    #: owner changed it on another computer, since this session began.
    email: str | None = None

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
    #: A short text saying what the role is for (None: none given).
    description: str | None = None


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
    MUST_CHANGE = "must_change_password"


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

    def describe_change(self) -> Message:
        return describe_change(self.role, self.active)


def describe_change(role: str | None, active: bool | None) -> Message:
    """A change to many users in words: 'role → admin', 'deactivate', 'role → user, activate' (``str()``
    of it is the English the audit log stores)."""
    if role is None:
        if active is None:
            return verbatim("")
        return message("BulkChange", "activate") if active else message("BulkChange", "deactivate")
    if active is None:
        return message("BulkChange", "role → {role}").format(role=role)
    if active:
        return message("BulkChange", "role → {role}, activate").format(role=role)
    return message("BulkChange", "role → {role}, deactivate").format(role=role)


def change_from_words(text: str) -> Message | None:
    """``describe_change``'s Message again from its English (as the audit log stores it), or None when
    ``text`` is not one (role names hold no comma or space, so the reading is certain)."""
    role: str | None = None
    active: bool | None = None
    rest = text
    if rest.startswith("role → "):
        role, _, rest = rest.removeprefix("role → ").partition(", ")
        if not role or " " in role:
            return None
    if rest in ("activate", "deactivate"):
        active = rest == "activate"
    elif rest or role is None:
        return None
    return describe_change(role, active)


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


def temporary_password_expiry(
    must_change_password: bool, password_changed_at: datetime | None, hours: int
) -> datetime | None:
    """When an account's temporary password stops working (shared setting ``temporary_password_hours``
    after it was set), or None when the account has no temporary password. An account that must change
    a password set at an unknown time gets the earliest moment there is: it has expired. Sign-in
    (``AccountService``) and every list of users answer with this one computation."""
    if not must_change_password:
        return None
    if password_changed_at is None:
        return datetime.min.replace(tzinfo=UTC)
    return password_changed_at + timedelta(hours=hours)


@dataclass(frozen=True)
class SharedSettings:
    """The rules every client of one database follows (``desktop_auth.services.app_settings``)."""

    allow_self_registration: bool
    lockout_threshold: int
    lockout_base_seconds: int
    lockout_max_seconds: int
    idle_timeout_minutes: int
    temporary_password_hours: int
    #: Administrators sign in with an authenticator code too, and must set one up first (issue #18).
    require_two_factor_for_admins: bool = False

    @classmethod
    def defaults(cls, settings: Settings) -> SharedSettings:
        """What a client seeds into a database that has none yet."""
        return cls(
            require_two_factor_for_admins=False,
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


@dataclass(frozen=True, slots=True)
class RecoveryCodes:
    """A new batch of one account's recovery codes, shown once (left out of ``repr``: no log shows them).
    ``replaced_earlier``: the account had codes before, which no longer work."""

    user_id: int
    email: str
    created_at: datetime
    codes: tuple[str, ...] = field(repr=False)
    replaced_earlier: bool = False


@dataclass(frozen=True, slots=True)
class RecoveryReset:
    """A password set with a recovery code: whose, how many unused codes are left, and when."""

    email: str
    codes_left: int
    password_changed_at: datetime


@dataclass(frozen=True, slots=True)
class ImportRow:
    """One row of a CSV import's preview (``services.user_import``): as written (invisible characters shown
    as ``<U+200B>``, cut short), with every problem found; ``address`` and ``key`` are what would be stored
    (normalized address and look-alike key; empty when the address was refused)."""

    line: int
    email: str
    role: str
    #: Each problem, translatable (``str()`` of one is its English, for the CLI).
    problems: tuple[Message, ...]
    address: str = ""
    key: str = field(default="", repr=False)


@dataclass(frozen=True, slots=True, weakref_slot=True)  # weakly held by the service that made it
class ImportPreview:
    """Every row of a CSV import with its problems, and the problems of the file itself (not UTF-8, too
    large, no header...). Importable only when there are none at all."""

    rows: tuple[ImportRow, ...]
    #: Translatable, as a row's problems are (``str()``: the English, which starts "line N: ").
    file_problems: tuple[Message, ...] = ()

    @property
    def rows_with_problems(self) -> int:
        return sum(1 for row in self.rows if row.problems)

    @property
    def ok(self) -> bool:
        return bool(self.rows) and not self.file_problems and self.rows_with_problems == 0

    def problem_lines(self) -> list[str]:
        """Each problem as ``line N: reason``, in English (for the CLI), in file order (the file's own problems
        first)."""
        lines = [str(problem) for problem in self.file_problems]
        lines.extend(f"line {row.line}: {problem}" for row in self.rows for problem in row.problems)
        return lines


@dataclass(frozen=True, slots=True)
class UserImportResult:
    """What an import created: how many accounts, and each one's temporary password (shown or exported
    once; all expire together)."""

    count: int
    passwords: TemporaryPasswords = field(repr=False)


@dataclass(frozen=True, slots=True)
class AboutInfo:
    """What the About dialog shows (``services.about``); ``database`` has its password masked."""

    version: str
    database: str
    licence: str


@dataclass(frozen=True, slots=True)
class TwoFactorEnrollment:
    """A new authenticator secret, not stored yet: shown as a QR code of ``uri`` and as text to type."""

    email: str
    secret: str = field(repr=False)
    uri: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class SignInChallenge:
    """A sign-in whose password was right and which needs one more step: the authenticator code
    (``enroll`` False) or, for an administrator the organisation requires it of, setting one up first
    (``enroll`` True). Only ``AccountService.complete_sign_in``/``enroll_at_sign_in`` turn it into a
    ``SignedInUser``; it expires (``SIGN_IN_STEP_SECONDS``, ``ENROLL_STEP_SECONDS`` to set an app up)."""

    user_id: int
    email: str
    enroll: bool
    issued_at: datetime
    checked_hash: str | None = field(repr=False)
    new_hash: str | None = field(repr=False)
    #: The account's sign-in count when the password was checked: a challenge gets in once (a later
    #: sign-in, this one's included, moves it on and makes the challenge stale).
    login_count: int = field(repr=False)

    def expired(self, now: datetime) -> bool:
        limit = ENROLL_STEP_SECONDS if self.enroll else SIGN_IN_STEP_SECONDS
        return now - self.issued_at > timedelta(seconds=limit)


#: How long the second step of a sign-in may take before it must start again (the code changes every
#: 30 seconds; five minutes leaves room to find the phone, or to set up an app).
SIGN_IN_STEP_SECONDS = 300
#: Setting an app up (installing it, scanning the code) takes longer than typing a code.
ENROLL_STEP_SECONDS = 900
