"""What every service needs: the database, the settings, the hasher, the policy and a clock."""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import ParamSpec, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from desktop_auth.config import Settings
from desktop_auth.db.engine import Database
from desktop_auth.db.errors import DatabaseBusyError
from desktop_auth.db.types import utcnow
from desktop_auth.models import ADMIN_ROLE, Role, User
from desktop_auth.security import PasswordHasher, PasswordPolicy
from desktop_auth.services.errors import NotFoundError, PasswordChangeRequiredError, PermissionDeniedError
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
BUSY_ATTEMPTS = 4


def retry_when_busy(function: Callable[P, R]) -> Callable[P, R]:
    """Run a whole transaction again when the database chose it as a deadlock victim or a lock wait timed
    out (MariaDB), or the file was locked (SQLite). The server rolled it back, so nothing half-done remains;
    a few jittered retries turn a rare collision into a slightly slower success."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        for attempt in range(1, BUSY_ATTEMPTS + 1):
            try:
                return function(*args, **kwargs)
            except DatabaseBusyError:
                if attempt == BUSY_ATTEMPTS:
                    raise
                time.sleep(random.uniform(0.005, 0.03) * attempt)
        raise AssertionError("unreachable")

    return wrapper


def role_by_name(session: Session, name: str) -> Role:
    role = None if has_lone_surrogate(name) else session.scalar(select(Role).where(Role.name == name))
    if role is None:
        raise NotFoundError(f"There is no role named {name!r}.")
    return role


def lock_admin_set(session: Session) -> Role:
    """Serialize every change that can alter who is an active admin, across clients.

    Taking the row lock on the ``admin`` role (FOR UPDATE; SQLite's write transaction already serializes)
    means two admins demoting each other at once run one after the other, and the second sees the first's
    result when it counts the remaining admins.
    """
    role = session.scalar(select(Role).where(Role.name == ADMIN_ROLE).with_for_update())
    if role is None:
        raise NotFoundError("The built-in role 'admin' is missing; run: desktop-auth db upgrade")
    return role


def require_admin(session: Session, actor: Actor) -> None:
    """Check, inside the transaction, that the actor may administer (operators always may)."""
    if actor.is_operator:
        return
    must_change_password = session.scalar(
        select(User.must_change_password)
        .join(Role, Role.id == User.role_id)
        .where(User.id == actor.user_id, User.active.is_(True), Role.name == ADMIN_ROLE)
    )
    if must_change_password is None:
        raise PermissionDeniedError()
    if must_change_password:
        # A session on a temporary password may only replace it (the GUI asks first; this makes it so).
        raise PasswordChangeRequiredError()


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
    )
