"""The audit names an administrator by the address their account has when they act (tests/test_audit_actor_label.py)
when the rename and the action go through different Galera nodes: renamed through node 1, the administrator's
next action through node 2 is audited under the new address (every connection reads causally); racing, the row
names the account by one of its two addresses, never another, and always by its id."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import select

from desktop_auth.models import AuditEvent
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


def _role_add_rows(cluster: Cluster, role: str) -> list[tuple[int | None, str]]:
    with cluster.direct.transaction() as session:
        rows = session.execute(
            select(AuditEvent.actor_id, AuditEvent.actor).where(
                AuditEvent.action == "role_add", AuditEvent.target == role
            )
        )
        return [(actor_id, label) for actor_id, label in rows]


def test_renamed_through_one_node_then_acting_through_another(cluster: Cluster) -> None:
    node1, node2 = cluster.client(1), cluster.client(2)
    record = node1.accounts.create_first_admin("boss@example.com", STRONG_PASSWORD)
    stale = Actor(record.id, record.email)  # what the administrator's open window holds
    node1.own_account.rename(Actor.operator("ops"), "boss@example.com", "chief@example.com")
    node2.roles.add_role(stale, "auditor")
    assert _role_add_rows(cluster, "auditor") == [(record.id, "chief@example.com")]


def test_a_rename_racing_an_action_on_two_nodes(cluster: Cluster, pytestconfig: pytest.Config) -> None:
    node1, node2 = cluster.client(1), cluster.client(2)
    record = node1.accounts.create_first_admin("boss0@example.com", STRONG_PASSWORD)
    operator = Actor.operator("ops")
    tally = Tally("a rename on node 1 racing the administrator's action on node 2")
    for trial in range(TRIALS):
        old, new = f"boss{trial}@example.com", f"boss{trial + 1}@example.com"
        stale = Actor(record.id, old)
        outcomes = race(
            lambda old=old, new=new: node1.own_account.rename(operator, old, new),
            lambda stale=stale, trial=trial: node2.roles.add_role(stale, f"role{trial}"),
        )
        tally.add(outcomes)
        rows = _role_add_rows(cluster, f"role{trial}")
        assert len(rows) == 1, rows
        actor_id, label = rows[0]
        if actor_id != record.id or label not in (old, new):
            tally.violation(
                f"trial {trial}: audited as {actor_id} {label!r}, the account was {old} then {new}"
            )
    tally.finish(pytestconfig)
    assert tally.violations == []
