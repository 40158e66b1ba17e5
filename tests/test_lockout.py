"""Brute-force protection, timed with a controllable clock (no sleeps), on SQLite and MariaDB."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from desktop_auth.config import Settings
from desktop_auth.db.engine import Database
from desktop_auth.errors import InvalidInputError
from desktop_auth.models import AuditEvent, LoginThrottle
from desktop_auth.services.errors import AccountLockedError, InvalidCredentialsError
from desktop_auth.services.records import Actor
from desktop_auth.services.throttle import lockout_duration
from tests.conftest import OTHER_PASSWORD, STRONG_PASSWORD, FakeClock


def fail(services, email: str, times: int) -> None:
    for _ in range(times):
        with pytest.raises(InvalidCredentialsError):
            services.accounts.authenticate(email, OTHER_PASSWORD)


def test_lockout_duration_doubles_and_caps() -> None:
    settings = Settings(database_url="sqlite://", lockout_base_seconds=60, lockout_max_seconds=3600)
    assert [lockout_duration(settings, n).total_seconds() for n in range(8)] == [
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
        3600,
    ]
    assert lockout_duration(settings, 10_000).total_seconds() == 3600


@pytest.mark.parametrize("account_exists", [True, False])
def test_five_failures_lock_the_address_whether_or_not_it_exists(
    services, clock: FakeClock, account_exists: bool
) -> None:
    if account_exists:
        services.accounts.register("kim@example.com", STRONG_PASSWORD)
    fail(services, "kim@example.com", 4)
    fail(services, "KIM@example.com", 1)  # the count is per normalized address
    with pytest.raises(AccountLockedError) as locked:
        services.accounts.authenticate("kim@example.com", STRONG_PASSWORD)
    assert locked.value.seconds_left == pytest.approx(60, abs=1)
    assert "1 minute" in str(locked.value)
    # The lockout reads the same for a real and an unknown address.
    assert "Try again in 1 minute" in str(locked.value)


def test_lock_expires_then_grows_with_each_repeat(services, clock: FakeClock) -> None:
    services.accounts.register("lee@example.com", STRONG_PASSWORD)
    expected = [60, 120, 240]
    for seconds in expected:
        fail(services, "lee@example.com", 5)
        with pytest.raises(AccountLockedError) as locked:
            services.accounts.authenticate("lee@example.com", STRONG_PASSWORD)
        assert locked.value.seconds_left == pytest.approx(seconds, abs=1)
        clock.advance(seconds=seconds - 2)
        with pytest.raises(AccountLockedError):  # still locked just before expiry
            services.accounts.authenticate("lee@example.com", STRONG_PASSWORD)
        clock.advance(seconds=3)
    # After the last lock expires, the right password works and resets everything.
    assert services.accounts.authenticate("lee@example.com", STRONG_PASSWORD).email == "lee@example.com"
    fail(services, "lee@example.com", 5)
    with pytest.raises(AccountLockedError) as locked:
        services.accounts.authenticate("lee@example.com", STRONG_PASSWORD)
    assert locked.value.seconds_left == pytest.approx(60, abs=1), "a success resets the growth"


def test_success_resets_the_failure_count(services, clock: FakeClock) -> None:
    services.accounts.register("max@example.com", STRONG_PASSWORD)
    fail(services, "max@example.com", 4)
    services.accounts.authenticate("max@example.com", STRONG_PASSWORD)
    fail(services, "max@example.com", 4)
    assert services.accounts.authenticate("max@example.com", STRONG_PASSWORD).login_count == 2


def test_lockout_state_is_shared_by_every_client(services, make_services, clock: FakeClock) -> None:
    """State lives in the database: a second client (own Services, e.g. after a restart) sees it."""
    services.accounts.register("ned@example.com", STRONG_PASSWORD)
    fail(services, "ned@example.com", 5)
    other_client = make_services()
    with pytest.raises(AccountLockedError):
        other_client.accounts.authenticate("ned@example.com", STRONG_PASSWORD)


def test_configured_threshold_and_durations(make_services, clock: FakeClock) -> None:
    services = make_services(lockout_threshold=2, lockout_base_seconds=10, lockout_max_seconds=15)
    services.accounts.register("ola@example.com", STRONG_PASSWORD)
    fail(services, "ola@example.com", 2)
    with pytest.raises(AccountLockedError) as first:
        services.accounts.authenticate("ola@example.com", STRONG_PASSWORD)
    assert first.value.seconds_left == pytest.approx(10, abs=1)
    clock.advance(seconds=11)
    fail(services, "ola@example.com", 2)
    with pytest.raises(AccountLockedError) as second:
        services.accounts.authenticate("ola@example.com", STRONG_PASSWORD)
    assert second.value.seconds_left == pytest.approx(15, abs=1), "capped at the maximum"


def test_admin_unlock_and_audit(services, clock: FakeClock) -> None:
    admin = services.accounts.create_first_admin("root@example.com", STRONG_PASSWORD)
    actor = Actor(admin.id, admin.email)
    services.accounts.register("pia@example.com", STRONG_PASSWORD)
    fail(services, "pia@example.com", 5)
    record = services.admin.get_user(actor, "pia@example.com")
    assert record.locked_until is not None
    assert record.locked_until - clock.now <= timedelta(seconds=60)
    services.admin.unlock(actor, ["pia@example.com"])
    assert services.accounts.authenticate("pia@example.com", STRONG_PASSWORD).email == "pia@example.com"
    events = services.admin.audit_log(actor, search="pia@")
    lockout = next(e for e in events if e.action == "lockout")
    assert lockout.actor == "system"
    assert next(e for e in events if e.action == "unlock").actor == "root@example.com"


# -- attempts are reserved before they are checked (#13.5) ---------------------------------------------


def test_concurrent_attempts_check_no_more_than_the_threshold(make_services, clock: FakeClock) -> None:
    """Twelve wrong passwords at once against a threshold of five: five are checked, seven refused."""
    services = make_services(lockout_threshold=5)
    services.accounts.register("quinn@example.com", STRONG_PASSWORD)
    hasher = services.context.hasher
    real_verify = hasher.verify
    checked: list[str] = []
    lock = threading.Lock()

    def slow_counting_verify(stored_hash: str | None, password: str) -> bool:
        if stored_hash is not None:  # a real account's hash, not the dummy of a refused attempt
            with lock:
                checked.append(password)
            time.sleep(0.3)  # every attempt arrives while the first ones are still being checked
        return real_verify(stored_hash, password)

    hasher.verify = slow_counting_verify  # type: ignore[method-assign]
    barrier = threading.Barrier(12)
    outcomes: list[str] = []

    def attempt() -> None:
        barrier.wait()
        try:
            services.accounts.authenticate("quinn@example.com", OTHER_PASSWORD)
        except (InvalidCredentialsError, AccountLockedError) as error:
            with lock:
                outcomes.append(type(error).__name__)

    threads = [threading.Thread(target=attempt) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(checked) == 5, f"{len(checked)} passwords were checked"
    assert sorted(outcomes) == ["AccountLockedError"] * 7 + ["InvalidCredentialsError"] * 5
    with pytest.raises(AccountLockedError):
        services.accounts.authenticate("quinn@example.com", STRONG_PASSWORD)


def test_a_success_in_flight_still_resets_the_count(services, clock: FakeClock) -> None:
    services.accounts.register("rae@example.com", STRONG_PASSWORD)
    fail(services, "rae@example.com", 4)
    assert services.accounts.authenticate("rae@example.com", STRONG_PASSWORD).login_count == 1
    fail(services, "rae@example.com", 4)  # counted afresh: no lock yet
    assert services.accounts.authenticate("rae@example.com", STRONG_PASSWORD).login_count == 2


# -- failures decay, expired counters go (#13.13) -------------------------------------------------------


def test_failures_older_than_the_longest_lockout_stop_counting(services, clock: FakeClock) -> None:
    services.accounts.register("sam@example.com", STRONG_PASSWORD)
    fail(services, "sam@example.com", 4)
    clock.advance(seconds=3600 + 1)  # the longest lockout (the failure window) has passed
    fail(services, "sam@example.com", 4)
    assert services.accounts.authenticate("sam@example.com", STRONG_PASSWORD).email == "sam@example.com"


def test_failures_within_the_window_still_count(services, clock: FakeClock) -> None:
    services.accounts.register("tia@example.com", STRONG_PASSWORD)
    fail(services, "tia@example.com", 4)
    clock.advance(seconds=3600 - 5)
    fail(services, "tia@example.com", 1)
    with pytest.raises(AccountLockedError):
        services.accounts.authenticate("tia@example.com", STRONG_PASSWORD)


def _throttled(database: Database) -> set[str]:
    with database.transaction() as session:
        return set(session.scalars(select(LoginThrottle.email)))


def test_expired_counters_of_unknown_addresses_are_purged(services, database: Database, clock) -> None:
    for n in range(3):
        fail(services, f"ghost{n}@example.com", 1)
    fail(services, "locked-ghost@example.com", 5)
    assert len(_throttled(database)) == 4
    clock.advance(seconds=60 + 3600 + 1)  # the lock, then a quiet failure window
    fail(services, "late@example.com", 1)  # any failure purges now and then (here: the first in a while)
    assert _throttled(database) == {"late@example.com"}


def test_a_lock_in_force_is_never_purged(make_services, database: Database, clock) -> None:
    services = make_services(lockout_base_seconds=7200, lockout_max_seconds=7200)
    fail(services, "held@example.com", 5)
    clock.advance(seconds=3600)
    fail(services, "other@example.com", 1)
    assert "held@example.com" in _throttled(database)
    with pytest.raises(AccountLockedError):
        services.accounts.authenticate("held@example.com", STRONG_PASSWORD)


# -- change password counts against the lockout (#13.8) ---------------------------------------------------


def test_wrong_current_passwords_lock_the_account_and_are_audited(services, database: Database) -> None:
    user = services.accounts.register("uma@example.com", STRONG_PASSWORD)
    for _ in range(4):
        with pytest.raises(InvalidInputError) as wrong:
            services.accounts.change_password(user.id, OTHER_PASSWORD, "maple-harbor-velvet-19-comet")
        assert wrong.value.field == "current_password"
    with pytest.raises(AccountLockedError):
        services.accounts.change_password(user.id, OTHER_PASSWORD, "maple-harbor-velvet-19-comet")
    # Locked for sign-in and for further tries, even with the right password.
    with pytest.raises(AccountLockedError):
        services.accounts.authenticate("uma@example.com", STRONG_PASSWORD)
    with pytest.raises(AccountLockedError):
        services.accounts.change_password(user.id, STRONG_PASSWORD, "maple-harbor-velvet-19-comet")
    with database.transaction() as session:
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.target == "uma@example.com"))
        counted = Counter(actions)
    assert counted["password_change_failed"] == 5
    assert counted["lockout"] == 1


def test_sign_in_failures_and_change_password_failures_share_one_count(services) -> None:
    user = services.accounts.register("vic@example.com", STRONG_PASSWORD)
    fail(services, "vic@example.com", 4)
    with pytest.raises(AccountLockedError):
        services.accounts.change_password(user.id, OTHER_PASSWORD, "maple-harbor-velvet-19-comet")


def test_the_longest_lockout_keeps_its_length_after_it_ends(services, clock: FakeClock) -> None:
    """A lock's own length is not quiet time: after an hour-long lock ends, the next is an hour again (an
    attacker waiting out each lock does not get back to one-minute locks)."""
    for seconds in (60, 120, 240, 480, 960, 1920, 3600, 3600):
        fail(services, "xan@example.com", 5)
        with pytest.raises(AccountLockedError) as locked:
            services.accounts.authenticate("xan@example.com", STRONG_PASSWORD)
        assert locked.value.seconds_left == pytest.approx(seconds, abs=1)
        clock.advance(seconds=seconds + 1)


def test_a_huge_password_is_checked_as_cheaply_as_any(services, clock: FakeClock) -> None:
    services.accounts.register("yul@example.com", STRONG_PASSWORD)
    checked: list[int] = []
    real_verify = services.context.hasher.verify

    def measuring_verify(stored_hash: str | None, password: str) -> bool:
        checked.append(len(password))
        return real_verify(stored_hash, password)

    services.context.hasher.verify = measuring_verify
    with pytest.raises(InvalidCredentialsError):
        services.accounts.authenticate("yul@example.com", "x" * 5_000_000)
    with pytest.raises(InvalidInputError):
        services.accounts.change_password(
            _id(services, "yul@example.com"),
            "y" * 5_000_000,
            "maple-harbor-velvet-19-comet",
        )
    limit = services.context.policy.max_length + 1
    assert checked
    assert max(checked) <= limit


def _id(services, email: str) -> int:
    return services.accounts.authenticate(email, STRONG_PASSWORD).id
