"""Bulk changes as queries (desktop_auth.services.bulk): staged as a snapshot the database takes, applied
all-or-nothing when small and as a resumable chunked job when large, conflicts left alone and reported, the
administrator rules checked in SQL. Both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from desktop_auth.db.engine import Database
from desktop_auth.errors import InvalidInputError
from desktop_auth.models import AuditEvent, BulkChangeMember, Role, User
from desktop_auth.services import Services, bulk
from desktop_auth.services.errors import (
    BulkChangeEndedError,
    LastAdminError,
    NotFoundError,
    PermissionDeniedError,
    SelfDeactivationError,
    SelfDemotionError,
)
from desktop_auth.services.records import Actor, BulkChangeStatus, BulkSelection, BulkState, UserQuery
from tests.conftest import FakeClock, register_accounts, seed_users

USERS = UserQuery(role="user")


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> int:
    """Chunks of 3 users, so a dozen users make a job of several transactions."""
    monkeypatch.setattr(bulk, "BULK_TRANSACTION_ROWS", 3)
    return 3


def _rows(database: Database) -> dict[str, tuple[str, bool, int]]:
    """email -> (role, active, version)."""
    with database.transaction() as session:
        rows = session.execute(select(User.email, Role.name, User.active, User.version).join(Role))
        return {email: (role, bool(active), version) for email, role, active, version in rows}


def _audited(database: Database, action: str) -> list[str]:
    with database.transaction() as session:
        return sorted(session.scalars(select(AuditEvent.target).where(AuditEvent.action == action)))


def _members_left(database: Database) -> int:
    with database.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(BulkChangeMember)) or 0)


def _emails(count: int) -> list[str]:
    return [f"user{n:02d}@example.com" for n in range(count)]


def test_a_filter_except_some_plus_some_changes_exactly_those(
    services: Services, admin: Actor, database: Database
) -> None:
    ids = register_accounts(services, *_emails(6), "outside@example.org")
    services.admin.set_role(admin, "outside@example.org", "admin")
    before = _rows(database)
    selection = BulkSelection(
        UserQuery(search="example.com", role="user"),
        excluded=frozenset({ids[0]}),
        included=frozenset({ids[6]}),
    )
    staged = services.bulk.stage(admin, selection, active=False)
    assert (staged.state, staged.total) == (
        BulkState.STAGED,
        6,
    )  # 5 matching users, one excluded, one included
    assert _rows(database) == before  # staging changes nobody

    done = services.bulk.apply(admin, staged.id)
    assert (done.state, done.done, done.changed, done.conflicts) == (BulkState.DONE, 6, 6, 0)
    after = _rows(database)
    changed = {email for email in after if after[email] != before[email]}
    assert changed == {*_emails(6)[1:], "outside@example.org"}
    assert all(after[email][1] is False and after[email][2] == before[email][2] + 1 for email in changed)
    assert _audited(database, "deactivate") == sorted(changed)
    assert _audited(database, "bulk_change") == [f"6 users (change #{staged.id})"]
    assert _members_left(database) == 0


def test_rows_of_the_query_order_are_the_users_on_those_rows(services: Services, admin: Actor) -> None:
    register_accounts(services, *_emails(5))
    query = UserQuery(role="user")
    shown = [record.email for record in services.admin.list_users(admin, query)]
    staged = services.bulk.stage(admin, BulkSelection(query, runs=((1, 3),)), role="admin")
    services.bulk.apply(admin, staged.id)
    admins = {record.email for record in services.admin.list_users(admin, UserQuery(role="admin"))}
    assert admins == {"root@example.com", shown[1], shown[2]}


def test_users_changed_after_staging_are_left_alone_and_reported(
    services: Services, admin: Actor, database: Database
) -> None:
    register_accounts(services, *_emails(4))
    staged = services.bulk.stage(admin, BulkSelection(USERS), role="admin")
    services.admin.set_active(admin, "user01@example.com", False)  # another administrator, meanwhile
    done = services.bulk.apply(admin, staged.id)
    assert (done.changed, done.conflicts, done.conflict_emails) == (3, 1, ("user01@example.com",))
    assert _rows(database)["user01@example.com"][:2] == ("user", False)  # their change stands


def test_a_large_change_is_a_job_of_chunks_with_progress(
    services: Services, admin: Actor, database: Database, small_chunks: int
) -> None:
    register_accounts(services, *_emails(10))
    staged = services.bulk.stage(admin, BulkSelection(USERS), role="admin")
    seen: list[BulkChangeStatus] = []
    done = services.bulk.apply(admin, staged.id, progress=seen.append)
    assert [status.done for status in seen] == [3, 6, 9, 10]
    assert [status.state for status in seen] == [BulkState.RUNNING] * 3 + [BulkState.DONE]
    assert (done.changed, done.conflicts) == (10, 0)
    assert _audited(database, "role") == _emails(10)
    assert _members_left(database) == 0


def test_an_interrupted_job_resumes_where_it_stopped(
    services: Services, admin: Actor, database: Database, small_chunks: int
) -> None:
    register_accounts(services, *_emails(10))
    staged = services.bulk.stage(admin, BulkSelection(USERS), active=False)

    def crash_after_the_second_chunk(status: BulkChangeStatus) -> None:
        if status.done == 6:
            raise RuntimeError("the client died")

    with pytest.raises(RuntimeError):
        services.bulk.apply(admin, staged.id, progress=crash_after_the_second_chunk)
    (unfinished,) = services.bulk.unfinished(admin)
    assert (unfinished.id, unfinished.state, unfinished.done) == (staged.id, BulkState.RUNNING, 6)
    assert sum(1 for row in _rows(database).values() if not row[1]) == 6

    done = services.bulk.apply(admin, staged.id)  # another client could do this as well
    assert (done.state, done.done, done.changed) == (BulkState.DONE, 10, 10)
    assert _audited(database, "deactivate") == _emails(10)  # each exactly once
    assert services.bulk.unfinished(admin) == []
    again = services.bulk.apply(admin, staged.id)  # (a second client resuming it just then, say)
    assert (again.state, again.changed) == (BulkState.DONE, 10)
    assert _audited(database, "deactivate") == _emails(10)  # applying a finished change changes nothing


def test_cancel_stops_between_chunks_and_leaves_the_rest(
    services: Services, admin: Actor, database: Database, small_chunks: int
) -> None:
    register_accounts(services, *_emails(10))
    staged = services.bulk.stage(admin, BulkSelection(USERS), role="admin")
    chunks_done: list[int] = []
    stopped = services.bulk.apply(
        admin,
        staged.id,
        progress=lambda s: chunks_done.append(s.done),
        should_stop=lambda: len(chunks_done) == 2,
    )
    assert (stopped.state, stopped.done, stopped.changed) == (BulkState.CANCELLED, 6, 6)
    assert sum(1 for row in _rows(database).values() if row[0] == "admin") == 1 + 6
    assert _audited(database, "bulk_change_cancelled") == [f"10 users (change #{staged.id})"]
    assert _members_left(database) == 0


def test_the_last_admin_is_never_removed_in_sql(
    services: Services, admin: Actor, database: Database, small_chunks: int
) -> None:
    register_accounts(services, *_emails(7))
    operator = Actor.operator("ops")
    before = _rows(database)
    staged = services.bulk.stage(operator, BulkSelection(UserQuery()), role="user")
    with pytest.raises(LastAdminError):
        services.bulk.apply(operator, staged.id)
    assert _rows(database) == before
    assert services.bulk.status(operator, staged.id).state is BulkState.STAGED


def test_a_rule_broken_by_someone_else_mid_job_fails_it_resumably(
    services: Services, admin: Actor, database: Database, small_chunks: int
) -> None:
    """The up-front check passed (root stays an admin); while the job ran, root lost the role. The chunk
    that would demote the last admin is refused, the job is failed, and it resumes once there is one."""
    register_accounts(services, *_emails(8))
    services.admin.set_role(admin, _emails(8)[7], "admin")  # the last id: reached in the last chunk
    operator = Actor.operator("ops")
    everyone_but_root = BulkSelection(UserQuery(search="user"))
    staged = services.bulk.stage(operator, everyone_but_root, role="user")

    def root_demoted_meanwhile(status: BulkChangeStatus) -> None:
        if status.done == 3:
            services.admin.set_role(operator, "root@example.com", "user")

    with pytest.raises(LastAdminError):
        services.bulk.apply(operator, staged.id, progress=root_demoted_meanwhile)
    failed = services.bulk.status(operator, staged.id)
    assert (failed.state, failed.done) == (BulkState.FAILED, 6)
    assert "no active administrator" in (failed.message or "")
    assert _rows(database)[_emails(8)[7]][0] == "admin"

    services.admin.set_role(operator, "root@example.com", "admin")
    done = services.bulk.apply(operator, staged.id)
    assert (done.state, done.done) == (BulkState.DONE, 8)


def test_own_account_rules(services: Services, admin: Actor, database: Database) -> None:
    register_accounts(services, "second@example.com")
    services.admin.set_role(admin, "second@example.com", "admin")
    everyone = BulkSelection(UserQuery())
    deactivate = services.bulk.stage(admin, everyone, active=False)
    with pytest.raises(SelfDeactivationError):
        services.bulk.apply(admin, deactivate.id)
    demote = services.bulk.stage(admin, BulkSelection(UserQuery(search="root")), role="user")
    with pytest.raises(SelfDemotionError):
        services.bulk.apply(admin, demote.id)
    assert _rows(database)["root@example.com"][:2] == ("admin", True)
    services.bulk.apply(admin, demote.id, confirm_self_demotion=True)
    assert _rows(database)["root@example.com"][0] == "user"


def test_only_administrators_stage_apply_or_cancel(services: Services, admin: Actor) -> None:
    (mallory_id,) = register_accounts(services, "mallory@example.com")
    mallory = Actor(mallory_id, "mallory@example.com")
    with pytest.raises(PermissionDeniedError):
        services.bulk.stage(mallory, BulkSelection(UserQuery()), role="admin")
    staged = services.bulk.stage(admin, BulkSelection(UserQuery(search="mallory")), role="admin")
    for refused in (
        lambda: services.bulk.apply(mallory, staged.id),
        lambda: services.bulk.cancel(mallory, staged.id),
        lambda: services.bulk.unfinished(mallory),
    ):
        with pytest.raises(PermissionDeniedError):
            refused()
    assert services.bulk.status(admin, staged.id).state is BulkState.STAGED


def test_a_role_removed_after_staging_is_reported(
    services: Services, admin: Actor, database: Database
) -> None:
    register_accounts(services, *_emails(2))
    services.roles.add_role(admin, "auditor")
    staged = services.bulk.stage(admin, BulkSelection(USERS), role="auditor")
    services.roles.remove_role(admin, "auditor")
    before = _rows(database)
    with pytest.raises(NotFoundError, match="auditor"):
        services.bulk.apply(admin, staged.id)
    assert _rows(database) == before


def test_discard_forgets_a_staged_change(services: Services, admin: Actor, database: Database) -> None:
    register_accounts(services, *_emails(3))
    staged = services.bulk.stage(admin, BulkSelection(USERS), role="admin")
    services.bulk.discard(admin, staged.id)
    assert _members_left(database) == 0
    with pytest.raises(BulkChangeEndedError):
        services.bulk.apply(admin, staged.id)


def test_thousands_of_users_in_one_all_or_nothing_transaction(
    services: Services, admin: Actor, database: Database
) -> None:
    seed_users(database, 2500)
    staged = services.bulk.stage(admin, BulkSelection(UserQuery(search="seed", prefix=True)), role="admin")
    seen: list[BulkChangeStatus] = []
    done = services.bulk.apply(admin, staged.id, progress=seen.append)
    assert len(seen) == 1  # one transaction
    assert (done.changed, done.state) == (2500, BulkState.DONE)
    assert services.admin.count_users(admin, UserQuery(role="admin")) == 2501


def test_a_staged_change_left_a_day_is_removed_snapshot_and_all(
    services: Services, admin: Actor, database: Database, clock: FakeClock, small_chunks: int
) -> None:
    register_accounts(services, *_emails(8))
    forgotten = services.bulk.stage(admin, BulkSelection(USERS), role="admin")  # its window was killed
    clock.advance(hours=25)
    services.bulk.stage(admin, BulkSelection(UserQuery(search="user00")), role="admin")
    with pytest.raises(NotFoundError):
        services.bulk.status(admin, forgotten.id)
    with database.transaction() as session:
        left = session.scalar(
            select(func.count())
            .select_from(BulkChangeMember)
            .where(BulkChangeMember.change_id == forgotten.id)
        )
    assert left == 0


def test_hostile_searches_stage_nothing_or_exactly_the_matching_users(
    services: Services, admin: Actor, database: Database
) -> None:
    """A selection is the filter a person typed: a huge search is refused before anything is staged, a NUL
    or invisible one matches nobody it should not, and a non-ASCII one matches its own users only."""
    register_accounts(services, "zoë@example.com", "zoe@example.com", *_emails(2))
    with pytest.raises(InvalidInputError):
        services.bulk.stage(admin, BulkSelection(UserQuery(search="x" * 10_000)), role="admin")
    assert _members_left(database) == 0
    for search in ("\x00", "user\u200b", "\u202e"):
        staged = services.bulk.stage(admin, BulkSelection(UserQuery(search=search)), role="admin")
        assert staged.total == 0, search
    staged = services.bulk.stage(admin, BulkSelection(UserQuery(search="zoë")), active=False)
    assert staged.total == 1
    services.bulk.apply(admin, staged.id)
    assert {email for email, row in _rows(database).items() if not row[1]} == {"zoë@example.com"}
