"""pytest fixtures for the Galera tests; a test module takes the ones it uses by name:

    from tests import galera_fixtures

    galera = galera_fixtures.galera  # (an import works too, with "# noqa: F401")

``galera`` starts one local 3-node cluster per test run (tests/galera_cluster.py) and stops it at the end;
``galera_proxy`` adds HAProxy and the check agents (tests/galera_proxy.py) and hands each test a healed
cluster (every node Synced, new connections routed to node 1). Without the Debian packages the tests skip,
except in CI (``CI=true``), where that is a failure.

pytest makes a separate session fixture of each module's copy of a fixture, so the cluster and the proxy
are kept here, shared by reference count: one cluster per run however many modules use it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Generic, TypeVar

import pytest

from desktop_auth.db import migrate
from desktop_auth.db.engine import Database
from desktop_auth.services import Services
from tests.conftest import IN_CI, make_settings
from tests.galera_cluster import GaleraCluster, missing_packages, start_on_free_ports
from tests.galera_proxy import GaleraProxy

T = TypeVar("T")


class _Shared(Generic[T]):
    """One running thing for the whole run, stopped when its last fixture ends."""

    def __init__(self) -> None:
        self.value: T | None = None
        self.users = 0


_cluster: _Shared[GaleraCluster] = _Shared()
_proxy: _Shared[GaleraProxy] = _Shared()


NODES = (1, 2, 3)


def report(config: pytest.Config, line: str) -> None:
    """Show a measured figure in the test run's output, captured or not."""
    print(line)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None:
        return
    # The reporter writes to stdout, which pytest captures during a test unless told otherwise.
    with capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext():
        reporter.write_line(f"[galera] {line}")


def require_packages(proxy: bool) -> None:
    missing = missing_packages(proxy=proxy)
    if not missing:
        return
    message = (
        f"Galera tests need: {', '.join(missing)} (apt-get install galera-4 mariadb-server rsync haproxy)"
    )
    if IN_CI:
        pytest.fail(f"{message}; CI must run them", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def galera(pytestconfig: pytest.Config) -> Iterator[GaleraCluster]:
    """A local 3-node Galera cluster for the whole run (the first free block of ports)."""
    require_packages(proxy=False)
    if _cluster.value is None:
        cluster = start_on_free_ports()
        report(
            pytestconfig,
            f"cluster of {len(cluster.nodes)} nodes Synced in {cluster.start_seconds:.1f} s "
            f"(SQL ports {cluster.port(1)}-{cluster.port(len(cluster.nodes))}, {cluster.folder})",
        )
        _cluster.value = cluster
    _cluster.users += 1
    try:
        yield _cluster.value
    finally:
        _cluster.users -= 1
        if _cluster.users == 0:
            _cluster.value.stop()
            _cluster.value = None


@pytest.fixture(scope="session")
def galera_proxy_processes(galera: GaleraCluster) -> Iterator[GaleraProxy]:
    """HAProxy and the check agents for the whole run (see ``galera_proxy`` for a per-test one)."""
    require_packages(proxy=True)
    if _proxy.value is None:
        proxy = GaleraProxy(galera)
        proxy.start()
        _proxy.value = proxy
    _proxy.users += 1
    try:
        yield _proxy.value
    finally:
        _proxy.users -= 1
        if _proxy.users == 0:
            _proxy.value.stop()
            _proxy.value = None


@pytest.fixture
def galera_proxy(galera: GaleraCluster, galera_proxy_processes: GaleraProxy) -> GaleraProxy:
    """HAProxy in front of the cluster, with every node back and Synced and node 1 taking connections."""
    galera.heal()
    galera_proxy_processes.ensure_running()
    galera_proxy_processes.wait_routed_to({1})
    return galera_proxy_processes


@pytest.fixture
def galera_database(galera: GaleraCluster) -> Iterator[str]:
    """The name of a new, empty database on the cluster (every node Synced first), dropped after the test."""
    galera.heal()
    name = galera.new_database()
    try:
        yield name
    finally:
        galera.drop_database(name)  # through a live node; one restarted later catches up


class ClusterClients:
    """Clients of one database on the cluster: ``client(node)`` is a new Services pinned to that node, and
    ``nodes[node]`` reads it through that node (with causal reads, like every Galera connection here);
    ``direct`` is node 1's."""

    def __init__(self, nodes: GaleraCluster, database: str) -> None:
        self.galera, self.database = nodes, database
        self._clients: list[Services] = []
        self.nodes = {node: Database(make_settings(nodes.url(node, database))) for node in NODES}
        self.direct = self.nodes[1]

    def client(self, node: int, **overrides: object) -> Services:
        services = Services(make_settings(self.galera.url(node, self.database), **overrides))
        self._clients.append(services)
        return services

    def close(self) -> None:
        for services in self._clients:
            services.close()
        for database in self.nodes.values():
            database.dispose()


@pytest.fixture
def cluster(galera: GaleraCluster, galera_database: str) -> Iterator[ClusterClients]:
    """A migrated database on the cluster and its clients, closed after the test."""
    clients = ClusterClients(galera, galera_database)
    migrate.upgrade(clients.direct)
    yield clients
    clients.close()
