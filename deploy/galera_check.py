#!/usr/bin/env python3
"""Galera health check agent for HAProxy: run one next to each MariaDB Galera node.

HAProxy's own ``mysql-check`` only sees that a server accepts connections; a Galera node can accept them
while it is joining, donating a snapshot or cut off from the primary component, and must not take clients
then. This agent answers HTTP on its own port (9200 by default): ``200`` only when its node reports
``wsrep_local_state_comment = Synced`` and ``wsrep_ready = ON``, ``503`` otherwise or when the node cannot
be reached. HAProxy asks it with ``option httpchk`` and ``check port 9200`` (see deploy/haproxy.cfg).

Needs Python 3 and PyMySQL only (Debian: python3-pymysql). The account needs no privileges:

    CREATE USER 'galera_check'@'localhost' IDENTIFIED BY '...';   -- USAGE is enough for SHOW STATUS

    galera_check.py --user galera_check --password-file /etc/galera_check.password --listen-port 9200
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pymysql

log = logging.getLogger("galera_check")

STATUS_SQL = (
    "SHOW GLOBAL STATUS WHERE Variable_name IN "
    "('wsrep_local_state_comment', 'wsrep_ready', 'wsrep_cluster_status')"
)


@dataclass(frozen=True)
class Options:
    host: str
    port: int
    socket: str | None
    user: str
    password: str
    timeout: float
    donor_ok: bool
    read_only_ok: bool


def node_health(options: Options) -> tuple[bool, str]:
    """(healthy, one line saying why) for the node as it is now; never raises for a database error."""
    try:
        connection = pymysql.connect(
            host=options.host,
            port=options.port,
            unix_socket=options.socket,
            user=options.user,
            password=options.password,
            connect_timeout=options.timeout,
            read_timeout=options.timeout,
            write_timeout=options.timeout,
        )
    except pymysql.MySQLError as error:
        return False, f"node unreachable: {_first_line(error)}"
    try:
        with connection.cursor() as cursor:
            cursor.execute(STATUS_SQL)
            status = {str(name): str(value) for name, value in cursor.fetchall()}
            cursor.execute("SELECT @@global.read_only")
            row = cursor.fetchone()
            read_only = bool(row and int(row[0]))
    except pymysql.MySQLError as error:
        return False, f"node did not answer: {_first_line(error)}"
    finally:
        connection.close()
    state = status.get("wsrep_local_state_comment")
    if state is None:
        return False, "not a Galera node (no wsrep status: wsrep_on is OFF or no provider)"
    if status.get("wsrep_ready") != "ON":
        return (
            False,
            f"not ready (wsrep_ready={status.get('wsrep_ready')}, {state}, {status.get('wsrep_cluster_status')})",
        )
    if status.get("wsrep_cluster_status") != "Primary":
        return False, f"not in the primary component ({status.get('wsrep_cluster_status')})"
    if state != "Synced" and not (options.donor_ok and state == "Donor/Desynced"):
        return False, f"not synced ({state})"
    if read_only and not options.read_only_ok:
        return False, f"{state} but read_only=ON"
    return True, state


def _first_line(error: Exception) -> str:
    text = " ".join(str(part) for part in error.args) if error.args else type(error).__name__
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__


class CheckHandler(BaseHTTPRequestHandler):
    server_version = "galera_check"
    sys_version = ""  # no Python version in the Server header
    options: Options  # set on the subclass made in serve()
    last_state: list[tuple[bool, str] | None]
    state_lock: threading.Lock

    def do_GET(self) -> None:
        self._answer(with_body=True)

    def do_HEAD(self) -> None:
        self._answer(with_body=False)

    def do_OPTIONS(self) -> None:
        self._answer(with_body=True)

    def _answer(self, with_body: bool) -> None:
        healthy, reason = node_health(self.options)
        self._log_change(healthy, reason)
        body = f"{'UP' if healthy else 'DOWN'}: Galera node {self._node_name()}: {reason}\r\n".encode()
        self.send_response(200 if healthy else 503)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def _node_name(self) -> str:
        return self.options.socket or f"{self.options.host}:{self.options.port}"

    def _log_change(self, healthy: bool, reason: str) -> None:
        # Log transitions only: HAProxy asks every few seconds, which would otherwise flood the log.
        with self.state_lock:
            if self.last_state[0] != (healthy, reason):
                self.last_state[0] = (healthy, reason)
                level = logging.INFO if healthy else logging.WARNING
                log.log(level, "%s: %s (%s)", self._node_name(), "UP" if healthy else "DOWN", reason)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s %s", self.address_string(), format % args)


def read_password(args: argparse.Namespace) -> str:
    if args.password_file is not None:
        try:
            lines = Path(args.password_file).read_text(encoding="utf-8").splitlines()
        except OSError as error:
            sys.exit(f"galera_check: cannot read --password-file {args.password_file}: {error.strerror}")
        return lines[0] if lines else ""
    if args.password is not None:
        return str(args.password)
    return os.environ.get("GALERA_CHECK_PASSWORD", "")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="galera_check.py",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "HTTP health check for one MariaDB Galera node, for HAProxy's 'option httpchk'.\n"
            "Answers 200 only when the node is Synced (wsrep_local_state_comment), ready (wsrep_ready=ON)\n"
            "and in the primary component; 503 otherwise, or when the node cannot be reached.\n"
            "HAProxy's mysql-check cannot see these states, hence this agent on its own port."
        ),
        epilog=(
            "The password comes from --password-file (first line), else --password, else the\n"
            "GALERA_CHECK_PASSWORD environment variable, else it is empty. Prefer the file: a password on\n"
            "the command line is visible to every user of the machine.\n\n"
            "Example (HAProxy side: 'server node1 10.0.0.11:3306 check port 9200'):\n"
            "  galera_check.py --user galera_check --password-file /etc/galera_check.password"
        ),
    )
    node = parser.add_argument_group("the Galera node to check")
    node.add_argument("--host", default="127.0.0.1", help="node address (default: %(default)s)")
    node.add_argument("--port", type=int, default=3306, help="node SQL port (default: %(default)s)")
    node.add_argument("--socket", help="connect through this Unix socket instead of host and port")
    node.add_argument("--user", default="galera_check", help="account for SHOW STATUS (default: %(default)s)")
    node.add_argument("--password-file", type=Path, help="file whose first line is the password")
    node.add_argument("--password", help="the password itself (visible in ps; prefer --password-file)")
    node.add_argument(
        "--timeout",
        type=float,
        default=2.0,
        help="seconds to connect or wait for an answer (default: %(default)s)",
    )
    node.add_argument(
        "--available-when-donor",
        action="store_true",
        help="also 200 while the node donates a snapshot (only for non-blocking SST such as mariabackup)",
    )
    node.add_argument(
        "--available-when-readonly", action="store_true", help="also 200 when the node has read_only=ON"
    )
    http = parser.add_argument_group("the HTTP side")
    http.add_argument(
        "--listen-address", default="0.0.0.0", help="address to listen on (default: %(default)s)"
    )
    http.add_argument(
        "--listen-port", type=int, default=9200, help="port to listen on (default: %(default)s)"
    )
    http.add_argument("--verbose", action="store_true", help="log every request, not only state changes")
    return parser.parse_args(argv)


def serve(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s galera_check %(levelname)s %(message)s",
    )
    options = Options(
        host=args.host,
        port=args.port,
        socket=args.socket,
        user=args.user,
        password=read_password(args),
        timeout=args.timeout,
        donor_ok=args.available_when_donor,
        read_only_ok=args.available_when_readonly,
    )
    handler = type(
        "Handler", (CheckHandler,), {"options": options, "last_state": [None], "state_lock": threading.Lock()}
    )
    try:
        server = ThreadingHTTPServer((args.listen_address, args.listen_port), handler)
    except OSError as error:
        sys.exit(f"galera_check: cannot listen on {args.listen_address}:{args.listen_port}: {error.strerror}")
    server.daemon_threads = True
    log.info(
        "checking %s, answering on http://%s:%d/",
        options.socket or f"{options.host}:{options.port}",
        args.listen_address,
        args.listen_port,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    serve()
