"""The edits waiting to be saved: role and active changes of single users, each with the version it was
made on, and at most one bulk change (a query's worth of users, staged in the database) shown over them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from desktop_auth.constants import ADMIN_ROLE
from desktop_auth.messages import Message, message, message_n
from desktop_auth.services.records import BulkSelection, UserEdit, UserRecord

#: The active cell as a screen reader says it (a Message: the table model says it in the person's language).
ACTIVE, INACTIVE = message("PendingEdits", "active"), message("PendingEdits", "inactive")


@dataclass
class PendingEdit:
    """Unsaved changes to one user (None: unchanged), and the version of the user they were made on."""

    user_id: int
    email: str
    version: int
    original_role: str
    original_active: bool
    role: str | None = None
    active: bool | None = None

    @property
    def empty(self) -> bool:
        return self.role is None and self.active is None

    def summary(self) -> Message:
        """'Unsaved: role user → admin, deactivate'."""
        old, new, active = self.original_role, self.role, self.active
        if new is None:
            if active is None:
                return message("PendingEdits", "Unsaved: nothing")
            if active:
                return message("PendingEdits", "Unsaved: activate")
            return message("PendingEdits", "Unsaved: deactivate")
        if active is None:
            summary = message("PendingEdits", "Unsaved: role {old} → {new}")
        elif active:
            summary = message("PendingEdits", "Unsaved: role {old} → {new}, activate")
        else:
            summary = message("PendingEdits", "Unsaved: role {old} → {new}, deactivate")
        return summary.format(old=old, new=new)

    def spoken(self) -> Message:
        """The summary for a screen reader, in words rather than arrows: 'Unsaved change: role from user to
        admin, deactivate'."""
        old, new, active = self.original_role, self.role, self.active
        if new is None:
            if active is None:
                return message("PendingEdits", "Unsaved change: nothing")
            if active:
                return message("PendingEdits", "Unsaved change: activate")
            return message("PendingEdits", "Unsaved change: deactivate")
        if active is None:
            spoken = message("PendingEdits", "Unsaved change: role from {old} to {new}")
        elif active:
            spoken = message("PendingEdits", "Unsaved change: role from {old} to {new}, activate")
        else:
            spoken = message("PendingEdits", "Unsaved change: role from {old} to {new}, deactivate")
        return spoken.format(old=old, new=new)

    def role_text(self) -> Message | None:
        """A changed role cell as a screen reader says it: 'admin, unsaved, was user' (None: unchanged)."""
        if self.role is None:
            return None
        return message("PendingEdits", "{role}, unsaved, was {old}").format(
            role=self.role, old=self.original_role
        )

    def active_text(self, active: bool) -> Message:
        """The active cell as a screen reader says it: 'inactive, unsaved, was active' when changed."""
        if self.active is None:
            return ACTIVE if active else INACTIVE
        if active == self.original_active:  # not a change (never staged so); said as it is
            return ACTIVE if active else INACTIVE
        if active:
            return message("PendingEdits", "active, unsaved, was inactive")
        return message("PendingEdits", "inactive, unsaved, was active")


@dataclass
class PendingBulk:
    """A change to many users, staged in the database (``change_id``) and not yet applied.

    Who is in it is known to the database alone (its snapshot of the selection, however it was made: a
    filter, runs of rows, users left out or picked by hand), never listed here: the rows on screen are
    fetched with whether their user is in it, and a row is marked when it is, unless its user was edited one
    by one since (``overridden``: an edit of one user wins over a change of many).
    """

    change_id: int
    selection: BulkSelection
    total: int
    role: str | None = None
    active: bool | None = None
    overridden: set[int] = field(default_factory=set)

    def covers(self, record: UserRecord, in_change: bool) -> bool:
        """Whether the change is for this user: ``in_change``, the database's answer for its row."""
        return in_change and record.id not in self.overridden

    def summary(self) -> Message:
        """'role → admin, deactivate for 1,200 selected users'."""
        return bulk_summary(self.role, self.active, self.total)


def bulk_summary(role: str | None, active: bool | None, total: int) -> Message:
    """A staged change to many users, with how many: 'role → admin for 1,200 selected users'."""
    if role is None:
        if active is None:
            return message_n(
                "BulkChange", "No change for {n} selected user", "No change for {n} selected users", total
            )
        if active:
            return message_n(
                "BulkChange", "activate for {n} selected user", "activate for {n} selected users", total
            )
        return message_n(
            "BulkChange", "deactivate for {n} selected user", "deactivate for {n} selected users", total
        )
    if active is None:
        summary = message_n(
            "BulkChange", "role → {role} for {n} selected user", "role → {role} for {n} selected users", total
        )
    elif active:
        summary = message_n(
            "BulkChange",
            "role → {role}, activate for {n} selected user",
            "role → {role}, activate for {n} selected users",
            total,
        )
    else:
        summary = message_n(
            "BulkChange",
            "role → {role}, deactivate for {n} selected user",
            "role → {role}, deactivate for {n} selected users",
            total,
        )
    return summary.format(role=role)


