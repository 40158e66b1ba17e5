"""The edits waiting to be saved: staged role and active changes, each with the version it was made on."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from desktop_auth.constants import ADMIN_ROLE
from desktop_auth.services.records import UserEdit, UserRecord


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

    def summary(self) -> str:
        """'Unsaved: role user → admin, deactivate'."""
        parts = []
        if self.role is not None:
            parts.append(f"role {self.original_role} → {self.role}")
        if self.active is not None:
            parts.append("activate" if self.active else "deactivate")
        return "Unsaved: " + ", ".join(parts)


class PendingEdits:
    """The unsaved edits, one per user id; they outlive reloads and leave with ``discard``.

    Each keeps the version of the user it was made on, and saving sends it: a user someone else changed
    since is refused as a conflict instead of overwritten.
    """

    def __init__(self) -> None:
        self._edits: dict[int, PendingEdit] = {}

    def __len__(self) -> int:
        return len(self._edits)

    def __iter__(self) -> Iterator[int]:
        return iter(self._edits)

    def __contains__(self, user_id: object) -> bool:
        return user_id in self._edits

    def get(self, user_id: int) -> PendingEdit | None:
        return self._edits.get(user_id)

    def for_record(self, record: UserRecord) -> PendingEdit | None:
        """The effective unsaved edit of this loaded record, or None."""
        return self._edits.get(record.id)

    @property
    def has_any(self) -> bool:
        """Whether any edit is pending."""
        return bool(self._edits)

    def stage(
        self, records: Iterable[UserRecord], role: str | None = None, active: bool | None = None
    ) -> None:
        """Mark changes for these users; a change back to the saved value un-marks it."""
        for record in records:
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

    def discard(self, user_ids: Iterable[int] | None = None) -> None:
        """Forget the edits of these users (None: all)."""
        if user_ids is None:
            self._edits.clear()
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
