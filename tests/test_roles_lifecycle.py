"""Renaming roles and describing them (issue #17): the service rules on SQLite and MariaDB, races with
assignments and removals, staged bulk changes that name the role, the audit words, and the CLI."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from desktop_auth.db.engine import Database
from desktop_auth.errors import InvalidInputError
from desktop_auth.models import AuditEvent, BulkChange, Role, User
from desktop_auth.services import Services, bulk
from desktop_auth.services.audit_words import describe_event
from desktop_auth.services.errors import (
    NotFoundError,
    PermissionDeniedError,
    RoleExistsError,
    RoleProtectedError,
)
from desktop_auth.services.records import Actor, AuditRecord, BulkSelection, BulkState, UserQuery
from desktop_auth.services.roles import normalize_role_description
from tests.conftest import register_accounts
from tests.races import race


def _audit(database: Database, action: str) -> list[tuple[str, str | None, str | None, str | None]]:
    with database.transaction() as session:
        rows = session.execute(
            select(AuditEvent.target, AuditEvent.old_value, AuditEvent.new_value, AuditEvent.detail)
            .where(AuditEvent.action == action)
            .order_by(AuditEvent.id)
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def _words(action: str, old: str | None, new: str | None) -> str:
    from datetime import UTC, datetime

    event = AuditRecord(1, datetime(2026, 1, 1, tzinfo=UTC), "root", action, "x", old, new, None)
    return str(describe_event(event))


# -- renaming ----------------------------------------------------------------------------------------------


def test_rename_keeps_holders_and_is_audited(services: Services, admin: Actor, database: Database) -> None:
    services.roles.add_role(admin, "auditor")
    register_accounts(services, "ann@example.com", "bob@example.com")
    services.admin.set_role(admin, "ann@example.com", "auditor")
    services.admin.set_role(admin, "bob@example.com", "auditor")
    before = {r.name: r for r in services.roles.list_roles()}["auditor"]

    renamed = services.roles.rename_role(admin, "  Auditor ", "Reviewer")

    assert (renamed.id, renamed.name, renamed.user_count) == (before.id, "reviewer", 2)
    names = {r.name: r.user_count for r in services.roles.list_roles()}
    assert "auditor" not in names
    assert names["reviewer"] == 2
    assert {u.role for u in services.admin.list_users(admin, UserQuery(role="reviewer"))} == {"reviewer"}
    assert services.admin.count_users(admin, UserQuery(role="reviewer")) == 2
    assert _audit(database, "role_rename") == [("reviewer", "auditor", "reviewer", None)]
    assert _words("role_rename", "auditor", "reviewer") == "Role renamed from auditor to reviewer"
    # The old name is free again, and is a new, empty role.
    assert services.roles.add_role(admin, "auditor").user_count == 0


@pytest.mark.parametrize("name", ["admin", "user", " ADMIN "])
def test_built_in_roles_cannot_be_renamed(services: Services, admin: Actor, name: str) -> None:
    with pytest.raises(RoleProtectedError, match="built in and cannot be renamed"):
        services.roles.rename_role(admin, name, "boss")
    assert {r.name for r in services.roles.list_roles()} == {"admin", "user"}


def test_rename_refusals(services: Services, admin: Actor, database: Database) -> None:
    services.roles.add_role(admin, "auditor")
    services.roles.add_role(admin, "editor")
    with pytest.raises(RoleExistsError, match="A role named 'editor' already exists"):
        services.roles.rename_role(admin, "auditor", "Editor")
    with pytest.raises(RoleExistsError, match="'admin' already exists"):
        services.roles.rename_role(admin, "auditor", "admin")
    with pytest.raises(InvalidInputError, match="already named 'auditor'"):
        services.roles.rename_role(admin, "auditor", " AUDITOR")
    with pytest.raises(NotFoundError, match="no role named 'nobody'"):
        services.roles.rename_role(admin, "nobody", "somebody")
    for bad in ("", "   ", "1st", "a b", "аuditor2", "x" * 65, "a\u200bb", "a\udcffb"):
        with pytest.raises(InvalidInputError) as refused:
            services.roles.rename_role(admin, "auditor", bad)
        assert refused.value.field == "role", bad
    with pytest.raises(NotFoundError):  # a look-alike (Cyrillic а) of an existing role is not that role
        services.roles.rename_role(admin, "аuditor", "checker")
    with pytest.raises(NotFoundError):
        services.roles.rename_role(admin, "a\udcffb", "checker")
    assert {r.name for r in services.roles.list_roles()} == {"admin", "auditor", "editor", "user"}
    assert _audit(database, "role_rename") == []


def test_rename_and_describe_need_an_active_admin(services: Services, admin: Actor) -> None:
    services.roles.add_role(admin, "auditor")
    (uid,) = register_accounts(services, "mallory@example.com")
    mallory = Actor(uid, "mallory@example.com")
    with pytest.raises(PermissionDeniedError):
        services.roles.rename_role(mallory, "auditor", "owned")
    with pytest.raises(PermissionDeniedError):
        services.roles.describe_role(mallory, "auditor", "mine now")
    assert {r.name: r.description for r in services.roles.list_roles()}["auditor"] is None


def test_a_staged_bulk_change_follows_the_rename(
    services: Services, admin: Actor, database: Database
) -> None:
    services.roles.add_role(admin, "auditor")
    register_accounts(services, "ann@example.com", "bob@example.com")
    staged = services.bulk.stage(
        admin, BulkSelection(UserQuery(search="@example.com", role="user")), role="auditor"
    )
    assert staged.total == 2

    services.roles.rename_role(admin, "auditor", "reviewer")

    assert services.bulk.status(admin, staged.id).role == "reviewer"
    done = services.bulk.apply(admin, staged.id)
    assert (done.state, done.changed, done.role) == (BulkState.DONE, 2, "reviewer")
    assert services.admin.get_user(admin, "ann@example.com").role == "reviewer"
    assert _audit(database, "role_rename")[0][3] == "1 unfinished change of many users follow"


def test_a_finished_bulk_change_keeps_the_name_it_was_made_with(
    services: Services, admin: Actor, database: Database
) -> None:
    services.roles.add_role(admin, "auditor")
    register_accounts(services, "ann@example.com")
    staged = services.bulk.stage(admin, BulkSelection(UserQuery(role="user")), role="auditor")
    services.bulk.apply(admin, staged.id)
    services.roles.rename_role(admin, "auditor", "reviewer")
    with database.transaction() as session:
        assert session.scalar(select(BulkChange.role).where(BulkChange.id == staged.id)) == "auditor"
    assert _audit(database, "role_rename")[0][3] is None


def test_a_running_bulk_change_follows_a_rename_between_its_chunks(
    services: Services, admin: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "BULK_TRANSACTION_ROWS", 2)
    services.roles.add_role(admin, "auditor")
    register_accounts(services, *(f"u{n}@example.com" for n in range(5)))
    staged = services.bulk.stage(admin, BulkSelection(UserQuery(role="user")), role="auditor")
    renamed: list[str] = []

    def progress(status: object) -> None:
        if not renamed:
            renamed.append(services.roles.rename_role(admin, "auditor", "reviewer").name)

    done = services.bulk.apply(admin, staged.id, progress=progress)
    assert renamed == ["reviewer"]
    assert (done.state, done.changed) == (BulkState.DONE, 5)
    roles = {u.role for u in services.admin.list_users(admin, UserQuery(search="u", prefix=True))}
    assert roles == {"reviewer"}


def test_rename_racing_an_assignment_stays_consistent(
    services: Services, admin: Actor, database: Database
) -> None:
    ids = register_accounts(services, *(f"r{n}@example.com" for n in range(6)))
    for trial in range(6):
        old, new = f"old{trial}", f"new{trial}"
        services.roles.add_role(admin, old)
        email = f"r{trial}@example.com"
        renamed, assigned = race(
            lambda old=old, new=new: services.roles.rename_role(admin, old, new),
            lambda old=old, email=email: services.admin.set_role(admin, email, old),
        )
        assert not isinstance(renamed, Exception), renamed
        with database.transaction() as session:
            role_of_user = session.scalar(
                select(Role.name).join(User, User.role_id == Role.id).where(User.id == ids[trial])
            )
        if isinstance(assigned, Exception):  # the rename came first: the old name is gone
            assert isinstance(assigned, NotFoundError), assigned
            assert role_of_user == "user"
        else:  # the assignment came first: the user holds the role, under its new name
            assert role_of_user == new
        counts = {r.name: r.user_count for r in services.roles.list_roles()}
        assert old not in counts
        assert counts[new] == (0 if isinstance(assigned, Exception) else 1)


def test_rename_racing_a_removal_leaves_one_outcome(services: Services, admin: Actor) -> None:
    for trial in range(6):
        old, new = f"gone{trial}", f"kept{trial}"
        services.roles.add_role(admin, old)
        renamed, removed = race(
            lambda old=old, new=new: services.roles.rename_role(admin, old, new),
            lambda old=old: services.roles.remove_role(admin, old),
        )
        names = {r.name for r in services.roles.list_roles()}
        assert old not in names
        if isinstance(removed, Exception):  # renamed first: the removal finds no role by the old name
            assert isinstance(removed, NotFoundError), removed
            assert not isinstance(renamed, Exception)
            assert new in names
        else:
            assert isinstance(renamed, NotFoundError), renamed
            assert new not in names


def test_two_renames_to_one_name_one_wins(services: Services, admin: Actor) -> None:
    for trial in range(4):
        services.roles.add_role(admin, f"a{trial}")
        services.roles.add_role(admin, f"b{trial}")
        outcomes = race(
            lambda t=trial: services.roles.rename_role(admin, f"a{t}", f"same{t}"),
            lambda t=trial: services.roles.rename_role(admin, f"b{t}", f"same{t}"),
        )
        assert sorted(type(o).__name__ for o in outcomes) == ["RoleExistsError", "RoleRecord"], outcomes
        names = {r.name for r in services.roles.list_roles()}
        assert f"same{trial}" in names
        assert len({f"a{trial}", f"b{trial}"} & names) == 1


# -- descriptions ------------------------------------------------------------------------------------------


def test_describe_sets_trims_and_clears(services: Services, admin: Actor, database: Database) -> None:
    services.roles.add_role(admin, "auditor")
    described = services.roles.describe_role(admin, "Auditor", "  Reads the audit log.\u200b ")
    assert described.description == "Reads the audit log."
    assert {r.name: r.description for r in services.roles.list_roles()}["auditor"] == "Reads the audit log."
    # The same text again changes nothing and writes no audit row.
    services.roles.describe_role(admin, "auditor", "Reads the audit log.")
    # Built-in roles may be described too.
    assert services.roles.describe_role(admin, "admin", "Runs the place").description == "Runs the place"
    # Invisible-only text is no text: it clears.
    assert services.roles.describe_role(admin, "auditor", " \u200b\u200d\ufeff\u00a0 ").description is None
    assert services.roles.describe_role(admin, "admin", "").description is None
    assert {r.name: r.description for r in services.roles.list_roles()} == {
        "admin": None,
        "auditor": None,
        "user": None,
    }
    assert _audit(database, "role_describe") == [
        ("auditor", None, "Reads the audit log.", None),
        ("admin", None, "Runs the place", None),
        ("auditor", "Reads the audit log.", None, None),
        ("admin", "Runs the place", None, None),
    ]
    assert _words("role_describe", None, "Reads") == "Role description set to “Reads”"
    assert _words("role_describe", "Reads", None) == "Role description cleared"


def test_descriptions_hold_any_script_up_to_the_limit(services: Services, admin: Actor) -> None:
    services.roles.add_role(admin, "auditor")
    emoji = "🔍" * 200  # outside the BMP: four bytes each in utf8mb4
    assert services.roles.describe_role(admin, "auditor", emoji).description == emoji
    assert {r.name: r.description for r in services.roles.list_roles()}["auditor"] == emoji
    mixed = "Prüft Konten · 監査 · مراجعة · 👩‍💻"  # joiners inside text are kept
    assert services.roles.describe_role(admin, "auditor", mixed).description == mixed
    decomposed = "Cafe\u0301"
    assert services.roles.describe_role(admin, "auditor", decomposed).description == "Café"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("x" * 201, "at most 200"),
        ("x" * 10_000_000, "at most 200"),
        ("two\nlines", "one line"),
        ("tab\there", "one line"),
        ("nul\x00", "one line"),
        ("bell\x07", "one line"),
        ("next\x85line", "one line"),
        ("para\u2029graph", "one line"),
        ("evil\u202etxt.exe", "reverse the direction"),
        ("isolate\u2067x\u2069", "reverse the direction"),
        ("lone \udcff", "not valid text"),
    ],
)
def test_descriptions_refused(services: Services, admin: Actor, text: str, says: str) -> None:
    services.roles.add_role(admin, "auditor")
    services.roles.describe_role(admin, "auditor", "kept")
    with pytest.raises(InvalidInputError, match=says) as refused:
        services.roles.describe_role(admin, "auditor", text)
    assert refused.value.field == "description"
    assert {r.name: r.description for r in services.roles.list_roles()}["auditor"] == "kept"


def test_describe_unknown_role(services: Services, admin: Actor) -> None:
    with pytest.raises(NotFoundError, match="no role named 'ghost'"):
        services.roles.describe_role(admin, "ghost", "boo")


def test_a_description_survives_a_rename(services: Services, admin: Actor) -> None:
    services.roles.add_role(admin, "auditor")
    services.roles.describe_role(admin, "auditor", "Reads the log")
    assert services.roles.rename_role(admin, "auditor", "reviewer").description == "Reads the log"
    assert {r.name: r.description for r in services.roles.list_roles()}["reviewer"] == "Reads the log"


def test_normalize_role_description_pure() -> None:
    assert normalize_role_description(None) is None
    assert normalize_role_description("") is None
    assert normalize_role_description("\u200b") is None
    assert normalize_role_description(" a ") == "a"
    assert normalize_role_description("x" * 200) == "x" * 200
    # Trailing invisible characters do not count against the limit.
    assert normalize_role_description("x" * 200 + "\u200b" * 5) == "x" * 200
