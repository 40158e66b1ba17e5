"""Administration rules: authorization in the service, last-admin guard, stale edits, bulk changes, roles."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from desktop_auth.db.engine import Database
from desktop_auth.errors import InvalidInputError
from desktop_auth.models import AuditEvent, User
from desktop_auth.services import Services
from desktop_auth.services.errors import (
    AccountLockedError,
    LastAdminError,
    NotFoundError,
    PermissionDeniedError,
    RoleExistsError,
    RoleInUseError,
    RoleProtectedError,
    SelfDeactivationError,
    StaleEditError,
)
from desktop_auth.services.records import Actor, BulkSelection, SortKey, UserEdit, UserQuery
from tests.conftest import OTHER_PASSWORD, STRONG_PASSWORD, register_accounts


def _snapshot(database: Database) -> list[tuple[object, ...]]:
    with database.transaction() as session:
        rows = session.execute(
            select(User.id, User.email, User.role_id, User.active, User.version).order_by(User.id)
        )
        return [tuple(row) for row in rows]


def test_non_admin_is_refused_by_every_admin_operation(
    services: Services, admin: Actor, database: Database
) -> None:
    (user_id,) = register_accounts(services, "mallory@example.com")
    mallory = Actor(user_id, "mallory@example.com")
    before = _snapshot(database)
    refused = [
        lambda: services.admin.list_users(mallory),
        lambda: services.admin.count_users(mallory),
        lambda: services.admin.set_role(mallory, "mallory@example.com", "admin"),
        lambda: services.admin.apply_edits(mallory, [UserEdit(admin.user_id or 0, None, active=False)]),
        lambda: services.admin.unlock(mallory, ["root@example.com"]),
        lambda: services.admin.reset_password(mallory, [admin.user_id or 0]),
        lambda: services.admin.set_temporary_password(mallory, admin.user_id or 0, OTHER_PASSWORD),
        lambda: services.admin.create_user(mallory, "eve@example.com", STRONG_PASSWORD, "admin"),
        lambda: services.admin.audit_log(mallory),
        lambda: services.roles.add_role(mallory, "auditor"),
        lambda: services.app_settings.set_self_registration(mallory, False),
    ]
    for operation in refused:
        with pytest.raises(PermissionDeniedError):
            operation()
    assert _snapshot(database) == before


def test_deactivated_or_demoted_admin_loses_powers(services: Services, admin: Actor) -> None:
    other = services.admin.create_user(admin, "second@example.com", STRONG_PASSWORD, "admin")
    second = Actor(other.id, other.email)
    services.admin.set_role(admin, "second@example.com", "user")
    with pytest.raises(PermissionDeniedError):
        services.admin.list_users(second)


def test_list_filter_sort_and_paginate(services: Services, admin: Actor) -> None:
    register_accounts(
        services, "carol@example.com", "alice@example.org", "bob@example.com", "dave@sample.net"
    )
    services.admin.set_role(admin, "bob@example.com", "admin")
    everyone = services.admin.list_users(admin)
    assert [u.email for u in everyone] == sorted(u.email for u in everyone)
    assert services.admin.count_users(admin) == 5

    by_text = services.admin.list_users(admin, UserQuery(search="EXAMPLE.COM"))
    assert {u.email for u in by_text} == {"carol@example.com", "bob@example.com", "root@example.com"}
    prefix = services.admin.list_users(admin, UserQuery(search="b", prefix=True))
    assert [u.email for u in prefix] == ["bob@example.com"]
    admins = services.admin.list_users(admin, UserQuery(role="admin"))
    assert {u.email for u in admins} == {"bob@example.com", "root@example.com"}
    assert services.admin.count_users(admin, UserQuery(role="admin", search="root")) == 1

    newest_first = services.admin.list_users(admin, UserQuery(sort=SortKey.CREATED, descending=True))
    assert newest_first[0].email == "dave@sample.net"
    page1 = services.admin.list_users(admin, offset=0, limit=2)
    page2 = services.admin.list_users(admin, offset=2, limit=2)
    page3 = services.admin.list_users(admin, offset=4, limit=2)
    assert [u.email for u in page1 + page2 + page3] == [u.email for u in everyone]


def test_like_wildcards_in_search_are_literal(services: Services, admin: Actor) -> None:
    register_accounts(services, "a_b@example.com", "axb@example.com", "percent%x@example.com")
    assert [u.email for u in services.admin.list_users(admin, UserQuery(search="a_b"))] == ["a_b@example.com"]
    assert [u.email for u in services.admin.list_users(admin, UserQuery(search="%"))] == [
        "percent%x@example.com"
    ]


def test_set_role_audits_old_and_new_by_name(services: Services, admin: Actor, database: Database) -> None:
    services.roles.add_role(admin, "Auditor")
    (_user_id,) = register_accounts(services, "ken@example.com")
    before = services.admin.get_user(admin, "ken@example.com")
    after = services.admin.set_role(admin, "ken@example.com", "auditor")
    assert after.role == "auditor"
    assert after.version == before.version + 1
    assert after.updated_at > before.updated_at
    events = services.admin.audit_log(admin, search="ken@")
    assert next((e.action, e.actor, e.old_value, e.new_value) for e in events) == (
        "role",
        "root@example.com",
        "user",
        "auditor",
    )
    with pytest.raises(NotFoundError):
        services.admin.set_role(admin, "ken@example.com", "no-such-role")


def test_stale_edit_is_refused_and_nothing_is_saved(
    services: Services, admin: Actor, database: Database
) -> None:
    ids = register_accounts(services, "lena@example.com", "mike@example.com")
    seen = {u.id: u.version for u in services.admin.list_users(admin)}
    # Another administrator (here: the CLI operator) changes Mike meanwhile.
    services.admin.set_active(Actor.operator(), "mike@example.com", False)
    before = _snapshot(database)
    edits = [UserEdit(uid, seen[uid], role="admin") for uid in ids]
    with pytest.raises(StaleEditError) as caught:
        services.admin.apply_edits(admin, edits)
    assert caught.value.conflicts == {ids[1]: "mike@example.com"}
    assert "mike@example.com" in str(caught.value)
    assert _snapshot(database) == before, "Lena's edit is not applied either: one transaction"
    fresh = {u.id: u.version for u in services.admin.list_users(admin)}
    applied = services.admin.apply_edits(admin, [UserEdit(uid, fresh[uid], role="admin") for uid in ids])
    assert {u.role for u in applied} == {"admin"}


def test_last_admin_cannot_be_demoted_or_deactivated(
    services: Services, admin: Actor, database: Database
) -> None:
    before = _snapshot(database)
    with pytest.raises(LastAdminError):
        services.admin.set_role(admin, "root@example.com", "user")
    with pytest.raises(LastAdminError):
        services.admin.set_active(Actor.operator(), "root@example.com", False)
    with pytest.raises(SelfDeactivationError):
        services.admin.set_active(admin, "root@example.com", False)
    assert _snapshot(database) == before
    # With a second admin, demoting yourself is allowed (the GUI asks for confirmation first).
    services.admin.create_user(admin, "deputy@example.com", STRONG_PASSWORD, "admin")
    assert services.admin.set_role(admin, "root@example.com", "user").role == "user"


def test_bulk_change_that_would_remove_every_admin_is_refused(services: Services, admin: Actor) -> None:
    deputy = services.admin.create_user(admin, "deputy@example.com", STRONG_PASSWORD, "admin")
    with pytest.raises(LastAdminError):
        services.admin.bulk_set_role(Actor.operator(), {admin.user_id or 0: None, deputy.id: None}, "user")


def test_bulk_set_role_many_users_in_one_transaction(
    services: Services, admin: Actor, database: Database
) -> None:
    from desktop_auth.models import Role
    from desktop_auth.services.accounts import insert_account

    with database.transaction(write=True) as session:
        role = session.scalars(select(Role).where(Role.name == "user")).one()
        for n in range(2500):  # more than one IN-list chunk
            insert_account(session, services.context, f"bulk{n:05d}@example.com", "x", role, None, "test")
    versions = {
        u.id: u.version for u in services.admin.list_users(admin, UserQuery(search="bulk"), limit=1000)
    }
    offset = 1000
    while len(versions) < 2500:
        page = services.admin.list_users(admin, UserQuery(search="bulk"), offset=offset, limit=1000)
        versions.update({u.id: u.version for u in page})
        offset += 1000
    services.roles.add_role(admin, "staff")
    assert services.admin.bulk_set_role(admin, versions, "staff") == 2500
    assert services.admin.count_users(admin, UserQuery(role="staff")) == 2500
    staff = services.admin.list_users(admin, UserQuery(role="staff"), limit=1000)
    assert all(u.version == versions[u.id] + 1 for u in staff)
    with database.transaction() as session:
        audited = session.scalars(select(AuditEvent.target).where(AuditEvent.action == "role")).all()
    assert len(audited) == 2500


def test_duplicate_ids_in_one_save_are_refused(services: Services, admin: Actor) -> None:
    (uid,) = register_accounts(services, "nina@example.com")
    with pytest.raises(InvalidInputError):
        services.admin.apply_edits(
            admin, [UserEdit(uid, None, role="admin"), UserEdit(uid, None, active=False)]
        )


def test_unlock_after_lockout(make_services, admin: Actor) -> None:
    services = make_services(lockout_threshold=3)
    services.accounts.register("olga@example.com", STRONG_PASSWORD)
    for _ in range(3):
        with pytest.raises(Exception, match="incorrect"):
            services.accounts.authenticate("olga@example.com", OTHER_PASSWORD)
    with pytest.raises(AccountLockedError):
        services.accounts.authenticate("olga@example.com", STRONG_PASSWORD)
    assert services.admin.get_user(admin, "olga@example.com").locked_until is not None
    assert services.admin.unlock(admin, ["Olga@example.com"]) == 1
    assert services.admin.get_user(admin, "olga@example.com").locked_until is None
    assert services.accounts.authenticate("olga@example.com", STRONG_PASSWORD).email == "olga@example.com"
    actions = [e.action for e in services.admin.audit_log(admin, search="olga@")]
    assert "lockout" in actions
    assert "unlock" in actions


def test_unlock_a_selection_said_as_a_query(make_services, admin: Actor) -> None:
    """Unlock for "every user matching the filter, except these" (or rows of an order): only the selected
    addresses with failures are unlocked, without listing the users."""
    services = make_services(lockout_threshold=2)
    emails = ["a1@example.com", "a2@example.com", "a3@example.com", "b1@example.org"]
    ids = dict(zip(emails, register_accounts(services, *emails), strict=True))
    for email in emails:
        for _ in range(2):
            with pytest.raises(Exception, match="incorrect"):
                services.accounts.authenticate(email, OTHER_PASSWORD)

    def locked() -> set[str]:
        return {e for e in emails if services.admin.get_user(admin, e).locked_until is not None}

    assert locked() == set(emails)
    dot_com = UserQuery(search="@example.com")
    except_a2 = BulkSelection(dot_com, excluded=frozenset({ids["a2@example.com"]}))
    assert services.admin.unlock_selection(admin, except_a2) == 2
    assert locked() == {"a2@example.com", "b1@example.org"}
    second_row = BulkSelection(UserQuery(search="@example"), runs=((1, 2),))  # a1, [a2], a3, b1, root
    assert services.admin.unlock_selection(admin, second_row) == 1
    assert locked() == {"b1@example.org"}
    mallory = Actor(ids["a1@example.com"], "a1@example.com")
    with pytest.raises(PermissionDeniedError):
        services.admin.unlock_selection(mallory, BulkSelection(UserQuery()))
    assert locked() == {"b1@example.org"}


def test_reset_password_forces_a_change(services: Services, admin: Actor) -> None:
    (uid,) = register_accounts(services, "paul@example.com")
    temporary = services.admin.reset_password(admin, [uid]).entries[0].password
    signed_in = services.accounts.authenticate("paul@example.com", temporary)
    assert signed_in.must_change_password
    services.accounts.change_password(uid, temporary, "maple-harbor-velvet-19-comet")
    assert not services.accounts.authenticate(
        "paul@example.com", "maple-harbor-velvet-19-comet"
    ).must_change_password


def test_roles_add_list_remove(services: Services, admin: Actor) -> None:
    added = services.roles.add_role(admin, "  Auditor ")
    assert added.name == "auditor"
    with pytest.raises(RoleExistsError):
        services.roles.add_role(admin, "AUDITOR")
    with pytest.raises(InvalidInputError):
        services.roles.add_role(admin, "no spaces allowed")
    with pytest.raises(InvalidInputError):
        services.roles.add_role(admin, "")
    register_accounts(services, "quinn@example.com")
    services.admin.set_role(admin, "quinn@example.com", "auditor")
    counts = {role.name: role.user_count for role in services.roles.list_roles()}
    assert counts == {"admin": 1, "auditor": 1, "user": 0}
    with pytest.raises(RoleInUseError, match="1 account"):
        services.roles.remove_role(admin, "auditor")
    for protected in ("admin", "user", "ADMIN"):
        with pytest.raises(RoleProtectedError):
            services.roles.remove_role(admin, protected)
    services.admin.set_role(admin, "quinn@example.com", "user")
    services.roles.remove_role(admin, "auditor")
    assert [role.name for role in services.roles.list_roles()] == ["admin", "user"]


def test_shared_settings_are_validated_audited_and_followed(make_services, clock) -> None:
    services = make_services(lockout_threshold=5)
    root = services.accounts.create_first_admin("root@example.com", STRONG_PASSWORD)
    actor = Actor(root.id, root.email)
    assert services.app_settings.get().lockout_threshold == 5, "the client's configuration until set"
    updated = services.app_settings.update(actor, lockout_threshold=2, idle_timeout_minutes=5)
    assert (updated.lockout_threshold, updated.idle_timeout_minutes) == (2, 5)
    with pytest.raises(InvalidInputError):
        services.app_settings.update(actor, lockout_threshold=0)
    with pytest.raises(InvalidInputError):
        services.app_settings.update(actor, lockout_base_seconds=600, lockout_max_seconds=60)
    with pytest.raises(PermissionDeniedError):
        services.app_settings.update(
            Actor(services.accounts.register("v@example.com", STRONG_PASSWORD).id, "v"), lockout_threshold=50
        )
    # Another client with a different local configuration follows the database.
    other = make_services(lockout_threshold=50)
    assert other.app_settings.get().lockout_threshold == 2
    for _ in range(2):
        with pytest.raises(Exception, match="incorrect"):
            other.accounts.authenticate("v@example.com", OTHER_PASSWORD)
    with pytest.raises(AccountLockedError):
        other.accounts.authenticate("v@example.com", STRONG_PASSWORD)
    settings_events = [e for e in services.admin.audit_log(actor) if e.action == "setting"]
    assert {(e.target, e.old_value, e.new_value) for e in settings_events} >= {
        ("Failed sign-ins before a lockout", "5", "2"),
        ("Idle sign-out (minutes)", "15", "5"),
    }


def test_csv_exports_follow_the_filter_and_defuse_formulas(services: Services, admin: Actor) -> None:
    import csv
    import io

    register_accounts(services, "=cmd@example.com", "plain@example.com")
    out = io.StringIO()
    assert services.export.write_users_csv(admin, UserQuery(search="example.com"), out) == 3
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0][:3] == ["email", "role", "active"]
    emails = sorted(row[0] for row in rows[1:])
    assert emails == ["'=cmd@example.com", "plain@example.com", "root@example.com"]
    services.admin.set_role(admin, "plain@example.com", "admin")
    audit_out = io.StringIO()
    assert services.export.write_audit_csv(admin, "plain@", audit_out) >= 2
    audit_rows = list(csv.reader(io.StringIO(audit_out.getvalue())))
    assert audit_rows[1][2] == "role"  # newest first
    with pytest.raises(PermissionDeniedError):
        services.export.write_users_csv(Actor(999_999, "ghost"), UserQuery(), io.StringIO())


def test_starts_with_matches_exactly_the_addresses_with_that_prefix(services: Services, admin: Actor) -> None:
    register_accounts(
        services,
        "ab@example.com",
        "abz@example.com",
        "ac@example.com",
        "a_b@example.com",
        "axb@example.com",
        "a%c@example.com",
        "aa@example.com",
    )

    def starting(text: str) -> list[str]:
        found = services.admin.list_users(admin, UserQuery(search=text, prefix=True))
        assert services.admin.count_users(admin, UserQuery(search=text, prefix=True)) == len(found)
        return [user.email for user in found]

    assert starting("ab") == ["ab@example.com", "abz@example.com"]
    assert starting("AB") == ["ab@example.com", "abz@example.com"]  # addresses are stored lower-cased
    assert starting("a_") == ["a_b@example.com"]  # _ and % are literal, not wildcards
    assert starting("a%") == ["a%c@example.com"]
    assert starting("ac@example.com") == ["ac@example.com"]
    assert starting("b") == []


@pytest.mark.parametrize("backend", ["sqlite"])  # MariaDB's LIKE 'x%' walks its index by itself
def test_starts_with_walks_the_email_index_on_sqlite(database: Database) -> None:
    from sqlalchemy import func

    from desktop_auth.services.user_queries import filter_users

    statement = filter_users(
        select(func.count()).select_from(User), UserQuery("seed001", prefix=True), "sqlite"
    )
    with database.transaction() as session:
        compiled = statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
        plan = " ".join(
            str(row) for row in session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")
        )
    assert "SEARCH" in plan
    assert "ix_user_email" in plan
