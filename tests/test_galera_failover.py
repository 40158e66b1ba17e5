"""A node dies under load: desktop clients connected through HAProxy carry on through the survivors.

Several clients (each its own Services, as separate desktops would be) register accounts and edit roles
through the shipped HAProxy config in front of the local 3-node cluster. Mid-stream the node HAProxy routes
to is killed with SIGKILL. Every client must carry on without a restart and without an error shown, within
the cluster's eviction time plus a few seconds; afterwards every acknowledged registration and edit is
present exactly once (one account, one audit row per change, in order) and nothing is half-written.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from desktop_auth.db import migrate
from desktop_auth.services import Services
from desktop_auth.services.records import Actor, UserEdit
from tests import galera_fixtures
from tests.conftest import STRONG_PASSWORD, make_settings
from tests.galera_cluster import EVICTION_SECONDS, GaleraCluster
from tests.galera_fixtures import report
from tests.galera_proxy import GaleraProxy

pytestmark = pytest.mark.galera

galera = galera_fixtures.galera
galera_database = galera_fixtures.galera_database
galera_proxy = galera_fixtures.galera_proxy
galera_proxy_processes = galera_fixtures.galera_proxy_processes

CLIENTS = 4
TARGETS_PER_CLIENT = 3
WARM_UP_SECONDS = 3.0
AFTER_KILL_SECONDS = 12.0
#: The longest any client may go without an acknowledged operation: eviction plus the proxy's checks.
PAUSE_LIMIT = EVICTION_SECONDS + 5
PREFIX = "failover-"


@dataclass
class Target:
    id: int
    role: str
    version: int
    acknowledged: list[tuple[str, str]] = field(default_factory=list)  # (old role, new role)


@dataclass
class Client:
    number: int
    services: Services
    targets: list[Target]
    registered: list[str] = field(default_factory=list)
    acked_at: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def run(self, actor: Actor, stop: threading.Event) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            try:
                if n % 2:
                    email = f"{PREFIX}{self.number}-{n:05d}@example.com"
                    self.services.accounts.register(email, STRONG_PASSWORD)
                    self.registered.append(email)
                else:
                    self._edit(actor, self.targets[(n // 2) % len(self.targets)])
            except Exception as error:  # every failure a person would see counts against the test
                self.errors.append(f"{type(error).__name__}: {error}")
                time.sleep(0.2)  # a person would try again; keep going to see whether it recovers
                continue
            self.acked_at.append(time.monotonic())

    def _edit(self, actor: Actor, target: Target) -> None:
        new_role = "editor" if target.role == "user" else "user"
        (record,) = self.services.admin.apply_edits(
            actor, [UserEdit(target.id, target.version, role=new_role)]
        )
        target.acknowledged.append((target.role, new_role))
        target.role, target.version = record.role, record.version


def longest_pause(client: Client, started: float, stopped: float) -> float:
    """The longest time the client went without an acknowledged operation (a stall at the end counts)."""
    times = [started, *client.acked_at, stopped]
    return max(later - earlier for earlier, later in itertools.pairwise(times))


def rows(galera: GaleraCluster, node: int, database: str, sql: str) -> list[tuple[Any, ...]]:
    connection = galera.connect(node, database, autocommit=True)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET SESSION wsrep_sync_wait = 1")  # everything the cluster committed
            cursor.execute(sql)
            return [tuple(row) for row in cursor.fetchall()]
    finally:
        connection.close()


def test_clients_ride_out_the_death_of_the_node_the_proxy_routes_to(
    galera: GaleraCluster, galera_proxy: GaleraProxy, galera_database: str, pytestconfig: pytest.Config
) -> None:
    url = galera_proxy.url(galera_database)
    setup = Services(make_settings(url))
    migrate.upgrade(setup.database)
    first = setup.accounts.create_first_admin("root@example.com", STRONG_PASSWORD)
    actor = Actor(first.id, first.email)
    setup.roles.add_role(actor, "editor")
    clients = []
    for number in range(CLIENTS):
        targets = []
        for t in range(TARGETS_PER_CLIENT):
            record = setup.admin.create_user(actor, f"target-{number}-{t}@example.com", STRONG_PASSWORD)
            targets.append(Target(record.id, record.role, record.version))
        clients.append(Client(number, Services(make_settings(url)), targets))
    setup.close()
    assert galera_proxy.routed_node() == 1

    stop = threading.Event()
    threads = [threading.Thread(target=c.run, args=(actor, stop), daemon=True) for c in clients]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    try:
        time.sleep(WARM_UP_SECONDS)
        killed_at = galera.kill_node(1)
        time.sleep(AFTER_KILL_SECONDS)
    finally:
        stopped = time.monotonic()
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        for client in clients:
            client.services.close()
    assert not any(thread.is_alive() for thread in threads), "a client never returned"

    before = sum(sum(t < killed_at for t in c.acked_at) for c in clients)
    after = sum(sum(t >= killed_at for t in c.acked_at) for c in clients)
    pauses = [longest_pause(c, started, stopped) for c in clients]
    first_after = [
        min((t - killed_at for t in c.acked_at if t >= killed_at), default=float("inf")) for c in clients
    ]
    errors = [f"client {c.number}: {e}" for c in clients for e in c.errors]
    report(
        pytestconfig,
        f"failover under load: {CLIENTS} clients, {before} operations acknowledged before node 1 was killed, "
        f"{after} after; first after the kill at {min(first_after):.1f}-{max(first_after):.1f} s, longest "
        f"pause {max(pauses):.1f} s (limit {PAUSE_LIMIT:.0f} s); {len(errors)} errors shown",
    )
    assert not errors, "clients saw errors:\n" + "\n".join(errors[:10])
    assert before > 0
    assert all(any(t >= killed_at for t in c.acked_at) for c in clients), "a client did not carry on"
    assert max(pauses) <= PAUSE_LIMIT
    assert galera_proxy.routed_node() in (2, 3)

    # Every acknowledged registration exactly once, with exactly one creation audit row; nothing else.
    registered = sorted(email for c in clients for email in c.registered)
    users = rows(
        galera, 2, galera_database, f"SELECT email FROM user WHERE email LIKE '{PREFIX}%%' ORDER BY email"
    )
    assert [u[0] for u in users] == registered
    creations = rows(
        galera,
        2,
        galera_database,
        "SELECT a.target, COUNT(*) FROM audit_event a JOIN user u ON u.id = a.target_id "
        f"WHERE a.action = 'create' AND u.email LIKE '{PREFIX}%%' GROUP BY a.target ORDER BY a.target",
    )
    assert creations == [(email, 1) for email in registered]

    # Every acknowledged edit exactly once, in order, and the accounts as the last one left them.
    for client in clients:
        for target in client.targets:
            changes = rows(
                galera,
                2,
                galera_database,
                f"SELECT old_value, new_value FROM audit_event WHERE action = 'role' AND target_id = {target.id} "
                "ORDER BY id",
            )
            assert changes == target.acknowledged, f"account {target.id}"
            state = rows(
                galera,
                2,
                galera_database,
                f"SELECT r.name, u.version FROM user u JOIN role r ON r.id = u.role_id WHERE u.id = {target.id}",
            )
            assert state == [(target.role, target.version)], f"account {target.id}"

    # Both survivors hold the same data: nothing applied on one node only.
    census = (
        "SELECT (SELECT COUNT(*) FROM user), (SELECT COUNT(*) FROM audit_event), "
        "(SELECT COUNT(*) FROM applied_operation), (SELECT COALESCE(SUM(version), 0) FROM user)"
    )
    assert rows(galera, 2, galera_database, census) == rows(galera, 3, galera_database, census)


def test_the_failover_time_a_client_waits_out_covers_the_eviction() -> None:
    # Clients wait out a lost connection for db_failover_seconds; the default must outlast a failover.
    assert make_settings("sqlite://").db_failover_seconds >= PAUSE_LIMIT
