"""A local 3-node MariaDB Galera cluster on 127.0.0.1, for the tests and by hand.

    python -m tests.galera_cluster up      [--dir D] [--offset N]   # start, print how long it took
    python -m tests.galera_cluster status  [--dir D] [--offset N]
    python -m tests.galera_cluster down    [--dir D] [--offset N]   # stop by PID, remove the folder

Everything lives in one folder (default ``<tmp>/desktop-auth-galera-<first SQL port>``): per node a datadir,
socket, pid file, error log and option file. Ports (plus ``--offset``): SQL 23306-23308, group communication
24567-24569, IST 24577-24579, rsync SST 24587-24589; check agents 23316-23318 and HAProxy 23310 are taken by
tests/galera_proxy.py. Nothing here touches the standalone server on 3306, and every process is stopped by
the PID this module recorded, after checking that its command line names this folder.

Eviction: a node that dies (SIGKILL) is suspected after ``evs.suspect_timeout`` (2 s) without a message and
evicted as soon as the survivors agree (measured: about 3 s after the kill); ``evs.inactive_timeout`` (4 s)
evicts it unconditionally. Until then the survivors hold writes (reads go on); afterwards the two survivors
form the primary component and carry on. Production clusters keep Galera's defaults (5 s / 15 s).

A folder is owned by the process that started the cluster in it (an flock on ``owner.lock``) or, after
``up``, by nobody ("detached": ``down`` stops it). A folder left by a crashed run (no owner, or detached with
no live node) is cleaned up by the next start; a busy folder or a port in use is a clear error.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymysql

PROVIDER = Path("/usr/lib/galera/libgalera_smm.so")
SIZE = 3
SQL_BASE = 23306
GCOMM_BASE = 24567
IST_BASE = 24577
SST_BASE = 24587
PROXY_PORT = 23310
AGENT_BASE = 23316
START_TIMEOUT = 60.0
CLUSTER_NAME = "desktop_auth_test"
SERVER_USER = "mysql"  # the nodes' user when this runs as root (Debian's mariadb-server creates it)

# keepalive <= inactive_check <= suspect <= inactive <= install (Galera refuses other orders).
EVICTION_OPTIONS = (
    "evs.keepalive_period=PT0.5S",
    "evs.inactive_check_period=PT0.5S",
    "evs.suspect_timeout=PT2S",
    "evs.inactive_timeout=PT4S",
    "evs.install_timeout=PT4S",
)
#: What a test may allow for the survivors to evict a killed node (see the module docstring).
EVICTION_SECONDS = 4.0


class GaleraError(RuntimeError):
    """The cluster could not be started, reached or stopped."""


class ClusterBusyError(GaleraError):
    """The folder belongs to a live cluster or another running process."""


class PortsInUseError(GaleraError):
    """Some of the cluster's ports are taken by other programs."""


def missing_packages(*, proxy: bool = False) -> list[str]:
    """What this machine lacks to run the cluster (and, with ``proxy``, HAProxy)."""
    wanted = {
        "mariadb-server (mariadbd)": shutil.which("mariadbd") or shutil.which("mariadbd", path="/usr/sbin"),
        "mariadb-server (mariadb-install-db)": shutil.which("mariadb-install-db"),
        f"galera-4 ({PROVIDER})": str(PROVIDER) if PROVIDER.is_file() else None,
        "rsync": shutil.which("rsync"),
    }
    if proxy:
        wanted["haproxy"] = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin")
    return [name for name, found in wanted.items() if not found]


