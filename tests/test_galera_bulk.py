"""Bulk changes (desktop_auth/services/bulk.py) on a real 3-node Galera cluster: clients write through
different nodes at once, and no chunk of a job makes a write set over a node's limits.

A job is committed in chunks, each its own transaction, so a rule checked once up front could be broken
between chunks by a client on another node. Each chunk therefore locks its change's row first (two
clients resuming one job write that row: one is retried and sees the other's progress), claims the guards
of the administrators it removes (services/guards.py: a demotion through another node writes the same
rows), changes only the users whose version is still the staged one, and reports the others as conflicts.
Each race is run many times, its clients started together by a barrier (the competitor of a job, in
turn, at once or held until the job's first or second chunk is committed), each client its own Services
pinned to one node: 0 invariant violations and 0 "database busy" shown to anyone, the same rows on every
node. One interleaving that a race meets only now and then (an edit committed inside a chunk) also has a
test of its own that makes it happen every time.

A trial is a whole job (staging, then a chunk of five users per transaction over twenty users): about ten
times the work of a trial in tests/test_galera_races.py, so these races take a fifth of
``DESKTOP_AUTH_RACE_TRIALS`` (CI: 50, so 10 each; the documented full run: 200, so 40).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pymysql
import pytest
from sqlalchemy import func, select, update

from desktop_auth.db.engine import Database
from desktop_auth.models import AuditEvent, BulkChangeMember, Role, User
from desktop_auth.services import Services, bulk, context
from desktop_auth.services.accounts import count_active_admins
from desktop_auth.services.errors import BulkChangeEndedError, LastAdminError, StaleEditError
from desktop_auth.services.records import Actor, BulkChangeStatus, BulkSelection, BulkState, UserQuery
from tests import galera_fixtures
from tests.conftest import STRONG_PASSWORD, seed_users
from tests.galera_fixtures import NODES, galera, galera_database, report  # noqa: F401 - fixtures
from tests.galera_fixtures import ClusterClients as Cluster
from tests.races import Tally, race

pytestmark = pytest.mark.galera

TRIALS = max(3, int(os.environ.get("DESKTOP_AUTH_RACE_TRIALS", "50")) // 5)
cluster = galera_fixtures.cluster  # a fixture (a migrated database on the cluster, and its clients)
MEMBERS = 20  # the users of each race's job ...
CHUNK = 5  # ... committed five per transaction: four chunks
MEMBER_PREFIX = "member"


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(bulk, "BULK_TRANSACTION_ROWS", CHUNK)
    return CHUNK


@dataclass(frozen=True)
class Row:
    role: str
    active: bool
    version: int


def _rows(database: Database, prefix: str = "") -> dict[str, Row]:
    """email -> role, active, version of the users whose address starts with ``prefix``."""
    with database.transaction() as session:
        rows = session.execute(
            select(User.email, Role.name, User.active, User.version)
            .join(Role, Role.id == User.role_id)
            .where(User.email.startswith(prefix))
        )
        return {email: Row(role, bool(active), version) for email, role, active, version in rows}


def _audit_since(database: Database, after: int) -> list[tuple[str, str, str]]:
    """(actor, action, target) of every audit row written after the row ``after``."""
    with database.transaction() as session:
        rows = session.execute(
            select(AuditEvent.actor, AuditEvent.action, AuditEvent.target)
            .where(AuditEvent.id > after)
            .order_by(AuditEvent.id)
        )
        return [(actor, action, target) for actor, action, target in rows]


def _last_audit_id(database: Database) -> int:
    with database.transaction() as session:
        return int(session.scalar(select(func.max(AuditEvent.id))) or 0)


def _members_left(database: Database, change_id: int) -> int:
    with database.transaction() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(BulkChangeMember)
                .where(BulkChangeMember.change_id == change_id)
            )
            or 0
        )


def _member_emails() -> list[str]:
    return [f"{MEMBER_PREFIX}{n:07d}@example.com" for n in range(MEMBERS)]  # as seed_users names them


def _reset(cluster: Cluster, admins: list[str]) -> dict[str, Row]:
    """Every member back to an active "user" and ``admins`` to active administrators (a new version for
    each, as a real edit would give); returns the members as they are now."""
    with cluster.direct.transaction(write=True) as session:
        role = dict(session.execute(select(Role.name, Role.id)).all())
        session.execute(
            update(User)
            .where(User.email.startswith(MEMBER_PREFIX))
            .values(role_id=role["user"], active=True, version=User.version + 1)
        )
        session.execute(
            update(User)
            .where(User.email.in_(admins))
            .values(role_id=role["admin"], active=True, version=User.version + 1)
        )
    return _rows(cluster.direct, MEMBER_PREFIX)


def _nodes_agree(cluster: Cluster, tally: Tally, what: str) -> dict[str, Row]:
    """The users as node 1 has them, after checking that nodes 2 and 3 have exactly the same."""
    seen = {node: _rows(database) for node, database in cluster.nodes.items()}
    for node in NODES[1:]:
        if seen[node] != seen[1]:
            differ = sorted(
                e for e in seen[1].keys() | seen[node].keys() if seen[1].get(e) != seen[node].get(e)
            )
            tally.violation(f"{what}: node {node} differs from node 1 on {differ[:5]}")
    return seen[1]


def _seed_members(cluster: Cluster, setup: Services) -> None:
    seed_users(cluster.direct, MEMBERS, prefix=MEMBER_PREFIX)
    setup.roles.add_role(Actor.operator("ops"), "staff")


def _stage_members(client: Services, actor: Actor) -> BulkChangeStatus:
    """Every member given the role "staff", staged."""
    return client.bulk.stage(actor, BulkSelection(UserQuery(search=MEMBER_PREFIX, prefix=True)), role="staff")


class AfterChunks:
    """Holds a competitor back until the job has committed ``chunks`` chunks (0: released with it), so the
    trials race the first chunk, the second, and the third in turn; released anyway when the job ends."""

    def __init__(self, chunks: int) -> None:
        self.chunks, self.seen, self.reached = chunks, 0, threading.Event()
        if chunks == 0:
            self.reached.set()

    def job(self, apply: Callable[[Callable[[BulkChangeStatus], None]], BulkChangeStatus]) -> Any:
        """Run ``apply(progress)``, releasing the competitor at the right chunk."""
        try:
            return apply(self._progress)
        finally:
            self.reached.set()

    def competitor(self, work: Callable[[], Any]) -> Any:
        self.reached.wait(timeout=60)
        return work()

    def _progress(self, _status: BulkChangeStatus) -> None:
        self.seen += 1
        if self.seen >= self.chunks:
            self.reached.set()


def test_bulk_demotion_job_against_demoting_the_other_admin(
    cluster: Cluster, pytestconfig: pytest.Config, small_chunks: int
) -> None:
    """A job through node 1 demotes two of the three active admins (one in its first chunk, one in a later
    one) while a demotion of the third, outside the job, is made through node 2. Either order alone is
    allowed; both would leave nobody, so exactly one is refused with LastAdminError: the single demotion,
    or the job (up front, changing nothing; or at the chunk of its second admin, left FAILED with the
    chunks before it applied). Never zero active admins on any node, and nothing changed twice or lost."""
    setup = cluster.client(1)
    _seed_members(cluster, setup)
    seed_users(cluster.direct, 1, prefix="keeper", role="admin")
    keeper = "keeper0000000@example.com"
    job_client, single_client = cluster.client(1), cluster.client(2)
    job_actor, single_actor = Actor.operator("ops-bulk"), Actor.operator("ops-single")
    members = _member_emails()
    tally = Tally("bulk demotion job vs demoting the other admin")
    endings: dict[str, int] = {}
    for trial in range(TRIALS):
        first_admin, later_admin = members[trial % CHUNK], members[CHUNK + trial % (MEMBERS - CHUNK)]
        before = _reset(cluster, [first_admin, later_admin, keeper])
        keeper_before = _rows(cluster.direct, keeper)[keeper]
        staged = _stage_members(job_client, job_actor)
        audited_from = _last_audit_id(cluster.direct)
        held = AfterChunks(trial % 3)
        outcomes = race(
            lambda held=held, staged=staged: held.job(
                lambda progress: job_client.bulk.apply(job_actor, staged.id, progress=progress)
            ),
            lambda held=held: held.competitor(
                lambda: single_client.admin.set_role(single_actor, keeper, "user")
            ),
        )
        tally.add(outcomes)
        job, single = outcomes
        for node, database in cluster.nodes.items():
            with database.transaction() as session:
                admins = count_active_admins(session)
            if admins < 1:
                tally.violation(f"trial {trial}: no active admin on node {node}: {outcomes}")
        rows = _nodes_agree(cluster, tally, f"trial {trial}")
        status = setup.bulk.status(job_actor, staged.id)
        audit = _audit_since(cluster.direct, audited_from)
        job_roles = [
            target for actor, action, target in audit if actor == job_actor.label and action == "role"
        ]
        single_roles = [t for actor, action, t in audit if actor == single_actor.label and action == "role"]
        changed = sorted(email for email in members if rows[email] != before[email])
        if isinstance(job, LastAdminError) == isinstance(single, LastAdminError) or any(
            isinstance(o, Exception) and not isinstance(o, LastAdminError) for o in outcomes
        ):
            tally.violation(f"trial {trial}: expected exactly one LastAdminError: {outcomes}")
            continue
        if isinstance(single, LastAdminError):  # the job won, whole
            ending = "job done, single refused"
            expected_state, keeper_after = BulkState.DONE, keeper_before
            if changed != members or single_roles:
                tally.violation(f"trial {trial}: job won but changed {len(changed)}, single audited")
        else:  # the demotion won: the job was refused up front or failed at its later admin's chunk
            keeper_after = Row("user", True, keeper_before.version + 1)
            if status.done == 0:
                ending, expected_state = "job refused up front", BulkState.STAGED
            else:
                ending, expected_state = "job failed mid-way", BulkState.FAILED
            reached = {email for email in members if email < later_admin}
            if set(changed) - reached or rows[later_admin] != before[later_admin]:
                tally.violation(f"trial {trial}: the job went past its last admin: {changed}")
            if single_roles != [keeper]:
                tally.violation(f"trial {trial}: the demotion's audit: {single_roles}")
        endings[ending] = endings.get(ending, 0) + 1
        if status.state is not expected_state:
            tally.violation(f"trial {trial}: {ending}, yet the job is {status}")
        if expected_state is BulkState.FAILED and "administrator" not in (status.message or ""):
            tally.violation(f"trial {trial}: failed without saying why: {status}")
        if rows[keeper] != keeper_after:
            tally.violation(f"trial {trial}: {keeper}: {rows[keeper]}, expected {keeper_after} ({ending})")
        if sorted(job_roles) != changed or status.changed != len(changed) or status.conflicts:
            tally.violation(
                f"trial {trial}: changed {changed}, audited {sorted(job_roles)}, counted {status} ({ending})"
            )
        if any(rows[email] != Row("staff", True, before[email].version + 1) for email in changed):
            tally.violation(f"trial {trial}: a member changed other than once to staff ({ending})")
    report(pytestconfig, f"bulk demotion job vs demoting the other admin: endings {endings}")
    tally.finish(pytestconfig)


def _edit_each(client: Services, actor: Actor, targets: list[tuple[str, int]]) -> list[Any]:
    """Deactivate each (email, version seen) in turn; each one's result or refusal."""
    results: list[Any] = []
    for email, version in targets:
        try:
            results.append(client.admin.set_active(actor, email, False, version))
        except StaleEditError as error:
            results.append(error)
    return results


