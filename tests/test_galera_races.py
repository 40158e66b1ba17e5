"""Cross-node races on a real 3-node Galera cluster: clients write through different nodes at once.

Galera certifies only the rows a transaction writes, so a rule checked by reading (at least one active
admin, one first admin, a role removed only while unused, settings checked as a whole, lockout counting)
holds only because every competitor writes the rule's guard row (desktop_auth/services/guards.py) or the
same data row, and the loser is retried (services/context.py ``retried``). Each race is run many times,
its clients started together by a barrier, each client its own Services (own connection pool) pinned to
one node: 0 invariant violations and 0 "database busy" shown to anyone.

``DESKTOP_AUTH_RACE_TRIALS`` sets the trials per race (CI: 50; the documented full run: 200).
"""

from __future__ import annotations

import os
from collections import Counter

import pytest
from sqlalchemy import delete, func, select, update

from desktop_auth.db.engine import Database
from desktop_auth.errors import InvalidInputError
from desktop_auth.models import AppSetting, LoginThrottle, Role, User
from desktop_auth.services import Services
from desktop_auth.services.accounts import count_active_admins
from desktop_auth.services.errors import (
    AccountLockedError,
    EmailAlreadyRegisteredError,
    InvalidCredentialsError,
    LastAdminDeletionError,
    LastAdminError,
    LastAdminSelfDeleteError,
    NotFoundError,
    PermissionDeniedError,
    RoleInUseError,
    SetupAlreadyDoneError,
    StaleEditError,
)
from desktop_auth.services.records import Actor
from tests import galera_fixtures
from tests.conftest import OTHER_PASSWORD, STRONG_PASSWORD
from tests.galera_fixtures import NODES, galera, galera_database  # noqa: F401 - fixtures
from tests.galera_fixtures import ClusterClients as Cluster
from tests.races import Tally, admins_act_on_each_other, race

pytestmark = pytest.mark.galera

TRIALS = int(os.environ.get("DESKTOP_AUTH_RACE_TRIALS", "50"))
cluster = galera_fixtures.cluster  # a fixture (a migrated database on the cluster, and its clients)


def _set_admins(cluster: Cluster, emails: list[str]) -> None:
    """Make exactly these accounts the active admins (through node 1, as an operator)."""
    with cluster.direct.transaction(write=True) as session:
        admin_id = session.scalar(select(Role.id).where(Role.name == "admin"))
        user_id = session.scalar(select(Role.id).where(Role.name == "user"))
        session.execute(update(User).values(role_id=user_id))
        session.execute(update(User).where(User.email.in_(emails)).values(role_id=admin_id, active=True))


def _active_admins(cluster: Cluster) -> int:
    with cluster.direct.transaction() as session:
        return count_active_admins(session)


def test_two_admins_demote_each_other_through_two_nodes(
    cluster: Cluster, pytestconfig: pytest.Config
) -> None:
    setup = cluster.client(1)
    first = setup.accounts.create_first_admin("ada@example.com", STRONG_PASSWORD)
    second = setup.admin.create_user(
        Actor(first.id, first.email), "bob@example.com", STRONG_PASSWORD, "admin"
    )
    clients = [cluster.client(1), cluster.client(2)]
    actors = [Actor(first.id, first.email), Actor(second.id, second.email)]
    targets = [second.email, first.email]
    tally = Tally("two admins demote each other")
    for _ in range(TRIALS):
        _set_admins(cluster, [first.email, second.email])
        outcomes = race(
            *(lambda i=i: clients[i].admin.set_role(actors[i], targets[i], "user") for i in range(2))
        )
        tally.add(outcomes)
        admins = _active_admins(cluster)
        if admins != 1:
            tally.violation(f"{admins} active admins left: {outcomes}")
        refused = [o for o in outcomes if isinstance(o, Exception)]
        if len(refused) != 1 or not isinstance(refused[0], (LastAdminError, PermissionDeniedError)):
            tally.violation(f"expected one success and one refusal: {outcomes}")
    tally.finish(pytestconfig)


