"""Rules the services enforce whatever the GUI shows: a temporary password must be replaced before anything
else, temporary passwords expire, the operator's name in the audit is plain text, and the shared rules
(lockout, idle sign-out, registration) come from the database, not from a client's configuration."""

from __future__ import annotations

import getpass

import pytest
from sqlalchemy import select, update

from desktop_auth.db.engine import Database
from desktop_auth.models import AuditEvent, User
from desktop_auth.services import Services
from desktop_auth.services.errors import (
    AccountLockedError,
    InvalidCredentialsError,
    PasswordChangeRequiredError,
    TemporaryPasswordExpiredError,
)
from desktop_auth.services.records import Actor
from desktop_auth.ui.startup import open_database
from tests.conftest import OTHER_PASSWORD, STRONG_PASSWORD, FakeClock

NEW_PASSWORD = "maple-harbor-velvet-19-comet"


def _admin(services: Services) -> Actor:
    record = services.accounts.create_first_admin("root@example.com", STRONG_PASSWORD)
    return Actor(record.id, record.email)


def _must_change(database: Database, email: str) -> None:
    """As an administrator's password reset leaves an account (the reset itself: tests/test_password_reset)."""
    with database.transaction(write=True) as session:
        session.execute(update(User).where(User.email == email).values(must_change_password=True))


def test_a_session_on_a_temporary_password_can_only_replace_it(services: Services, database) -> None:
    admin = _admin(services)
    _must_change(database, "root@example.com")
    signed_in = services.accounts.authenticate("root@example.com", STRONG_PASSWORD)
    assert signed_in.must_change_password
    actor = signed_in.actor
    refused = [
        lambda: services.admin.list_users(actor),
        lambda: services.admin.count_users(actor),
        lambda: services.admin.set_role(actor, "root@example.com", "user"),
        lambda: services.admin.create_user(actor, "eve@example.com", STRONG_PASSWORD, "admin"),
        lambda: services.admin.audit_log(actor),
        lambda: services.roles.add_role(actor, "auditor"),
        lambda: services.app_settings.update(actor, lockout_threshold=100),
        lambda: services.export.write_audit_csv(actor, "", __import__("io").StringIO()),
    ]
    for call in refused:
        with pytest.raises(PasswordChangeRequiredError):
            call()
    services.accounts.change_password(admin.user_id or 0, STRONG_PASSWORD, NEW_PASSWORD)
    assert services.admin.count_users(actor) == 1


def test_temporary_passwords_expire_after_the_shared_lifetime(services: Services, database, clock) -> None:
    services.accounts.register("ann@example.com", STRONG_PASSWORD)
    _must_change(database, "ann@example.com")
    with database.transaction(write=True) as session:
        session.execute(
            update(User).where(User.email == "ann@example.com").values(password_changed_at=clock.now)
        )
    clock.advance(hours=71, minutes=59)
    assert services.accounts.authenticate("ann@example.com", STRONG_PASSWORD).must_change_password
    clock.advance(minutes=2)
    with pytest.raises(TemporaryPasswordExpiredError, match="expired"):
        services.accounts.authenticate("ann@example.com", STRONG_PASSWORD)
    # A wrong password still reads like any other failure: expiry tells nothing to someone guessing.
    with pytest.raises(InvalidCredentialsError):
        services.accounts.authenticate("ann@example.com", OTHER_PASSWORD)


def test_an_own_password_never_expires(services: Services, clock) -> None:
    services.accounts.register("bea@example.com", STRONG_PASSWORD)
    clock.advance(days=400)
    assert services.accounts.authenticate("bea@example.com", STRONG_PASSWORD).email == "bea@example.com"


def test_the_operator_label_is_plain_text(services: Services, database, monkeypatch) -> None:
    forged = "mallory\n2026-01-01 12:00:00 INFO root@example.com\u202e\x1b[31m" + "x" * 200
    monkeypatch.setattr(getpass, "getuser", lambda: forged)
    operator = Actor.operator()
    assert "\n" not in operator.label
    assert "\u202e" not in operator.label
    assert "\x1b" not in operator.label
    assert operator.label.startswith("operator:mallory2026-01-01")
    assert len(operator.label) <= len("operator:") + 64
    services.admin.create_user(operator, "cid@example.com", STRONG_PASSWORD)
    with database.transaction() as session:
        actor = session.scalar(select(AuditEvent.actor).where(AuditEvent.target == "cid@example.com"))
    assert actor == operator.label


def test_the_operator_label_survives_an_unprintable_name(monkeypatch) -> None:
    monkeypatch.setattr(getpass, "getuser", lambda: "\n\t\u200b")
    assert Actor.operator().label == "operator:unknown"


# -- shared rules come from the database (#13.6) -----------------------------------------------------------


def _fail(services: Services, email: str, times: int) -> None:
    for _ in range(times):
        with pytest.raises(InvalidCredentialsError):
            services.accounts.authenticate(email, OTHER_PASSWORD)


def test_a_clients_configuration_cannot_loosen_the_lockout(make_services, clock: FakeClock) -> None:
    first = make_services()  # the defaults: five failures
    first.accounts.register("dee@example.com", STRONG_PASSWORD)
    _fail(first, "dee@example.com", 1)
    loose = make_services(lockout_threshold=1000, lockout_base_seconds=1, lockout_max_seconds=1)
    _fail(loose, "dee@example.com", 4)
    with pytest.raises(AccountLockedError) as locked:
        loose.accounts.authenticate("dee@example.com", STRONG_PASSWORD)
    assert locked.value.seconds_left == pytest.approx(60, abs=1)


def test_the_first_client_seeds_its_rules_for_everyone(make_services) -> None:
    strict = make_services(lockout_threshold=3, idle_timeout_minutes=5)
    assert open_database(strict.settings, strict).idle_timeout_minutes == 5
    loose = make_services(lockout_threshold=1000, idle_timeout_minutes=600)
    state = open_database(loose.settings, loose)
    assert state.idle_timeout_minutes == 5, "the idle sign-out is the database's"
    assert loose.app_settings.get().lockout_threshold == 3
    assert state.registration_open


def test_seeding_never_overwrites_an_administrators_choice(make_services) -> None:
    services = make_services()
    admin = _admin(services)
    services.app_settings.update(admin, allow_self_registration=False, lockout_threshold=2)
    other = make_services(lockout_threshold=50)
    assert other.app_settings.seed().lockout_threshold == 2
    assert not open_database(other.settings, other).registration_open


def test_an_expired_temporary_password_cannot_be_changed_and_ends_the_session(
    services: Services, database, clock
) -> None:
    user = services.accounts.register("eve@example.com", STRONG_PASSWORD)
    _must_change(database, "eve@example.com")
    with database.transaction(write=True) as session:
        session.execute(
            update(User).where(User.email == "eve@example.com").values(password_changed_at=clock.now)
        )
    signed_in = services.accounts.authenticate("eve@example.com", STRONG_PASSWORD)
    assert services.accounts.check_session(user.id, signed_in.password_changed_at).valid
    clock.advance(hours=73)
    state = services.accounts.check_session(user.id, signed_in.password_changed_at)
    assert not state.valid
    assert "expired" in str(state.reason or "")
    with pytest.raises(TemporaryPasswordExpiredError):
        services.accounts.change_password(user.id, STRONG_PASSWORD, NEW_PASSWORD)
