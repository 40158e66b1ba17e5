"""What every service needs: the database, the settings, the hasher, the policy and a clock."""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import ParamSpec, Protocol, TypeVar, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from desktop_auth.config import Settings
from desktop_auth.db.engine import RECONNECT_PAUSE_SECONDS, Database
from desktop_auth.db.errors import DatabaseBusyError, DatabaseConnectionLostError
from desktop_auth.db.types import utcnow
from desktop_auth.messages import message
from desktop_auth.models import ADMIN_ROLE, AppSetting, Role, User
from desktop_auth.security import PasswordHasher, PasswordPolicy
from desktop_auth.services import guards
from desktop_auth.services.errors import NotFoundError, PasswordChangeRequiredError, PermissionDeniedError
from desktop_auth.services.guards import ADMINS_GUARD
from desktop_auth.services.records import Actor, UserRecord
from desktop_auth.text import has_lone_surrogate

log = logging.getLogger(__name__)


@dataclass
class ServiceContext:
    settings: Settings
    database: Database
    clock: Callable[[], datetime] = utcnow
    hasher: PasswordHasher = field(init=False)
    policy: PasswordPolicy = field(init=False)

    def __post_init__(self) -> None:
        if self.settings.allow_weak_hash_for_tests:
            log.warning(
                "DESKTOP_AUTH_ALLOW_WEAK_HASH_FOR_TESTS is set: hash methods below the floor are accepted (this one: %s); "
                "never set it outside tests",
                self.settings.hash_method,
            )
        self.hasher = PasswordHasher(self.settings.hash_method)
        self.policy = PasswordPolicy(self.settings.password_min_length, self.settings.password_max_length)


P = ParamSpec("P")
R = TypeVar("R")


class HasContext(Protocol):
    _context: ServiceContext


# A person should never see "busy" because another client collided with them: on a Galera cluster dozens
# of clients can fail certification on one row (30 wrong passwords at once on one address) and each retry
# waits a random, growing pause ("full jitter"), so this budget ends only when something is truly stuck.
CONTENTION_BUDGET_SECONDS = 20.0
FIRST_PAUSE_SECONDS = 0.005
LONGEST_PAUSE_SECONDS = 0.25


def retried(method: Callable[P, R]) -> Callable[P, R]:
    """Run a service call again, whole, when the database could not finish it and nothing was applied.

    - A deadlock, a lock wait timeout, a Galera certification failure or a locked SQLite file: the server
      rolled the transaction back, so the call runs again (after a jittered pause) and sees the winner's
      result: "already registered", "changed by someone else", the right lockout count.
    - A lost connection or an unreachable server (a node died; the proxy routes the next connection to a
      survivor): again, for ``db_failover_seconds`` from the first loss, once this client has reached the
      database. A COMMIT interrupted this way has been settled by
      the database layer (``db.commit_tokens``): it arrives here only when it did not commit.

    The decorated call must be safe to repeat from the start: its transactions commit at most once.
    """

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        started = time.monotonic()
        service = cast(HasContext, args[0])  # a method of a service that holds its ServiceContext
        failover_seconds = service._context.settings.db_failover_seconds
        attempt = 0
        lost_since: float | None = None
        while True:
            attempt += 1
            try:
                return method(*args, **kwargs)
            except DatabaseBusyError:
                if time.monotonic() - started >= CONTENTION_BUDGET_SECONDS:
                    raise
                pause = random.uniform(0, min(LONGEST_PAUSE_SECONDS, FIRST_PAUSE_SECONDS * 2**attempt))
            except DatabaseConnectionLostError:
                if not service._context.database.has_connected:
                    raise  # never reached: a wrong address or a server that is down, said at once
                # The failover time counts from the first loss, not from the call's start: a query that
                # timed out after 30 s (a stalled node) still gets its chance to reach a survivor.
                lost_since = time.monotonic() if lost_since is None else lost_since
                if time.monotonic() - lost_since >= failover_seconds:
                    raise
                log.info("Database connection lost; trying again (attempt %s)", attempt)
                pause = RECONNECT_PAUSE_SECONDS
            time.sleep(pause)

    return wrapper


