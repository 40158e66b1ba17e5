"""The audit names an administrator by the address their account has when they act, not by the one their open
window was given at sign-in: an administrator renamed elsewhere (by an operator, or by themselves on another
computer) keeps acting through an ``Actor`` with the old address until their next session check or sign-in."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from desktop_auth.services import Services
from desktop_auth.services.records import Actor, BulkSelection, UserQuery
from tests.conftest import STRONG_PASSWORD, register_accounts

NEW = "chief@example.com"


def _bulk(services: Services, stale: Actor) -> None:
    staged = services.bulk.stage(stale, BulkSelection(UserQuery(search="member")), role="admin")
    services.bulk.apply(stale, staged.id)


def _delete(services: Services, stale: Actor) -> None:
    (user_id,) = register_accounts(services, "gone@example.com")
    services.lifecycle.delete_users(stale, [user_id])


ACTIONS: dict[str, tuple[Callable[[Services, Actor], object], str]] = {
    # one row per target, written with the caller's actor (audit.record_many)
    "add a role": (lambda services, stale: services.roles.add_role(stale, "auditor"), "role_add"),
    # written by the database (INSERT ... SELECT, audit.record_from_query), chunk by chunk
    "a bulk role change": (_bulk, "role"),
    # the rows a deletion writes itself
    "delete an account": (_delete, "delete"),
}


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_an_administrator_renamed_meanwhile_is_audited_under_the_new_address(
    services: Services, admin: Actor, action: str
) -> None:
    register_accounts(services, "member@example.com")
    services.own_account.rename(Actor.operator("ops"), admin.label, NEW)
    stale = admin  # what the administrator's open window still holds
    run, audited_as = ACTIONS[action]
    run(services, stale)
    rows = [event for event in services.admin.audit_log(stale, limit=100) if event.action == audited_as]
    assert rows, f"no {audited_as!r} row"
    assert {event.actor for event in rows} == {NEW}


CREATORS: dict[str, Callable[[Services, Actor], object]] = {
    "with a temporary password": lambda services, stale: services.lifecycle.create_user(
        stale, "made@example.com"
    ),
    "with a password": lambda services, stale: services.admin.create_user(
        stale, "made@example.com", STRONG_PASSWORD
    ),
}


@pytest.mark.parametrize("how", sorted(CREATORS))
def test_an_account_made_by_a_renamed_administrator_says_who_made_it_by_the_new_address(
    services: Services, admin: Actor, how: str
) -> None:
    services.own_account.rename(Actor.operator("ops"), admin.label, NEW)
    CREATORS[how](services, admin)
    (created,) = [e for e in services.admin.audit_log(admin, limit=100) if e.target == "made@example.com"]
    assert created.actor == NEW
    assert created.detail is not None
    assert NEW in created.detail
    assert admin.label not in created.detail


def test_an_operator_keeps_their_own_label(services: Services, admin: Actor) -> None:
    operator = Actor.operator("night-shift")
    services.roles.add_role(operator, "auditor")
    (added,) = [e for e in services.admin.audit_log(admin, limit=100) if e.action == "role_add"]
    assert added.actor == operator.label


def test_an_import_by_a_renamed_administrator_names_the_new_address(services: Services, admin: Actor) -> None:
    preview = services.user_import.preview(admin, b"email,role\nann@example.com,user\n")
    services.own_account.rename(Actor.operator("ops"), admin.label, NEW)
    services.user_import.import_users(admin, preview)
    events = services.admin.audit_log(admin, limit=100)
    imported = [e for e in events if e.action == "user_import" or e.target == "ann@example.com"]
    assert {e.action for e in imported} == {"create", "user_import"}
    assert {e.actor for e in imported} == {NEW}
    assert all(admin.label not in (e.detail or "") + e.target for e in imported)


def test_an_administrator_renaming_themselves_is_audited_under_the_address_they_acted_with(
    services: Services, admin: Actor
) -> None:
    services.own_account.rename(admin, admin.label, NEW)
    (event,) = [
        e
        for e in services.admin.audit_log(Actor(admin.user_id, NEW), limit=100)
        if e.action == "email_change"
    ]
    assert (event.actor, event.target) == (admin.label, NEW)
