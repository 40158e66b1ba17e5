"""A real HAProxy and three check agents in front of a tests/galera_cluster.py cluster.

The proxy runs the shipped deploy/haproxy.cfg with only the local addresses and ports substituted (and its
log sent to its console file), and each agent is the shipped deploy/galera_check.py, so the tests exercise
what an operator deploys. Processes live in ``<cluster folder>/proxy`` and are stopped by their PIDs (the
cluster's own clean-up finds them there too).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pymysql

from tests.galera_cluster import GaleraCluster, GaleraError, owned_pid, stop_pid

REPOSITORY = Path(__file__).resolve().parent.parent
SHIPPED_CONFIG = REPOSITORY / "deploy" / "haproxy.cfg"
CHECK_AGENT = REPOSITORY / "deploy" / "galera_check.py"

_BIND = re.compile(r"^(\s*bind\s+)\S+(.*)$", re.MULTILINE)
_SERVER = re.compile(r"^(\s*server\s+node(\d+)\s+)\S+:\d+(\s.*?\bport\s+)\d+(.*)$", re.MULTILINE)
_LOG = re.compile(r"^(\s*log\s+)/dev/log(\s.*)$", re.MULTILINE)
_USER_GROUP = re.compile(r"^\s*(user|group)\s+\S+\s*\n", re.MULTILINE)


def render_haproxy_config(text: str, listen_port: int, servers: dict[int, tuple[int, int]]) -> str:
    """The shipped config with local addresses: ``servers`` maps node number -> (SQL port, agent port).

    Raises GaleraError when the shipped file no longer has the lines this substitutes (one bind, one
    server line per node with a check port), so a changed file cannot silently go untested.
    """
    text, binds = _BIND.subn(rf"\g<1>127.0.0.1:{listen_port}\g<2>", text)
    if binds != 1:
        raise GaleraError(f"{SHIPPED_CONFIG}: expected one 'bind' line, found {binds}")
    seen: list[int] = []

    def server(match: re.Match[str]) -> str:
        number = int(match.group(2))
        if number not in servers:
            raise GaleraError(f"{SHIPPED_CONFIG}: server node{number} has no local node")
        seen.append(number)
        sql_port, agent_port = servers[number]
        return f"{match.group(1)}127.0.0.1:{sql_port}{match.group(3)}{agent_port}{match.group(4)}"

    text = _SERVER.sub(server, text)
    if sorted(seen) != sorted(servers):
        raise GaleraError(
            f"{SHIPPED_CONFIG}: expected 'server nodeN ADDRESS:PORT ... port CHECKPORT' for nodes "
            f"{sorted(servers)}, found {sorted(seen)}"
        )
    # Logs go to the console file: a test machine may have no syslog socket.
    text = _LOG.sub(r"\g<1>stderr format short\g<2>", text)
    if os.geteuid() != 0:
        text = _USER_GROUP.sub("", text)  # only root can switch to the haproxy user
    return text


class GaleraProxy:
    """HAProxy on ``cluster.proxy_port`` and one check agent per node on ``cluster.agent_ports``."""

    def __init__(self, cluster: GaleraCluster, config: Path = SHIPPED_CONFIG) -> None:
        self.cluster = cluster
        self.shipped_config = config
        self.folder = cluster.folder / "proxy"
        self.port = cluster.proxy_port
        self.agent_ports = dict(zip((n.index for n in cluster.nodes), cluster.agent_ports, strict=True))
        self._processes: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def config_file(self) -> Path:
        return self.folder / "haproxy.cfg"

    def _pid_file(self, name: str) -> Path:
        return self.folder / f"{name}.pid"

    # ------------------------------------------------------------------------------------ lifecycle
    def start(self, timeout: float = 20.0) -> None:
        """Start the agents and HAProxy; return once new connections reach node 1 (the writer)."""
        try:
            self._start(timeout)
        except BaseException:
            self.stop()
            raise

    def _start(self, timeout: float) -> None:
        haproxy = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin")
        if haproxy is None:
            raise GaleraError("haproxy is not installed (Debian: apt-get install haproxy)")
        self.folder.mkdir(parents=True, exist_ok=True)
        password_file = self.folder / "check.password"
        password_file.write_text("\n")  # root's empty password, through the agent's --password-file
        for index, agent_port in self.agent_ports.items():
            self._spawn(
                f"agent{index}",
                [
                    sys.executable,
                    str(CHECK_AGENT),
                    "--host=127.0.0.1",
                    f"--port={self.cluster.port(index)}",
                    "--user=root",
                    f"--password-file={password_file}",
                    "--listen-address=127.0.0.1",
                    f"--listen-port={agent_port}",
                ],
            )
        servers = {i: (self.cluster.port(i), port) for i, port in self.agent_ports.items()}
        self.config_file.write_text(
            render_haproxy_config(self.shipped_config.read_text(), self.port, servers)
        )
        checked = subprocess.run(
            [haproxy, "-c", "-f", str(self.config_file)], capture_output=True, text=True, check=False
        )
        if checked.returncode != 0:
            raise GaleraError(f"haproxy -c refused {self.config_file}:\n{checked.stdout}{checked.stderr}")
        deadline = time.monotonic() + timeout
        for index in self.agent_ports:
            while self.agent_answer(index)[0] == 0:
                self._require_alive(f"agent{index}")
                if time.monotonic() > deadline:
                    raise GaleraError(
                        f"check agent {index} does not answer:\n{self.console_tail(f'agent{index}')}"
                    )
                time.sleep(0.1)
        self._spawn("haproxy", [haproxy, "-db", "-f", str(self.config_file)])
        self.wait_routed_to({1}, timeout=max(1.0, deadline - time.monotonic()))

    def _spawn(self, name: str, command: list[str]) -> None:
        if owned_pid(self._pid_file(name), self.cluster.folder) is not None:
            return  # still running from an earlier start
        with (self.folder / f"{name}.log").open("ab") as console:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._pid_file(name).write_text(f"{process.pid}\n")
        self._processes[name] = process

    def _require_alive(self, name: str) -> None:
        if owned_pid(self._pid_file(name), self.cluster.folder) is None:
            raise GaleraError(f"{name} exited:\n{self.console_tail(name)}")

    def ensure_running(self) -> None:
        """Start again whatever of the proxy a test stopped (HAProxy or an agent)."""
        names = ["haproxy", *(f"agent{i}" for i in self.agent_ports)]
        if all(owned_pid(self._pid_file(n), self.cluster.folder) is not None for n in names):
            return
        self.start()

    def stop(self) -> None:
        for name in ["haproxy", *(f"agent{i}" for i in self.agent_ports)]:
            pid = owned_pid(self._pid_file(name), self.cluster.folder)
            if pid is not None:
                stop_pid(pid, timeout=5)
            process = self._processes.pop(name, None)
            if process is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=1)

    def console_tail(self, name: str, lines: int = 20) -> str:
        try:
            return "\n".join((self.folder / f"{name}.log").read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no output)"

    # ---------------------------------------------------------------------------------------- queries
    def url(self, database: str = "") -> str:
        return f"mysql+pymysql://root:@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str | None = None, timeout: float = 3.0) -> pymysql.Connection[object]:
        return pymysql.connect(
            host="127.0.0.1",
            port=self.port,
            user="root",
            password="",
            database=database,
            connect_timeout=timeout,
            read_timeout=30,
            autocommit=True,
        )

    def routed_node(self, timeout: float = 3.0) -> int:
        """The node a new connection through the proxy lands on (raises pymysql errors when none)."""
        connection = self.connect(timeout=timeout)
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT @@port")
                row = cursor.fetchone()
        finally:
            connection.close()
        port = int(row[0]) if row else -1
        for node in self.cluster.nodes:
            if node.ports.sql == port:
                return node.index
        raise GaleraError(f"the proxy reached port {port}, which is no node of the cluster")

    def wait_routed_to(self, nodes: set[int], timeout: float = 20.0) -> int:
        """Wait until new connections land on one of ``nodes``; returns that node."""
        deadline = time.monotonic() + timeout
        last = "nothing yet"
        while time.monotonic() < deadline:
            self._require_alive("haproxy")
            try:
                node = self.routed_node(timeout=1.0)
            except pymysql.MySQLError as error:
                last = str(error)
            else:
                if node in nodes:
                    return node
                last = f"routed to node {node}"
            time.sleep(0.1)
        raise GaleraError(
            f"the proxy did not route to node(s) {sorted(nodes)} within {timeout:.0f} s ({last})"
        )

    def agent_answer(self, index: int, timeout: float = 5.0) -> tuple[int, str]:
        """The check agent's (HTTP status, body) for node ``index``; (0, reason) when it does not answer."""
        url = f"http://127.0.0.1:{self.agent_ports[index]}/"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                return int(response.status), response.read().decode()
        except urllib.error.HTTPError as error:
            return int(error.code), error.read().decode()
        except OSError as error:
            return 0, str(error)
