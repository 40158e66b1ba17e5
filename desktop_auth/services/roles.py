"""Roles: list with their holder counts and descriptions, add, rename, describe, remove (only unused ones;
'admin' and 'user' are fixed).

A role is referenced by its id everywhere but in a bulk change (``bulk_change.role`` holds its name, so a
staged change does not stop a removal): a rename carries the unfinished bulk changes (staged, running,
failed) over to the new name in the same transaction, so they go on giving the same role. Finished ones keep
the name they were made with, as the audit log does.
"""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from desktop_auth.constants import ROLE_DESCRIPTION_MAX_LENGTH
from desktop_auth.errors import InvalidInputError
from desktop_auth.messages import message
from desktop_auth.models import PROTECTED_ROLES, ROLE_NAME_MAX_LENGTH, BulkChange, Role, User
from desktop_auth.services import audit
from desktop_auth.services.context import ServiceContext, require_admin_to_change, retried, role_by_name
from desktop_auth.services.errors import NotFoundError, RoleExistsError, RoleInUseError, RoleProtectedError
from desktop_auth.services.records import Actor, BulkState, RoleRecord
from desktop_auth.text import has_lone_surrogate

_ROLE_NAME = re.compile(r"^[a-z][a-z0-9_.-]*$")


def normalize_role_name(raw: str) -> str:
    name = raw.strip().lower()
    if not name:
        raise InvalidInputError("role", [message("Roles", "Enter a role name.")])
    if len(name) > ROLE_NAME_MAX_LENGTH:
        raise InvalidInputError(
            "role",
            [
                message("Roles", "A role name has at most {limit} characters.").format(
                    limit=ROLE_NAME_MAX_LENGTH
                )
            ],
        )
    if not _ROLE_NAME.match(name):
        raise InvalidInputError(
            "role",
            [
                message(
                    "Roles",
                    "A role name starts with a letter and holds only letters a-z, digits, '.', '_' or '-'.",
                )
            ],
        )
    return name


# Characters that change the direction of the text around them (embeddings, overrides, isolates): in a
# description they could make it read as something else, or spill into the cells beside it.
_DIRECTION_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Anything past this is refused before any other work (a pasted file is not a description).
_LONGEST_RAW_DESCRIPTION = 4 * ROLE_DESCRIPTION_MAX_LENGTH


def _invisible(ch: str) -> bool:
    """Whitespace, or a character that draws nothing (zero-width spaces and joiners, soft hyphens, BOMs)."""
    return ch.isspace() or unicodedata.category(ch) == "Cf"


def normalize_role_description(raw: str | None) -> str | None:
    """A role's description as stored: one line of NFC text, trimmed, at most ROLE_DESCRIPTION_MAX_LENGTH
    characters; None (no description) for empty text or text that shows nothing (only spaces and
    zero-width characters). Control characters (line breaks, tabs, NUL) and direction overrides are refused."""
    if raw is None:
        return None
    if len(raw) > _LONGEST_RAW_DESCRIPTION:
        raise InvalidInputError(
            "description",
            [
                message("Roles", "A description has at most {limit} characters.").format(
                    limit=ROLE_DESCRIPTION_MAX_LENGTH
                )
            ],
        )
    if has_lone_surrogate(raw):
        raise InvalidInputError("description", [message("Roles", "The description is not valid text.")])
    text = unicodedata.normalize("NFC", raw)
    start, stop = 0, len(text)
    while start < stop and _invisible(text[start]):
        start += 1
    while stop > start and _invisible(text[stop - 1]):
        stop -= 1
    text = text[start:stop]
    if not text:
        return None
    if any(unicodedata.category(ch) == "Cc" or ch in ("\u2028", "\u2029") for ch in text):
        raise InvalidInputError(
            "description",
            [
                message(
                    "Roles", "A description is one line of text, without tabs or other control characters."
                )
            ],
        )
    if any(ch in _DIRECTION_CONTROLS for ch in text):
        raise InvalidInputError(
            "description",
            [message("Roles", "A description cannot hold characters that reverse the direction of text.")],
        )
    if len(text) > ROLE_DESCRIPTION_MAX_LENGTH:
        raise InvalidInputError(
            "description",
            [
                message("Roles", "A description has at most {limit} characters.").format(
                    limit=ROLE_DESCRIPTION_MAX_LENGTH
                )
            ],
        )
    return text


#: The bulk changes that may still be applied: a rename carries them over to the new name.
_UNFINISHED = (BulkState.STAGED.value, BulkState.RUNNING.value, BulkState.FAILED.value)