def role_by_name(session: Session, name: str) -> Role:
    role = None if has_lone_surrogate(name) else session.scalar(select(Role).where(Role.name == name))
    if role is None:
        raise NotFoundError(message("Roles", "There is no role named '{role}'.").format(role=name))
    return role


def lock_admin_set(session: Session) -> Role:
    """Serialize every change that can alter who is an active admin, across clients and cluster nodes.

    Claims the ``admins`` guard (``services.guards``) first, so two admins demoting each other at once run
    one after the other (or, through different Galera nodes, one is retried), and the second sees the
    first's result when it counts the remaining admins. Returns the ``admin`` role.
    """
    guards.claim(session, ADMINS_GUARD)
    role = session.scalar(select(Role).where(Role.name == ADMIN_ROLE))
    if role is None:
        raise NotFoundError(
            message("Admin", "The built-in role 'admin' is missing; run: desktop-auth db upgrade")
        )
    return role


def admin_guard(user_id: int) -> str:
    """The guard of one administrator's authority (see ``require_admin_to_change``)."""
    return f"admin:{user_id}"


def require_admin_to_change(session: Session, actor: Actor, *more_guards: str) -> Actor:
    """``require_admin`` for a transaction that changes something: claims the actor's own guard first.

    Every change to an active administrator's authority (role, active, a temporary password) claims that
    administrator's guard too (``claim_admin_targets``). Otherwise "A deactivates B" and "B resets A's
    password" could both commit, each having checked that the other was still an administrator (write
    skew, on one server too): B, removed at that very moment, would get A's temporary password. Actions of
    different administrators on ordinary accounts claim different rows and do not wait for each other.
    """
    own = [] if actor.user_id is None else [admin_guard(actor.user_id)]  # operators have no account
    guards.claim(session, *more_guards, *own)
    return require_admin(session, actor)


def claim_admin_targets(session: Session, admin_ids: Iterable[int], removing_an_admin: bool) -> None:
    """Claim the guards of the active administrators a change touches (read with a lock, so current), and
    the ``admins`` guard when it may leave fewer of them: the last-admin count that follows must then be a
    locking read too (``count_active_admins(session, locking=True)``)."""
    names = [admin_guard(user_id) for user_id in admin_ids]
    guards.claim(session, *names, *([ADMINS_GUARD] if removing_an_admin else []))


def require_admin(session: Session, actor: Actor) -> Actor:
    """Check, inside the transaction, that the actor may administer (operators always may). Returns the
    actor as the audit should name them: by the address their account has now (an administrator renamed
    while their window was open still holds an Actor with the old one)."""
    if actor.is_operator:
        return actor
    admin = session.execute(
        select(User.email, User.must_change_password, User.totp_secret.is_not(None).label("has_factor"))
        .join(Role, Role.id == User.role_id)
        .where(User.id == actor.user_id, User.active.is_(True), Role.name == ADMIN_ROLE)
    ).one_or_none()
    if admin is None:
        raise PermissionDeniedError()
    if admin.must_change_password:
        # A session on a temporary password may only replace it (the GUI asks first; this makes it so).
        raise PasswordChangeRequiredError()
    if not admin.has_factor and two_factor_required_of_admins(session):
        # Required after this administrator signed in: nothing more until they set it up.
        raise PermissionDeniedError(
            message(
                "Admin",
                "Administrators must now use two-factor sign-in: set it up in your account window first.",
            )
        )
    return actor if admin.email == actor.label else Actor(actor.user_id, admin.email)


def two_factor_required_of_admins(session: Session) -> bool:
    """The shared setting, read in the caller's transaction (absent: not required)."""
    key = "require_two_factor_for_admins"  # services/app_settings.py; absent: not required
    return session.scalar(select(AppSetting.value).where(AppSetting.key == key)) == "1"


def to_record(user: User, locked_until: datetime | None = None) -> UserRecord:
    return UserRecord(
        id=user.id,
        email=user.email,
        role=user.role.name,
        active=user.active,
        must_change_password=user.must_change_password,
        locked_until=locked_until,
        last_login_at=user.last_login_at,
        login_count=user.login_count,
        created_at=user.create_date,
        updated_at=user.update_date,
        version=user.version,
        password_changed_at=user.password_changed_at,
        two_factor=user.totp_secret is not None,
    )
