"""Roles: list with their holder counts, add, remove (only unused ones; 'admin' and 'user' are fixed)."""

from __future__ import annotations

import re

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from desktop_auth.errors import InvalidInputError
from desktop_auth.models import PROTECTED_ROLES, ROLE_NAME_MAX_LENGTH, Role, User
from desktop_auth.services import audit
from desktop_auth.services.context import ServiceContext, require_admin_to_change, retried, role_by_name
from desktop_auth.services.errors import RoleExistsError, RoleInUseError, RoleProtectedError
from desktop_auth.services.records import Actor, RoleRecord

_ROLE_NAME = re.compile(r"^[a-z][a-z0-9_.-]*$")


def normalize_role_name(raw: str) -> str:
    name = raw.strip().lower()
    if not name:
        raise InvalidInputError("role", ["Enter a role name."])
    if len(name) > ROLE_NAME_MAX_LENGTH:
        raise InvalidInputError("role", [f"A role name has at most {ROLE_NAME_MAX_LENGTH} characters."])
    if not _ROLE_NAME.match(name):
        raise InvalidInputError(
            "role", ["A role name starts with a letter and holds only letters a-z, digits, '.', '_' or '-'."]
        )
    return name


class RoleService:
    def __init__(self, context: ServiceContext) -> None:
        self._context = context

    @retried
    def list_roles(self) -> list[RoleRecord]:
        """Every role with how many accounts hold it. Any signed-in user may see role names."""
        with self._context.database.transaction() as session:
            # Count per role_id on the user table alone (its role_id index), then name them.
            counts = dict(session.execute(select(User.role_id, func.count()).group_by(User.role_id)).all())
            roles = session.execute(select(Role.id, Role.name).order_by(Role.name)).all()
            return [RoleRecord(rid, name, counts.get(rid, 0), name in PROTECTED_ROLES) for rid, name in roles]

    @retried
    def add_role(self, actor: Actor, raw_name: str) -> RoleRecord:
        name = normalize_role_name(raw_name)
        with self._context.database.transaction(write=True) as session:
            require_admin_to_change(session, actor)
            if session.scalar(select(Role.id).where(Role.name == name)) is not None:
                raise RoleExistsError(name)
            role = Role(name=name)
            session.add(role)
            try:
                session.flush()
            except IntegrityError:
                raise RoleExistsError(name) from None
            audit.record(session, self._context.clock(), actor, "role_add", name, new_value=name)
            return RoleRecord(role.id, name, 0, False)

    @retried
    def remove_role(self, actor: Actor, raw_name: str) -> None:
        name = raw_name.strip().lower()
        if name in PROTECTED_ROLES:
            raise RoleProtectedError(name)
        with self._context.database.transaction(write=True) as session:
            # "Nobody holds it" and "give it to someone" cannot both commit: the foreign key refuses the
            # later one on one server, and on a Galera cluster the removal and the assignment conflict in
            # certification (the assignment's write set names the role it points at).
            require_admin_to_change(session, actor)
            role = role_by_name(session, name)
            holders = int(session.scalar(select(func.count(User.id)).where(User.role_id == role.id)) or 0)
            if holders:
                raise RoleInUseError(name, holders)
            try:
                session.execute(delete(Role).where(Role.id == role.id))
            except IntegrityError:  # someone was given the role meanwhile
                raise RoleInUseError(name, 1) from None
            audit.record(session, self._context.clock(), actor, "role_remove", name, old_value=name)
