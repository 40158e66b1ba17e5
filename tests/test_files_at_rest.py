"""Files at rest (POSIX): the app's database, logs and exports are 0600, its own folders 0700, and
folders a person chose are left as they were. The real CLI runs with HOME and the XDG folders in tmp."""

from __future__ import annotations

import logging
import logging.handlers
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from desktop_auth import paths
from desktop_auth.config import Settings
from desktop_auth.db.engine import Database
from desktop_auth.logs import LOG_FILE_NAME, configure_logging
from desktop_auth.services import Services
from desktop_auth.services.export import open_export_file
from desktop_auth.services.records import Actor, UserQuery
from tests.conftest import CHEAP_HASH

pytestmark = pytest.mark.skipif(os.name != "posix", reason="Windows relies on the per-user profile folders")

ROOT = Path(__file__).resolve().parent.parent


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


class Home:
    """A home folder in tmp with the XDG folders platformdirs reads."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.root = base / "home"
        self.data = self.root / ".local" / "share" / "desktop-auth"
        self.state = self.root / ".local" / "state" / "desktop-auth"
        self.log = self.state / "log"
        self.config = self.root / ".config" / "desktop-auth"
        self.env = {
            "HOME": str(self.root),
            "XDG_DATA_HOME": str(self.root / ".local" / "share"),
            "XDG_STATE_HOME": str(self.root / ".local" / "state"),
            "XDG_CONFIG_HOME": str(self.root / ".config"),
        }
        self.root.mkdir(mode=0o755)

    def run(self, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k not in ("DESKTOP_AUTH_LOG_DIR", "DATABASE_URL")}
        env.update(self.env, DESKTOP_AUTH_HASH_METHOD=CHEAP_HASH, PYTHONPATH=str(ROOT), **extra_env)
        result = subprocess.run(
            [sys.executable, "-m", "desktop_auth", *args],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            cwd=self.base,
            umask=0o022,  # the usual umask, which makes files 0644 and folders 0755
        )
        assert result.returncode == 0, result.stderr
        return result


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Home]:
    """The tmp home, also for this process (platformdirs' answers are cached: cleared around the test)."""
    home = Home(tmp_path)
    for name, value in home.env.items():
        monkeypatch.setenv(name, value)
    paths._dirs.cache_clear()
    previous_umask = os.umask(0o022)
    yield home
    os.umask(previous_umask)
    paths._dirs.cache_clear()


@pytest.fixture
def private_log(home: Home) -> Iterator[Path]:
    """configure_logging in this process, the handler removed afterwards."""
    before = set(logging.getLogger().handlers)
    yield home.log
    for handler in set(logging.getLogger().handlers) - before:
        logging.getLogger().removeHandler(handler)
        handler.close()


def test_first_start_creates_private_folders_and_files(home: Home) -> None:
    home.run("users", "list")
    database = home.data / "desktop_auth.sqlite3"
    assert mode(home.data) == 0o700
    assert mode(home.state) == 0o700
    assert mode(home.log) == 0o700
    assert mode(database) == 0o600
    assert mode(home.log / LOG_FILE_NAME) == 0o600


def test_start_tightens_what_an_older_version_left_open_and_logs_it(home: Home) -> None:
    home.run("users", "list")
    database = home.data / "desktop_auth.sqlite3"
    leftovers = [database, home.log / f"{LOG_FILE_NAME}.1", home.log / f"{LOG_FILE_NAME}.2"]
    for leftover in leftovers[1:]:
        leftover.write_bytes(b"")
    home.config.mkdir(parents=True)
    (home.config / ".env").write_text("DESKTOP_AUTH_IDLE_TIMEOUT_MINUTES=15\n")
    for folder in (home.data, home.state, home.log, home.config):
        folder.chmod(0o755)
    for file in [*leftovers, home.log / LOG_FILE_NAME, home.config / ".env"]:
        file.chmod(0o644)

    home.run("users", "list")

    for folder in (home.data, home.state, home.log, home.config):
        assert mode(folder) == 0o700, folder
    for file in [*leftovers, home.log / LOG_FILE_NAME, home.config / ".env"]:
        assert mode(file) == 0o600, file
    logged = (home.log / LOG_FILE_NAME).read_text()
    line = next(line for line in logged.splitlines() if "owner-only" in line)
    assert str(database) in line
    assert str(home.config / ".env") in line
    assert str(home.state) in line


def test_wal_and_shm_are_created_private(home: Home) -> None:
    settings = Settings(
        database_url=f"sqlite:///{home.data / 'desktop_auth.sqlite3'}",
        embedded=True,
        hash_method=CHEAP_HASH,
        allow_weak_hash_for_tests=True,
    )
    database = Database(settings)
    try:
        with database.transaction(write=True) as session:
            session.execute(text("CREATE TABLE t (x INTEGER)"))
            session.execute(text("INSERT INTO t VALUES (1)"))
        with database.engine.connect():  # an open connection keeps -wal and -shm on disk
            for suffix in ("", "-wal", "-shm"):
                assert mode(home.data / f"desktop_auth.sqlite3{suffix}") == 0o600, suffix
        assert mode(home.data) == 0o700
    finally:
        database.dispose()


def test_an_explicit_sqlite_folder_and_file_are_left_as_they_are(home: Home) -> None:
    shared = home.base / "shared" / "dir"
    shared.mkdir(parents=True)
    shared.chmod(0o775)
    home.run("--database-url", f"sqlite:///{shared / 'x.sqlite3'}", "db", "upgrade")
    assert mode(shared) == 0o775
    assert mode(shared / "x.sqlite3") == 0o600  # a new database file is created private all the same

    existing = shared / "group.sqlite3"
    existing.write_bytes(b"")
    existing.chmod(0o660)  # shared with a group on purpose
    home.run("--database-url", f"sqlite:///{existing}", "db", "upgrade")
    assert mode(existing) == 0o660
    assert mode(shared) == 0o775


def test_an_explicit_log_folder_is_not_changed_but_the_log_file_is_private(home: Home) -> None:
    chosen = home.base / "chosen-logs"
    chosen.mkdir(mode=0o755)
    chosen.chmod(0o755)
    home.run("users", "list", DESKTOP_AUTH_LOG_DIR=str(chosen))
    assert mode(chosen) == 0o755
    assert mode(chosen / LOG_FILE_NAME) == 0o600


def test_a_rotated_log_and_the_next_one_stay_private(home: Home, private_log: Path) -> None:
    path = configure_logging(private_log)
    handler = next(
        h
        for h in logging.getLogger().handlers
        if isinstance(h, logging.handlers.RotatingFileHandler) and Path(h.baseFilename) == path
    )
    logging.getLogger("test").warning("before the rotation")
    handler.doRollover()
    logging.getLogger("test").warning("after the rotation")
    assert mode(private_log) == 0o700
    assert mode(path) == 0o600
    assert mode(path.with_name(f"{LOG_FILE_NAME}.1")) == 0o600


def test_an_export_file_is_private_and_its_folder_untouched(home: Home, services: Services) -> None:
    target = home.base / "Documents"
    target.mkdir(mode=0o755)
    target.chmod(0o755)
    with open_export_file(target / "users.csv") as out:
        services.export.write_users_csv(Actor.operator(), UserQuery(), out)
    with open_export_file(str(target / "history.csv")) as out:
        services.export.write_audit_csv(Actor.operator(), "", out)
    assert mode(target / "users.csv") == 0o600
    assert mode(target / "history.csv") == 0o600
    assert (target / "users.csv").read_text().startswith("email,role")
    assert mode(target) == 0o755