def test_two_operators_demote_the_two_admins_through_two_nodes(
    cluster: Cluster, pytestconfig: pytest.Config
) -> None:
    setup = cluster.client(1)
    first = setup.accounts.create_first_admin("ada@example.com", STRONG_PASSWORD)
    setup.admin.create_user(Actor(first.id, first.email), "bob@example.com", STRONG_PASSWORD, "admin")
    clients = [cluster.client(1), cluster.client(2)]
    operators = [Actor.operator("ops-1"), Actor.operator("ops-2")]
    targets = ["ada@example.com", "bob@example.com"]
    tally = Tally("two operators demote the two admins")
    for _ in range(TRIALS):
        _set_admins(cluster, targets)
        outcomes = race(
            *(lambda i=i: clients[i].admin.set_role(operators[i], targets[i], "user") for i in range(2))
        )
        tally.add(outcomes)
        if _active_admins(cluster) != 1:
            tally.violation(f"{_active_admins(cluster)} active admins left: {outcomes}")
        if [type(o) for o in outcomes if isinstance(o, Exception)] != [LastAdminError]:
            tally.violation(f"expected one LastAdminError: {outcomes}")
    tally.finish(pytestconfig)


def test_first_administrator_created_through_two_nodes(cluster: Cluster, pytestconfig: pytest.Config) -> None:
    clients = [cluster.client(1), cluster.client(2)]
    tally = Tally("first administrator with two emails")
    for trial in range(TRIALS):
        with cluster.direct.transaction(write=True) as session:
            session.execute(delete(User))
        outcomes = race(
            *(
                lambda i=i, trial=trial: clients[i].accounts.create_first_admin(
                    f"first{trial}-{i}@example.com", STRONG_PASSWORD
                )
                for i in range(2)
            )
        )
        tally.add(outcomes)
        if _active_admins(cluster) != 1:
            tally.violation(f"{_active_admins(cluster)} first admins: {outcomes}")
        if [type(o) for o in outcomes if isinstance(o, Exception)] != [SetupAlreadyDoneError]:
            tally.violation(f"expected one 'setup already done': {outcomes}")
    tally.finish(pytestconfig)


def test_same_email_registered_through_two_nodes(cluster: Cluster, pytestconfig: pytest.Config) -> None:
    clients = [cluster.client(1), cluster.client(2)]
    tally = Tally("same email registered twice")
    for trial in range(TRIALS):
        email = f"twice{trial}@example.com"
        outcomes = race(
            *(lambda i=i, email=email: clients[i].accounts.register(email, STRONG_PASSWORD) for i in range(2))
        )
        tally.add(outcomes)
        with cluster.direct.transaction() as session:
            accounts = session.scalar(select(func.count(User.id)).where(User.email == email))
        if accounts != 1:
            tally.violation(f"{accounts} accounts for {email}")
        if [type(o) for o in outcomes if isinstance(o, Exception)] != [EmailAlreadyRegisteredError]:
            tally.violation(f"expected one 'already registered': {outcomes}")
    tally.finish(pytestconfig)


def test_wrong_passwords_at_once_over_three_nodes_are_all_counted(
    cluster: Cluster, pytestconfig: pytest.Config
) -> None:
    attempts = 30
    clients = [cluster.client(NODES[i % 3], lockout_threshold=1000) for i in range(attempts)]
    clients[0].accounts.register("target@example.com", STRONG_PASSWORD)
    tally = Tally(f"{attempts} wrong passwords at once over 3 nodes")
    for _ in range(TRIALS):
        with cluster.direct.transaction(write=True) as session:
            session.execute(delete(LoginThrottle))
        outcomes = race(
            *(lambda c=c: c.accounts.authenticate("target@example.com", OTHER_PASSWORD) for c in clients)
        )
        tally.add(outcomes)
        with cluster.direct.transaction() as session:
            counted = session.scalar(
                select(LoginThrottle.failed_count).where(LoginThrottle.email == "target@example.com")
            )
        if counted != attempts:
            tally.violation(f"{counted} of {attempts} failures counted")
        if any(not isinstance(o, InvalidCredentialsError) for o in outcomes):
            tally.violation(
                f"not all refused as wrong passwords: {Counter(type(o).__name__ for o in outcomes)}"
            )
    tally.finish(pytestconfig)


def test_attempt_reservation_holds_the_threshold_across_nodes(
    cluster: Cluster, pytestconfig: pytest.Config
) -> None:
    """12 wrong passwords at once over 3 nodes against a threshold of 5: exactly 5 are checked, 7 refused."""
    attempts, threshold = 12, 5
    clients = [cluster.client(NODES[i % 3], lockout_threshold=threshold) for i in range(attempts)]
    clients[0].accounts.register("reserved@example.com", STRONG_PASSWORD)
    tally = Tally("attempt reservation across nodes")
    for _ in range(TRIALS):
        with cluster.direct.transaction(write=True) as session:
            session.execute(delete(LoginThrottle))
        outcomes = race(
            *(lambda c=c: c.accounts.authenticate("reserved@example.com", OTHER_PASSWORD) for c in clients)
        )
        tally.add(outcomes)
        kinds = Counter(type(o).__name__ for o in outcomes)
        if kinds != Counter(
            {InvalidCredentialsError.__name__: threshold, AccountLockedError.__name__: attempts - threshold}
        ):
            tally.violation(f"expected {threshold} checked and {attempts - threshold} refused: {dict(kinds)}")
    tally.finish(pytestconfig)


