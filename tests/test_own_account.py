"""One's own account in the services, on SQLite and MariaDB: changing its email address (the checks, the
lockout key, the version, the audit, a race for one address) and deleting it (the last administrator,
also under a race); and an operator's rename."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select

from desktop_auth.db.engine import Database
from desktop_auth.errors import InvalidInputError
from desktop_auth.models import AuditEvent, LoginThrottle, RecoveryCode, User
from desktop_auth.services import Services
from desktop_auth.services.accounts import count_active_admins
from desktop_auth.services.audit_words import describe_event
from desktop_auth.services.errors import (
    AccountLockedError,
    EmailAlreadyRegisteredError,
    EmailLooksLikeAnotherError,
    InvalidCredentialsError,
    LastAdminSelfDeleteError,
    NotFoundError,
    StaleEditError,
)
from desktop_auth.services.records import Actor, UserEdit
from tests.conftest import OTHER_PASSWORD, STRONG_PASSWORD, FakeClock, register_accounts


def _race(*work: Callable[[], Any]) -> list[Any]:
    barrier = threading.Barrier(len(work))

    def run(job: Callable[[], Any]) -> Any:
        barrier.wait()
        try:
            return job()
        except Exception as error:
            return error

    with ThreadPoolExecutor(max_workers=len(work)) as pool:
        return list(pool.map(run, work))


def _events(database: Database, action: str) -> list[AuditEvent]:
    with database.transaction() as session:
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))
        session.expunge_all()
        return events


def _throttle(database: Database, email: str) -> tuple[int, int] | None:
    with database.transaction() as session:
        row = session.get(LoginThrottle, email)
        return None if row is None else (row.failed_count, row.lockout_count)


# -- change email -----------------------------------------------------------------------------------


def test_changing_email_moves_the_sign_in_bumps_the_version_and_is_audited(
    services: Services, database: Database, admin: Actor
) -> None:
    (ada,) = register_accounts(services, "ada@example.com")
    before = services.admin.get_user(admin, "ada@example.com")
    record = services.own_account.change_email(ada, STRONG_PASSWORD, "  Ada.Lovelace@Example.COM ")
    assert record.email == "ada.lovelace@example.com"
    assert record.version == before.version + 1
    with pytest.raises(InvalidCredentialsError):
        services.accounts.authenticate("ada@example.com", STRONG_PASSWORD)
    assert services.accounts.authenticate("ada.lovelace@example.com", STRONG_PASSWORD).id == ada
    # An administrator's edit made on the row as it was is refused as stale.
    with pytest.raises(StaleEditError):
        services.admin.apply_edits(admin, [UserEdit(ada, before.version, role="admin")])
    (event,) = _events(database, "email_change")
    assert (event.actor, event.target, event.target_id, event.detail) == (
        "ada@example.com",
        "ada.lovelace@example.com",
        ada,
        "changed email from ada@example.com to ada.lovelace@example.com",
    )
    history = services.admin.audit_log(admin, search="email")
    assert str(describe_event(next(e for e in history if e.action == "email_change"))) == (
        "Changed email from ada@example.com to ada.lovelace@example.com"
    )
    # The address it left is free again.
    assert register_accounts(services, "ada@example.com")


@pytest.mark.parametrize(
    ("new", "error", "message"),
    [
        ("bob@example.com", EmailAlreadyRegisteredError, "already exists"),
        ("BOB@example.com", EmailAlreadyRegisteredError, "already exists"),
        ("bоb@example.com", EmailLooksLikeAnotherError, "looks too much like"),  # Cyrillic о
        ("not an address", InvalidInputError, ""),
        ("b\u200bob@example.com", InvalidInputError, ""),  # a zero-width space
        ("a" * 5000 + "@example.com", InvalidInputError, "at most"),
        ("ada@example.com", InvalidInputError, "already your email address"),
        ("", InvalidInputError, "Enter an email address"),
    ],
)
def test_the_new_address_is_checked_before_the_password(
    services: Services, database: Database, new: str, error: type[Exception], message: str
) -> None:
    ada, _bob = register_accounts(services, "ada@example.com", "bob@example.com")
    with pytest.raises(error) as raised:
        # A wrong password too: the address is refused first, and the refusal costs no attempt.
        services.own_account.change_email(ada, OTHER_PASSWORD, new)
    assert isinstance(raised.value, InvalidInputError)
    assert raised.value.field == "email"
    assert message in " ".join(raised.value.problems)
    assert _throttle(database, "ada@example.com") is None
    with database.transaction() as session:
        assert session.get(User, ada).email == "ada@example.com"  # type: ignore[union-attr]


def test_a_non_ascii_address_may_look_like_its_own_account(services: Services) -> None:
    """Respelling one's own address as a look-alike of itself is no impersonation."""
    (ada,) = register_accounts(services, "ada@example.com")
    assert (
        services.own_account.change_email(ada, STRONG_PASSWORD, "аda@example.com").email == "аda@example.com"
    )
    assert (
        services.own_account.change_email(ada, STRONG_PASSWORD, "ada@example.com").email == "ada@example.com"
    )


