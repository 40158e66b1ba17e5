"""TLS to MariaDB through the app's own code (Settings, Database, the CLI), against a real server that
refuses anything but TLS (tests/tls_server.py): the README's URL options give a verified, encrypted
session; a wrong CA, a name the certificate does not list and a plain connection are refused in one line
that shows no password; URL options that cannot work are refused before any connection is tried.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from desktop_auth.cli import main
from desktop_auth.db.engine import Database
from desktop_auth.db.errors import DatabaseConnectionLostError, DatabaseUnavailableError, DatabaseUrlError
from tests.conftest import CHEAP_HASH, make_settings
from tests.tls_server import APP_PASSWORD, TlsServer, tls_server

__all__ = ["tls_server"]  # the fixture, imported for pytest


def session_status(url: str, *names: str) -> dict[str, str]:
    """The server's view of one session opened through ``Database``: its Ssl_* status values."""
    database = Database(make_settings(url))
    try:
        with database.transaction() as session:
            rows = session.execute(text("SHOW SESSION STATUS LIKE 'Ssl_%'")).all()
    finally:
        database.dispose()
    status = {str(name): str(value) for name, value in rows}
    return {name: status[name] for name in names}


def refusal(url: str) -> DatabaseUnavailableError:
    """The error ``Database.ping`` raises for ``url``; it must be one line without the password."""
    database = Database(make_settings(url))
    try:
        with pytest.raises(DatabaseUnavailableError) as caught:
            database.ping()
    finally:
        database.dispose()
    message = caught.value.message
    assert "\n" not in message, message
    assert APP_PASSWORD not in message, message
    # A refusal that will not change on its own is not waited out as a lost connection would be.
    assert not isinstance(caught.value, DatabaseConnectionLostError), message
    return caught.value


# -- a verified, encrypted session ---------------------------------------------------------------------


@pytest.mark.tls
def test_the_readme_url_gives_a_verified_encrypted_session(tls_server: TlsServer) -> None:
    status = session_status(tls_server.verified_url(), "Ssl_cipher", "Ssl_version")
    assert status["Ssl_cipher"], status
    assert status["Ssl_version"] in ("TLSv1.2", "TLSv1.3"), status


@pytest.mark.tls
def test_ssl_ca_alone_also_verifies(tls_server: TlsServer) -> None:
    # PyMySQL's own ssl_ca without ssl_verify_cert verifies nothing; in desktop-auth the CA is always used.
    assert session_status(tls_server.url(f"ssl_ca={tls_server.ca}"), "Ssl_cipher")["Ssl_cipher"]
    message = refusal(tls_server.url(f"ssl_ca={tls_server.wrong_ca}")).message
    assert "certificate verify failed" in message


# -- refusals, each in one line --------------------------------------------------------------------------


@pytest.mark.tls
def test_a_wrong_ca_is_refused(tls_server: TlsServer) -> None:
    message = refusal(tls_server.verified_url(ca=tls_server.wrong_ca)).message
    assert message.startswith("The database is unavailable (mysql+pymysql://tls_app:***@127.0.0.1:"), message
    assert f"ssl_ca={tls_server.wrong_ca}&" in message, message  # the path as written, not %2F-encoded
    assert "the server's TLS certificate was refused (certificate verify failed: " in message, message
    assert "check that ssl_ca names the CA that signed the server's certificate" in message, message


@pytest.mark.tls
def test_the_host_name_is_verified(tls_server: TlsServer) -> None:
    # '127.1' reaches 127.0.0.1, but it is a name the certificate does not list (127.0.0.1, localhost).
    try:
        socket.getaddrinfo("127.1", tls_server.port)
    except OSError:
        pytest.skip("this resolver does not read 127.1 as 127.0.0.1")
    other_name = tls_server.verified_url().replace(f"@{tls_server.host}:", "@127.1:")
    message = refusal(other_name).message
    assert "certificate verify failed: Hostname mismatch" in message, message
    assert "connect to a host name or address that the server's certificate lists" in message, message
    # The same name with only the host name check turned off: the certificate itself is still verified.
    unchecked = other_name.replace("ssl_verify_identity=true", "ssl_verify_identity=false")
    assert session_status(unchecked, "Ssl_cipher")["Ssl_cipher"]
    assert (
        "certificate verify failed"
        in refusal(unchecked.replace(str(tls_server.ca), str(tls_server.wrong_ca))).message
    )


@pytest.mark.tls
def test_a_plain_connection_is_refused(tls_server: TlsServer) -> None:
    message = refusal(tls_server.url("ssl_disabled=true")).message
    assert "Access denied for user 'tls_app'@'127.0.0.1'" in message, message
    assert "this connection was not encrypted (ssl_disabled=true)" in message, message
    assert "which a server that requires TLS (require_secure_transport) refuses" in message, message
    assert (
        "add ssl_ca=/path/to/ca.pem&ssl_verify_cert=true&ssl_verify_identity=true to DATABASE_URL" in message
    )


@pytest.mark.tls
def test_without_tls_options_the_session_is_never_plain(tls_server: TlsServer) -> None:
    """PyMySQL 1.2 and later try TLS on their own (without verifying the certificate: only ssl_ca gives
    that); older ones connect in plain text, which this server refuses."""
    database = Database(make_settings(tls_server.url()))
    cipher, refused = "", ""
    try:
        with database.transaction() as session:
            cipher = str(session.execute(text("SHOW SESSION STATUS LIKE 'Ssl_cipher'")).one()[1])
    except DatabaseUnavailableError as error:
        refused = error.message
    finally:
        database.dispose()
    assert cipher or "Access denied" in refused, (
        f"accepted in plain text, or refused for another reason: {refused}"
    )


