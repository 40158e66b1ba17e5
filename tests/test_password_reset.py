"""Password resets: each account its own random, expiring temporary password, stored with a fast salted
hash, all-or-nothing, audited without secrets, fast at 20,000 accounts. SQLite and MariaDB."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from desktop_auth.db.engine import Database
from desktop_auth.errors import InvalidInputError
from desktop_auth.hash_methods import TEMPORARY_HASH_METHOD, canonical_method, method_of
from desktop_auth.models import AuditEvent, LoginThrottle, User
from desktop_auth.services import Services
from desktop_auth.services.errors import (
    AccountLockedError,
    InvalidCredentialsError,
    PermissionDeniedError,
    StaleEditError,
)
from desktop_auth.services.records import Actor
from desktop_auth.services.temporary_passwords import entropy_bits
from tests.conftest import (
    CHEAP_HASH,
    OTHER_PASSWORD,
    STRONG_PASSWORD,
    FakeClock,
    register_accounts,
    seed_users,
)


def _accounts(database: Database) -> list[tuple[object, ...]]:
    with database.transaction() as session:
        rows = session.execute(
            select(
                User.id,
                User.password_hash,
                User.must_change_password,
                User.password_changed_at,
                User.version,
            ).order_by(User.id)
        )
        return [tuple(row) for row in rows]


def _audit_rows(database: Database) -> list[tuple[object, ...]]:
    with database.transaction() as session:
        rows = session.execute(
            select(
                AuditEvent.action,
                AuditEvent.target,
                AuditEvent.old_value,
                AuditEvent.new_value,
                AuditEvent.detail,
            ).order_by(AuditEvent.id)
        )
        return [tuple(row) for row in rows]


# -- the reset (both backends) -------------------------------------------------------------------------


def test_each_account_gets_its_own_password_that_opens_only_that_account(
    services: Services, admin: Actor
) -> None:
    anna, ben = register_accounts(services, "anna@example.com", "ben@example.com")
    result = services.admin.reset_password(admin, [anna, ben])
    by_email = {entry.email: entry for entry in result.entries}
    assert set(by_email) == {"anna@example.com", "ben@example.com"}
    assert {by_email["anna@example.com"].user_id, by_email["ben@example.com"].user_id} == {anna, ben}
    anna_pw, ben_pw = by_email["anna@example.com"].password, by_email["ben@example.com"].password
    assert anna_pw != ben_pw
    assert entropy_bits(anna_pw) >= 80
    assert entropy_bits(ben_pw) >= 80
    for password in (anna_pw, ben_pw):
        assert password not in repr(result), "repr (logs, tracebacks) never shows a password"

    with pytest.raises(InvalidCredentialsError):
        services.accounts.authenticate("anna@example.com", ben_pw)
    with pytest.raises(InvalidCredentialsError):
        services.accounts.authenticate("ben@example.com", anna_pw)
    with pytest.raises(InvalidCredentialsError):
        services.accounts.authenticate("anna@example.com", STRONG_PASSWORD)  # the old one stopped working
    signed_in = services.accounts.authenticate("anna@example.com", anna_pw)
    assert signed_in.must_change_password
    assert services.accounts.authenticate("ben@example.com", ben_pw).must_change_password


def test_reset_stores_a_fast_hash_forces_a_change_and_audits_no_secret(
    services: Services, admin: Actor, database: Database, clock: FakeClock
) -> None:
    ids = register_accounts(services, "carl@example.com", "dora@example.com")
    before = {row[0]: row for row in _accounts(database)}
    result = services.admin.reset_password(admin, ids)
    after = {row[0]: row for row in _accounts(database)}
    for user_id in ids:
        _, password_hash, must_change, changed_at, version = after[user_id]
        assert isinstance(password_hash, str)
        assert method_of(password_hash) == canonical_method(TEMPORARY_HASH_METHOD)
        assert must_change
        assert changed_at is not None
        assert result.expires_at == changed_at + timedelta(hours=72)
        assert version == before[user_id][4] + 1  # type: ignore[operator]
    assert after[admin.user_id] == before[admin.user_id], "nobody else changed"
    assert abs(result.expires_at - (clock.now + timedelta(hours=72))) < timedelta(seconds=1)

    resets = [row for row in _audit_rows(database) if row[0] == "password_reset"]
    assert sorted(row[1] for row in resets) == ["carl@example.com", "dora@example.com"]
    secrets = [entry.password for entry in result.entries] + [after[uid][1] for uid in ids]
    for row in resets:
        assert "expires" in str(row[3])
        for secret in secrets:
            assert all(secret not in str(value) for value in row)


def test_the_lifetime_is_the_shared_setting(services: Services, admin: Actor, clock: FakeClock) -> None:
    (uid,) = register_accounts(services, "erin@example.com")
    services.app_settings.update(admin, temporary_password_hours=5)
    result = services.admin.reset_password(admin, [uid], {uid: None})
    assert (
        timedelta(hours=5)
        <= result.expires_at - clock.now + timedelta(seconds=1)
        <= timedelta(hours=5, seconds=1)
    )
    password = result.entries[0].password
    clock.advance(hours=4, minutes=59)
    assert services.accounts.authenticate("erin@example.com", password).must_change_password
    clock.advance(minutes=2)
    with pytest.raises(Exception, match="expired"):
        services.accounts.authenticate("erin@example.com", password)


def test_reset_lifts_a_lockout(make_services, admin: Actor) -> None:
    services = make_services(lockout_threshold=2)
    (uid,) = register_accounts(services, "finn@example.com")
    for _ in range(2):
        with pytest.raises(InvalidCredentialsError):
            services.accounts.authenticate("finn@example.com", OTHER_PASSWORD)
    with pytest.raises(AccountLockedError):
        services.accounts.authenticate("finn@example.com", STRONG_PASSWORD)
    result = services.admin.reset_password(admin, [uid])
    assert services.accounts.authenticate("finn@example.com", result.entries[0].password).email == (
        "finn@example.com"
    )
    with services.database.transaction() as session:
        assert (
            session.scalar(select(LoginThrottle.email).where(LoginThrottle.email == "finn@example.com"))
            is None
        )


def test_non_admin_is_refused_and_nothing_changes(
    services: Services, admin: Actor, database: Database
) -> None:
    (mallory_id,) = register_accounts(services, "mallory@example.com")
    mallory = Actor(mallory_id, "mallory@example.com")
    before, audit_before = _accounts(database), _audit_rows(database)
    with pytest.raises(PermissionDeniedError):
        services.admin.reset_password(mallory, [admin.user_id or 0])
    with pytest.raises(PermissionDeniedError):
        services.admin.set_temporary_password(mallory, admin.user_id or 0, OTHER_PASSWORD)
    assert _accounts(database) == before
    assert _audit_rows(database) == audit_before


def test_a_stale_version_refuses_the_whole_reset(
    services: Services, admin: Actor, database: Database
) -> None:
    gus, hana = register_accounts(services, "gus@example.com", "hana@example.com")
    seen = {record.id: record.version for record in services.admin.list_users(admin)}
    services.admin.set_role(admin, "hana@example.com", "admin")  # someone else changes hana meanwhile
    before, audit_before = _accounts(database), _audit_rows(database)
    with pytest.raises(StaleEditError) as refused:
        services.admin.reset_password(admin, [gus, hana], {gus: seen[gus], hana: seen[hana]})
    assert "hana@example.com" in str(refused.value)
    assert _accounts(database) == before, "all or nothing: gus was not reset either"
    assert _audit_rows(database) == audit_before
    services.accounts.authenticate("gus@example.com", STRONG_PASSWORD)
    with pytest.raises(StaleEditError):
        services.admin.reset_password(admin, [gus, 987_654])  # a deleted account
    assert _accounts(database)[1:] == before[1:]


def test_an_admin_cannot_reset_their_own_password_here(services: Services, admin: Actor) -> None:
    (uid,) = register_accounts(services, "ivy@example.com")
    with pytest.raises(InvalidInputError, match="Change password"):
        services.admin.reset_password(admin, [uid, admin.user_id or 0])
    assert services.admin.reset_password(Actor.operator(), [admin.user_id or 0]).entries[0].email == (
        "root@example.com"
    ), "an operator at the CLI may (the CLI has no session to lose)"


def test_a_chosen_temporary_password_is_checked_and_stored_with_the_configured_method(
    services: Services, admin: Actor, database: Database
) -> None:
    (uid,) = register_accounts(services, "jon@example.com")
    with pytest.raises(InvalidInputError) as refused:
        services.admin.set_temporary_password(Actor.operator(), uid, "short")
    assert refused.value.field == "temporary_password"
    expires_at = services.admin.set_temporary_password(Actor.operator(), uid, OTHER_PASSWORD)
    stored = {row[0]: row for row in _accounts(database)}[uid]
    assert method_of(str(stored[1])) == canonical_method(CHEAP_HASH), "a person chose it: the slow method"
    assert expires_at == stored[3] + timedelta(hours=72)  # type: ignore[operator]
    assert services.accounts.authenticate("jon@example.com", OTHER_PASSWORD).must_change_password


def test_twenty_thousand_accounts_are_reset_in_seconds(
    services: Services, admin: Actor, database: Database, backend: str
) -> None:
    seed_users(database, 20_000)
    with database.transaction() as session:
        ids = list(session.scalars(select(User.id).where(User.id != admin.user_id)))
        versions = dict(session.execute(select(User.id, User.version).where(User.id != admin.user_id)).all())
    assert len(ids) == 20_000
    started = time.perf_counter()
    result = services.admin.reset_password(admin, ids, versions)
    elapsed = time.perf_counter() - started
    print(f"\nreset of 20,000 accounts on {backend}: {elapsed:.2f} s")
    assert elapsed < 60
    passwords = [entry.password for entry in result.entries]
    assert len(passwords) == 20_000
    assert len(set(passwords)) == 20_000, "all distinct"
    assert sorted(entry.user_id for entry in result.entries) == sorted(ids)
    with database.transaction() as session:
        assert (
            session.scalar(
                select(User.id).where(User.must_change_password.is_(False), User.id != admin.user_id)
            )
            is None
        )
        resets = session.scalar(
            select(AuditEvent.id).where(AuditEvent.action == "password_reset").order_by(AuditEvent.id.desc())
        )
        assert resets is not None
    last = result.entries[-1]
    assert services.accounts.authenticate(last.email, last.password).must_change_password


def test_a_reset_of_more_users_than_one_transaction_holds_is_refused_before_any_work(
    services: Services, admin: Actor, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from desktop_auth.services import admin as admin_module

    monkeypatch.setattr(admin_module, "MAX_PASSWORD_RESETS", 2)
    ids = register_accounts(services, "a@example.com", "b@example.com", "c@example.com")
    with database.transaction() as session:
        before = session.scalars(select(User.password_hash).order_by(User.id)).all()
    with pytest.raises(InvalidInputError) as refused:
        services.admin.reset_password(admin, ids)
    assert "Reset at most 2 passwords at once (3 were selected)" in str(refused.value)
    with database.transaction() as session:
        assert session.scalars(select(User.password_hash).order_by(User.id)).all() == before
    assert len(services.admin.reset_password(admin, ids[:2]).entries) == 2