def _binary(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")
    if not found:
        raise GaleraError(f"{name} is not installed (Debian: apt-get install galera-4 mariadb-server rsync)")
    return found


def default_dir(offset: int = 0) -> Path:
    return Path(tempfile.gettempdir()) / f"desktop-auth-galera-{SQL_BASE + offset}"


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # SO_REUSEADDR like the servers themselves: a port in TIME_WAIT is free, a listener is not.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie has exited; only its parent's wait is missing
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def owned_pid(pid_file: Path, folder: Path) -> int | None:
    """The live PID in ``pid_file`` if that process was started for ``folder`` (its command line names it)."""
    pid = _read_pid(pid_file)
    if pid is None or pid <= 1 or not _alive(pid):
        return None
    return pid if str(folder) in _cmdline(pid) else None


def stop_pid(pid: int, timeout: float, sig: int = signal.SIGTERM) -> None:
    """Send ``sig``, wait up to ``timeout`` for the process to end, then SIGKILL it."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        _reap(pid)
        time.sleep(0.05)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            _reap(pid)
            time.sleep(0.05)
    _reap(pid)


def _reap(pid: int) -> None:
    # Our own children become zombies until waited for; other processes' children are not ours to wait.
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def stop_folder_processes(folder: Path, timeout: float = 15.0, sig: int = signal.SIGTERM) -> list[int]:
    """Stop every process recorded in a ``*.pid`` file under ``folder`` whose command line names the
    folder (nodes, rsync daemons of an interrupted SST, check agents, HAProxy): ``sig``, then SIGKILL
    after ``timeout``. Returns their PIDs."""
    pids: list[int] = []
    for pid_file in sorted(folder.rglob("*.pid")):
        pid = owned_pid(pid_file, folder)
        if pid is not None and pid not in pids:
            pids.append(pid)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
    for pid in pids:
        stop_pid(pid, timeout, sig=0)
    return pids


@dataclass(frozen=True)
class NodePorts:
    sql: int
    gcomm: int
    ist: int
    sst: int


@dataclass
class Node:
    index: int  # 1-based, as in "node 1"
    folder: Path
    ports: NodePorts

    @property
    def datadir(self) -> Path:
        return self.folder / "data"

    @property
    def socket(self) -> Path:
        return self.folder / "mysqld.sock"

    @property
    def pid_file(self) -> Path:
        return self.folder / "launch.pid"  # ours, written at launch (the server keeps mariadbd.pid)

    @property
    def error_log(self) -> Path:
        return self.folder / "error.log"

    @property
    def option_file(self) -> Path:
        return self.folder / "my.cnf"

    @property
    def name(self) -> str:
        return f"node{self.index}"


class GaleraCluster:
    """A 3-node cluster in ``folder`` on ports shifted by ``offset``."""

    def __init__(self, folder: Path | str | None = None, offset: int = 0, size: int = SIZE) -> None:
        self.offset = offset
        self.folder = Path(folder) if folder is not None else default_dir(offset)
        self.folder = self.folder.absolute()
        self.nodes = [
            Node(
                i,
                self.folder / f"node{i}",
                NodePorts(
                    SQL_BASE + offset + i - 1,
                    GCOMM_BASE + offset + i - 1,
                    IST_BASE + offset + i - 1,
                    SST_BASE + offset + i - 1,
                ),
            )
            for i in range(1, size + 1)
        ]
        self.proxy_port = PROXY_PORT + offset
        self.agent_ports = [AGENT_BASE + offset + i for i in range(size)]
        self.start_seconds: float | None = None
        self._processes: dict[int, subprocess.Popen[bytes]] = {}
        self._lock_fd: int | None = None
        self._databases: list[str] = []
        self._stopped: set[int] = set()  # nodes a test stopped on purpose: not expected in wait_synced

    # ----------------------------------------------------------------------------------------- folder
    @property
    def lock_file(self) -> Path:
        return self.folder / "owner.lock"

    @property
    def layout_file(self) -> Path:
        return self.folder / "cluster.json"

    def all_ports(self) -> list[int]:
        ports = [p for n in self.nodes for p in (n.ports.sql, n.ports.gcomm, n.ports.ist, n.ports.sst)]
        return [*ports, self.proxy_port, *self.agent_ports]

    def _lock_holder(self) -> str | None:
        """Who holds the folder's lock ("pid N"), or None when it is free (we then keep holding it)."""
        if not self.lock_file.exists():
            return None
        fd = os.open(self.lock_file, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            os.close(fd)
            if error.errno in (errno.EAGAIN, errno.EACCES):
                return f"process {self.lock_file.read_text().strip() or '?'}"
            raise
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
        return None

    def _take_lock(self) -> None:
        fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise ClusterBusyError(f"{self.folder} was taken by another process just now") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._lock_fd = fd

    def _release_lock(self, detached: bool = False) -> None:
        if self._lock_fd is None:
            return
        if detached:
            os.ftruncate(self._lock_fd, 0)
            os.lseek(self._lock_fd, 0, os.SEEK_SET)
            os.write(self._lock_fd, b"detached")
        fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        os.close(self._lock_fd)
        self._lock_fd = None

    def live_pids(self) -> dict[int, int]:
        """Node index -> PID of the nodes whose mariadbd runs (by their pid files)."""
        result = {}
        for node in self.nodes:
            pid = owned_pid(node.pid_file, self.folder)
            if pid is not None:
                result[node.index] = pid
        return result

    def _clear_folder(self, replace_detached: bool) -> None:
        """Make way for a new cluster: refuse a folder in use, clean up one a crashed run left."""
        if not self.folder.exists():
            return
        holder = self._lock_holder()
        if holder is not None:
            raise ClusterBusyError(f"{self.folder} is in use by {holder}")
        detached = self.lock_file.exists() and self.lock_file.read_text().strip() == "detached"
        if detached and self.live_pids() and not replace_detached:
            raise ClusterBusyError(
                f"a cluster started with 'up' runs in {self.folder}; stop it first: "
                f"python -m tests.galera_cluster down --dir {self.folder}"
            )
        stopped = stop_folder_processes(self.folder, sig=signal.SIGKILL)  # its data is thrown away
        if stopped:
            print(
                f"galera: stopped {len(stopped)} stale process(es) in {self.folder}: {stopped}",
                file=sys.stderr,
            )
        shutil.rmtree(self.folder)

    def _check_ports(self) -> None:
        taken = sorted(port for port in self.all_ports() if port_in_use(port))
        if taken:
            raise PortsInUseError(
                f"ports {', '.join(map(str, taken))} on 127.0.0.1 are in use by another program; "
                f"stop it, or pick other ports with --offset (the cluster uses {min(self.all_ports())}-"
                f"{max(self.all_ports())})"
            )

    # ------------------------------------------------------------------------------------ lifecycle
    def start(self, timeout: float = START_TIMEOUT) -> float:
        """Bootstrap node 1, join the others, wait until all are Synced; returns the seconds it took."""
        missing = missing_packages()
        if missing:
            raise GaleraError(f"missing: {', '.join(missing)}")
        began = time.monotonic()
        self._clear_folder(replace_detached=False)
        self._check_ports()
        self.folder.mkdir(parents=True)
        self._take_lock()
        try:
            self.layout_file.write_text(
                json.dumps({"offset": self.offset, "size": len(self.nodes), "created": time.time()})
            )
            for node in self.nodes:
                self._write_option_file(node)
            self._install(self.nodes[0])
            deadline = began + timeout
            self._launch(self.nodes[0], bootstrap=True)
            self._wait_node_ready(self.nodes[0], deadline)
            self._prepare_root(self.nodes[0])
            for node in self.nodes[1:]:
                node.datadir.mkdir(parents=True)  # empty: the rsync SST fills it from the donor
                self._hand_over(node.datadir)
                self._launch(node)
            self.wait_synced(timeout=max(1.0, deadline - time.monotonic()))
        except BaseException:
            self.stop()
            raise
        self.start_seconds = time.monotonic() - began
        return self.start_seconds

    def stop(self, remove: bool = True, timeout: float = 20.0) -> None:
        """Stop every process of this cluster by its PID (SIGTERM, then SIGKILL), those this object launched
        also by their process handles (a pid file misread once left a node running), and remove the folder."""
        if self.folder.exists():
            stop_folder_processes(self.folder, timeout=timeout)
        for process in self._processes.values():  # and those it launched, by their own handles
            if process.poll() is None:
                process.terminate()
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._processes.clear()
        self._release_lock()
        if remove and self.folder.exists():
            shutil.rmtree(self.folder, ignore_errors=True)

    def detach(self) -> None:
        """Leave the cluster running after this process exits (the ``up`` command); ``down`` stops it."""
        self._processes.clear()
        self._release_lock(detached=True)

    def kill_node(self, index: int) -> float:
        """SIGKILL node ``index`` (a crash: no goodbye to the cluster); returns the monotonic time of death."""
        node = self.node(index)
        pid = owned_pid(node.pid_file, self.folder)
        if pid is None:
            raise GaleraError(f"node {index} is not running")
        os.kill(pid, signal.SIGKILL)
        killed_at = time.monotonic()
        self._stopped.add(index)
        process = self._processes.pop(index, None)
        if process is not None:
            process.wait(timeout=10)
        else:
            stop_pid(pid, 10, sig=0)
        return killed_at

    def restart_node(self, index: int, timeout: float = START_TIMEOUT) -> float:
        """Start a stopped node again; it rejoins through IST or SST. Returns the seconds until Synced."""
        node = self.node(index)
        if owned_pid(node.pid_file, self.folder) is not None:
            raise GaleraError(f"node {index} is already running")
        began = time.monotonic()
        self._launch(node)
        self.wait_synced(timeout=timeout)
        return time.monotonic() - began

    def heal(self, timeout: float = START_TIMEOUT) -> None:
        """Restart any node a test stopped and wait until the whole cluster is Synced again."""
        for node in self.nodes:
            if owned_pid(node.pid_file, self.folder) is None:
                self._launch(node)
        self.wait_synced(timeout=timeout)

    # ------------------------------------------------------------------------------------ internals
    def _write_option_file(self, node: Node) -> None:
        node.folder.mkdir(parents=True, exist_ok=True)
        self._hand_over(node.folder)  # the server writes its socket, pid file and error log here
        peers = ",".join(f"127.0.0.1:{n.ports.gcomm}" for n in self.nodes)
        provider_options = ";".join(
            (
                f"gmcast.listen_addr=tcp://127.0.0.1:{node.ports.gcomm}",
                f"ist.recv_addr=127.0.0.1:{node.ports.ist}",
                "gcache.size=64M",
                *EVICTION_OPTIONS,
            )
        )
        node.option_file.write_text(
            f"""# Generated by tests/galera_cluster.py for {node.name}; removed with the folder.
[mysqld]
datadir={node.datadir}
socket={node.socket}
pid-file={node.folder / "mariadbd.pid"}
log-error={node.error_log}
port={node.ports.sql}
bind-address=127.0.0.1
skip-name-resolve
skip-log-bin
performance_schema=OFF
max_connections=500
# What Galera needs: row events, interleaved auto-increment locks, InnoDB only.
binlog_format=ROW
default_storage_engine=InnoDB
innodb_autoinc_lock_mode=2
# Durability comes from the other nodes; a test cluster need not flush every commit.
innodb_flush_log_at_trx_commit=2
innodb_buffer_pool_size=64M
# Small files: a joiner copies them all (rsync SST).
innodb_log_file_size=8M
wsrep_on=ON
wsrep_provider={PROVIDER}
wsrep_cluster_name={CLUSTER_NAME}
wsrep_cluster_address=gcomm://{peers}
wsrep_node_name={node.name}
wsrep_node_address=127.0.0.1:{node.ports.gcomm}
wsrep_node_incoming_address=127.0.0.1:{node.ports.sql}
wsrep_sst_method=rsync
wsrep_sst_receive_address=127.0.0.1:{node.ports.sst}
wsrep_provider_options="{provider_options}"
"""
        )

    def _user_options(self) -> list[str]:
        # As root, run the nodes as mysql like a packaged server: mariadbd refuses root unless told, and
        # the rsync SST daemon started by root drops to "nobody", who cannot write the joiner's datadir.
        return [f"--user={SERVER_USER}"] if os.geteuid() == 0 else []

    def _hand_over(self, path: Path) -> None:
        if os.geteuid() == 0:
            shutil.chown(path, SERVER_USER, SERVER_USER)

    def _install(self, node: Node) -> None:
        node.datadir.mkdir(parents=True)
        self._hand_over(node.datadir)
        result = subprocess.run(
            [
                _binary("mariadb-install-db"),
                "--no-defaults",
                f"--datadir={node.datadir}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--skip-name-resolve",
                *self._user_options(),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if result.returncode != 0:
            raise GaleraError(f"mariadb-install-db failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")

    def _launch(self, node: Node, bootstrap: bool = False) -> None:
        node.pid_file.unlink(missing_ok=True)
        command = [
            _binary("mariadbd"),
            f"--defaults-file={node.option_file}",  # must come first
            *self._user_options(),
            *(["--wsrep-new-cluster"] if bootstrap else []),
        ]
        with (node.folder / "console.log").open("ab") as console:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C in the terminal reaches the tests, not the nodes
            )
        node.pid_file.write_text(f"{process.pid}\n")
        self._processes[node.index] = process
        self._stopped.discard(node.index)

    def _exited(self, node: Node) -> bool:
        """Has the node's server ended? Asked of the process this object started when there is one (its exit
        status is certain), else of the pid file and the command line behind it (that way, once, a running
        node was reported as exited during start-up, under load)."""
        process = self._processes.get(node.index)
        if process is not None:
            return process.poll() is not None
        return owned_pid(node.pid_file, self.folder) is None

    def _wait_node_ready(self, node: Node, deadline: float) -> None:
        while time.monotonic() < deadline:
            if self._exited(node):
                raise GaleraError(f"{node.name} exited during start-up:\n{self.log_tail(node.index)}")
            with contextlib.suppress(pymysql.MySQLError):
                status = self._status_over_socket(node)
                if status.get("wsrep_ready") == "ON":
                    return
            time.sleep(0.1)
        raise GaleraError(f"{node.name} did not become ready in time:\n{self.log_tail(node.index)}")

    def _status_over_socket(self, node: Node) -> dict[str, str]:
        connection = pymysql.connect(
            unix_socket=str(node.socket), user="root", password="", connect_timeout=2
        )
        try:
            with connection.cursor() as cursor:
                cursor.execute("SHOW GLOBAL STATUS LIKE 'wsrep%%'")
                return {str(k): str(v) for k, v in cursor.fetchall()}
        finally:
            connection.close()

    def _prepare_root(self, node: Node) -> None:
        # root with an empty password over TCP from 127.0.0.1 (skip-name-resolve: 'localhost' is the socket
        # only). The grant replicates, and the joiners copy it with the data.
        connection = pymysql.connect(unix_socket=str(node.socket), user="root", password="", autocommit=True)
        try:
            with connection.cursor() as cursor:
                cursor.execute("CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY ''")
                cursor.execute("GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION")
        finally:
            connection.close()

    # ---------------------------------------------------------------------------------------- queries
    def node(self, index: int) -> Node:
        if not 1 <= index <= len(self.nodes):
            raise ValueError(f"no node {index} (nodes are 1-{len(self.nodes)})")
        return self.nodes[index - 1]

    def port(self, index: int) -> int:
        return self.node(index).ports.sql

    def url(self, index: int, database: str = "") -> str:
        return f"mysql+pymysql://root:@127.0.0.1:{self.port(index)}/{database}"

    def connect(self, index: int, database: str | None = None, **options: Any) -> pymysql.Connection[Any]:
        options.setdefault("connect_timeout", 3)
        options.setdefault("read_timeout", 30)
        return pymysql.connect(
            host="127.0.0.1", port=self.port(index), user="root", password="", database=database, **options
        )

    def admin_sql(self, index: int, sql: str, args: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run one statement on node ``index`` as root (autocommit) and return its rows."""
        connection = self.connect(index, autocommit=True)
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, args)
                return [tuple(row) for row in cursor.fetchall()]
        finally:
            connection.close()

    def status(self, index: int) -> dict[str, str]:
        """The node's ``wsrep%`` status variables."""
        return {str(k): str(v) for k, v in self.admin_sql(index, "SHOW GLOBAL STATUS LIKE 'wsrep%%'")}

    def running(self) -> list[int]:
        return sorted(self.live_pids())

    def wait_synced(self, timeout: float = START_TIMEOUT) -> None:
        """Wait until every node not stopped on purpose is Synced, ready, and one primary component holds
        exactly them. A node that exits meanwhile is an error at once (with its log)."""
        deadline = time.monotonic() + timeout
        last: dict[int, str] = {}
        running = [n.index for n in self.nodes if n.index not in self._stopped]
        if not running:
            raise GaleraError("every node is stopped")
        while True:
            gone = [i for i in running if self._exited(self.node(i))]
            if gone:
                raise GaleraError(f"node(s) {gone} exited:\n" + "\n".join(self.log_tail(i) for i in gone))
            settled = True
            for index in running:
                try:
                    status = self.status(index)
                except pymysql.MySQLError as error:
                    last[index] = f"unreachable ({error.args[0] if error.args else error})"
                    settled = False
                    continue
                last[index] = (
                    f"{status.get('wsrep_local_state_comment')}, size {status.get('wsrep_cluster_size')}, "
                    f"{status.get('wsrep_cluster_status')}"
                )
                settled = settled and (
                    status.get("wsrep_local_state_comment") == "Synced"
                    and status.get("wsrep_ready") == "ON"
                    and status.get("wsrep_cluster_status") == "Primary"
                    and status.get("wsrep_cluster_size") == str(len(running))
                )
            if settled:
                return
            if time.monotonic() >= deadline:
                states = "; ".join(f"node {i}: {s}" for i, s in sorted(last.items()))
                logs = "\n".join(self.log_tail(i, 15) for i in running)
                raise GaleraError(f"the cluster did not settle within {timeout:.0f} s ({states})\n{logs}")
            time.sleep(0.2)

    def log_tail(self, index: int, lines: int = 25) -> str:
        node = self.node(index)
        try:
            text = node.error_log.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            text = ["(no error log)"]
        return f"--- {node.error_log} ---\n" + "\n".join(text)

    # -------------------------------------------------------------------------------------- databases
    def create_database(self, name: str) -> None:
        self.admin_sql(1 if 1 in self.running() else self.running()[0], _create_database_sql(name))
        self._databases.append(name)

    def drop_database(self, name: str) -> None:
        self.admin_sql(self.running()[0], f"DROP DATABASE IF EXISTS `{_checked_name(name)}`")
        if name in self._databases:
            self._databases.remove(name)

    def new_database(self, prefix: str = "da_galera") -> str:
        """A fresh, empty database with a unique name (dropped with the cluster)."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        self.create_database(name)
        return name


def _checked_name(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"database name {name!r}: letters, digits and underscores only")
    return name


def _create_database_sql(name: str) -> str:
    return f"CREATE DATABASE `{_checked_name(name)}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"


@contextlib.contextmanager
def running_cluster(folder: Path | None = None, offset: int = 0) -> Iterator[GaleraCluster]:
    cluster = GaleraCluster(folder, offset)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


def start_on_free_ports(offsets: Sequence[int] = (0, 100, 200, 300, 400)) -> GaleraCluster:
    """Start a cluster on the first port block that is free and whose folder nobody uses."""
    problems = []
    for offset in offsets:
        cluster = GaleraCluster(offset=offset)
        try:
            cluster.start()
        except (ClusterBusyError, PortsInUseError) as error:
            problems.append(f"offset {offset}: {error}")
            continue
        return cluster
    raise GaleraError("no free port block for a Galera cluster:\n" + "\n".join(problems))


# --------------------------------------------------------------------------------------------- script
def _print_status(cluster: GaleraCluster) -> bool:
    pids = cluster.live_pids()
    healthy = bool(pids)
    for node in cluster.nodes:
        pid = pids.get(node.index)
        if pid is None:
            print(f"{node.name}: stopped (SQL port {node.ports.sql})")
            healthy = False
            continue
        try:
            status = cluster.status(node.index)
            state = (
                f"{status.get('wsrep_local_state_comment')}, cluster size {status.get('wsrep_cluster_size')}, "
                f"{status.get('wsrep_cluster_status')}"
            )
            healthy = healthy and status.get("wsrep_local_state_comment") == "Synced"
        except pymysql.MySQLError as error:
            state = f"not answering ({error})"
            healthy = False
        print(f"{node.name}: pid {pid}, {cluster.url(node.index)} - {state}")
    return healthy


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.galera_cluster",
        description="A local 3-node MariaDB Galera cluster on 127.0.0.1 for desktop-auth's tests.",
    )
    parser.add_argument("command", choices=("up", "down", "status"))
    parser.add_argument(
        "--dir", type=Path, default=None, help="the cluster's folder (default: under the temp dir)"
    )
    parser.add_argument(
        "--offset", type=int, default=0, help=f"shift every port by this much (SQL ports from {SQL_BASE})"
    )
    args = parser.parse_args(argv)
    cluster = GaleraCluster(args.dir, args.offset)
    if args.dir is not None and cluster.layout_file.exists() and args.command != "up":
        cluster = GaleraCluster(args.dir, int(json.loads(cluster.layout_file.read_text())["offset"]))
    try:
        if args.command == "up":
            seconds = cluster.start()
            cluster.detach()
            print(
                f"Galera cluster of {len(cluster.nodes)} nodes Synced in {seconds:.1f} s, in {cluster.folder}"
            )
            _print_status(cluster)
            return 0
        if args.command == "status":
            if not cluster.folder.exists():
                print(f"no cluster in {cluster.folder}")
                return 1
            return 0 if _print_status(cluster) else 1
        if not cluster.folder.exists():
            print(f"no cluster in {cluster.folder}")
            return 0
        holder = cluster._lock_holder()
        if holder is not None:
            print(f"{cluster.folder} is in use by {holder}; not stopping it", file=sys.stderr)
            return 1
        began = time.monotonic()
        cluster.stop()
        print(f"stopped and removed {cluster.folder} in {time.monotonic() - began:.1f} s")
        return 0
    except GaleraError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