# -- the CLI, as an operator runs it ---------------------------------------------------------------------


@pytest.fixture
def url_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DESKTOP_AUTH_HASH_METHOD", CHEAP_HASH)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return tmp_path / "database-url"


@pytest.mark.tls
def test_cli_migrates_and_lists_over_tls(
    tls_server: TlsServer, url_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url_file.write_text(tls_server.verified_url() + "\n", encoding="utf-8")
    url_file.chmod(0o600)
    assert main(["--database-url-file", str(url_file), "db", "upgrade"]) == 0, capsys.readouterr().err
    assert main(["--database-url-file", str(url_file), "users", "list", "--json"]) == 0
    captured = capsys.readouterr()
    assert "Database schema is at revision" in captured.out
    assert captured.err == ""

    url_file.write_text(tls_server.verified_url(ca=tls_server.wrong_ca) + "\n", encoding="utf-8")
    assert main(["--database-url-file", str(url_file), "users", "list"]) == 1
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1, captured.err
    assert captured.err.startswith("desktop-auth: error: The database is unavailable ("), captured.err
    assert "certificate verify failed" in captured.err
    assert APP_PASSWORD not in captured.err + captured.out


@pytest.mark.tls
def test_the_installed_command_reads_the_url_from_the_environment(tls_server: TlsServer) -> None:
    """The real entry point in its own process, DATABASE_URL in its environment: a verified listing, then
    a plain connection refused in one line."""

    def run(url: str) -> subprocess.CompletedProcess[str]:
        environment = {**os.environ, "DATABASE_URL": url, "DESKTOP_AUTH_HASH_METHOD": CHEAP_HASH}
        command = [sys.executable, "-m", "desktop_auth", "users", "list", "--json"]
        return subprocess.run(command, env=environment, capture_output=True, text=True, timeout=60)

    migrated = main(["--database-url", tls_server.verified_url(), "db", "upgrade"])
    assert migrated == 0
    listed = run(tls_server.verified_url())
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.lstrip().startswith("["), listed.stdout

    plain = run(tls_server.url("ssl_disabled=true"))
    assert plain.returncode == 1
    assert plain.stderr.count("\n") == 1, plain.stderr
    assert "require_secure_transport" in plain.stderr
    assert "Traceback" not in plain.stderr
    assert APP_PASSWORD not in plain.stderr + plain.stdout


# -- URL options refused before connecting (no server needed) ------------------------------------------

BAD_OPTIONS = {
    "missing CA file": (
        "ssl_ca=/missing/ca.pem",
        "DATABASE_URL option ssl_ca: cannot read '/missing/ca.pem' (No such file or directory)",
    ),
    "CA not PEM": ("ssl_ca={not_pem}", "is not a usable PEM file (no certificate or crl found)"),
    "CA a folder": ("ssl_capath={not_pem}", "is not a folder"),
    "timeout not a number": (
        "connect_timeout=abc",
        "DATABASE_URL option connect_timeout must be a whole number of at least 1, not 'abc'",
    ),
    "timeout zero": ("read_timeout=0", "must be a whole number of at least 1, not '0'"),
    "flag not yes/no": (
        "ssl_verify_cert=maybe",
        "DATABASE_URL option ssl_verify_cert must be true or false, not 'maybe'",
    ),
    "MySQL CLI spelling": (
        "ssl_mode=VERIFY_IDENTITY",
        "an option the MySQL driver does not know: 'ssl_mode'; TLS options are ssl_ca,",
    ),
    "ssl as a word": (
        "ssl=true",
        "option 'ssl' cannot be given in the URL (for TLS use ssl_ca=/path/to/ca.pem)",
    ),
    "autocommit as text": ("autocommit=false", "option 'autocommit' cannot be given in the URL"),
    "plain and TLS at once": (
        "ssl_disabled=true&ssl_ca=/x.pem",
        "sets ssl_disabled=true together with ssl_ca: choose one",
    ),
    "identity without certificate": (
        "ssl_verify_cert=false&ssl_verify_identity=true",
        "a host name is only checked in a verified certificate",
    ),
    "key without certificate": (
        f"ssl_key=/k.pem&ssl_key_password={APP_PASSWORD}",
        "gives ssl_key without ssl_cert",
    ),
    "twice": ("ssl_ca=/a.pem&ssl_ca=/b.pem", "gives the option 'ssl_ca' more than once"),
}


@pytest.mark.parametrize(("query", "expected"), BAD_OPTIONS.values(), ids=BAD_OPTIONS.keys())
def test_unusable_url_options_are_refused_in_one_line(
    query: str,
    expected: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("not a certificate\n", encoding="utf-8")
    url = f"mysql+pymysql://tls_app:{APP_PASSWORD}@127.0.0.1:9/app?{query.format(not_pem=not_pem)}"
    with pytest.raises(DatabaseUrlError) as caught:
        Database(make_settings(url))
    assert expected in caught.value.message, caught.value.message
    assert "\n" not in caught.value.message
    assert APP_PASSWORD not in caught.value.message

    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert main(["--database-url", url, "users", "list"]) == 1
    captured = capsys.readouterr()
    assert captured.err == f"desktop-auth: error: {caught.value.message}\n", captured.err
    assert "unexpected error" not in captured.err