class RoleFollowing(NamedTuple):
    """What ``PendingEdits.follow_roles`` did: edits now naming a renamed role, edits to a removed role
    dropped, and the removed role a staged bulk change gives (None: none)."""

    followed: int
    dropped: int
    stale_bulk_role: str | None


class PendingEdits:
    """The unsaved edits, one per user id; they outlive reloads and leave with ``discard``.

    Each keeps the version of the user it was made on, and saving sends it: a user someone else changed
    since is refused as a conflict instead of overwritten.
    """

    def __init__(self) -> None:
        self._edits: dict[int, PendingEdit] = {}
        self.bulk: PendingBulk | None = None

    def __len__(self) -> int:
        """How many users have unsaved changes."""
        return len(self._edits) + (self.bulk.total - len(self.bulk.overridden) if self.bulk else 0)

    def __iter__(self) -> Iterator[int]:
        return iter(self._edits)

    def __contains__(self, user_id: object) -> bool:
        return user_id in self._edits

    def get(self, user_id: int) -> PendingEdit | None:
        return self._edits.get(user_id)

    @property
    def bulk_change_id(self) -> int | None:
        """The staged bulk change's id (the rows' pages ask the database which of their users it is for)."""
        return None if self.bulk is None else self.bulk.change_id

    def for_record(self, record: UserRecord, in_bulk: bool = False) -> PendingEdit | None:
        """The unsaved edit of this loaded user: their own, else the bulk change's when ``in_bulk`` (the
        database said, with the row, that the staged change is for them)."""
        edit = self._edits.get(record.id)
        if edit is not None or self.bulk is None or not self.bulk.covers(record, in_bulk):
            return edit
        bulk = PendingEdit(record.id, record.email, record.version, record.role, record.active)
        if self.bulk.role is not None and self.bulk.role != record.role:
            bulk.role = self.bulk.role
        if self.bulk.active is not None and self.bulk.active != record.active:
            bulk.active = self.bulk.active
        return None if bulk.empty else bulk

    @property
    def has_any(self) -> bool:
        """Whether any edit is pending."""
        return bool(self._edits) or self.bulk is not None

    @property
    def single_edits(self) -> int:
        """How many users have edits of their own (not the bulk change's)."""
        return len(self._edits)

    def stage(
        self, records: Iterable[UserRecord], role: str | None = None, active: bool | None = None
    ) -> None:
        """Mark changes for these users; a change back to the saved value un-marks it."""
        for record in records:
            if self.bulk is not None:
                self.bulk.overridden.add(record.id)
            edit = self._edits.get(record.id) or PendingEdit(
                record.id, record.email, record.version, record.role, record.active
            )
            if role is not None:
                edit.role = None if role == edit.original_role else role
            if active is not None:
                edit.active = None if active == edit.original_active else active
            if edit.empty:
                self._edits.pop(record.id, None)
            else:
                self._edits[record.id] = edit

    def follow_roles(self, renamed: Mapping[str, str | None]) -> RoleFollowing:
        """Roles were renamed (old name -> new name) or removed (old name -> None) since these edits were
        made: each edit names the role by its new name, an edit to a removed role is dropped (its other
        change stays). A staged bulk change follows a rename (the database renamed it with the role:
        services/roles.py), and one giving a removed role is reported (applying it would fail: the caller
        drops it)."""
        followed: set[int] = set()
        dropped: set[int] = set()
        for user_id, edit in list(self._edits.items()):
            if edit.original_role in renamed:
                edit.original_role = renamed[edit.original_role] or edit.original_role
            if edit.role is not None and edit.role in renamed:
                new = renamed[edit.role]
                if new is None:
                    dropped.add(user_id)
                else:
                    followed.add(user_id)
                edit.role = new
            if edit.role == edit.original_role:
                edit.role = None  # renamed to what they hold already: no change left
            if edit.empty:
                del self._edits[user_id]
        stale_bulk = None
        if self.bulk is not None and self.bulk.role is not None and self.bulk.role in renamed:
            new_role = renamed[self.bulk.role]
            if new_role is None:
                stale_bulk = self.bulk.role
            else:
                self.bulk.role = new_role
        return RoleFollowing(len(followed), len(dropped), stale_bulk)

    def discard(self, user_ids: Iterable[int] | None = None) -> None:
        """Forget the edits of these users (None: all)."""
        if user_ids is None:
            self._edits.clear()
            self.bulk = None
        else:
            for user_id in user_ids:
                self._edits.pop(user_id, None)

    def edits(self) -> list[UserEdit]:
        """What saving sends the service."""
        return [UserEdit(e.user_id, e.version, role=e.role, active=e.active) for e in self._edits.values()]

    def takes_admin_from(self, user_id: int | None) -> bool:
        """Whether saving would take the administrator role away from this user (the window asks first
        when that is the person at the keyboard)."""
        edit = self._edits.get(user_id) if user_id is not None else None
        return (
            edit is not None
            and edit.role is not None
            and edit.original_role == ADMIN_ROLE
            and edit.role != ADMIN_ROLE
        )