def test_bulk_role_change_against_single_edits_through_two_other_nodes(
    cluster: Cluster, pytestconfig: pytest.Config, small_chunks: int
) -> None:
    """A job through node 1 gives twenty users a role while two other admins, through nodes 2 and 3,
    deactivate three of them each, on the version they saw before the job. Each contested user ends
    changed by exactly one of the two: by the job (audited once by it; the single edit refused as stale)
    or by the single edit (the job leaves it alone and reports it as a conflict). The job's changed and
    conflicts add up to its members, and the audit rows are exactly those changes, on every node."""
    setup = cluster.client(1)
    _seed_members(cluster, setup)
    operator = Actor.operator("ops")
    admins = {}
    for name in ("boss", "ana", "ben"):
        record = setup.admin.create_user(operator, f"{name}@example.org", STRONG_PASSWORD, "admin")
        admins[name] = Actor(record.id, record.email)
    job_client, editors = (
        cluster.client(1),
        [(cluster.client(2), admins["ana"]), (cluster.client(3), admins["ben"])],
    )
    members = _member_emails()
    tally = Tally("bulk role change vs single edits through two other nodes")
    won_by_edits = 0
    for trial in range(TRIALS):
        before = _reset(cluster, [])
        contested = [members[(trial + 3 * n) % MEMBERS] for n in range(6)]  # spread over the chunks
        staged = _stage_members(job_client, admins["boss"])
        audited_from = _last_audit_id(cluster.direct)
        targets = [[(email, before[email].version) for email in contested[i::2]] for i in range(2)]
        held = AfterChunks(trial % 3)
        outcomes = race(
            lambda held=held, staged=staged: held.job(
                lambda progress: job_client.bulk.apply(admins["boss"], staged.id, progress=progress)
            ),
            *(
                lambda i=i, held=held, targets=targets: held.competitor(
                    lambda: _edit_each(editors[i][0], editors[i][1], targets[i])
                )
                for i in range(2)
            ),
        )
        job, *edited_by = outcomes
        if not isinstance(job, BulkChangeStatus) or not all(isinstance(o, list) for o in edited_by):
            tally.add(outcomes)
            tally.violation(f"trial {trial}: {outcomes}")
            continue
        edits = dict(zip(contested[0::2] + contested[1::2], edited_by[0] + edited_by[1], strict=True))
        tally.add([job, *edits.values()])
        rows = _nodes_agree(cluster, tally, f"trial {trial}")
        audit = _audit_since(cluster.direct, audited_from)
        by_job = sorted(t for actor, action, t in audit if actor == admins["boss"].label and action == "role")
        by_editors = sorted(t for actor, action, t in audit if action == "deactivate")
        edited = sorted(email for email, outcome in edits.items() if not isinstance(outcome, Exception))
        won_by_edits += len(edited)
        expected_job = sorted(set(members) - set(edited))
        for email in members:
            was = before[email]
            expected = (
                Row("user", False, was.version + 1)
                if email in edited
                else Row("staff", True, was.version + 1)
            )
            if rows[email] != expected:
                tally.violation(
                    f"trial {trial}: {email} is {rows[email]}, expected {expected} ({edits.get(email)})"
                )
        if by_job != expected_job or by_editors != edited:
            tally.violation(
                f"trial {trial}: audited by the job {by_job}, by the editors {by_editors}; edits {edited}"
            )
        status = setup.bulk.status(admins["boss"], staged.id)
        counts = (status.state, status.done, status.changed, status.conflicts)
        returned = (job.state, job.done, job.changed, job.conflicts)
        if counts != (BulkState.DONE, MEMBERS, MEMBERS - len(edited), len(edited)) or returned != counts:
            tally.violation(
                f"trial {trial}: the job reports {job} (stored {status}); {len(edited)} edits won"
            )
        if sorted(job.conflict_emails) != edited:
            tally.violation(
                f"trial {trial}: conflicts reported {sorted(job.conflict_emails)}, edits won {edited}"
            )
    report(
        pytestconfig,
        f"bulk role change vs single edits: {won_by_edits} of {6 * TRIALS} contested won by the edit",
    )
    tally.finish(pytestconfig)


