"""Brute-force protection, timed with a controllable clock (no sleeps), on SQLite and MariaDB."""

from __future__ import annotations

from datetime import timedelta

import pytest

from desktop_auth.config import Settings
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