def _edit_setup(cluster: Cluster) -> tuple[Services, Actor]:
    setup = cluster.client(1)
    admin = setup.accounts.create_first_admin("boss@example.com", STRONG_PASSWORD)
    actor = Actor(admin.id, admin.email)
    setup.roles.add_role(actor, "staff")
    return setup, actor


def test_stale_edit_with_the_same_version_through_two_nodes(
    cluster: Cluster, pytestconfig: pytest.Config
) -> None:
    setup, actor = _edit_setup(cluster)
    clients = [cluster.client(1), cluster.client(2)]
    roles = ["staff", "admin"]
    tally = Tally("stale edit, same version")
    for trial in range(TRIALS):
        user = setup.accounts.register(f"edited{trial}@example.com", STRONG_PASSWORD)
        outcomes = race(
            *(
                lambda i=i, user=user: clients[i].admin.set_role(actor, user.email, roles[i], user.version)
                for i in range(2)
            )
        )
        tally.add(outcomes)
        won = [o for o in outcomes if not isinstance(o, Exception)]
        if len(won) != 1 or not all(
            isinstance(o, StaleEditError) for o in outcomes if isinstance(o, Exception)
        ):
            tally.violation(f"expected one edit and one 'changed by someone else': {outcomes}")
            continue
        final = setup.admin.get_user(actor, user.email)
        if final.version != user.version + 1 or final.role != won[0].role:
            tally.violation(f"lost update: {final} after {won[0]}")
    tally.finish(pytestconfig)


def test_bulk_role_change_against_a_single_edit(cluster: Cluster, pytestconfig: pytest.Config) -> None:
    setup, actor = _edit_setup(cluster)
    clients = [cluster.client(1), cluster.client(2)]
    tally = Tally("bulk role change vs single edit")
    for trial in range(TRIALS):
        users = [setup.accounts.register(f"bulk{trial}-{n}@example.com", STRONG_PASSWORD) for n in range(10)]
        contested = users[5]
        outcomes = race(
            lambda users=users: clients[0].admin.bulk_set_role(
                actor, {u.id: u.version for u in users}, "staff"
            ),
            lambda contested=contested: clients[1].admin.set_role(
                actor, contested.email, "admin", contested.version
            ),
        )
        tally.add(outcomes)
        final = {u.email: setup.admin.get_user(actor, u.email) for u in users}
        bulk, single = outcomes
        if isinstance(bulk, Exception) == isinstance(single, Exception):
            tally.violation(f"expected exactly one to win: {outcomes}")
            continue
        expected_contested = "admin" if isinstance(bulk, Exception) else "staff"
        others = {final[u.email].role for u in users if u is not contested}
        if (
            final[contested.email].role != expected_contested
            or final[contested.email].version != contested.version + 1
        ):
            tally.violation(f"contested row: {final[contested.email]} after {outcomes}")
        if others != ({"user"} if isinstance(bulk, Exception) else {"staff"}):
            tally.violation(f"bulk change half-applied: {others}")
    tally.finish(pytestconfig)


def test_role_removal_against_its_assignment(cluster: Cluster, pytestconfig: pytest.Config) -> None:
    setup, actor = _edit_setup(cluster)
    clients = [cluster.client(1), cluster.client(2)]
    tally = Tally("role removal vs assignment")
    for trial in range(TRIALS):
        name = f"temp{trial}"
        setup.roles.add_role(actor, name)
        user = setup.accounts.register(f"assigned{trial}@example.com", STRONG_PASSWORD)
        outcomes = race(
            lambda name=name: clients[0].roles.remove_role(actor, name),
            lambda name=name, user=user: clients[1].admin.set_role(actor, user.email, name),
        )
        tally.add(outcomes)
        removed, assigned = outcomes
        with cluster.direct.transaction() as session:
            orphans = session.scalar(
                select(func.count(User.id)).outerjoin(Role, Role.id == User.role_id).where(Role.id.is_(None))
            )
            role_exists = session.scalar(select(Role.id).where(Role.name == name)) is not None
        if orphans:
            tally.violation(f"{orphans} accounts hold a role that no longer exists")
        if isinstance(removed, Exception) == isinstance(assigned, Exception):
            tally.violation(f"expected exactly one to win: {outcomes}")
        elif isinstance(removed, Exception):
            if not isinstance(removed, RoleInUseError) or not role_exists:
                tally.violation(f"assignment won, yet: {outcomes}, role exists {role_exists}")
        elif not isinstance(assigned, NotFoundError) or role_exists:
            tally.violation(f"removal won, yet: {outcomes}, role exists {role_exists}")
    tally.finish(pytestconfig)


