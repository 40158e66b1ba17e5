"""Real concurrent connections (threads, each with its own pooled connection) on SQLite and MariaDB."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select

from desktop_auth.db.engine import Database
from desktop_auth.models import LoginThrottle, User
from desktop_auth.services import Services
from desktop_auth.services.accounts import count_active_admins
from desktop_auth.services.errors import (
    EmailAlreadyRegisteredError,
    InvalidCredentialsError,
    LastAdminError,
    PermissionDeniedError,
    SetupAlreadyDoneError,
)
from desktop_auth.services.records import Actor
from tests.conftest import OTHER_PASSWORD, STRONG_PASSWORD


def _all_at_once(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` in ``count`` threads released together; return results or raised exceptions."""
    barrier = threading.Barrier(count)

    def run(i: int) -> Any:
        barrier.wait()
        try:
            return work(i)
        except Exception as error:
            return error

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def test_twenty_simultaneous_registrations_of_one_email(services: Services, database: Database) -> None:
    outcomes = _all_at_once(20, lambda i: services.accounts.register("Race@Example.com", STRONG_PASSWORD))
    winners = [o for o in outcomes if not isinstance(o, Exception)]
    losers = [o for o in outcomes if isinstance(o, Exception)]
    assert len(winners) == 1
    assert all(isinstance(error, EmailAlreadyRegisteredError) for error in losers), losers
    with database.transaction() as session:
        assert session.scalar(select(func.count(User.id)).where(User.email == "race@example.com")) == 1


def test_two_clients_creating_the_first_admin(services: Services, database: Database) -> None:
    outcomes = _all_at_once(
        2, lambda i: services.accounts.create_first_admin(f"admin{i}@example.com", STRONG_PASSWORD)
    )
    assert sum(not isinstance(o, Exception) for o in outcomes) == 1
    assert [type(o) for o in outcomes if isinstance(o, Exception)] == [SetupAlreadyDoneError]
    with database.transaction() as session:
        assert count_active_admins(session) == 1


def test_two_admins_demoting_each_other_leave_one_admin(services: Services, database: Database) -> None:
    first = services.accounts.create_first_admin("first@example.com", STRONG_PASSWORD)
    first_actor = Actor(first.id, first.email)
    second = services.admin.create_user(first_actor, "second@example.com", STRONG_PASSWORD, "admin")
    actors = [first_actor, Actor(second.id, second.email)]
    targets = ["second@example.com", "first@example.com"]
    for _ in range(5):  # repeat: a race that passes once by luck should not pass five times
        outcomes = _all_at_once(2, lambda i: services.admin.set_role(actors[i], targets[i], "user"))
        successes = [o for o in outcomes if not isinstance(o, Exception)]
        failures = [o for o in outcomes if isinstance(o, Exception)]
        assert len(successes) == 1, outcomes
        # The loser either lost its own admin rights first, or would have removed the last admin.
        assert all(isinstance(f, (PermissionDeniedError, LastAdminError)) for f in failures), failures
        with database.transaction() as session:
            assert count_active_admins(session) == 1
        survivor = successes[0]
        services.admin.set_role(Actor.operator(), survivor.email, "admin")  # restore for the next round


def test_concurrent_failed_sign_ins_are_all_counted(make_services, database: Database) -> None:
    services = make_services(lockout_threshold=1000)
    services.accounts.register("target@example.com", STRONG_PASSWORD)
    outcomes = _all_at_once(
        16, lambda i: services.accounts.authenticate("target@example.com", OTHER_PASSWORD)
    )
    assert all(isinstance(o, InvalidCredentialsError) for o in outcomes), outcomes
    # Unknown addresses are counted the same way.
    outcomes = _all_at_once(16, lambda i: services.accounts.authenticate("ghost@example.com", OTHER_PASSWORD))
    assert all(isinstance(o, InvalidCredentialsError) for o in outcomes), outcomes
    with database.transaction() as session:
        counts = dict(session.execute(select(LoginThrottle.email, LoginThrottle.failed_count)).all())
    assert counts == {"target@example.com": 16, "ghost@example.com": 16}


@pytest.mark.parametrize("threads", [8])
def test_concurrent_edits_of_one_user_one_wins(services: Services, database: Database, threads: int) -> None:
    admin = services.accounts.create_first_admin("boss@example.com", STRONG_PASSWORD)
    actor = Actor(admin.id, admin.email)
    services.roles.add_role(actor, "staff")
    user = services.accounts.register("edited@example.com", STRONG_PASSWORD)
    from desktop_auth.services.errors import StaleEditError

    roles = ["staff", "admin"]
    outcomes = _all_at_once(
        threads, lambda i: services.admin.set_role(actor, "edited@example.com", roles[i % 2], user.version)
    )
    successes = [o for o in outcomes if not isinstance(o, Exception)]
    assert len(successes) == 1, outcomes
    assert all(isinstance(o, StaleEditError) for o in outcomes if isinstance(o, Exception)), outcomes
    final = services.admin.get_user(actor, "edited@example.com")
    assert final.version == user.version + 1
    assert final.role == successes[0].role


def test_busy_transactions_are_retried_then_reported() -> None:
    from desktop_auth.db.errors import DatabaseBusyError
    from desktop_auth.services.context import BUSY_ATTEMPTS, retry_when_busy

    calls: list[int] = []

    @retry_when_busy
    def flaky(fail_times: int) -> str:
        calls.append(1)
        if len(calls) <= fail_times:
            raise DatabaseBusyError("deadlock")
        return "done"

    assert flaky(2) == "done"
    assert len(calls) == 3
    calls.clear()
    with pytest.raises(DatabaseBusyError):
        flaky(BUSY_ATTEMPTS)
    assert len(calls) == BUSY_ATTEMPTS


def test_concurrent_sign_ins_of_one_account_all_succeed(services: Services) -> None:
    """Many clients signing in as the same person at once must not deadlock each other."""
    services.accounts.register("shared@example.com", STRONG_PASSWORD)
    outcomes = _all_at_once(
        12, lambda i: services.accounts.authenticate("shared@example.com", STRONG_PASSWORD)
    )
    assert all(not isinstance(o, Exception) for o in outcomes), outcomes
    assert services.accounts.authenticate("shared@example.com", STRONG_PASSWORD).login_count == 13
