"""A throw-away MariaDB that accepts TLS connections only, for the TLS tests.

Its own ``mariadbd`` (Debian's mariadb-server) in a temporary folder on its own port, never the shared
server on 3306. Certificates are made here with ``cryptography``: a CA, a server certificate it signs for
127.0.0.1 and localhost (subjectAltName), and a second, unrelated CA for "wrong CA" tests. The server runs
with ``require_secure_transport=ON`` and is stopped by its own PID.

Test modules import the ``tls_server`` fixture: ``from tests.tls_server import tls_server``. Without
mariadbd the fixture skips, except under ``CI=true``, where it fails.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pymysql
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.conftest import IN_CI
from tests.galera_cluster import port_in_use

PREFERRED_PORT = 23490  # clear of the Galera test blocks (23306 + 100 per block)
HOST = "127.0.0.1"
DATABASE = "desktop_auth_tls"
APP_USER = "tls_app"
# A password the refusal messages must never show.
APP_PASSWORD = "Tls-pass-7f3a9c2e"
START_TIMEOUT_S = 30.0
MARIADBD = shutil.which("mariadbd") or shutil.which("mariadbd", path="/usr/sbin:/usr/local/sbin")
INSTALL_DB = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")


@dataclass(frozen=True)
class TlsServer:
    host: str
    port: int
    ca: Path  # signed the server's certificate
    wrong_ca: Path  # a CA of its own that signed nothing the server holds
    socket: Path  # root's way in without TLS (a Unix socket counts as secure transport)
    folder: Path

    def url(self, query: str = "", *, user: str = APP_USER, password: str = APP_PASSWORD) -> str:
        credentials = f"{user}:{password}" if password else user
        return (
            f"mysql+pymysql://{credentials}@{self.host}:{self.port}/{DATABASE}{'?' + query if query else ''}"
        )

    def verified_url(self, ca: Path | None = None) -> str:
        """The README's URL: the CA, and both the certificate and the host name verified."""
        return self.url(f"ssl_ca={ca or self.ca}&ssl_verify_cert=true&ssl_verify_identity=true")

    def admin(self, sql: str) -> list[tuple[object, ...]]:
        """Run ``sql`` as root through the Unix socket."""
        connection = pymysql.connect(unix_socket=str(self.socket), user="root", autocommit=True)
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql)
                return list(cursor.fetchall())
        finally:
            connection.close()


# --- certificates -------------------------------------------------------------------------------


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _write_pem(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    path.chmod(0o600)
    return path


def _certificate(
    subject: str,
    key: rsa.RSAPrivateKey,
    issuer: tuple[x509.Certificate, rsa.RSAPrivateKey] | None,
    *,
    ca: bool,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    issuer_name, signing_key = (issuer[0].subject, issuer[1]) if issuer else (name, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signing_key.public_key()), critical=False
        )
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    else:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST))]
            ),
            critical=False,
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    return builder.sign(signing_key, hashes.SHA256())


def make_certificates(folder: Path) -> dict[str, Path]:
    """ca.pem, server-cert.pem and server-key.pem (signed by ca.pem), and wrong-ca.pem, in ``folder``."""
    ca_key, wrong_key, server_key = _key(), _key(), _key()
    ca_cert = _certificate("desktop-auth test CA", ca_key, None, ca=True)
    wrong_cert = _certificate("desktop-auth test CA", wrong_key, None, ca=True)  # same name, other key
    server_cert = _certificate(HOST, server_key, (ca_cert, ca_key), ca=False)
    pem = serialization.Encoding.PEM
    return {
        "ca": _write_pem(folder / "ca.pem", ca_cert.public_bytes(pem)),
        "wrong_ca": _write_pem(folder / "wrong-ca.pem", wrong_cert.public_bytes(pem)),
        "cert": _write_pem(folder / "server-cert.pem", server_cert.public_bytes(pem)),
        "key": _write_pem(
            folder / "server-key.pem",
            server_key.private_bytes(
                pem, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
            ),
        ),
    }


