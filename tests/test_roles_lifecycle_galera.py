"""Renaming a role through one Galera node while another node assigns it, removes it or gives another role
the same name (issue #17): one outcome per race, never an account on a missing role, never two roles with
one name, never "busy" shown. Clients started together by a barrier, each pinned to its node."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import func, select

from desktop_auth.models import Role, User
from desktop_auth.services.errors import NotFoundError, RoleExistsError
from desktop_auth.services.records import Actor
from tests import galera_fixtures
from tests.conftest import STRONG_PASSWORD
from tests.galera_fixtures import ClusterClients as Cluster
from tests.galera_fixtures import galera as galera
from tests.galera_fixtures import galera_database as galera_database
from tests.races import Tally, race

pytestmark = pytest.mark.galera

TRIALS = int(os.environ.get("DESKTOP_AUTH_RACE_TRIALS", "20"))
cluster = galera_fixtures.cluster  # a fixture (a migrated database on the cluster, and its clients)


def _setup(cluster: Cluster) -> tuple[object, Actor]:
    setup = cluster.client(1)
    admin = setup.accounts.create_first_admin("boss@example.com", STRONG_PASSWORD)
    return setup, Actor(admin.id, admin.email)


def _orphans(cluster: Cluster) -> int:
    with cluster.direct.transaction() as session:
        return int(
            session.scalar(
                select(func.count(User.id)).outerjoin(Role, Role.id == User.role_id).where(Role.id.is_(None))
            )
            or 0
        )


def _role_of(cluster: Cluster, email: str) -> str | None:
    with cluster.direct.transaction() as session:
        return session.scalar(
            select(Role.name).join(User, User.role_id == Role.id).where(User.email == email)
        )


def test_rename_against_an_assignment_through_two_nodes(
    cluster: Cluster, pytestconfig: pytest.Config
) -> None:
    setup, actor = _setup(cluster)
    clients = [cluster.client(1), cluster.client(2)]
    tally = Tally("role rename vs assignment")
    for trial in range(TRIALS):
        old, new, email = f"old{trial}", f"new{trial}", f"held{trial}@example.com"
        setup.roles.add_role(actor, old)  # type: ignore[attr-defined]
        setup.accounts.register(email, STRONG_PASSWORD)  # type: ignore[attr-defined]
        outcomes = race(
            lambda old=old, new=new: clients[0].roles.rename_role(actor, old, new),
            lambda old=old, email=email: clients[1].admin.set_role(actor, email, old),
        )
        tally.add(outcomes)
        renamed, assigned = outcomes
        if _orphans(cluster):
            tally.violation("an account holds a role that no longer exists")
        if isinstance(renamed, Exception):
            tally.violation(f"the rename failed: {renamed!r}")
        held = _role_of(cluster, email)
        if isinstance(assigned, Exception):  # the rename came first: the old name is gone
            if not isinstance(assigned, NotFoundError) or held != "user":
                tally.violation(f"rename won, yet: {outcomes}, {email} holds {held}")
        elif held != new:  # the assignment came first: the role, under its new name
            tally.violation(f"assignment won, yet {email} holds {held}")
    tally.finish(pytestconfig)


def test_rename_against_a_removal_through_two_nodes(cluster: Cluster, pytestconfig: pytest.Config) -> None:
    setup, actor = _setup(cluster)
    clients = [cluster.client(1), cluster.client(3)]
    tally = Tally("role rename vs removal")
    for trial in range(TRIALS):
        old, new = f"gone{trial}", f"kept{trial}"
        setup.roles.add_role(actor, old)  # type: ignore[attr-defined]
        outcomes = race(
            lambda old=old, new=new: clients[0].roles.rename_role(actor, old, new),
            lambda old=old: clients[1].roles.remove_role(actor, old),
        )
        tally.add(outcomes)
        renamed, removed = outcomes
        with cluster.direct.transaction() as session:
            names = set(session.scalars(select(Role.name).where(Role.name.in_([old, new]))))
        if isinstance(renamed, Exception) == isinstance(removed, Exception):
            tally.violation(f"expected exactly one to win: {outcomes}")
        elif isinstance(removed, Exception):
            if not isinstance(removed, NotFoundError) or names != {new}:
                tally.violation(f"rename won, yet: {outcomes}, roles {names}")
        elif not isinstance(renamed, NotFoundError) or names:
            tally.violation(f"removal won, yet: {outcomes}, roles {names}")
    tally.finish(pytestconfig)


def test_two_renames_to_one_name_through_two_nodes(cluster: Cluster, pytestconfig: pytest.Config) -> None:
    setup, actor = _setup(cluster)
    clients = [cluster.client(2), cluster.client(3)]
    tally = Tally("two roles renamed to one name")
    for trial in range(TRIALS):
        setup.roles.add_role(actor, f"a{trial}")  # type: ignore[attr-defined]
        setup.roles.add_role(actor, f"b{trial}")  # type: ignore[attr-defined]
        outcomes = race(
            lambda t=trial: clients[0].roles.rename_role(actor, f"a{t}", f"same{t}"),
            lambda t=trial: clients[1].roles.rename_role(actor, f"b{t}", f"same{t}"),
        )
        tally.add(outcomes)
        refused = [o for o in outcomes if isinstance(o, Exception)]
        if len(refused) != 1 or not isinstance(refused[0], RoleExistsError):
            tally.violation(f"expected one refused as existing: {outcomes}")
        with cluster.direct.transaction() as session:
            left = set(session.scalars(select(Role.name).where(Role.name.in_([f"a{trial}", f"b{trial}"]))))
            same = session.scalar(select(func.count(Role.id)).where(Role.name == f"same{trial}"))
        if same != 1 or len(left) != 1:
            tally.violation(f"roles afterwards: same{trial} x{same}, left {left}")
    tally.finish(pytestconfig)
