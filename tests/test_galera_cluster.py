"""Smoke tests of the local Galera cluster, the shipped check agent and the shipped HAProxy config."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid

import pymysql
import pytest

from tests import galera_fixtures
from tests.galera_cluster import EVICTION_SECONDS, START_TIMEOUT, GaleraCluster, GaleraError
from tests.galera_fixtures import report
from tests.galera_proxy import SHIPPED_CONFIG, GaleraProxy, render_haproxy_config

pytestmark = pytest.mark.galera

galera = galera_fixtures.galera
galera_database = galera_fixtures.galera_database
galera_proxy = galera_fixtures.galera_proxy
galera_proxy_processes = galera_fixtures.galera_proxy_processes

#: "Within the eviction time plus a few seconds": the proxy's checks (2 s, then 0.5 s) fit in the margin.
FAILOVER_LIMIT = EVICTION_SECONDS + 5


def test_three_nodes_are_synced_with_the_settings_galera_needs(
    galera: GaleraCluster, pytestconfig: pytest.Config
) -> None:
    assert galera.start_seconds is not None
    assert galera.start_seconds < START_TIMEOUT
    cluster_ids = set()
    for index in (1, 2, 3):
        status = galera.status(index)
        assert status["wsrep_cluster_size"] == "3"
        assert status["wsrep_local_state_comment"] == "Synced"
        assert status["wsrep_ready"] == "ON"
        assert status["wsrep_cluster_status"] == "Primary"
        cluster_ids.add(status["wsrep_cluster_state_uuid"])
        settings = galera.admin_sql(
            index, "SELECT @@binlog_format, @@innodb_autoinc_lock_mode, @@auto_increment_increment, @@port"
        )
        assert settings == [("ROW", 2, 3, galera.port(index))]
    assert len(cluster_ids) == 1


def test_a_row_written_through_node_1_is_read_through_node_3(
    galera: GaleraCluster, galera_database: str
) -> None:
    token = uuid.uuid4().hex
    galera.admin_sql(
        1, f"CREATE TABLE `{galera_database}`.notes (id INT AUTO_INCREMENT PRIMARY KEY, token CHAR(32))"
    )
    galera.admin_sql(1, f"INSERT INTO `{galera_database}`.notes (token) VALUES (%s)", [token])
    reader = galera.connect(3, galera_database, autocommit=True)
    try:
        with reader.cursor() as cursor:
            cursor.execute(
                "SET SESSION wsrep_sync_wait = 1"
            )  # a causal read: node 3 first applies node 1's write
            cursor.execute("SELECT token, @@port FROM notes")
            assert cursor.fetchall() == ((token, galera.port(3)),)
    finally:
        reader.close()


def test_the_shipped_haproxy_config_is_valid_and_tested_nearly_verbatim(
    galera_proxy_processes: GaleraProxy,
) -> None:
    haproxy = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin")
    assert haproxy is not None
    checked = subprocess.run([haproxy, "-c", "-f", str(SHIPPED_CONFIG)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    shipped = SHIPPED_CONFIG.read_text().splitlines()
    rendered = galera_proxy_processes.config_file.read_text().splitlines()
    removed = [line for line in shipped if line not in rendered]
    # Only the listen address, the three servers' addresses, the log target (and, not as root, user/group).
    assert all(
        line.strip().startswith(("bind ", "server ", "log /dev/log", "user ", "group ")) for line in removed
    ), removed
    assert sum(line.strip().startswith("server ") for line in removed) == 3


def test_the_config_renderer_refuses_a_file_of_another_shape() -> None:
    with pytest.raises(GaleraError, match="expected 'server nodeN"):
        render_haproxy_config("listen x\n    bind :3306\n    server db 10.0.0.1:3306 check\n", 1, {1: (2, 3)})


def test_check_agent_answers_200_only_while_its_node_is_synced(
    galera: GaleraCluster, galera_proxy: GaleraProxy
) -> None:
    for index in (1, 2, 3):
        code, body = galera_proxy.agent_answer(index)
        assert (code, "Synced" in body) == (200, True), body

    # Desynced (as while donating a snapshot): still reachable, yet no clients.
    galera.admin_sql(3, "SET GLOBAL wsrep_desync = ON")
    try:
        code, body = galera_proxy.agent_answer(3)
        assert code == 503, body
        assert "Desynced" in body
    finally:
        galera.admin_sql(3, "SET GLOBAL wsrep_desync = OFF")
    galera.wait_synced(timeout=20)
    assert galera_proxy.agent_answer(3)[0] == 200

    galera.kill_node(3)
    code, body = galera_proxy.agent_answer(3)
    assert code == 503, body
    assert "unreachable" in body


def test_haproxy_routes_to_the_writer_then_to_a_survivor_when_it_dies(
    galera: GaleraCluster, galera_proxy: GaleraProxy, galera_database: str, pytestconfig: pytest.Config
) -> None:
    assert galera_proxy.routed_node() == 1
    setup = galera_proxy.connect(galera_database)
    with setup.cursor() as cursor:
        cursor.execute("CREATE TABLE marks (id INT AUTO_INCREMENT PRIMARY KEY, node INT)")
    setup.close()

    killed_at = galera.kill_node(1)
    reached: tuple[int, float] | None = None
    wrote: float | None = None
    errors: list[str] = []
    while time.monotonic() - killed_at < FAILOVER_LIMIT + 5 and wrote is None:
        try:
            connection = galera_proxy.connect(galera_database, timeout=2)
        except pymysql.MySQLError as error:
            errors.append(str(error.args[0] if error.args else error))
            time.sleep(0.1)
            continue
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT @@port")
                row = cursor.fetchone()
                assert row is not None
                node = next(n.index for n in galera.nodes if n.ports.sql == int(row[0]))
                if reached is None:
                    reached = (node, time.monotonic() - killed_at)
                # Writes wait on a survivor until the dead node is evicted; then they commit.
                cursor.execute("INSERT INTO marks (node) VALUES (%s)", [node])
                wrote = time.monotonic() - killed_at
        except pymysql.MySQLError as error:
            errors.append(str(error.args[0] if error.args else error))
            time.sleep(0.1)
        finally:
            connection.close()

    assert reached is not None, f"no connection through the proxy reached a node; errors: {errors[-3:]}"
    assert wrote is not None, f"no write through the proxy committed; errors: {errors[-3:]}"
    report(
        pytestconfig,
        f"failover through HAProxy: node {reached[0]} reached {reached[1]:.1f} s after node 1 was killed, "
        f"first write committed after {wrote:.1f} s ({len(errors)} failed attempts before; limit {FAILOVER_LIMIT:.0f} s)",
    )
    assert reached[0] == 2  # the first backup in the shipped config
    assert wrote <= FAILOVER_LIMIT

    # The writer comes back: new connections go to it again and the backup's sessions are cut, so that
    # writes meet on one node (on-marked-up shutdown-backup-sessions).
    held = galera_proxy.connect(galera_database)
    restarted_at = time.monotonic()
    galera.restart_node(1)
    galera_proxy.wait_routed_to({1}, timeout=20)
    report(
        pytestconfig,
        f"node 1 rejoined and takes connections again after {time.monotonic() - restarted_at:.1f} s",
    )
    deadline = time.monotonic() + 5
    with pytest.raises(pymysql.MySQLError):  # noqa: PT012 - the cut comes within a moment, not at once
        while time.monotonic() < deadline:
            with held.cursor() as cursor:
                cursor.execute("SELECT 1")
            time.sleep(0.2)
    held.close()


def test_a_node_that_ends_during_start_up_is_reported_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that exits while starting is said at once, from its process's exit status (not after the
    start-up timeout), and nothing of the cluster is left behind. The server here is /bin/false."""
    from tests import galera_cluster

    galera_fixtures.require_packages(proxy=False)
    real_binary = galera_cluster._binary
    monkeypatch.setattr(
        galera_cluster, "_binary", lambda name: "/bin/false" if name == "mariadbd" else real_binary(name)
    )
    broken = GaleraCluster(offset=900, size=1)  # its own folder under /tmp, which the server's user can reach
    began = time.monotonic()
    with pytest.raises(GaleraError, match="node1 exited during start-up"):
        broken.start(timeout=120)
    assert time.monotonic() - began < 60
    assert not broken.folder.exists()


def test_a_starting_node_is_judged_by_its_own_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """While it starts, a node this object launched is alive as long as its process is: a pid file or command
    line that reads wrong (as once, under load, reported a running node as exited) does not end the start."""
    from tests import galera_cluster

    galera_fixtures.require_packages(proxy=False)
    cluster = GaleraCluster(offset=950, size=1)
    try:
        with monkeypatch.context() as patched:
            patched.setattr(galera_cluster, "owned_pid", lambda pid_file, folder: None)  # misread every time
            cluster.start(timeout=120)
        assert cluster.live_pids(), "the node runs"
    finally:
        cluster.stop()  # by its pid files, read properly again
    assert not cluster.folder.exists()
