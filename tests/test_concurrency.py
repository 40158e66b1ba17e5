"""Real concurrent connections (threads, each with its own pooled connection) on SQLite and MariaDB."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import func, select

from desktop_auth.db.engine import Database
from desktop_auth.models import LoginThrottle, User
from desktop_auth.services import Services
from desktop_auth.services.accounts import count_active_admins
from desktop_auth.services.context import retried
from desktop_auth.services.errors import (
    EmailAlreadyRegisteredError,
    InvalidCredentialsError,
    LastAdminError,
    PermissionDeniedError,
    SetupAlreadyDoneError,
)
from desktop_auth.services.records import Actor
from tests.conftest import OTHER_PASSWORD, STRONG_PASSWORD
from tests.races import admins_act_on_each_other


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


class _FlakyService:
    """Fails its first calls with a given error, like a database that is contended or failing over."""

    def __init__(
        self, error: Exception, failures: int, failover_seconds: float = 0, delay: float = 0
    ) -> None:
        self._context = SimpleNamespace(
            settings=SimpleNamespace(db_failover_seconds=failover_seconds),
            database=SimpleNamespace(has_connected=True),
        )
        self.error, self.failures, self.calls, self.delay = error, failures, 0, delay

    @retried
    def work(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            time.sleep(self.delay)  # e.g. a query on a stalled node, until the client's read timeout
            raise self.error
        return "done"


def test_busy_and_lost_connections_are_retried_other_failures_are_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from desktop_auth.db.errors import (
        DatabaseBusyError,
        DatabaseConnectionLostError,
        DatabaseUnavailableError,
    )
    from desktop_auth.services import context

    monkeypatch.setattr(context, "RECONNECT_PAUSE_SECONDS", 0.01)
    busy = _FlakyService(DatabaseBusyError("deadlock"), failures=25)
    assert busy.work() == "done"
    assert busy.calls == 26  # far more than a fixed handful of attempts: a person never sees "busy"
    lost = _FlakyService(DatabaseConnectionLostError("gone"), failures=3, failover_seconds=5)
    assert lost.work() == "done"
    assert lost.calls == 4
    # A query that timed out after longer than the failover time still gets its retry: the failover time
    # counts from the loss, not from the call's start.
    timed_out = _FlakyService(DatabaseConnectionLostError("timed out"), 1, failover_seconds=0.2, delay=0.3)
    assert timed_out.work() == "done"
    assert timed_out.calls == 2
    # Not retried: a lost connection when no failover time is configured, a server that refuses us for
    # another reason (e.g. wrong password), and a service's own refusal.
    for error in (
        DatabaseConnectionLostError("gone"),
        DatabaseUnavailableError("access denied"),
        LastAdminError(),
    ):
        once = _FlakyService(error, failures=1)
        with pytest.raises(type(error)):
            once.work()
        assert once.calls == 1


def test_contention_is_reported_once_its_budget_is_spent(monkeypatch: pytest.MonkeyPatch) -> None:
    from desktop_auth.db.errors import DatabaseBusyError
    from desktop_auth.services import context

    monkeypatch.setattr(context, "CONTENTION_BUDGET_SECONDS", 0.2)
    stuck = _FlakyService(DatabaseBusyError("deadlock"), failures=10**9)
    started = time.monotonic()
    with pytest.raises(DatabaseBusyError):
        stuck.work()
    assert 0.2 <= time.monotonic() - started < 2
    assert stuck.calls > 3


def test_concurrent_sign_ins_of_one_account_all_succeed(make_services) -> None:
    """Many clients signing in as the same person at once must not deadlock each other.

    Each attempt is counted before its password is checked (services/throttle.py), so more simultaneous
    attempts than the lockout threshold would lock the address by design: the threshold is raised here.
    """
    services = make_services(lockout_threshold=100)
    services.accounts.register("shared@example.com", STRONG_PASSWORD)
    outcomes = _all_at_once(
        12, lambda i: services.accounts.authenticate("shared@example.com", STRONG_PASSWORD)
    )
    assert all(not isinstance(o, Exception) for o in outcomes), outcomes
    assert services.accounts.authenticate("shared@example.com", STRONG_PASSWORD).login_count == 13


def test_admins_acting_on_each_other_at_once(make_services, pytestconfig: pytest.Config) -> None:
    """On one server too: deactivate/demote/reset the other admin while they reset yours — one wins."""
    admins_act_on_each_other(make_services(), make_services(), make_services(), 15).finish(pytestconfig)
