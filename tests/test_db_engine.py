"""How the engine sets up each connection it pools, and the transaction shell around each unit of work."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from desktop_auth.db import engine as engine_module
from desktop_auth.db import migrate
from desktop_auth.db.engine import SQLITE_CACHE_KIB, Database
from desktop_auth.db.errors import DatabaseConnectionLostError
from tests.conftest import MariaDBServer, make_settings, mariadb_admin


def test_every_pooled_sqlite_connection_is_set_up(tmp_path: Path) -> None:
    database = Database(make_settings(f"sqlite:///{tmp_path / 'pragmas.sqlite3'}"))
    try:
        with database.engine.connect() as first, database.engine.connect() as second:
            for connection in (first, second):
                assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
                assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
                # Negative: a size in KiB. Small on purpose: one count of a large table fills the whole cache.
                assert connection.execute(text("PRAGMA cache_size")).scalar() == -SQLITE_CACHE_KIB
    finally:
        database.dispose()


def test_timeouts_in_the_url_win_over_the_defaults() -> None:
    import pytest
    from sqlalchemy import event

    from desktop_auth.db.engine import make_engine

    engine = make_engine(make_settings("mysql+pymysql://app@127.0.0.1:9/app?connect_timeout=20"))
    seen: dict[str, object] = {}

    def capture(dialect: object, record: object, cargs: object, cparams: dict[str, object]) -> None:
        seen.update(cparams)
        raise RuntimeError("captured: no connection needed")

    event.listen(engine, "do_connect", capture)
    with pytest.raises(RuntimeError, match="captured"):
        engine.raw_connection()
    assert seen["connect_timeout"] == 20
    assert seen["read_timeout"] == 30  # the default where the URL says nothing
    engine.dispose()


# -- the transaction shell: no ROLLBACK after a COMMIT, a ping only after an idle spell -------------------


class _DriverCalls:
    """Counts the PyMySQL calls that cost a round trip outside any statement: ``rollback`` and ``ping``.

    Wraps each new connection's methods (a "connect" listener; the pooled ones are closed first)."""

    def __init__(self, database: Database) -> None:
        self.rollbacks = 0
        self.pings = 0
        event.listen(database.engine, "connect", self._wrap)
        database.engine.dispose()

    def _wrap(self, dbapi_connection: Any, _record: Any) -> None:
        rollback, ping = dbapi_connection.rollback, dbapi_connection.ping

        def counted_rollback() -> None:
            self.rollbacks += 1
            rollback()

        def counted_ping(*args: Any, **kwargs: Any) -> Any:
            self.pings += 1
            return ping(*args, **kwargs)

        dbapi_connection.rollback, dbapi_connection.ping = counted_rollback, counted_ping


@pytest.fixture
def server_database(mariadb_server: MariaDBServer) -> Iterator[Database]:
    database = Database(make_settings(mariadb_server.new_database()))
    migrate.upgrade(database)  # write transactions record commit tokens
    yield database
    database.dispose()


def _connection_id(database: Database) -> int:
    with database.transaction() as session:
        return int(session.execute(text("SELECT CONNECTION_ID()")).scalar_one())


@pytest.mark.mariadb
def test_a_committed_connection_goes_back_without_a_rollback(server_database: Database) -> None:
    calls = _DriverCalls(server_database)
    with server_database.transaction(write=True) as session:
        session.execute(text("CREATE TABLE shell (x INT)"))
    calls.rollbacks = 0  # SQLAlchemy's first connection of a pool rolls back once after it reads the server
    for write in (True, False, True):
        with server_database.transaction(write=write) as session:
            session.execute(text("SELECT COUNT(*) FROM shell")).scalar_one()
    assert calls.rollbacks == 0

    def fail_mid_transaction() -> None:
        with server_database.transaction(write=True) as session:
            session.execute(text("INSERT INTO shell VALUES (1)"))
            raise RuntimeError("an error mid-transaction")

    with pytest.raises(RuntimeError):
        fail_mid_transaction()
    after_error = calls.rollbacks
    assert after_error >= 1  # (and the pool's own after it: an error is rare, so the reset stays as it was)
    raw = server_database.engine.raw_connection()  # raw DBAPI use, given back mid-transaction
    cursor = raw.cursor()
    cursor.execute("INSERT INTO shell VALUES (2)")
    cursor.close()
    raw.close()
    assert calls.rollbacks == after_error + 1  # by the pool: nothing marked that transaction ended
    with server_database.transaction() as session:
        assert session.execute(text("SELECT COUNT(*) FROM shell")).scalar_one() == 0


@pytest.mark.mariadb
def test_a_connection_is_pinged_only_after_an_idle_spell(
    server_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _DriverCalls(server_database)
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_SECONDS", 0.3)
    first = _connection_id(server_database)  # a new connection: not pinged
    assert _connection_id(server_database) == first  # given back moments ago: not pinged
    assert calls.pings == 0
    time.sleep(0.4)
    assert _connection_id(server_database) == first
    assert calls.pings == 1


@pytest.mark.mariadb
def test_an_idle_connection_the_server_dropped_is_replaced_by_the_ping(server_database: Database) -> None:
    first = _connection_id(server_database)
    mariadb_admin(f"KILL {first}")
    time.sleep(engine_module.PING_AFTER_IDLE_SECONDS + 0.2)
    assert _connection_id(server_database) != first  # no error: the ping found it dead


@pytest.mark.mariadb
def test_a_connection_dropped_mid_burst_fails_as_lost_then_the_next_is_new(server_database: Database) -> None:
    """Not pinged (used moments ago), so its first statement fails: as DatabaseConnectionLostError, which
    ``services.context.retried`` runs again; the pool is invalidated, so the next transaction connects anew."""
    first = _connection_id(server_database)
    mariadb_admin(f"KILL {first}")
    with pytest.raises(DatabaseConnectionLostError):
        _connection_id(server_database)
    assert _connection_id(server_database) != first


def test_a_connection_given_back_mid_transaction_is_rolled_back(fresh_url: str) -> None:
    database = Database(make_settings(fresh_url))
    migrate.upgrade(database)
    try:
        with database.transaction(write=True) as session:
            session.execute(text("CREATE TABLE shell (x INT)"))
        raw = database.engine.raw_connection()
        cursor = raw.cursor()
        if database.dialect_name == "sqlite":
            cursor.execute("BEGIN IMMEDIATE")
        cursor.execute("INSERT INTO shell VALUES (1)")
        cursor.close()
        raw.close()
        with database.transaction(write=True) as session:  # SQLite: BEGIN IMMEDIATE would fail in one
            assert session.execute(text("SELECT COUNT(*) FROM shell")).scalar_one() == 0
            session.execute(text("INSERT INTO shell VALUES (2)"))
        with database.transaction() as session:
            assert session.execute(text("SELECT x FROM shell")).scalars().all() == [2]
    finally:
        database.dispose()
