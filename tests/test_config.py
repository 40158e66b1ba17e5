"""Settings precedence, the embedded default and clear errors for bad configuration."""

from pathlib import Path

import pytest

from desktop_auth import paths
from desktop_auth.config import DEFAULT_HASH_METHOD, load_settings
from desktop_auth.db.engine import Database, make_engine, mask_url
from desktop_auth.db.errors import DatabaseUnavailableError, DatabaseUrlError
from desktop_auth.errors import ConfigError


def test_embedded_sqlite_default_when_no_url(tmp_path: Path) -> None:
    settings = load_settings(environ={}, dotenv_files=[])
    assert settings.embedded
    assert settings.database_url == f"sqlite:///{paths.user_data_dir() / 'desktop_auth.sqlite3'}"
    assert settings.hash_method == DEFAULT_HASH_METHOD == "scrypt:131072:8:1"
    assert settings.password_min_length == 15


def test_precedence_override_then_environment_then_dotenv(tmp_path: Path) -> None:
    config_env = tmp_path / "config.env"
    config_env.write_text("DATABASE_URL=sqlite:///from-config\nDESKTOP_AUTH_LOCKOUT_THRESHOLD=7\n")
    cwd_env = tmp_path / "cwd.env"
    cwd_env.write_text("DATABASE_URL=sqlite:///from-cwd\n")
    files = [config_env, cwd_env]

    assert load_settings(environ={}, dotenv_files=files).database_url == "sqlite:///from-cwd"
    assert load_settings(environ={}, dotenv_files=files).lockout_threshold == 7
    from_env = load_settings(environ={"DATABASE_URL": "sqlite:///from-env"}, dotenv_files=files)
    assert from_env.database_url == "sqlite:///from-env"
    assert not from_env.embedded
    overridden = load_settings(
        "sqlite:///from-flag", environ={"DATABASE_URL": "sqlite:///x"}, dotenv_files=files
    )
    assert overridden.database_url == "sqlite:///from-flag"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DESKTOP_AUTH_LOCKOUT_THRESHOLD", "five", "must be a whole number"),
        ("DESKTOP_AUTH_LOCKOUT_THRESHOLD", "0", "must be at least 1"),
        ("DESKTOP_AUTH_HASH_METHOD", "md5", "is not a werkzeug method"),
        ("DESKTOP_AUTH_PASSWORD_MIN_LENGTH", "-3", "must be at least 1"),
    ],
)
def test_bad_settings_are_named(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        load_settings(environ={name: value}, dotenv_files=[])
    assert name in str(caught.value) or value in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "not a url",
        "postgresql://alice:s3cret-pw@db.example.com/app",
        "mysql+pymysql://alice:s3cret-pw@db.example.com",  # no database name
        "mysql+nosuchdriver://alice:s3cret-pw@db.example.com/app",
    ],
)
def test_unusable_url_is_one_line_with_password_masked(url: str) -> None:
    settings = load_settings(url, environ={}, dotenv_files=[])
    with pytest.raises(DatabaseUrlError) as caught:
        make_engine(settings)
    message = str(caught.value)
    assert "\n" not in message
    assert "s3cret-pw" not in message
    assert "DATABASE_URL" in message


def test_unreachable_server_is_one_line_with_password_masked() -> None:
    settings = load_settings("mysql+pymysql://alice:s3cret-pw@127.0.0.1:1/app", environ={}, dotenv_files=[])
    database = Database(settings)
    with pytest.raises(DatabaseUnavailableError) as caught:
        database.ping()
    message = str(caught.value)
    assert "\n" not in message
    assert "s3cret-pw" not in message
    assert "unavailable" in message
    database.dispose()


def test_mask_url_hides_password_even_when_unparseable() -> None:
    assert "hunter2" not in mask_url("mysql+pymysql://bob:hunter2@host/db")
    assert "hunter2" not in mask_url("::garbage://bob:hunter2@host/db")


def test_embedded_database_file_is_created_on_first_use(tmp_path: Path) -> None:
    target = tmp_path / "nested" / "dir" / "app.sqlite3"
    database = Database(load_settings(f"sqlite:///{target}", environ={}, dotenv_files=[]))
    database.ping()
    assert target.parent.is_dir()
    database.dispose()