def test_a_wrong_current_password_counts_like_a_wrong_sign_in_and_locks(
    make_services, database: Database, clock: FakeClock
) -> None:
    services = make_services(lockout_threshold=3)
    (ada,) = register_accounts(services, "ada@example.com")
    with pytest.raises(InvalidCredentialsError):
        services.accounts.authenticate("ada@example.com", OTHER_PASSWORD)
    with pytest.raises(InvalidInputError) as wrong:
        services.own_account.change_email(ada, OTHER_PASSWORD, "new@example.com")
    assert wrong.value.field == "current_password"
    assert list(wrong.value.problems) == ["The current password is incorrect."]
    assert _throttle(database, "ada@example.com") == (2, 0)
    with pytest.raises(AccountLockedError):
        services.own_account.change_email(ada, OTHER_PASSWORD, "new@example.com")
    # Locked: even the right password changes nothing, here or at sign-in.
    with pytest.raises(AccountLockedError):
        services.own_account.change_email(ada, STRONG_PASSWORD, "new@example.com")
    with pytest.raises(AccountLockedError):
        services.accounts.authenticate("ada@example.com", STRONG_PASSWORD)
    assert len(_events(database, "email_change_failed")) == 2
    with database.transaction() as session:
        assert session.get(User, ada).email == "ada@example.com"  # type: ignore[union-attr]


def test_the_right_password_forgets_the_failures_but_the_new_address_keeps_its_own(
    make_services, database: Database
) -> None:
    """Failures counted against the new address (before the account took it) stay with it: an attacker
    guessing at an address cannot have the count wiped by someone moving onto it."""
    services = make_services(lockout_threshold=3)
    (ada,) = register_accounts(services, "ada@example.com")
    for _ in range(2):
        with pytest.raises(InvalidCredentialsError):
            services.accounts.authenticate("ada@example.com", OTHER_PASSWORD)
        with pytest.raises(InvalidCredentialsError):
            services.accounts.authenticate("new@example.com", OTHER_PASSWORD)
    services.own_account.change_email(ada, STRONG_PASSWORD, "new@example.com")
    assert _throttle(database, "ada@example.com") is None
    assert _throttle(database, "new@example.com") == (2, 0)
    with pytest.raises(InvalidCredentialsError):
        services.accounts.authenticate("new@example.com", OTHER_PASSWORD)
    with pytest.raises(AccountLockedError):  # the third failure on the address locks the account
        services.accounts.authenticate("new@example.com", STRONG_PASSWORD)


def test_two_accounts_taking_one_address_at_once_one_wins(services: Services, database: Database) -> None:
    for round_ in range(4):
        ada, bob = register_accounts(services, f"ada{round_}@example.com", f"bob{round_}@example.com")
        target = f"Taken{round_}@Example.com"
        outcomes = _race(
            *(
                lambda user_id=user_id, target=target: services.own_account.change_email(
                    user_id, STRONG_PASSWORD, target
                )
                for user_id in (ada, bob)
            ),
        )
        winners = [o for o in outcomes if not isinstance(o, Exception)]
        losers = [o for o in outcomes if isinstance(o, Exception)]
        assert len(winners) == 1, outcomes
        assert [type(o) for o in losers] == [EmailAlreadyRegisteredError], losers
        assert str(losers[0]) == "An account with this email address already exists."
        with database.transaction() as session:
            taken = select(func.count(User.id)).where(User.email == target.lower())
            assert session.scalar(taken) == 1


