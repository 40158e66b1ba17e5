"""Helpers for race tests: clients released together by a barrier, outcomes tallied over many trials.

Used by the single-server concurrency tests and the cross-node Galera races alike.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import update

from desktop_auth.db.errors import DatabaseUnavailableError
from desktop_auth.models import User
from desktop_auth.services import Services
from desktop_auth.services.records import Actor
from tests.conftest import STRONG_PASSWORD
from tests.galera_fixtures import report


def race(*work: Callable[[], Any]) -> list[Any]:
    """Run the callables in threads released together; return each one's result or raised exception."""
    barrier = threading.Barrier(len(work))

    def run(job: Callable[[], Any]) -> Any:
        barrier.wait()
        try:
            return job()
        except Exception as error:
            return error

    with ThreadPoolExecutor(max_workers=len(work)) as pool:
        return list(pool.map(run, work))


class Tally:
    """Counts outcomes over the trials; a trial that breaks an invariant or shows "busy" is a failure."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.outcomes: Counter[str] = Counter()
        self.violations: list[str] = []
        self.trials = 0
        self.started = time.monotonic()

    def add(self, outcomes: list[Any]) -> None:
        self.trials += 1
        self.outcomes.update(type(o).__name__ for o in outcomes)
        for outcome in outcomes:
            if isinstance(outcome, DatabaseUnavailableError):  # "busy" or "unavailable" shown to a person
                self.violations.append(f"{type(outcome).__name__}: {outcome}")

    def violation(self, text: str) -> None:
        self.violations.append(text)

    def finish(self, config: pytest.Config) -> None:
        seconds = time.monotonic() - self.started
        report(
            config,
            f"{self.name}: {self.trials} trials in {seconds:.1f} s, outcomes {dict(self.outcomes)}, "
            f"violations {len(self.violations)}",
        )
        assert not self.violations, self.violations[:5]


def admins_act_on_each_other(first: Services, second: Services, setup: Services, trials: int) -> Tally:
    """Two admins, A through ``first`` and B through ``second``, act on each other at once: deactivate,
    demote or reset the other's password. A serial run refuses whichever comes second (B is no longer an
    admin, or A must first change a temporary password), so exactly one may succeed: B, being removed, must
    never walk away with A's temporary password."""
    root = setup.accounts.create_first_admin("root@example.com", STRONG_PASSWORD)
    operator = Actor(root.id, root.email)
    a = setup.admin.create_user(operator, "a@example.com", STRONG_PASSWORD, "admin")
    b = setup.admin.create_user(operator, "b@example.com", STRONG_PASSWORD, "admin")
    actor_a, actor_b = Actor(a.id, a.email), Actor(b.id, b.email)
    moves: dict[str, Callable[[], Any]] = {
        "A deactivates B": lambda: first.admin.set_active(actor_a, b.email, False),
        "A demotes B": lambda: first.admin.set_role(actor_a, b.email, "user"),
        "A resets B": lambda: first.admin.reset_password(actor_a, [b.id]),
    }
    tally = Tally("admins act on each other (deactivate/demote/reset vs reset)")
    for trial in range(trials):
        # Both back to active admins on their own passwords.
        for user in (a, b):
            setup.admin.set_temporary_password(Actor.operator(), user.id, STRONG_PASSWORD)
        with setup.database.transaction(write=True) as session:
            session.execute(
                update(User).where(User.id.in_([a.id, b.id])).values(must_change_password=False, active=True)
            )
        setup.admin.set_role(Actor.operator(), a.email, "admin")
        setup.admin.set_role(Actor.operator(), b.email, "admin")
        name = list(moves)[trial % len(moves)]
        outcomes = race(moves[name], lambda: second.admin.reset_password(actor_b, [a.id]))
        tally.add(outcomes)
        if sum(not isinstance(o, Exception) for o in outcomes) != 1:
            tally.violation(f"{name} vs B resets A: {outcomes}")
    return tally
