"""Administrators create and delete accounts (``services.lifecycle``), and an operator erases a deleted
person's address from the audit: the services on SQLite and MariaDB, including the last-admin race."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from desktop_auth.db.engine import Database
from desktop_auth.errors import InvalidInputError
from desktop_auth.hash_methods import TEMPORARY_HASH_METHOD, method_of
from desktop_auth.models import AuditEvent, BulkChange, LoginThrottle, RecoveryCode, User
from desktop_auth.services import Services, lifecycle
from desktop_auth.services.accounts import count_active_admins
from desktop_auth.services.audit_words import describe_event
from desktop_auth.services.errors import (
    EmailAlreadyRegisteredError,
    EmailLooksLikeAnotherError,
    LastAdminDeletionError,
    LastAdminError,
    NotFoundError,
    PasswordChangeRequiredError,
    PermissionDeniedError,
    SelfDeletionError,
    TemporaryPasswordExpiredError,
    TooManyDeletionsError,
)
from desktop_auth.services.records import Actor, BulkSelection, UserQuery
from desktop_auth.services.temporary_passwords import entropy_bits
from tests.conftest import OTHER_PASSWORD, STRONG_PASSWORD, FakeClock, register_accounts, seed_users
from tests.races import race


def _audit(database: Database, action: str | None = None) -> list[AuditEvent]:
    with database.transaction() as session:
        statement = select(AuditEvent).order_by(AuditEvent.id)
        if action is not None:
            statement = statement.where(AuditEvent.action == action)
        events = list(session.scalars(statement))
        session.expunge_all()
        return events


def _emails(database: Database) -> set[str]:
    with database.transaction() as session:
        return set(session.scalars(select(User.email)))


def _second_admin(services: Services, admin: Actor, email: str = "second@example.com") -> Actor:
    created = services.lifecycle.create_user(admin, email, "admin")
    services.accounts.change_password(created.record.id, created.password, OTHER_PASSWORD)
    return Actor(created.record.id, email)


# -- creating -----------------------------------------------------------------------------------------


def test_created_account_has_a_strong_temporary_password_that_must_be_changed(
    services: Services, admin: Actor, database: Database
) -> None:
    created = services.lifecycle.create_user(admin, "  Ada@Example.com ", "user")
    assert created.record.email == "ada@example.com"
    assert created.record.role == "user"
    assert created.record.must_change_password
    assert entropy_bits(created.password) >= 80
    assert created.password not in repr(created)
    services.policy.validate(created.password, "ada@example.com")  # the policy accepts it as it is
    with database.transaction() as session:
        user = session.scalars(select(User).where(User.email == "ada@example.com")).one()
        assert user.must_change_password
        assert method_of(user.password_hash or "") == TEMPORARY_HASH_METHOD  # a fast salted hash
        assert created.password not in (user.password_hash or "")
    hours = services.app_settings.get().temporary_password_hours
    assert created.record.password_changed_at is not None
    assert created.expires_at == created.record.password_changed_at + timedelta(hours=hours)
    # Sign-in lets the person in only to choose their own password.
    signed_in = services.accounts.authenticate("ada@example.com", created.password)
    assert signed_in.must_change_password
    services.accounts.change_password(signed_in.id, created.password, OTHER_PASSWORD)
    assert not services.accounts.authenticate("ada@example.com", OTHER_PASSWORD).must_change_password
    (event,) = _audit(database, "create")[1:]
    assert (event.actor, event.target, event.new_value) == ("root@example.com", "ada@example.com", "user")
    assert created.password not in (event.detail or "")


def test_created_administrator_acts_only_after_changing_the_password(
    services: Services, admin: Actor
) -> None:
    created = services.lifecycle.create_user(admin, "boss@example.com", "admin")
    boss = Actor(created.record.id, "boss@example.com")
    with pytest.raises(PasswordChangeRequiredError):
        services.admin.count_users(boss)
    services.accounts.change_password(created.record.id, created.password, OTHER_PASSWORD)
    assert services.admin.count_users(boss) == 2


def test_temporary_password_of_a_created_account_expires(
    services: Services, admin: Actor, clock: FakeClock
) -> None:
    created = services.lifecycle.create_user(admin, "late@example.com")
    clock.advance(hours=services.app_settings.get().temporary_password_hours, seconds=1)
    with pytest.raises(TemporaryPasswordExpiredError):
        services.accounts.authenticate("late@example.com", created.password)


@pytest.mark.parametrize(
    "email",
    [
        "not an address",
        "",
        "a\u200bda@example.com",  # zero-width space
        "ada@exa\u200dmple.com",  # zero-width joiner
        "x" * 10_000 + "@example.com",
        "=cmd|' /C calc'!A0@example.com",
    ],
)
def test_invalid_addresses_are_refused_on_the_email_field(
    services: Services, admin: Actor, email: str
) -> None:
    with pytest.raises(InvalidInputError) as refused:
        services.lifecycle.create_user(admin, email)
    assert refused.value.field == "email"
    assert services.admin.count_users(admin) == 1


def test_duplicate_and_look_alike_addresses_are_refused(services: Services, admin: Actor) -> None:
    register_accounts(services, "ada@example.com")
    with pytest.raises(EmailAlreadyRegisteredError):
        services.lifecycle.create_user(admin, "ADA@example.com")
    with pytest.raises(EmailLooksLikeAnotherError) as lookalike:
        services.lifecycle.create_user(admin, "r\u043e\u043et@example.com")  # Cyrillic o's: root@
    assert lookalike.value.field == "email"
    with pytest.raises(EmailLooksLikeAnotherError):
        services.lifecycle.create_user(admin, "ad\u034fa@example.com")  # a combining grapheme joiner
    assert services.admin.count_users(admin) == 2


def test_only_an_active_administrator_creates_accounts(services: Services, admin: Actor) -> None:
    (plain,) = register_accounts(services, "plain@example.com")
    with pytest.raises(PermissionDeniedError):
        services.lifecycle.create_user(Actor(plain, "plain@example.com"), "new@example.com", "admin")
    with pytest.raises(NotFoundError):
        services.lifecycle.create_user(admin, "new@example.com", "no-such-role")
    assert services.admin.count_users(admin) == 2
    # An operator may (the CLI).
    assert (
        services.lifecycle.create_user(Actor.operator(), "ops@example.com").record.email == "ops@example.com"
    )


# -- deleting -----------------------------------------------------------------------------------------


def test_deleting_accounts_keeps_their_history_readable(
    services: Services, admin: Actor, database: Database
) -> None:
    ada, ben = register_accounts(services, "ada@example.com", "ben@example.com")
    services.admin.set_role(admin, "ada@example.com", "admin")
    with database.transaction(write=True) as session:
        session.add(RecoveryCode(user_id=ada, salt="s" * 32, digest="d" * 64, created_at=datetime.now(UTC)))
    assert services.lifecycle.delete_users(admin, [ada, ben]) == 2
    assert _emails(database) == {"root@example.com"}
    with database.transaction() as session:
        assert session.scalar(select(RecoveryCode.id)) is None  # gone with the account
    deleted = {event.target: event for event in _audit(database, "delete")}
    assert set(deleted) == {"ada@example.com", "ben@example.com"}
    event = deleted["ada@example.com"]
    assert event.target_id is None  # the foreign key let go of it
    assert event.actor == "root@example.com"
    assert event.new_value == f"deleted account #{ada}"
    assert event.detail == f"deleted account #{ada}, was ada@example.com"
    record = services.admin.audit_log(admin, "ada@example.com")[0]
    assert str(describe_event(record)) == f"Deleted account #{ada} with the role admin, was ada@example.com"
    # Earlier rows about ada still say who it was.
    earlier = [e for e in _audit(database) if e.target == "ada@example.com" and e.action != "delete"]
    assert {e.action for e in earlier} == {"create", "role"}
    assert all(e.target_id is None for e in earlier)


def test_the_last_active_administrator_is_never_deleted(
    services: Services, admin: Actor, database: Database
) -> None:
    (plain,) = register_accounts(services, "plain@example.com")
    second = _second_admin(services, admin)
    operator = Actor.operator()
    with pytest.raises(LastAdminDeletionError) as refused:
        services.lifecycle.delete_users(operator, [admin.user_id or 0, second.user_id or 0, plain])
    assert isinstance(refused.value, LastAdminError)
    assert "last active administrator" in refused.value.message
    assert _emails(database) == {"root@example.com", "second@example.com", "plain@example.com"}  # none
    assert services.lifecycle.delete_users(operator, [second.user_id or 0]) == 1
    with pytest.raises(LastAdminDeletionError):
        services.lifecycle.delete_users(operator, [admin.user_id or 0])
    # An inactive administrator is no obstacle, nor protected.
    (other,) = register_accounts(services, "other@example.com")
    services.admin.set_role(admin, "other@example.com", "admin")
    services.admin.set_active(admin, "other@example.com", False)
    assert services.lifecycle.delete_users(admin, [other]) == 1
    with database.transaction() as session:
        assert count_active_admins(session) == 1


def test_nobody_deletes_their_own_account_from_here(services: Services, admin: Actor) -> None:
    (plain,) = register_accounts(services, "plain@example.com")
    second = _second_admin(services, admin)
    with pytest.raises(SelfDeletionError) as refused:
        services.lifecycle.delete_users(second, [plain, second.user_id or 0])
    assert "own account" in refused.value.message
    with pytest.raises(SelfDeletionError):
        services.lifecycle.deletion_targets(second, BulkSelection(UserQuery()))
    assert services.admin.count_users(admin) == 3


def test_only_an_active_administrator_deletes(services: Services, admin: Actor, database: Database) -> None:
    plain, other = register_accounts(services, "plain@example.com", "other@example.com")
    with pytest.raises(PermissionDeniedError):
        services.lifecycle.delete_users(Actor(plain, "plain@example.com"), [other])
    with pytest.raises(PermissionDeniedError):
        services.lifecycle.deletion_targets(Actor(plain, "plain@example.com"), BulkSelection(UserQuery()))
    second = _second_admin(services, admin)
    services.admin.set_active(admin, "second@example.com", False)
    with pytest.raises(PermissionDeniedError):
        services.lifecycle.delete_users(second, [other])
    assert "other@example.com" in _emails(database)


def test_a_selection_is_resolved_by_the_database_and_capped(
    services: Services, admin: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_users(services.database, 30, prefix="bulk")
    selection = BulkSelection(UserQuery(search="bulk"))
    targets = services.lifecycle.deletion_targets(admin, selection)
    assert targets.count == 30
    assert targets.admins == 0
    assert targets.single_email is None
    assert targets.emails[0] == "bulk0000000@example.com"
    assert len(targets.emails) == lifecycle.NAMED_TARGETS
    one = services.lifecycle.deletion_targets(admin, BulkSelection(UserQuery(search="bulk0000007")))
    assert one.single_email == "bulk0000007@example.com"
    first_rows = services.lifecycle.deletion_targets(
        admin,
        BulkSelection(UserQuery(search="bulk"), runs=((0, 3),), excluded=frozenset(targets.user_ids[1:2])),
    )
    assert first_rows.user_ids == (targets.user_ids[0], targets.user_ids[2])
    monkeypatch.setattr(lifecycle, "MAX_DELETIONS", 29)
    with pytest.raises(TooManyDeletionsError) as refused:
        services.lifecycle.deletion_targets(admin, selection)
    assert "at most 29 accounts at once (30 are selected)" in refused.value.message
    with pytest.raises(TooManyDeletionsError):
        services.lifecycle.delete_users(admin, targets.user_ids)
    assert services.admin.count_users(admin, UserQuery(search="bulk")) == 30
    monkeypatch.setattr(lifecycle, "MAX_DELETIONS", 30)
    assert services.lifecycle.delete_users(admin, targets.user_ids) == 30
    assert services.admin.count_users(admin) == 1


def test_ten_thousand_accounts_are_deleted_in_one_transaction(
    services: Services, admin: Actor, database: Database
) -> None:
    seed_users(database, lifecycle.MAX_DELETIONS, prefix="many")
    targets = services.lifecycle.deletion_targets(admin, BulkSelection(UserQuery(search="many")))
    assert targets.count == lifecycle.MAX_DELETIONS
    assert services.lifecycle.delete_users(admin, targets.user_ids) == lifecycle.MAX_DELETIONS
    assert services.admin.count_users(admin) == 1
    assert len(_audit(database, "delete")) == lifecycle.MAX_DELETIONS


def test_an_account_deleted_meanwhile_is_not_counted(services: Services, admin: Actor) -> None:
    ada, ben = register_accounts(services, "ada@example.com", "ben@example.com")
    services.lifecycle.delete_users(admin, [ada])
    assert services.lifecycle.delete_users(admin, [ada, ben]) == 1
    assert services.lifecycle.delete_users(admin, []) == 0


def test_targets_by_email_name_unknown_addresses(services: Services, admin: Actor) -> None:
    register_accounts(services, "ada@example.com")
    with pytest.raises(NotFoundError) as refused:
        services.lifecycle.targets_by_email(Actor.operator(), ["ada@example.com", "nobody@example.com"])
    assert "nobody@example.com" in refused.value.message
    assert "ada@" not in refused.value.message
    targets = services.lifecycle.targets_by_email(Actor.operator(), ["ADA@example.com", "ada@example.com"])
    assert targets.single_email == "ada@example.com"


@pytest.mark.parametrize("trial", range(6))
def test_two_admins_deleting_each_other_at_once_leave_one(
    make_services, services: Services, admin: Actor, database: Database, trial: int
) -> None:
    """Each client its own pool (connection): A deletes B while B deletes A; the root admin is demoted so
    that they are the only two. Exactly one succeeds; one admin is left."""
    a = _second_admin(services, admin, "a@example.com")
    b = _second_admin(services, admin, "b@example.com")
    services.admin.set_role(Actor.operator(), "root@example.com", "user")
    first, second = make_services(), make_services()
    first.context.database = Database(services.settings)  # own engine, own connections
    second.context.database = Database(services.settings)
    try:
        outcomes = race(
            lambda: first.lifecycle.delete_users(a, [b.user_id or 0]),
            lambda: second.lifecycle.delete_users(b, [a.user_id or 0]),
        )
    finally:
        first.close()
        second.close()
    assert sum(not isinstance(outcome, Exception) for outcome in outcomes) == 1, outcomes
    refused = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    assert isinstance(refused[0], (PermissionDeniedError, LastAdminError)), refused
    with database.transaction() as session:
        assert count_active_admins(session) == 1


@pytest.mark.parametrize("trial", range(6))
def test_two_operators_deleting_the_two_admins_at_once_leave_one(
    make_services, services: Services, admin: Actor, database: Database, trial: int
) -> None:
    second = _second_admin(services, admin)
    clients = [make_services(), make_services()]
    for client in clients:
        client.context.database = Database(services.settings)
    try:
        outcomes = race(
            lambda: clients[0].lifecycle.delete_users(Actor.operator("ops-1"), [admin.user_id or 0]),
            lambda: clients[1].lifecycle.delete_users(Actor.operator("ops-2"), [second.user_id or 0]),
        )
    finally:
        for client in clients:
            client.close()
    assert [type(o) for o in outcomes if isinstance(o, Exception)] == [LastAdminDeletionError], outcomes
    with database.transaction() as session:
        assert count_active_admins(session) == 1


def test_deleting_races_a_demotion(
    make_services, services: Services, admin: Actor, database: Database
) -> None:
    """An operator deletes one admin while another demotes the other: the admins guard orders them."""
    second = _second_admin(services, admin)
    clients = [make_services(), make_services()]
    for client in clients:
        client.context.database = Database(services.settings)
    try:
        for _trial in range(5):
            outcomes = race(
                lambda: clients[0].lifecycle.delete_users(Actor.operator(), [second.user_id or 0]),
                lambda: clients[1].admin.set_role(Actor.operator(), "root@example.com", "user"),
            )
            with database.transaction() as session:
                assert count_active_admins(session) == 1, outcomes
            assert sum(isinstance(o, LastAdminError) for o in outcomes) == 1, outcomes
            if "second@example.com" not in _emails(database):
                break
            services.admin.set_role(Actor.operator(), "root@example.com", "admin")
    finally:
        for client in clients:
            client.close()


# -- erasing an address from the audit ------------------------------------------------------------------


def test_erasing_a_deleted_address_from_the_audit(
    services: Services, admin: Actor, database: Database
) -> None:
    ada, _bada = register_accounts(services, "ada@example.com", "bada@example.com")
    ada_admin = _second_admin(services, admin, "ada.admin@example.com")
    services.admin.set_role(admin, "ada@example.com", "admin")  # an event with ada as target
    services.accounts.change_password(ada, STRONG_PASSWORD, OTHER_PASSWORD)  # ada as actor
    services.admin.set_role(admin, "ada@example.com", "user")
    with database.transaction(write=True) as session:
        session.add(LoginThrottle(email="ada@example.com", failed_count=2))
    services.lifecycle.delete_users(ada_admin, [ada])
    with pytest.raises(InvalidInputError) as still_there:
        services.lifecycle.erase_address(Actor.operator(), "bada@example.com")
    assert "still has the address" in still_there.value.message
    changed = services.lifecycle.erase_address(Actor.operator("ops"), "ADA@example.com")
    label = f"deleted account #{ada}"
    events = _audit(database)
    texts = [" ".join(filter(None, (e.actor, e.target, e.detail, e.old_value, e.new_value))) for e in events]
    assert not any(
        "ada@example.com" in text.replace("bada@example.com", "").replace("ada.admin@example.com", "")
        for text in texts
    ), texts
    assert changed == sum(
        1 for e in events if label in f"{e.actor} {e.target} {e.detail}" and e.action != "audit_erase"
    )
    assert changed >= 4  # create, role x2, password_change, delete
    delete_event = next(e for e in events if e.action == "delete" and e.new_value == label)
    assert (delete_event.target, delete_event.detail) == (label, f"{label}, address erased")
    assert str(describe_event(services.admin.audit_log(admin, label)[1])).startswith(
        f"Deleted account #{ada}"
    )
    # Others are untouched: a longer address containing it, and the admin named like it.
    assert any(e.target == "bada@example.com" for e in events)
    assert any(e.actor == "ada.admin@example.com" for e in events)
    erase = events[-1]
    assert (erase.action, erase.actor, erase.target) == ("audit_erase", "ops", label)
    assert "ada@example.com" not in f"{erase.detail} {erase.new_value}"
    assert str(describe_event(services.admin.audit_log(admin)[0])) == (
        f"Address of {label} erased from {changed} history entries"
    )
    with database.transaction() as session:
        assert (
            session.scalar(select(LoginThrottle.email).where(LoginThrottle.email == "ada@example.com"))
            is None
        )


def test_erasing_only_exact_addresses_on_every_collation(
    services: Services, admin: Actor, database: Database
) -> None:
    """MariaDB compares the audit's text without case or accents: ádá@ is another person than ada@."""
    ada, _accented = register_accounts(services, "ada@example.com", "ádá@example.com")
    services.lifecycle.delete_users(admin, [ada])
    services.lifecycle.erase_address(Actor.operator(), "ada@example.com")
    targets = {e.target for e in _audit(database)}
    assert "ádá@example.com" in targets
    assert "ada@example.com" not in targets


def test_erasing_an_address_no_account_had_and_bulk_change_records(
    services: Services, admin: Actor, database: Database
) -> None:
    now = datetime.now(UTC)
    with database.transaction(write=True) as session:
        session.add(
            BulkChange(created_at=now, updated_at=now, actor="gone@example.com", state="done", role="user")
        )
    services.lifecycle.erase_address(Actor.operator(), "gone@example.com")
    with database.transaction() as session:
        assert session.scalar(select(BulkChange.actor)) == lifecycle.ERASED_LABEL
    (plain,) = register_accounts(services, "plain@example.com")
    with pytest.raises(PermissionDeniedError):
        services.lifecycle.erase_address(Actor(plain, "plain@example.com"), "gone@example.com")


def test_replace_address_leaves_longer_addresses_alone() -> None:
    text = (
        "was ada@example.com, not bada@example.com or ada@example.com.au; (ada@example.com). ada@example.com"
    )
    assert lifecycle.replace_address(text, "ada@example.com", "X") == (
        "was X, not bada@example.com or ada@example.com.au; (X). X"
    )
