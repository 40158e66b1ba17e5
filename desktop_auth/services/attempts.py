"""A secret a signed-in person types (the current password, an authenticator code) checked as a sign-in
attempt on their address: counted before the check (``throttle.reserve_attempt``), confirmed as a failure
after it, refused while the address is locked. So guessing through Change password, Change email, a
recovery-code batch or the code step is no faster than guessing at the sign-in form.

Forgetting the count after a success is the caller's: it belongs in the transaction that acts on it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import NamedTuple

from desktop_auth.services import audit, throttle
from desktop_auth.services.app_settings import read_shared_settings
from desktop_auth.services.context import ServiceContext, retried
from desktop_auth.services.errors import AccountLockedError
from desktop_auth.services.records import Actor


class FailureNote(NamedTuple):
    """The audit row a failed check writes, in the transaction that counts it."""

    actor: Actor
    action: str
    detail: str


class Attempts:
    def __init__(self, context: ServiceContext) -> None:
        self._context = context

    def check(
        self,
        key: str,
        passes: Callable[[], bool],
        wrong: Callable[[], Exception],
        note: FailureNote | None = None,
        burn: Callable[[], None] | None = None,
    ) -> None:
        """Count an attempt on ``key`` and run ``passes`` (the check, outside any transaction: hashing is
        slow). Raises AccountLockedError while locked (after ``burn``, which spends what a check costs) or
        when this failure locks the address, else what ``wrong`` makes when the check fails."""
        until = self.reserve(key)
        if until is not None:
            if burn is not None:
                burn()
            raise AccountLockedError(until, self._context.clock())
        if not passes():
            until = self.fail(key, note)
            if until is not None:
                raise AccountLockedError(until, self._context.clock())
            raise wrong()

    @retried
    def reserve(self, key: str) -> datetime | None:
        with self._context.database.transaction(write=True) as session:
            rules = read_shared_settings(session, self._context.settings, seed=True)
            return throttle.reserve_attempt(session, rules, key, self._context.clock())

    @retried
    def fail(self, key: str, note: FailureNote | None = None) -> datetime | None:
        now = self._context.clock()
        with self._context.database.transaction(write=True) as session:
            rules = read_shared_settings(session, self._context.settings, seed=True)
            until = throttle.confirm_failure(session, rules, key, now)
            if note is not None:
                audit.record(
                    session, now, note.actor, note.action, key, note.actor.user_id, detail=note.detail
                )
        return until
