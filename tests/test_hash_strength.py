"""The configured hash method has a floor, and a sign-in never rewrites a hash to a weaker method."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select, update
from werkzeug.security import generate_password_hash

from desktop_auth.config import load_settings
from desktop_auth.db.engine import Database
from desktop_auth.errors import ConfigError
from desktop_auth.hash_methods import method_strength
from desktop_auth.models import User
from desktop_auth.services import Services
from tests.conftest import STRONG_PASSWORD


def _stored_hash(database: Database, email: str) -> str:
    with database.transaction() as session:
        return session.scalar(select(User.password_hash).where(User.email == email)) or ""


@pytest.mark.parametrize(
    ("method", "strength"),
    [
        ("scrypt:131072:8:1", 1.0),
        ("pbkdf2:sha256:600000", 1.0),
        ("pbkdf2:sha512:210000", 1.0),
        ("scrypt:262144:8:1", 2.0),
        ("scrypt:32768:8:1", 0.25),
        ("scrypt", 0.25),  # werkzeug's own default is below OWASP's figure
        ("pbkdf2:sha256:1", 1 / 600_000),
        ("md5", 0.0),
        ("scrypt:x:8:1", 0.0),
        ("scrypt:2:8:65536", 2 * 8 / (2**17 * 8)),  # the work of the floor, but 2 KiB: not memory-hard
        ("scrypt:65536:8:2", 0.5),
        ("scrypt:131073:8:1", 0.0),  # N must be a power of two
    ],
)
def test_method_strength_against_owasp(method: str, strength: float) -> None:
    assert method_strength(method) == pytest.approx(strength)


@pytest.mark.parametrize(
    "method", ["pbkdf2:sha256:1", "pbkdf2:sha256:599999", "scrypt:65536:8:1", "scrypt", "scrypt:2:8:65536"]
)
def test_a_weak_configured_method_refuses_to_start(method: str) -> None:
    with pytest.raises(ConfigError, match="weaker than the minimum"):
        load_settings(environ={"DESKTOP_AUTH_HASH_METHOD": method}, dotenv_files=[])


@pytest.mark.parametrize("method", ["scrypt:131072:8:1", "pbkdf2:sha256:600000", "scrypt:131072:8:2"])
def test_methods_at_the_floor_start(method: str) -> None:
    assert load_settings(environ={"DESKTOP_AUTH_HASH_METHOD": method}, dotenv_files=[]).hash_method == method


def test_the_test_switch_lets_a_weak_method_through_and_is_logged(
    tmp_path, caplog: pytest.LogCaptureFixture
) -> None:
    environ = {"DESKTOP_AUTH_HASH_METHOD": "pbkdf2:sha256:1", "DESKTOP_AUTH_ALLOW_WEAK_HASH_FOR_TESTS": "1"}
    settings = load_settings(f"sqlite:///{tmp_path / 'x.sqlite3'}", environ=environ, dotenv_files=[])
    with caplog.at_level(logging.WARNING):
        Services(settings).close()
    assert "DESKTOP_AUTH_ALLOW_WEAK_HASH_FOR_TESTS" in caplog.text


def test_the_cli_refuses_a_weak_method(tmp_path, monkeypatch, capsys) -> None:
    from desktop_auth.cli import main

    monkeypatch.delenv("DESKTOP_AUTH_ALLOW_WEAK_HASH_FOR_TESTS")
    monkeypatch.setenv("DESKTOP_AUTH_HASH_METHOD", "pbkdf2:sha256:1")
    monkeypatch.chdir(tmp_path)
    assert main(["--database-url", f"sqlite:///{tmp_path / 'x.sqlite3'}", "users", "list"]) == 1
    assert "weaker than the minimum" in capsys.readouterr().err


def test_a_weaker_client_never_downgrades_a_stored_hash(services: Services, database, make_services) -> None:
    services.accounts.register("strong@example.com", STRONG_PASSWORD)
    stronger = generate_password_hash(STRONG_PASSWORD, method="scrypt:16384:8:1")
    with database.transaction(write=True) as session:
        session.execute(update(User).where(User.email == "strong@example.com").values(password_hash=stronger))
    weak_client = make_services(hash_method="pbkdf2:sha256:1")
    assert weak_client.accounts.authenticate("strong@example.com", STRONG_PASSWORD).login_count == 1
    assert _stored_hash(database, "strong@example.com") == stronger, "kept: the client's method is weaker"
    # A stronger client still upgrades it.
    strong_client = make_services(hash_method="scrypt:32768:8:1")
    strong_client.accounts.authenticate("strong@example.com", STRONG_PASSWORD)
    assert _stored_hash(database, "strong@example.com").startswith("scrypt:32768:8:1$")


def test_a_method_werkzeug_cannot_run_is_refused_at_start() -> None:
    environ = {"DESKTOP_AUTH_HASH_METHOD": "scrypt:131073:8:1", "DESKTOP_AUTH_ALLOW_WEAK_HASH_FOR_TESTS": "1"}
    with pytest.raises(ConfigError, match="power of two"):
        load_settings(environ=environ, dotenv_files=[])


def test_a_client_cannot_seed_a_lockout_longer_than_the_settings_allow() -> None:
    with pytest.raises(ConfigError, match="at most"):
        load_settings(environ={"DESKTOP_AUTH_LOCKOUT_MAX_SECONDS": str(10**12)}, dotenv_files=[])