def test_two_look_alikes_taken_at_once_one_wins(services: Services, database: Database) -> None:
    ada, bob = register_accounts(services, "ada@example.com", "bob@example.com")
    outcomes = _race(
        lambda: services.own_account.change_email(ada, STRONG_PASSWORD, "pаypal@example.com"),  # Cyrillic а
        lambda: services.own_account.change_email(bob, STRONG_PASSWORD, "pаypаl@example.com"),  # two of them
    )
    assert sum(not isinstance(o, Exception) for o in outcomes) == 1, outcomes
    assert [type(o) for o in outcomes if isinstance(o, Exception)] == [EmailLooksLikeAnotherError]


# -- operator rename ------------------------------------------------------------------------------


def test_an_operator_rename_carries_the_lockout_to_the_new_address(
    make_services, database: Database, clock: FakeClock
) -> None:
    services = make_services(lockout_threshold=2)
    (ada,) = register_accounts(services, "ada@example.com")
    for _ in range(2):
        with pytest.raises(InvalidCredentialsError):
            services.accounts.authenticate("ada@example.com", OTHER_PASSWORD)
    with pytest.raises(AccountLockedError):
        services.accounts.authenticate("ada@example.com", STRONG_PASSWORD)
    record = services.own_account.rename(
        Actor.operator("operator:test"), "ADA@example.com", "ada2@example.com"
    )
    assert record.id == ada
    assert record.locked_until is not None
    assert _throttle(database, "ada@example.com") is None
    with pytest.raises(AccountLockedError):  # renaming did not shed the lock
        services.accounts.authenticate("ada2@example.com", STRONG_PASSWORD)
    (event,) = _events(database, "email_change")
    assert (event.actor, event.target, event.detail) == (
        "operator:test",
        "ada2@example.com",
        "changed email from ada@example.com to ada2@example.com",
    )
    clock.advance(hours=2)
    assert services.accounts.authenticate("ada2@example.com", STRONG_PASSWORD).id == ada


def test_rename_refuses_like_registration(services: Services, admin: Actor) -> None:
    register_accounts(services, "ada@example.com", "bob@example.com")
    operator = Actor.operator()
    with pytest.raises(EmailAlreadyRegisteredError):
        services.own_account.rename(operator, "ada@example.com", "bob@example.com")
    with pytest.raises(EmailLooksLikeAnotherError):
        services.own_account.rename(operator, "ada@example.com", "bоb@example.com")
    with pytest.raises(NotFoundError):
        services.own_account.rename(operator, "nobody@example.com", "new@example.com")
    (bob,) = [u.id for u in services.admin.list_users(admin) if u.email == "bob@example.com"]
    with pytest.raises(Exception, match="Only an active administrator"):
        services.own_account.rename(Actor(bob, "bob@example.com"), "ada@example.com", "new@example.com")


# -- delete own account -----------------------------------------------------------------------------


def test_deleting_ones_account_needs_the_password_and_is_audited(
    services: Services, database: Database, admin: Actor
) -> None:
    (ada,) = register_accounts(services, "ada@example.com")
    with database.transaction(write=True) as session:
        session.add(RecoveryCode(user_id=ada, salt="s", digest="d", created_at=services.context.clock()))
    with pytest.raises(InvalidInputError) as wrong:
        services.own_account.delete_account(ada, OTHER_PASSWORD)
    assert wrong.value.field == "current_password"
    assert len(_events(database, "delete_own_failed")) == 1
    assert services.own_account.delete_account(ada, STRONG_PASSWORD) == "ada@example.com"
    with database.transaction() as session:
        assert session.get(User, ada) is None
        assert session.scalar(select(func.count(RecoveryCode.id))) == 0
    (event,) = _events(database, "delete_own")
    assert (event.actor, event.target, event.target_id, event.new_value) == (
        "ada@example.com",
        "ada@example.com",
        None,  # the account is gone; its id stays in the words
        f"deleted own account #{ada}",
    )
    history = services.admin.audit_log(admin)
    assert str(describe_event(next(e for e in history if e.action == "delete_own"))) == (
        f"Deleted own account #{ada}, was ada@example.com"
    )
    with pytest.raises(InvalidCredentialsError):
        services.accounts.authenticate("ada@example.com", STRONG_PASSWORD)


