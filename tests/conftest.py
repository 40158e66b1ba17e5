"""Shared fixtures: real SQLite files and a real MariaDB database created per run and dropped after.

Service, migration and concurrency tests take the ``backend`` fixture and so run on both. MariaDB tests
skip when the server cannot be reached, except in CI (``CI=true``), where that is an error.
"""

from __future__ import annotations

import os
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pymysql
import pytest
from sqlalchemy import delete, update

# Before anything imports Qt or reads settings: no screen, and logs kept out of the user's directory.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_LOG_DIR = Path(tempfile.mkdtemp(prefix="desktop-auth-test-logs-"))
os.environ["DESKTOP_AUTH_LOG_DIR"] = str(_LOG_DIR)
# The app's own folders (data, config, logs) too: start-up tightens their permissions, never the tester's.
_HOME = Path(tempfile.mkdtemp(prefix="desktop-auth-test-home-"))
for _variable in ("XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
    os.environ[_variable] = str(_HOME / _variable.lower())
os.environ.pop("DATABASE_URL", None)
# The tests' cheap hash is below the floor; commands run by tests (CLI, subprocesses) need the switch too.
os.environ["DESKTOP_AUTH_ALLOW_WEAK_HASH_FOR_TESTS"] = "1"

from desktop_auth.config import Settings  # noqa: E402
from desktop_auth.db import migrate  # noqa: E402
from desktop_auth.db.engine import Database  # noqa: E402
from desktop_auth.models import (  # noqa: E402
    PROTECTED_ROLES,
    AppSetting,
    AuditEvent,
    BulkChange,
    BulkChangeMember,
    LoginThrottle,
    RecoveryCode,
    Role,
    User,
)
from desktop_auth.services import Services  # noqa: E402
from desktop_auth.services.records import Actor  # noqa: E402

MARIADB = {"host": os.environ.get("MARIADB_HOST", "127.0.0.1"), "port": 3306, "user": "root", "password": ""}
CHEAP_HASH = "pbkdf2:sha256:1000"  # tests that need the real default ask for it explicitly
STRONG_PASSWORD = "violet-tundra-quartz-88-lagoon"
OTHER_PASSWORD = "amber-glacier-piano-71-thistle"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _mariadb_reachable() -> str | None:
    try:
        pymysql.connect(connect_timeout=3, **MARIADB).close()
    except pymysql.MySQLError as error:
        return str(error)
    return None


def mariadb_admin(sql: str) -> None:
    connection = pymysql.connect(autocommit=True, **MARIADB)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
    finally:
        connection.close()


class MariaDBServer:
    """Creates throw-away databases on the local server and drops them at the end of the run."""

    def __init__(self) -> None:
        self.created: list[str] = []

    def new_database(self) -> str:
        name = f"da_test_{uuid.uuid4().hex[:12]}"
        mariadb_admin(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        self.created.append(name)
        return f"mysql+pymysql://{MARIADB['user']}:@{MARIADB['host']}:{MARIADB['port']}/{name}"

    def drop_all(self) -> None:
        for name in self.created:
            mariadb_admin(f"DROP DATABASE IF EXISTS `{name}`")


@pytest.fixture(scope="session")
def mariadb_server() -> Iterator[MariaDBServer]:
    problem = _mariadb_reachable()
    if problem is not None:
        if IN_CI:
            pytest.fail(f"MariaDB must be reachable in CI: {problem}")
        pytest.skip(f"MariaDB is not reachable: {problem}")
    server = MariaDBServer()
    yield server
    server.drop_all()


@pytest.fixture(params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def fresh_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL to a brand-new, empty database on the chosen backend."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    server: MariaDBServer = request.getfixturevalue("mariadb_server")
    return server.new_database()


def make_settings(url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "hash_method": CHEAP_HASH,
        "log_dir": _LOG_DIR,
        "allow_weak_hash_for_tests": True,
    }
    values.update(overrides)
    return Settings(database_url=url, **values)  # type: ignore[arg-type]


_migrated: dict[str, Database] = {}
_migrated_lock = threading.Lock()


@pytest.fixture(scope="session")
def migrated_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Database]]:
    yield _migrated
    for database in _migrated.values():
        database.dispose()


@pytest.fixture
def database(
    backend: str, request: pytest.FixtureRequest, migrated_databases: dict[str, Database]
) -> Database:
    """A migrated database shared by the run (one per backend), emptied of accounts before each test."""
    with _migrated_lock:
        if backend not in migrated_databases:
            if backend == "sqlite":
                path = request.getfixturevalue("tmp_path_factory").mktemp("db") / "shared.sqlite3"
                url = f"sqlite:///{path}"
            else:
                url = request.getfixturevalue("mariadb_server").new_database()
            db = Database(make_settings(url))
            migrate.upgrade(db)
            migrated_databases[backend] = db
    db = migrated_databases[backend]
    with db.transaction(write=True) as session:
        for model in (
            RecoveryCode,
            BulkChangeMember,
            BulkChange,
            AuditEvent,
            LoginThrottle,
            AppSetting,
            User,
        ):
            session.execute(delete(model))
        session.execute(delete(Role).where(Role.name.not_in(PROTECTED_ROLES)))
        session.execute(update(Role).values(description=None))
    return db


class FakeClock:
    """A controllable clock for lockout timing: tests move time instead of sleeping."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            # Every reading moves a microsecond on, so consecutive updates are ordered as in real life.
            self.now += timedelta(microseconds=1)
            return self.now

    def advance(self, **delta: float) -> None:
        with self._lock:
            self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def services(database: Database, clock: FakeClock) -> Services:
    return Services(
        make_settings(str(database.engine.url.render_as_string(hide_password=False))), database, clock
    )


@pytest.fixture
def make_services(database: Database, clock: FakeClock) -> Callable[..., Services]:
    """Services over the same database with other settings (e.g. a lockout threshold)."""

    def factory(**overrides: object) -> Services:
        url = database.engine.url.render_as_string(hide_password=False)
        return Services(make_settings(url, **overrides), database, clock)

    return factory


@pytest.fixture
def admin(services: Services) -> Actor:
    """The first administrator, root@example.com, as the actor of administrative calls."""
    record = services.accounts.create_first_admin("root@example.com", STRONG_PASSWORD)
    return Actor(record.id, record.email)


def register_accounts(services: Services, *emails: str) -> list[int]:
    """Self-register accounts (all with STRONG_PASSWORD); their ids, in order."""
    return [services.accounts.register(email, STRONG_PASSWORD).id for email in emails]


@pytest.fixture
def log_dir() -> Path:
    return _LOG_DIR


@pytest.fixture(autouse=True)
def delete_leftover_widgets() -> Iterator[None]:
    """Delete every top-level widget a test left behind, while the QApplication is alive.

    Widgets that outlive their test are otherwise destroyed during interpreter shutdown, in whatever order
    the garbage collector picks, which can crash PySide after the last test has passed.
    """
    yield
    from PySide6.QtCore import QCoreApplication, QEvent
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if not isinstance(app, QApplication):
        return
    for widget in QApplication.topLevelWidgets():
        widget.close()
        widget.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QCoreApplication.processEvents()


def seed_users(database: Database, count: int, prefix: str = "seed", role: str = "user") -> None:
    """Insert ``count`` users quickly: set-based inserts sharing one precomputed hash."""
    from sqlalchemy import insert, select
    from werkzeug.security import generate_password_hash

    from desktop_auth.db.types import utcnow

    password_hash = generate_password_hash(STRONG_PASSWORD, method=CHEAP_HASH)
    now = utcnow()
    with database.transaction(write=True) as session:
        role_id = session.scalar(select(Role.id).where(Role.name == role))
        for start in range(0, count, 5000):
            rows = [
                {
                    "email": f"{prefix}{n:07d}@example.com",
                    "password_hash": password_hash,
                    "role_id": role_id,
                    "create_date": now,
                    "update_date": now,
                }
                for n in range(start, min(start + 5000, count))
            ]
            session.execute(insert(User), rows)


@pytest.fixture
def isolated_qsettings(tmp_path: Path, qapp) -> Iterator[None]:
    """QSettings in a per-test folder: remembered geometry and emails never leak between tests."""
    from PySide6.QtCore import QSettings

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "qsettings"))
    qapp.setOrganizationName("desktop-auth-tests")
    qapp.setApplicationName("desktop-auth-tests")
    yield
    QSettings().clear()


@pytest.fixture(autouse=True)
def no_qt_calls_on_workers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test: the work a TaskRunner runs on its workers makes no Qt call (tests/worker_qt_calls.py)."""
    from tests.worker_qt_calls import qt_calls_on_workers

    with qt_calls_on_workers(monkeypatch) as calls:
        yield
    assert calls == [], f"Qt calls made on a worker thread: {calls}"