def test_settings_checked_as_a_whole_through_two_nodes(cluster: Cluster, pytestconfig: pytest.Config) -> None:
    setup, actor = _edit_setup(cluster)
    clients = [cluster.client(1), cluster.client(2)]
    tally = Tally("shared settings, first and longest lockout")
    for _ in range(TRIALS):
        setup.app_settings.update(Actor.operator(), lockout_base_seconds=60, lockout_max_seconds=3600)
        outcomes = race(
            lambda: clients[0].app_settings.update(actor, lockout_base_seconds=1800),
            lambda: clients[1].app_settings.update(actor, lockout_max_seconds=600),
        )
        tally.add(outcomes)
        final = setup.app_settings.get()
        if final.lockout_max_seconds < final.lockout_base_seconds:
            tally.violation(
                f"longest lockout {final.lockout_max_seconds} < first {final.lockout_base_seconds}"
            )
        if [type(o) for o in outcomes if isinstance(o, Exception)] != [InvalidInputError]:
            tally.violation(f"expected the second change refused: {outcomes}")
    tally.finish(pytestconfig)


def test_shared_settings_seeded_through_three_nodes_at_once(
    cluster: Cluster, pytestconfig: pytest.Config
) -> None:
    clients = [cluster.client(node, lockout_threshold=3 + node) for node in NODES]
    tally = Tally("shared settings seeded by three clients")
    for _ in range(TRIALS):
        with cluster.direct.transaction(write=True) as session:
            session.execute(delete(AppSetting))
        outcomes = race(*(lambda c=c: c.app_settings.seed() for c in clients))
        tally.add(outcomes)
        thresholds = {o.lockout_threshold for o in outcomes if not isinstance(o, Exception)}
        if len(thresholds) != 1:
            tally.violation(f"clients follow different shared settings: {outcomes}")
    tally.finish(pytestconfig)


def test_a_change_through_one_node_decides_at_once_through_another(
    cluster: Cluster, pytestconfig: pytest.Config
) -> None:
    """Read your writes across nodes: a Galera connection reads with causality (wsrep_sync_wait), so an
    account deactivated through node 1 is refused by the very next check through node 2 or 3."""
    setup, actor = _edit_setup(cluster)
    writer = cluster.client(1)
    readers = [cluster.client(2), cluster.client(3)]
    assert all(client.database.is_galera() for client in (writer, *readers))
    tally = Tally("deactivated through one node, refused through another")
    # At least 200 trials (10 s): without causal reads about 1 in 50 slips through, so 50 could miss it.
    for trial in range(max(TRIALS, 200)):
        user = setup.accounts.register(f"leaving{trial}@example.com", STRONG_PASSWORD)
        signed_in = setup.accounts.authenticate(user.email, STRONG_PASSWORD)
        writer.admin.set_active(actor, user.email, False)
        outcomes = [
            reader.accounts.check_session(user.id, signed_in.password_changed_at) for reader in readers
        ]
        tally.add(outcomes)
        if any(state.valid for state in outcomes):
            tally.violation(f"trial {trial}: a node still let the deactivated account in: {outcomes}")
        email = f"fresh{trial}@example.com"
        writer.accounts.register(email, STRONG_PASSWORD)
        try:
            readers[trial % 2].accounts.register(email, STRONG_PASSWORD)
            tally.violation(f"trial {trial}: registered twice")
        except EmailAlreadyRegisteredError:
            pass
    tally.finish(pytestconfig)


def test_only_a_galera_node_is_treated_as_one(database: Database) -> None:
    assert database.is_galera() is False  # SQLite and the standalone MariaDB


