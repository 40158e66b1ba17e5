"""Registration, first administrator, sign-in and own-password rules, on SQLite and MariaDB."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from desktop_auth.db.engine import Database
from desktop_auth.errors import InvalidInputError
from desktop_auth.models import AuditEvent, User
from desktop_auth.security import PasswordPolicyError
from desktop_auth.services import Services
from desktop_auth.services.errors import (
    AccountInactiveError,
    EmailAlreadyRegisteredError,
    InvalidCredentialsError,
    RegistrationClosedError,
    SetupAlreadyDoneError,
)
from desktop_auth.services.records import Actor
from tests.conftest import OTHER_PASSWORD, STRONG_PASSWORD, FakeClock


def _user_count(database: Database) -> int:
    with database.transaction() as session:
        return int(session.scalar(select(func.count(User.id))) or 0)


def _stored_hash(database: Database, email: str) -> str | None:
    with database.transaction() as session:
        return session.scalar(select(User.password_hash).where(User.email == email))


def test_register_normalizes_email_and_gives_role_user(services: Services, database: Database) -> None:
    record = services.accounts.register("  Bob.Smith@Example.COM ", STRONG_PASSWORD)
    assert record.email == "bob.smith@example.com"
    assert record.role == "user"
    assert record.active
    assert record.version == 1
    assert record.created_at.tzinfo is not None
    stored = _stored_hash(database, "bob.smith@example.com")
    assert stored is not None
    assert STRONG_PASSWORD not in stored
    with pytest.raises(EmailAlreadyRegisteredError) as caught:
        services.accounts.register("BOB.SMITH@example.com", OTHER_PASSWORD)
    assert caught.value.field == "email"
    assert _user_count(database) == 1


def test_new_accounts_get_the_role_named_user_not_a_fixed_id(services: Services, database: Database) -> None:
    from sqlalchemy import update

    from desktop_auth.models import Role

    with database.transaction(write=True) as session:  # swap the ids the tutorial used
        session.execute(update(Role).where(Role.name == "user").values(name="tmp"))
        session.execute(update(Role).where(Role.name == "admin").values(name="user"))
        session.execute(update(Role).where(Role.name == "tmp").values(name="admin"))
    try:
        assert services.accounts.register("newbie@example.com", STRONG_PASSWORD).role == "user"
        with database.transaction() as session:
            user = session.scalars(select(User).where(User.email == "newbie@example.com")).one()
            assert user.role.name == "user"
    finally:
        with database.transaction(write=True) as session:
            session.execute(update(Role).where(Role.name == "user").values(name="tmp"))
            session.execute(update(Role).where(Role.name == "admin").values(name="user"))
            session.execute(update(Role).where(Role.name == "tmp").values(name="admin"))


@pytest.mark.parametrize(
    ("email", "field"),
    [("", "email"), ("not-an-address", "email"), ("a@b", "email"), ("x" * 250 + "@example.com", "email")],
)
def test_register_refuses_bad_email_and_changes_nothing(
    services: Services, database: Database, email: str, field: str
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        services.accounts.register(email, STRONG_PASSWORD)
    assert caught.value.field == field
    assert caught.value.message
    assert _user_count(database) == 0


def test_register_refuses_weak_password_with_every_reason(services: Services, database: Database) -> None:
    with pytest.raises(PasswordPolicyError) as caught:
        services.accounts.register("carol@example.com", "carol")
    assert caught.value.field == "password"
    assert "too_short" in caught.value.codes
    assert _user_count(database) == 0


def test_self_registration_can_be_closed(services: Services) -> None:
    admin = services.accounts.create_first_admin("root@example.com", STRONG_PASSWORD)
    services.app_settings.set_self_registration(Actor(admin.id, admin.email), False)
    assert not services.accounts.registration_open()
    with pytest.raises(RegistrationClosedError):
        services.accounts.register("dave@example.com", STRONG_PASSWORD)
    # An administrator can still create accounts.
    created = services.admin.create_user(Actor(admin.id, admin.email), "dave@example.com", STRONG_PASSWORD)
    assert created.role == "user"


def test_first_admin_only_once(services: Services) -> None:
    assert services.accounts.needs_first_admin()
    admin = services.accounts.create_first_admin("Root@Example.com", STRONG_PASSWORD)
    assert admin.role == "admin"
    assert not services.accounts.needs_first_admin()
    with pytest.raises(SetupAlreadyDoneError):
        services.accounts.create_first_admin("other@example.com", OTHER_PASSWORD)


def test_authenticate_success_records_time_and_count(services: Services, clock: FakeClock) -> None:
    services.accounts.register("erin@example.com", STRONG_PASSWORD)
    first = services.accounts.authenticate("ERIN@example.com ", STRONG_PASSWORD)
    assert first.email == "erin@example.com"
    assert first.previous_login_at is None
    assert first.login_count == 1
    clock.advance(hours=1)
    second = services.accounts.authenticate("erin@example.com", STRONG_PASSWORD)
    assert second.login_count == 2
    assert second.previous_login_at is not None
    record = services.accounts.get_account(second.id)
    assert record.last_login_at is not None
    assert record.last_login_at > second.previous_login_at
    assert record.version == 1, "signing in is not an edit that would conflict with an admin's"


def test_unknown_email_and_wrong_password_fail_alike(services: Services) -> None:
    services.accounts.register("frank@example.com", STRONG_PASSWORD)
    with pytest.raises(InvalidCredentialsError) as wrong_password:
        services.accounts.authenticate("frank@example.com", OTHER_PASSWORD)
    with pytest.raises(InvalidCredentialsError) as unknown:
        services.accounts.authenticate("nobody@example.com", STRONG_PASSWORD)
    with pytest.raises(InvalidCredentialsError) as malformed:
        services.accounts.authenticate("not an email", STRONG_PASSWORD)
    assert str(wrong_password.value) == str(unknown.value) == str(malformed.value)


def test_inactive_account_is_refused(services: Services) -> None:
    admin = services.accounts.create_first_admin("root@example.com", STRONG_PASSWORD)
    services.accounts.register("gina@example.com", OTHER_PASSWORD)
    services.admin.set_active(Actor(admin.id, admin.email), "gina@example.com", False)
    with pytest.raises(AccountInactiveError):
        services.accounts.authenticate("gina@example.com", OTHER_PASSWORD)
    with pytest.raises(InvalidCredentialsError):  # a wrong password tells nothing about the account
        services.accounts.authenticate("gina@example.com", STRONG_PASSWORD)


def test_weaker_hash_is_replaced_at_sign_in(services: Services, database: Database, make_services) -> None:
    weak = make_services(hash_method="pbkdf2:sha256:600")
    weak.accounts.register("hank@example.com", STRONG_PASSWORD)
    assert (_stored_hash(database, "hank@example.com") or "").startswith("pbkdf2:sha256:600$")
    services.accounts.authenticate("hank@example.com", STRONG_PASSWORD)
    assert (_stored_hash(database, "hank@example.com") or "").startswith("pbkdf2:sha256:1000$")
    assert services.accounts.authenticate("hank@example.com", STRONG_PASSWORD).login_count == 2


def test_change_password_needs_current_and_follows_policy(services: Services, database: Database) -> None:
    user = services.accounts.register("ivy@example.com", STRONG_PASSWORD)
    with pytest.raises(InvalidInputError) as wrong_current:
        services.accounts.change_password(user.id, OTHER_PASSWORD, "maple-harbor-velvet-19-comet")
    assert wrong_current.value.field == "current_password"
    with pytest.raises(PasswordPolicyError) as weak:
        services.accounts.change_password(user.id, STRONG_PASSWORD, "short")
    assert weak.value.field == "new_password"
    with pytest.raises(InvalidInputError, match="differ"):
        services.accounts.change_password(user.id, STRONG_PASSWORD, STRONG_PASSWORD)
    before = services.accounts.get_account(user.id)

    after = services.accounts.change_password(user.id, STRONG_PASSWORD, OTHER_PASSWORD)
    assert after.version == before.version + 1
    assert after.updated_at > before.updated_at
    with pytest.raises(InvalidCredentialsError):
        services.accounts.authenticate("ivy@example.com", STRONG_PASSWORD)
    assert services.accounts.authenticate("ivy@example.com", OTHER_PASSWORD).id == user.id
    with database.transaction() as session:
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.target_id == user.id)).all()
    assert "password_change" in actions


@pytest.mark.slow
def test_the_real_default_hash_end_to_end(database: Database, make_services) -> None:
    real = make_services(hash_method="scrypt:131072:8:1")
    real.accounts.register("jill@example.com", STRONG_PASSWORD)
    assert (_stored_hash(database, "jill@example.com") or "").startswith("scrypt:131072:8:1$")
    assert real.accounts.authenticate("jill@example.com", STRONG_PASSWORD).email == "jill@example.com"