def test_the_last_active_admin_cannot_delete_their_account(
    services: Services, database: Database, admin: Actor
) -> None:
    assert admin.user_id is not None
    with pytest.raises(LastAdminSelfDeleteError) as refused:
        services.own_account.delete_account(admin.user_id, STRONG_PASSWORD)
    assert "last active administrator" in str(refused.value)
    # A second administrator, deactivated, does not count.
    other = services.admin.create_user(admin, "other@example.com", STRONG_PASSWORD, "admin")
    services.admin.set_active(admin, other.email, False)
    with pytest.raises(LastAdminSelfDeleteError):
        services.own_account.delete_account(admin.user_id, STRONG_PASSWORD)
    services.admin.set_active(admin, other.email, True)
    assert services.own_account.delete_account(admin.user_id, STRONG_PASSWORD) == "root@example.com"
    with database.transaction() as session:
        assert count_active_admins(session) == 1


def test_the_last_admin_check_runs_under_the_guard(
    services: Services, database: Database, admin: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The early check (before the hash) is a convenience: the one that counts is made in the deleting
    transaction, after claiming the admins guard."""
    from desktop_auth.services import own_account

    assert admin.user_id is not None
    monkeypatch.setattr(own_account.OwnAccountService, "_check_not_last_admin", lambda self, user_id: None)
    with pytest.raises(LastAdminSelfDeleteError):
        services.own_account.delete_account(admin.user_id, STRONG_PASSWORD)
    with database.transaction() as session:
        assert count_active_admins(session) == 1


def test_two_last_admins_deleting_themselves_at_once_one_is_refused(
    services: Services, database: Database, admin: Actor
) -> None:
    assert admin.user_id is not None
    survivor: int = admin.user_id
    for round_ in range(4):
        other = services.admin.create_user(
            Actor.operator(), f"other{round_}@example.com", STRONG_PASSWORD, "admin"
        )
        ids = [survivor, other.id]
        outcomes = _race(*(lambda i=i: services.own_account.delete_account(i, STRONG_PASSWORD) for i in ids))
        deleted = [o for o in outcomes if not isinstance(o, Exception)]
        refused = [o for o in outcomes if isinstance(o, Exception)]
        assert len(deleted) == 1, outcomes
        assert [type(o) for o in refused] == [LastAdminSelfDeleteError], refused
        with database.transaction() as session:
            assert count_active_admins(session) == 1
            left = session.scalar(select(User.id).where(User.id.in_(ids)))
            assert left is not None
            survivor = left


def test_a_huge_current_password_is_checked_as_cheaply_as_any(services: Services, database: Database) -> None:
    """A 20 MB "password" costs one ordinary verification (only one character past the policy's maximum is
    hashed) and is simply wrong."""
    import time

    (ada,) = register_accounts(services, "ada@example.com")
    started = time.monotonic()
    with pytest.raises(InvalidInputError) as wrong:
        services.own_account.change_email(ada, STRONG_PASSWORD + "x" * 20_000_000, "new@example.com")
    assert wrong.value.field == "current_password"
    with pytest.raises(InvalidInputError):
        services.own_account.delete_account(ada, "\u200b" * 5_000_000)
    assert time.monotonic() - started < 5
    with database.transaction() as session:
        assert session.get(User, ada) is not None


def test_erasing_a_deleted_persons_addresses_leaves_none_in_the_history(
    services: Services, database: Database, admin: Actor
) -> None:
    """Someone changes their address, then deletes the account: the operator's erase of each address the
    account had (services.lifecycle.erase_address) leaves neither anywhere in the history, the change of
    address included, and the words still read."""
    (ada,) = register_accounts(services, "ada@example.com")
    services.own_account.change_email(ada, STRONG_PASSWORD, "ada.l@example.com")
    services.own_account.delete_account(ada, STRONG_PASSWORD)
    operator = Actor.operator("operator:test")
    services.lifecycle.erase_address(operator, "ada.l@example.com")
    services.lifecycle.erase_address(operator, "ada@example.com")
    with database.transaction() as session:
        for event in session.scalars(select(AuditEvent)):
            columns = (event.actor, event.target, event.old_value, event.new_value, event.detail)
            assert not any("ada" in (value or "") for value in columns), (event.action, columns)
    words = [str(describe_event(e)) for e in services.admin.audit_log(admin) if e.action == "email_change"]
    assert words == [f"Changed email from erased address to deleted own account #{ada}"]
