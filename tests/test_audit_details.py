"""The History tab's Detail and "Account / item" columns: every note and every target the services write to
the audit log reads as a translatable message whose English is the stored text word for word (the CSV export
keeps them as stored); addresses and role names (data) are shown as they are."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from desktop_auth.errors import InvalidInputError
from desktop_auth.messages import Message, verbatim
from desktop_auth.security import totp
from desktop_auth.services import Services, bulk
from desktop_auth.services.app_settings import setting_labels
from desktop_auth.services.audit import SYSTEM_ACTOR
from desktop_auth.services.audit_words import (
    describe_actor,
    describe_detail,
    describe_name,
    describe_target,
)
from desktop_auth.services.errors import InvalidCredentialsError, SecondFactorRequiredError
from desktop_auth.services.records import Actor, AuditRecord, BulkSelection, UserQuery
from tests.conftest import OTHER_PASSWORD, STRONG_PASSWORD, FakeClock

NEW_PASSWORD = "copper-meadow-violin-42-harbor"


def _details(services: Services, admin: Actor) -> set[str]:
    return {event.detail for event in services.admin.audit_log(admin, limit=1000) if event.detail}


def _assert_ours(detail: str) -> None:
    described = describe_detail(detail)
    assert described is not None
    assert described.context == "Audit", f"{detail!r} is shown as stored"
    assert str(described) == detail


@pytest.mark.parametrize("backend", ["sqlite"])
def test_every_note_the_services_write_is_a_message(
    services: Services, admin: Actor, clock: FakeClock, backend: str
) -> None:
    # accounts: self-registration (the first administrator by the fixture), by an administrator, with a
    # temporary password, by import
    ada = services.accounts.register("ada@example.com", STRONG_PASSWORD)
    services.admin.create_user(admin, "cy@example.com", STRONG_PASSWORD)
    services.lifecycle.create_user(admin, "late@example.com")
    preview = services.user_import.preview(admin, b"email,role\nann@example.com,user\nben@example.com,user\n")
    services.user_import.import_users(admin, preview)

    # wrong current password; a lockout by failed sign-ins
    with pytest.raises(InvalidInputError):
        services.accounts.change_password(ada.id, OTHER_PASSWORD, NEW_PASSWORD)
    services.accounts.register("eve@example.com", STRONG_PASSWORD)
    for _ in range(services.app_settings.get().lockout_threshold):
        with pytest.raises(InvalidCredentialsError):
            services.accounts.authenticate("eve@example.com", OTHER_PASSWORD)

    # two-factor: a reused code, a wrong password turning it off, a wrong and a right recovery code at
    # sign-in, recovery codes made and replaced, a password reset with one
    enrollment = services.two_factor.start_enrollment(ada.id)

    def code() -> str:
        return totp.code_for(enrollment.secret, totp.step_at(clock.now))

    services.two_factor.enable(ada.id, STRONG_PASSWORD, enrollment.secret, code())
    with pytest.raises(InvalidInputError):
        services.two_factor.verify_code(ada.id, code())  # spent by enrolling
    with pytest.raises(InvalidInputError):
        services.two_factor.disable(ada.id, OTHER_PASSWORD, code())
    clock.advance(seconds=totp.STEP_SECONDS)
    services.recovery.generate(ada.id, STRONG_PASSWORD)
    codes = services.recovery.generate(ada.id, STRONG_PASSWORD).codes  # replaces the first batch
    with pytest.raises(SecondFactorRequiredError) as raised:
        services.accounts.authenticate("ada@example.com", STRONG_PASSWORD)
    with pytest.raises(InvalidInputError):
        services.accounts.complete_sign_in(raised.value.challenge, "aaaa-bbbb-cccc-dddd")
    with pytest.raises(SecondFactorRequiredError) as raised:
        services.accounts.authenticate("ada@example.com", STRONG_PASSWORD)
    services.accounts.complete_sign_in(raised.value.challenge, codes[0])
    services.recovery.reset_with_code("ada@example.com", codes[1], NEW_PASSWORD, code())

    # a new address; a role renamed under an unfinished change of many users
    services.own_account.change_email(ada.id, NEW_PASSWORD, "ada.new@example.com")
    services.roles.add_role(admin, "auditor")
    services.bulk.stage(admin, BulkSelection(UserQuery(search="ann@", role="user")), role="auditor")
    services.roles.rename_role(admin, "auditor", "reviewer")

    # a deletion, then its address erased (and an address no account holds any more)
    cy = services.admin.get_user(admin, "cy@example.com").id
    services.lifecycle.delete_users(admin, [cy])
    before_erasing = _details(services, admin)
    services.lifecycle.erase_address(admin, "cy@example.com")
    services.lifecycle.erase_address(admin, "ada@example.com")
    details = before_erasing | _details(services, admin)

    expected = {
        "first administrator",
        "self-registration",
        "created by root@example.com",
        "created by root@example.com with a temporary password",
        "imported from a CSV file by root@example.com",
        "imported 2 accounts from a CSV file",
        "wrong current password",
        "wrong or reused code",
        "wrong password or code",
        "wrong recovery code",
        "replaced the earlier codes",
        "changed email from ada@example.com to ada.new@example.com",
        "changed email from erased address to ada.new@example.com",
        "1 unfinished change of many users follow",
        f"deleted account #{cy}, was cy@example.com",
        f"deleted account #{cy}, address erased",
    }
    assert expected <= details, expected - details
    prefixes = (
        "failed attempts; lockout #1",
        "signed in with a recovery code instead of the authenticator (",
        "reset own password with a recovery code (",
        f"address of deleted account #{cy} erased from ",
        "address of erased address erased from ",
    )
    for part in prefixes:
        assert any(part in detail for detail in details), part
    for detail in sorted(details):
        _assert_ours(detail)


@pytest.mark.parametrize(
    "detail",
    [
        "first administrator",
        "self-registration",
        "created by root@example.com",
        "created by operator:alice",
        "created by deleted account #7",
        "created by root@example.com with a temporary password",
        "imported from a CSV file by erased address",
        "imported 1 accounts from a CSV file",
        "imported 12,345 accounts from a CSV file",
        "wrong current password",
        "wrong password or code",
        "wrong or reused code",
        "wrong recovery code",
        "5 failed attempts; lockout #1",
        "1 failed attempts; lockout #12",
        "changed email from a@example.com to b@example.com",
        "changed email from deleted own account #3 to b@example.com",
        "replaced the earlier codes",
        "reset own password with a recovery code (0 left)",
        "reset own password with a recovery code (9 left)",
        "signed in with a recovery code instead of the authenticator (1 left)",
        "address of deleted account #42 erased from 1 audit entries",
        "address of erased address erased from 17 audit entries",
        "deleted account #42, was ada@example.com",
        "deleted account #42, was deleted account #50",
        "deleted account #42, address erased",
        "1 unfinished change of many users follow",
        "3 unfinished changes of many users follow",
    ],
)
def test_each_kind_of_note_reads_back(detail: str) -> None:
    _assert_ours(detail)


def test_numbers_and_names_are_parameters() -> None:
    lockout = describe_detail("5 failed attempts; lockout #2")
    assert lockout is not None
    assert (lockout.n, dict(lockout.params)) == (5, {"lockout": 2})  # numbers: shown in the language's digits
    erased = describe_detail("address of deleted account #42 erased from 1,234 audit entries")
    assert erased is not None
    assert erased.n == 1234
    label = dict(erased.params)["label"]
    assert isinstance(label, Message)
    assert (label.source, dict(label.params)) == ("deleted account #{number}", {"number": "42"})
    changed = describe_detail("changed email from a@example.com to b@example.com")
    assert changed is not None
    assert dict(changed.params) == {"old": "a@example.com", "new": "b@example.com"}
    # a count written without separators still reads (its English then has them)
    assert str(describe_detail("address of erased address erased from 1234 audit entries")) == (
        "address of erased address erased from 1,234 audit entries"
    )


@pytest.mark.parametrize(
    "detail",
    [
        "",
        "something an older version wrote",
        "created by",
        "changed email from a to b to c",  # cannot tell the addresses apart
        "1 unfinished changes of many users follow",  # not what the services write
        "Wrong current password",
        "imported many accounts from a CSV file",
    ],
)
def test_an_unknown_note_is_shown_as_stored(detail: str) -> None:
    assert describe_detail(detail) == verbatim(detail)


def test_no_note_is_none() -> None:
    assert describe_detail(None) is None


def test_actors() -> None:
    assert describe_actor(SYSTEM_ACTOR).context == "Audit"
    assert str(describe_actor(SYSTEM_ACTOR)) == "system"
    assert describe_actor("ada@example.com") == verbatim("ada@example.com")
    assert describe_actor("operator:alice") == verbatim("operator:alice")
    deleted = describe_actor("deleted own account #9")
    assert (deleted.context, str(deleted)) == ("Audit", "deleted own account #9")
    assert str(describe_actor("erased address")) == "erased address"
    assert describe_name("ada@example.com") == "ada@example.com"


# -- the "Account / item" column ---------------------------------------------------------------------------


BULK_ACTIONS = ("bulk_change", "bulk_change_done", "bulk_change_cancelled")


def _event(action: str, target: str) -> AuditRecord:
    return AuditRecord(1, datetime.now(UTC), "root@example.com", action, target, None, None, None)


def _assert_target_ours(event: AuditRecord) -> None:
    described = describe_target(event)
    assert described.context, f"{event.action}: {event.target!r} is shown as stored"
    assert str(described) == event.target


def _assert_target_as_stored(event: AuditRecord) -> None:
    assert describe_target(event) == verbatim(event.target), (event.action, event.target)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_every_target_the_services_write_reads_back(
    services: Services, admin: Actor, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    # accounts (registered, created, imported), a lockout and an unlock
    ada = services.accounts.register("ada@example.com", STRONG_PASSWORD)
    services.admin.create_user(admin, "cy@example.com", STRONG_PASSWORD)
    dee = services.accounts.register("dee@example.com", STRONG_PASSWORD)
    preview = services.user_import.preview(admin, b"email,role\nann@example.com,user\nben@example.com,user\n")
    services.user_import.import_users(admin, preview)
    for _ in range(services.app_settings.get().lockout_threshold):
        with pytest.raises(InvalidCredentialsError):
            services.accounts.authenticate("ada@example.com", OTHER_PASSWORD)
    services.admin.unlock(admin, ["ada@example.com"])
    services.admin.reset_password(admin, [ada.id])

    # every shared setting (requiring two-factor sign-in of administrators needs the administrator's own)
    enrollment = services.two_factor.start_enrollment(admin.user_id or 0)
    services.two_factor.enable(
        admin.user_id or 0,
        STRONG_PASSWORD,
        enrollment.secret,
        totp.code_for(enrollment.secret, totp.step_at(clock.now)),
    )
    current = services.app_settings.get()
    services.app_settings.update(
        admin,
        allow_self_registration=not current.allow_self_registration,
        lockout_threshold=current.lockout_threshold + 1,
        lockout_base_seconds=current.lockout_base_seconds + 1,
        lockout_max_seconds=current.lockout_max_seconds + 1,
        idle_timeout_minutes=current.idle_timeout_minutes + 1,
        temporary_password_hours=current.temporary_password_hours + 1,
        require_two_factor_for_admins=True,
    )

    # roles: added, described, renamed, removed
    services.roles.add_role(admin, "auditor")
    services.roles.describe_role(admin, "auditor", "Reads the history")
    services.roles.rename_role(admin, "auditor", "reviewer")
    services.roles.remove_role(admin, "reviewer")

    # changes of many users: one finished (of one user: "1 users", as stored), one stopped after a chunk
    monkeypatch.setattr(bulk, "BULK_TRANSACTION_ROWS", 1)
    one = services.bulk.stage(admin, BulkSelection(UserQuery(search="ann@", role="user")), active=False)
    services.bulk.apply(admin, one.id)
    two = services.bulk.stage(
        admin, BulkSelection(UserQuery(search="example.com", role="user")), role="admin"
    )
    services.bulk.apply(admin, two.id, should_stop=lambda: services.bulk.status(admin, two.id).done > 0)

    # deletions (by an administrator, of one's own), then their addresses erased, and an address that no
    # deleted account held
    cy = services.admin.get_user(admin, "cy@example.com").id
    services.lifecycle.delete_users(admin, [cy])
    services.own_account.delete_account(dee.id, STRONG_PASSWORD)
    events = services.admin.audit_log(admin, limit=1000)
    services.lifecycle.erase_address(admin, "cy@example.com")
    services.lifecycle.erase_address(admin, "dee@example.com")
    services.lifecycle.erase_address(admin, "nobody@example.com")
    events += services.admin.audit_log(admin, limit=1000)

    targets = {(event.action, event.target) for event in events}
    english = {
        *(("setting", str(label)) for label in setting_labels().values()),
        ("bulk_change", f"1 users (change #{one.id})"),
        ("bulk_change_done", f"1 users (change #{one.id})"),
        ("bulk_change", f"{two.total} users (change #{two.id})"),
        ("bulk_change_cancelled", f"{two.total} users (change #{two.id})"),
        ("delete", f"deleted account #{cy}"),
        ("delete_own", f"deleted own account #{dee.id}"),
        ("create", f"deleted account #{cy}"),
        ("create", f"deleted own account #{dee.id}"),
        ("audit_erase", f"deleted account #{cy}"),
        ("audit_erase", f"deleted own account #{dee.id}"),
        ("audit_erase", "erased address"),
    }
    assert english <= targets, english - targets
    data = {
        ("create", "ada@example.com"),
        ("create", "ann@example.com"),
        ("user_import", "root@example.com"),
        ("lockout", "ada@example.com"),
        ("unlock", "ada@example.com"),
        ("password_reset", "ada@example.com"),
        ("two_factor_enable", "root@example.com"),
        ("delete", "cy@example.com"),
        ("delete_own", "dee@example.com"),
        ("deactivate", "ann@example.com"),
        ("role_add", "auditor"),
        ("role_describe", "auditor"),
        ("role_rename", "reviewer"),
        ("role_remove", "reviewer"),
    }
    assert data <= targets, data - targets
    for event in events:
        # English: a setting's name, a change of many users, the label an erased address left (on every
        # entry that named the address); the rest is data
        if event.action in ("setting", *BULK_ACTIONS) or event.target.startswith(("deleted ", "erased ")):
            _assert_target_ours(event)
        else:
            assert "@" in event.target or event.action.startswith("role_"), event
            _assert_target_as_stored(event)


@pytest.mark.parametrize(
    ("action", "target"),
    [
        *(("setting", str(label)) for label in setting_labels().values()),
        ("bulk_change", "1 users (change #1)"),
        ("bulk_change_done", "12,345 users (change #1234)"),
        ("bulk_change_cancelled", "3 users (change #7)"),
        ("delete", "deleted account #42"),
        ("delete_own", "deleted own account #42"),
        ("email_change", "erased address"),
        ("audit_erase", "deleted account #42"),
    ],
)
def test_each_kind_of_target_reads_back(action: str, target: str) -> None:
    _assert_target_ours(_event(action, target))


def test_a_change_of_many_users_counts_in_a_parameter() -> None:
    described = describe_target(_event("bulk_change", "12,345 users (change #1234)"))
    assert (described.n, dict(described.params)) == (12345, {"change": "1234"})  # its number as stored


@pytest.mark.parametrize(
    ("action", "target"),
    [
        ("create", "ada@example.com"),
        ("user_import", "operator:alice"),
        ("role_add", "auditor"),
        ("role_rename", "deleted"),
        ("setting", "A setting an older version had"),
        ("setting", "ada@example.com"),
        ("bulk_change", "some users (change #1)"),
        ("bulk_change", "1 user (change #1)"),
        ("delete", "deleted account #x"),
        ("role_merge", "auditor"),  # an action of a newer version
        ("create", "Self-registration"),  # a setting's name only for a setting's change
        ("create", "3 users (change #1)"),
    ],
)
def test_a_target_of_data_or_unknown_is_shown_as_stored(action: str, target: str) -> None:
    _assert_target_as_stored(_event(action, target))