def test_admins_acting_on_each_other_through_two_nodes(cluster: Cluster, pytestconfig: pytest.Config) -> None:
    admins_act_on_each_other(cluster.client(1), cluster.client(2), cluster.client(3), TRIALS).finish(
        pytestconfig
    )


def test_two_operators_delete_the_two_admins_through_two_nodes(
    cluster: Cluster, pytestconfig: pytest.Config
) -> None:
    """Deleting accounts (services.lifecycle) claims the admins guard like a demotion: of two deletions of
    the two last admins through different nodes, one is refused, whichever certifies second."""
    setup = cluster.client(1)
    clients = [cluster.client(1), cluster.client(2)]
    operators = [Actor.operator("ops-1"), Actor.operator("ops-2")]
    tally = Tally("two operators delete the two admins")
    for trial in range(TRIALS):
        with cluster.direct.transaction(write=True) as session:
            session.execute(delete(User))
        first = setup.lifecycle.create_user(operators[0], f"ada{trial}@example.com", "admin").record
        second = setup.lifecycle.create_user(operators[0], f"bob{trial}@example.com", "admin").record
        outcomes = race(
            lambda ids=[first.id]: clients[0].lifecycle.delete_users(operators[0], ids),
            lambda ids=[second.id]: clients[1].lifecycle.delete_users(operators[1], ids),
        )
        tally.add(outcomes)
        if _active_admins(cluster) != 1:
            tally.violation(f"{_active_admins(cluster)} active admins left: {outcomes}")
        if [type(o) for o in outcomes if isinstance(o, Exception)] != [LastAdminDeletionError]:
            tally.violation(f"expected one LastAdminDeletionError: {outcomes}")
    tally.finish(pytestconfig)


def test_two_last_admins_delete_themselves_through_two_nodes(
    cluster: Cluster, pytestconfig: pytest.Config
) -> None:
    """Deleting one's own account (services.own_account) claims the admins guard too: of the two last admins
    deleting themselves through different nodes, one is refused, whichever certifies second."""
    setup = cluster.client(1)
    clients = [cluster.client(1), cluster.client(2)]
    operator = Actor.operator("ops")
    tally = Tally("two last admins delete their own accounts")
    for trial in range(TRIALS):
        with cluster.direct.transaction(write=True) as session:
            session.execute(delete(User))
        ids = [
            setup.admin.create_user(operator, f"{name}{trial}@example.com", STRONG_PASSWORD, "admin").id
            for name in ("ada", "bob")
        ]
        outcomes = race(
            *(
                lambda client=client, user_id=user_id: client.own_account.delete_account(
                    user_id, STRONG_PASSWORD
                )
                for client, user_id in zip(clients, ids, strict=True)
            )
        )
        tally.add(outcomes)
        if _active_admins(cluster) != 1:
            tally.violation(f"{_active_admins(cluster)} active admins left: {outcomes}")
        if [type(o) for o in outcomes if isinstance(o, Exception)] != [LastAdminSelfDeleteError]:
            tally.violation(f"expected one LastAdminSelfDeleteError: {outcomes}")
    tally.finish(pytestconfig)


def test_two_accounts_take_one_address_through_two_nodes(
    cluster: Cluster, pytestconfig: pytest.Config
) -> None:
    """Changing one's email (services.own_account) to an address another account takes at the same moment
    through another node: the unique index (certification) lets one in, the other is told it is taken."""
    setup = cluster.client(1)
    clients = [cluster.client(1), cluster.client(2)]
    tally = Tally("two accounts take one address")
    for trial in range(TRIALS):
        with cluster.direct.transaction(write=True) as session:
            session.execute(delete(User))
        ids = [
            setup.accounts.register(f"{name}{trial}@example.com", STRONG_PASSWORD).id
            for name in ("ada", "bob")
        ]
        target = f"taken{trial}@example.com"
        outcomes = race(
            *(
                lambda client=client, user_id=user_id, target=target: client.own_account.change_email(
                    user_id, STRONG_PASSWORD, target
                )
                for client, user_id in zip(clients, ids, strict=True)
            )
        )
        tally.add(outcomes)
        with cluster.direct.transaction() as session:
            holders = session.scalar(select(func.count(User.id)).where(User.email == target))
        if holders != 1:
            tally.violation(f"{holders} accounts hold {target}: {outcomes}")
        if [type(o) for o in outcomes if isinstance(o, Exception)] != [EmailAlreadyRegisteredError]:
            tally.violation(f"expected one EmailAlreadyRegisteredError: {outcomes}")
    tally.finish(pytestconfig)