# --- the server -----------------------------------------------------------------------------------


def _choose_port() -> int:
    """23490 unless something (say, another test run) holds it; then any free port."""
    if not port_in_use(PREFERRED_PORT, HOST):
        return PREFERRED_PORT
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _run_as() -> list[str]:
    # mariadbd refuses to run as root unless told to; as anyone else it runs as that user.
    return ["--user=root"] if os.geteuid() == 0 else []


class MariaDBProcess:
    """One mariadbd in ``folder``; ``stop()`` ends it by its PID and removes the folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None
        self.error_log = folder / "error.log"

    def start(self) -> TlsServer:
        """Start the server and create its users; on any failure, stop what was started."""
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> TlsServer:
        assert MARIADBD
        assert INSTALL_DB
        data = self.folder / "data"
        files = make_certificates(self.folder)
        subprocess.run(
            [
                INSTALL_DB,
                "--no-defaults",
                f"--datadir={data}",
                "--auth-root-authentication-method=normal",  # root, empty password, through the socket
                "--skip-test-db",
                *_run_as(),
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        port = _choose_port()
        sock = self.folder / "mysqld.sock"
        self.process = subprocess.Popen(
            [
                MARIADBD,
                "--no-defaults",
                *_run_as(),
                f"--datadir={data}",
                f"--socket={sock}",
                f"--pid-file={self.folder / 'mysqld.pid'}",
                f"--log-error={self.error_log}",
                f"--port={port}",
                f"--bind-address={HOST}",
                "--skip-name-resolve",
                "--innodb-buffer-pool-size=16M",
                f"--ssl-ca={files['ca']}",
                f"--ssl-cert={files['cert']}",
                f"--ssl-key={files['key']}",
                "--require-secure-transport=ON",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        server = TlsServer(
            host=HOST, port=port, ca=files["ca"], wrong_ca=files["wrong_ca"], socket=sock, folder=self.folder
        )
        self._wait_until_up(server)
        # With skip-name-resolve a TCP client is 'user'@'127.0.0.1', never 'user'@'localhost' (some
        # versions of mariadb-install-db create root@127.0.0.1, others do not).
        for statement in (
            f"CREATE DATABASE `{DATABASE}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
            f"CREATE USER IF NOT EXISTS 'root'@'{HOST}' IDENTIFIED BY ''",
            f"GRANT ALL ON *.* TO 'root'@'{HOST}' WITH GRANT OPTION",
            f"CREATE USER '{APP_USER}'@'{HOST}' IDENTIFIED BY '{APP_PASSWORD}'",
            f"GRANT ALL ON `{DATABASE}`.* TO '{APP_USER}'@'{HOST}'",
        ):
            server.admin(statement)
        return server

    def _wait_until_up(self, server: TlsServer) -> None:
        assert self.process is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"mariadbd exited with {self.process.returncode}:\n{self._log_tail()}")
            if server.socket.exists():
                try:
                    server.admin("SELECT 1")
                    return
                except pymysql.MySQLError:
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"mariadbd did not start within {START_TIMEOUT_S:.0f} s:\n{self._log_tail()}"
                )
            time.sleep(0.1)

    def _log_tail(self) -> str:
        try:
            return "\n".join(self.error_log.read_text(errors="replace").splitlines()[-15:])
        except OSError:
            return "(no error log)"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # SIGTERM to our own PID: a clean shutdown
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def tls_server() -> Iterator[TlsServer]:
    if not (MARIADBD and INSTALL_DB):
        problem = "mariadbd / mariadb-install-db not found (Debian: apt-get install mariadb-server)"
        if IN_CI:
            pytest.fail(f"the TLS tests must run in CI: {problem}")
        pytest.skip(problem)
    process = MariaDBProcess(Path(tempfile.mkdtemp(prefix="desktop-auth-tls-")))
    server = process.start()
    try:
        yield server
    finally:
        process.stop()