def test_an_edit_committed_through_another_node_during_a_chunk_is_reported(
    cluster: Cluster, pytestconfig: pytest.Config, small_chunks: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The interleaving the race above meets now and then, made to happen every time: another admin's
    edit of a member, through node 2, commits while the chunk that holds it is open on node 1 (after the
    chunk's first read, before it locks its users). The job must leave that user alone and report it as a
    conflict: changed + conflicts = members, and the conflict named."""
    setup = cluster.client(1)
    _seed_members(cluster, setup)
    operator = Actor.operator("ops")
    boss, ana = (
        setup.admin.create_user(operator, f"{name}@example.org", STRONG_PASSWORD, "admin")
        for name in ("boss", "ana")
    )
    job_actor, editor_actor = Actor(boss.id, boss.email), Actor(ana.id, ana.email)
    job_client, editor = cluster.client(1), cluster.client(2)
    members = _member_emails()
    contested = members[CHUNK + 2]  # in the second chunk
    before = _reset(cluster, [])
    staged = _stage_members(job_client, job_actor)
    chunks_begun: list[int] = []
    edited: list[Any] = []
    real_role_by_name = bulk.role_by_name

    def role_by_name_then_edit(session: Any, name: str) -> Any:
        role = real_role_by_name(session, name)  # a read: the chunk's snapshot is taken by now
        chunks_begun.append(1)
        if len(chunks_begun) == 3 and not edited:  # two lookups a chunk: the second chunk's first
            edited.append(editor.admin.set_active(editor_actor, contested, False, before[contested].version))
        return role

    monkeypatch.setattr(bulk, "role_by_name", role_by_name_then_edit)
    tally = Tally("an edit through node 2 committed inside a chunk on node 1")
    done = job_client.bulk.apply(job_actor, staged.id)
    tally.add([done, *edited])
    rows = _nodes_agree(cluster, tally, "after the job")
    if rows[contested] != Row("user", False, before[contested].version + 1):
        tally.violation(f"the edit was overwritten or lost: {rows[contested]}")
    if (done.state, done.done, done.changed, done.conflicts) != (BulkState.DONE, MEMBERS, MEMBERS - 1, 1):
        tally.violation(f"changed + conflicts != members: {done}")
    if done.conflict_emails != (contested,):
        tally.violation(f"the conflict not reported: {done.conflict_emails} (edited {contested})")
    tally.finish(pytestconfig)


#: A long job, scaled down: 40 chunks (a second or two here) against a contention budget cut from 20 s to
#: a fraction of that, as a real job of forty 10,000-user chunks outlasts the real budget.
LONG_JOB_MEMBERS = 200
SHORT_BUDGET_SECONDS = 0.3


def test_a_client_resuming_a_running_job_through_another_node_is_not_told_busy(
    cluster: Cluster, pytestconfig: pytest.Config, small_chunks: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second client resumes a job (the window of a client that seemed to hang, say) while the first
    still runs it through another node. Through two nodes the change's row lock does not make them queue:
    both apply the same chunk and one fails certification and is retried (services/context.py
    ``retried``). Taking turns is progress, not contention: however long the job, neither client may be
    told "the database is busy" (the budget ends only when something is truly stuck)."""
    setup = cluster.client(1)
    seed_users(cluster.direct, LONG_JOB_MEMBERS, prefix=MEMBER_PREFIX)
    setup.roles.add_role(Actor.operator("ops"), "staff")
    actor = Actor.operator("ops-bulk")
    clients = [cluster.client(1), cluster.client(2)]
    staged = _stage_members(clients[0], actor)
    monkeypatch.setattr(context, "CONTENTION_BUDGET_SECONDS", SHORT_BUDGET_SECONDS)
    tally = Tally(f"a job of {LONG_JOB_MEMBERS // CHUNK} chunks resumed through a second node meanwhile")
    held = AfterChunks(1)
    outcomes = race(
        lambda: held.job(lambda progress: clients[0].bulk.apply(actor, staged.id, progress=progress)),
        lambda: held.competitor(lambda: clients[1].bulk.apply(actor, staged.id)),
    )
    tally.add(outcomes)
    status = setup.bulk.status(actor, staged.id)
    if (status.state, status.done, status.changed) != (BulkState.DONE, LONG_JOB_MEMBERS, LONG_JOB_MEMBERS):
        tally.violation(f"the job did not end whole: {status}")
    rows = _nodes_agree(cluster, tally, "after the job")
    if sum(row.role == "staff" for row in rows.values()) != LONG_JOB_MEMBERS:
        tally.violation("not every member changed")
    tally.finish(pytestconfig)


def test_one_job_applied_by_two_clients_through_two_nodes(
    cluster: Cluster, pytestconfig: pytest.Config, small_chunks: int
) -> None:
    """Two clients, through nodes 1 and 2, apply (resume) the same staged job at once (the second released
    with the first, or once the first has committed one or two chunks). Each chunk is won by one of them;
    the other is retried from where the job then stands, or finds it ended by the other
    (BulkChangeEndedError). Each user is changed and audited exactly once, the job is audited as started
    and as done once each, its counts add up, and every node has the same result."""
    setup = cluster.client(1)
    _seed_members(cluster, setup)
    admin = setup.admin.create_user(Actor.operator("ops"), "boss@example.org", STRONG_PASSWORD, "admin")
    actor = Actor(admin.id, admin.email)
    clients = [cluster.client(1), cluster.client(2)]
    members = _member_emails()
    tally = Tally("one job applied by two clients through two nodes")
    shared = 0  # trials in which both clients committed chunks
    for trial in range(TRIALS):
        before = _reset(cluster, [])
        staged = _stage_members(clients[0], actor)
        audited_from = _last_audit_id(cluster.direct)
        held = AfterChunks(trial % 3)
        seen: list[list[BulkChangeStatus]] = [[], []]
        outcomes = race(
            lambda held=held, staged=staged, seen=seen: held.job(
                lambda progress: clients[0].bulk.apply(
                    actor, staged.id, progress=lambda s: (seen[0].append(s), progress(s))
                )
            ),
            lambda held=held, staged=staged, seen=seen: held.competitor(
                lambda: clients[1].bulk.apply(actor, staged.id, progress=seen[1].append)
            ),
        )
        tally.add(outcomes)
        if all(any(status.state is BulkState.RUNNING for status in statuses) for statuses in seen):
            shared += 1
        if not all(isinstance(o, (BulkChangeStatus, BulkChangeEndedError)) for o in outcomes) or not any(
            isinstance(o, BulkChangeStatus) for o in outcomes
        ):
            tally.violation(f"trial {trial}: {outcomes}")
        rows = _nodes_agree(cluster, tally, f"trial {trial}")
        wrong = [e for e in members if rows[e] != Row("staff", True, before[e].version + 1)]
        if wrong:
            tally.violation(f"trial {trial}: not changed exactly once: {[(e, rows[e]) for e in wrong[:3]]}")
        audit = _audit_since(cluster.direct, audited_from)
        actions = sorted(action for _actor, action, _target in audit)
        if sorted(t for _a, action, t in audit if action == "role") != members or actions != sorted(
            ["bulk_change", "bulk_change_done", *["role"] * MEMBERS]
        ):
            tally.violation(f"trial {trial}: audit rows {actions}")
        status = setup.bulk.status(actor, staged.id)
        if (status.state, status.total, status.done, status.changed, status.conflicts) != (
            BulkState.DONE,
            MEMBERS,
            MEMBERS,
            MEMBERS,
            0,
        ):
            tally.violation(f"trial {trial}: {status}")
        if any(isinstance(o, BulkChangeStatus) and o.state is not BulkState.DONE for o in outcomes):
            tally.violation(f"trial {trial}: a client returned before the end: {outcomes}")
        if _members_left(cluster.direct, staged.id):
            tally.violation(f"trial {trial}: snapshot rows left behind")
    report(
        pytestconfig, f"one job applied by two clients: both committed chunks in {shared} of {TRIALS} trials"
    )
    tally.finish(pytestconfig)


WS_USERS = 5_000
WS_CHUNK = 1_000
#: Over what one chunk writes (three rows a user, 3,000, and a few of bookkeeping), far under the whole
#: change (15,000).
WS_MAX_ROWS = 4_000


def _set_max_ws_rows(cluster: Cluster, value: int) -> None:
    for node in NODES:
        cluster.galera.admin_sql(node, f"SET GLOBAL wsrep_max_ws_rows = {int(value)}")


def _staff_everywhere(cluster: Cluster) -> dict[int, int]:
    counts = {}
    for node, database in cluster.nodes.items():
        with database.transaction() as session:
            counts[node] = int(
                session.scalar(
                    select(func.count(User.id))
                    .join(Role, Role.id == User.role_id)
                    .where(Role.name == "staff")
                )
                or 0
            )
    return counts


def _raw_change(cluster: Cluster, sql: str) -> pymysql.MySQLError | None:
    """Run ``sql`` in one transaction through node 1 with a plain driver connection; the error, if any."""
    connection = cluster.galera.connect(1, cluster.database)
    try:
        with connection.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute(sql)
        connection.commit()
    except pymysql.MySQLError as error:
        return error
    finally:
        connection.close()
    return None


def _versions(cluster: Cluster, prefix: str) -> int:
    with cluster.direct.transaction() as session:
        return int(session.scalar(select(func.sum(User.version)).where(User.email.startswith(prefix))) or 0)


def test_no_chunk_writes_a_write_set_over_the_node_limit(
    cluster: Cluster, pytestconfig: pytest.Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``wsrep_max_ws_rows`` on every node just over what one chunk of 1,000 users writes, a job over
    5,000 users (staging and applying) completes through node 2; one raw transaction changing those users
    is refused by the same limit, so the limit does bite."""
    setup = cluster.client(1)
    setup.roles.add_role(Actor.operator("ops"), "staff")
    seed_users(cluster.direct, WS_USERS, prefix="many")
    monkeypatch.setattr(bulk, "BULK_TRANSACTION_ROWS", WS_CHUNK)
    (previous,) = cluster.galera.admin_sql(1, "SELECT @@GLOBAL.wsrep_max_ws_rows")[0]
    _set_max_ws_rows(cluster, WS_MAX_ROWS)
    try:
        versions_before = _versions(cluster, "many")
        refused = _raw_change(cluster, "UPDATE user SET version = version + 1 WHERE email LIKE 'many%%'")
        assert _versions(cluster, "many") == versions_before
        client = cluster.client(2)
        actor = Actor.operator("ops-bulk")
        began = time.monotonic()
        staged = client.bulk.stage(actor, BulkSelection(UserQuery(search="many", prefix=True)), role="staff")
        seen: list[BulkChangeStatus] = []
        done = client.bulk.apply(actor, staged.id, progress=seen.append)
        seconds = time.monotonic() - began
    finally:
        _set_max_ws_rows(cluster, int(previous))
    assert "wsrep_max_ws_rows" in str(refused), refused  # None: the raw transaction went through
    assert [status.done for status in seen] == list(range(WS_CHUNK, WS_USERS + 1, WS_CHUNK))
    assert (done.state, done.total, done.changed, done.conflicts) == (BulkState.DONE, WS_USERS, WS_USERS, 0)
    assert _staff_everywhere(cluster) == dict.fromkeys(NODES, WS_USERS)
    for database in cluster.nodes.values():
        with database.transaction() as session:
            audited = session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "role"))
        assert audited == WS_USERS
    report(
        pytestconfig,
        f"write-set limit {WS_MAX_ROWS} rows: a raw {WS_USERS:,}-user UPDATE refused ({refused}); "
        f"the job of {len(seen)} chunks staged and applied in {seconds:.1f} s",
    )