class RoleService:
    def __init__(self, context: ServiceContext) -> None:
        self._context = context

    @retried
    def list_roles(self) -> list[RoleRecord]:
        """Every role with how many accounts hold it. Any signed-in user may see role names."""
        with self._context.database.transaction() as session:
            # Count per role_id on the user table alone (its role_id index), then name them.
            counts = dict(session.execute(select(User.role_id, func.count()).group_by(User.role_id)).all())
            roles = session.execute(select(Role.id, Role.name, Role.description).order_by(Role.name)).all()
            return [
                RoleRecord(rid, name, counts.get(rid, 0), name in PROTECTED_ROLES, description)
                for rid, name, description in roles
            ]

    @retried
    def add_role(self, actor: Actor, raw_name: str) -> RoleRecord:
        name = normalize_role_name(raw_name)
        with self._context.database.transaction(write=True) as session:
            actor = require_admin_to_change(session, actor)
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
            actor = require_admin_to_change(session, actor)
            role = _exactly(role_by_name(session, name), name)
            holders = int(session.scalar(select(func.count(User.id)).where(User.role_id == role.id)) or 0)
            if holders:
                raise RoleInUseError(name, holders)
            try:
                session.execute(delete(Role).where(Role.id == role.id))
            except IntegrityError:  # someone was given the role meanwhile
                raise RoleInUseError(name, 1) from None
            audit.record(session, self._context.clock(), actor, "role_remove", name, old_value=name)

    @retried
    def rename_role(self, actor: Actor, raw_old: str, raw_new: str) -> RoleRecord:
        """Give a custom role another name (administrators only). Its holders keep it (users point at the
        role's id), and unfinished bulk changes that give it follow it to the new name."""
        old = raw_old.strip().lower()
        if old in PROTECTED_ROLES:
            raise RoleProtectedError(old, "renamed")
        new = normalize_role_name(raw_new)
        if new == old:
            raise InvalidInputError(
                "role", [message("Roles", "The role is already named '{role}'.").format(role=new)]
            )
        with self._context.database.transaction(write=True) as session:
            actor = require_admin_to_change(session, actor)
            role = _exactly(role_by_name(session, old), old)
            if session.scalar(select(Role.id).where(Role.name == new)) is not None:
                raise RoleExistsError(new)
            try:
                # By id and old name: a removal or another rename committed meanwhile leaves no row to
                # change (on MariaDB this UPDATE reads the latest row, not the transaction's snapshot).
                renamed = session.execute(
                    update(Role).where(Role.id == role.id, Role.name == old).values(name=new)
                ).rowcount  # type: ignore[attr-defined]
            except IntegrityError:  # the new name was taken meanwhile (the unique index)
                raise RoleExistsError(new) from None
            if renamed != 1:
                raise NotFoundError(message("Roles", "There is no role named '{role}'.").format(role=old))
            carried = session.execute(
                update(BulkChange)
                .where(BulkChange.role == old, BulkChange.state.in_(_UNFINISHED))
                .values(role=new)
            ).rowcount  # type: ignore[attr-defined]
            holders = int(session.scalar(select(func.count(User.id)).where(User.role_id == role.id)) or 0)
            detail = (
                f"{carried} unfinished change{'s' if carried != 1 else ''} of many users follow"
                if carried
                else None
            )
            audit.record(
                session,
                self._context.clock(),
                actor,
                "role_rename",
                new,
                old_value=old,
                new_value=new,
                detail=detail,
            )
            return RoleRecord(role.id, new, holders, False, role.description)

    @retried
    def describe_role(self, actor: Actor, raw_name: str, raw_description: str | None) -> RoleRecord:
        """Set a role's short description, or clear it with empty text (administrators only; the built-in
        roles may be described too)."""
        name = raw_name.strip().lower()
        description = normalize_role_description(raw_description)
        with self._context.database.transaction(write=True) as session:
            actor = require_admin_to_change(session, actor)
            role = role_by_name(session, name)
            previous = role.description
            if previous != description:
                changed = session.execute(
                    update(Role).where(Role.id == role.id).values(description=description)
                ).rowcount  # type: ignore[attr-defined]
                if changed != 1:  # removed meanwhile
                    raise NotFoundError(
                        message("Roles", "There is no role named '{role}'.").format(role=name)
                    )
                audit.record(
                    session,
                    self._context.clock(),
                    actor,
                    "role_describe",
                    name,
                    old_value=previous,
                    new_value=description,
                )
            holders = int(session.scalar(select(func.count(User.id)).where(User.role_id == role.id)) or 0)
            return RoleRecord(role.id, name, holders, name in PROTECTED_ROLES, description)


def _exactly(role: Role, name: str) -> Role:
    """``role`` when its name is ``name`` character for character: MariaDB compares names without case or
    accents, so "ádmin" finds the row of the protected "admin" (which a rename or removal must not touch)."""
    if role.name != name:
        raise NotFoundError(message("Roles", "There is no role named '{role}'.").format(role=name))
    return role
