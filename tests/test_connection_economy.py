"""Connection economy on a real MariaDB: a client holds at most two server connections while it works and
none once it has been idle, so a server's max_connections serves many desktops.

Connections are counted from the server's side (information_schema.PROCESSLIST, filtered by each test's own
database), never from the pool's own bookkeeping.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pymysql
import pytest
from sqlalchemy import event

from desktop_auth.config import load_settings
from desktop_auth.db import migrate
from desktop_auth.db.engine import Database, make_engine
from desktop_auth.db.errors import DatabaseBusyError
from desktop_auth.db.idle_release import IdleRelease
from desktop_auth.errors import ConfigError
from desktop_auth.services import Services
from desktop_auth.services.records import Actor
from tests.conftest import MARIADB, STRONG_PASSWORD, MariaDBServer, make_settings, register_accounts

IDLE_SECONDS = 1  # the tests' idle time: short, so a test waits seconds rather than minutes
CLIENTS = 100
RELEASE_GRACE_SECONDS = 15  # beyond the idle time, before "still connected" counts as a failure


def _database_name(url: str) -> str:
    return url.rsplit("/", 1)[1]


@pytest.fixture
def economy_url(mariadb_server: MariaDBServer) -> str:
    """A migrated database of this test's own, so the server's process list shows only its clients."""
    url = mariadb_server.new_database()
    setup = Database(make_settings(url))
    migrate.upgrade(setup)
    setup.dispose()
    return url


class ServerConnections:
    """Watches the server's process list for connections to one database from a thread of its own.

    ``peak`` is the most seen at once; ``samples`` keeps every sample's connection ids, to be attributed
    to clients afterwards.
    """

    def __init__(self, database: str) -> None:
        self._database = database
        # No database of its own: the watcher's connection is not counted.
        self._admin = pymysql.connect(
            host=str(MARIADB["host"]),
            port=int(str(MARIADB["port"])),
            user=str(MARIADB["user"]),
            autocommit=True,
        )
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.peak = 0
        self.samples: list[frozenset[int]] = []

    def ids(self) -> frozenset[int]:
        with self._lock, self._admin.cursor() as cursor:
            cursor.execute("SELECT ID FROM information_schema.PROCESSLIST WHERE DB = %s", (self._database,))
            return frozenset(int(row[0]) for row in cursor.fetchall())

    def count(self) -> int:
        return len(self.ids())

    def wait_for(self, wanted: int, timeout: float) -> int:
        """Poll until exactly ``wanted`` connections remain or ``timeout`` passes; the last count."""
        deadline = time.monotonic() + timeout
        while True:
            current = self.count()
            if current == wanted or time.monotonic() >= deadline:
                return current
            time.sleep(0.05)

    def __enter__(self) -> ServerConnections:
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _watch(self) -> None:
        while not self._stop.is_set():
            sample = self.ids()
            self.samples.append(sample)
            self.peak = max(self.peak, len(sample))
            time.sleep(0.002)

    def close(self) -> None:
        self._admin.close()


@pytest.fixture
def server_connections(economy_url: str) -> Iterator[ServerConnections]:
    watcher = ServerConnections(_database_name(economy_url))
    yield watcher
    watcher.close()


def _client(url: str) -> Services:
    return Services(make_settings(url, db_idle_seconds=IDLE_SECONDS))


def _record_connection_ids(services: Services, owner: int, ids: dict[int, int]) -> None:
    """Note the server's id of every connection this client opens (the pool's connect event)."""

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT CONNECTION_ID()")
        ids[int(cursor.fetchone()[0])] = owner
        cursor.close()

    event.listen(services.database.engine, "connect", on_connect)


def _all_at_once(count: int, work: Callable[[int], object]) -> list[object]:
    barrier = threading.Barrier(count)

    def run(i: int) -> object:
        barrier.wait()
        return work(i)  # an exception fails the test through result()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return [future.result() for future in [pool.submit(run, i) for i in range(count)]]


@pytest.mark.mariadb
def test_a_busy_client_holds_two_connections_then_none_after_its_idle_time(
    economy_url: str, server_connections: ServerConnections
) -> None:
    services = _client(economy_url)
    try:
        root = services.accounts.create_first_admin("root@example.com", STRONG_PASSWORD)
        actor = Actor(root.id, root.email)
        emails = [f"worker{i}@example.com" for i in range(8)]
        ids = register_accounts(services, *emails)

        def burst(i: int) -> int:  # more concurrent work than connections: the rest must wait, not fail
            done = 0
            for round_ in range(4):
                services.accounts.authenticate(emails[i], STRONG_PASSWORD)
                services.accounts.get_account(ids[i])
                services.admin.get_user(actor, emails[i])
                services.accounts.register(f"new{i}-{round_}@example.com", STRONG_PASSWORD)
                done += 4
            return done

        with server_connections:
            outcomes = _all_at_once(8, burst)
        assert outcomes == [16] * 8
        assert 1 <= server_connections.peak <= 2, server_connections.peak

        assert server_connections.wait_for(0, IDLE_SECONDS + RELEASE_GRACE_SECONDS) == 0
        assert services.database.idle_release.releases >= 1
        # The next action reconnects by itself, and that connection goes in its turn.
        assert services.accounts.authenticate(emails[0], STRONG_PASSWORD).email == emails[0]
        assert server_connections.wait_for(0, IDLE_SECONDS + RELEASE_GRACE_SECONDS) == 0
        services.database.ping()
    finally:
        services.close()


@pytest.mark.mariadb
def test_a_third_task_waits_for_a_connection_and_then_succeeds(
    economy_url: str, server_connections: ServerConnections
) -> None:
    services = _client(economy_url)
    try:
        register_accounts(services, "third@example.com")
        holding = threading.Barrier(3)
        release = threading.Event()

        def hold() -> None:
            with services.database.transaction():
                holding.wait()
                release.wait(30)

        holders = [threading.Thread(target=hold) for _ in range(2)]
        for holder in holders:
            holder.start()
        holding.wait()
        outcome: list[object] = []
        third = threading.Thread(
            target=lambda: outcome.append(
                services.accounts.authenticate("third@example.com", STRONG_PASSWORD)
            )
        )
        third.start()
        third.join(0.5)
        waited = third.is_alive()  # with a connection of its own it would long be done
        count_while_held = server_connections.count()
        release.set()
        for thread in [*holders, third]:
            thread.join(30)
        assert waited
        assert count_while_held == 2
        assert [type(o).__name__ for o in outcome] == ["SignedInUser"]
    finally:
        release.set()
        services.close()


@pytest.mark.mariadb
def test_a_pool_that_stays_busy_too_long_says_busy(economy_url: str) -> None:
    settings = make_settings(economy_url, db_pool_size=1)
    database = Database(settings, make_engine(settings, pool_timeout=0.2))
    try:
        # Same thread, second connection: the only one is taken, so the wait runs out.
        with (
            database.transaction(),
            pytest.raises(DatabaseBusyError, match="busy too long"),
            database.transaction(),
        ):
            pass
    finally:
        database.dispose()


@pytest.mark.mariadb
def test_sequential_work_reuses_its_connections(economy_url: str) -> None:
    services = _client(economy_url)
    opened: list[object] = []
    event.listen(services.database.engine, "connect", lambda *_: opened.append(None))
    try:
        register_accounts(services, "steady@example.com")
        for _ in range(30):
            services.accounts.authenticate("steady@example.com", STRONG_PASSWORD)
        assert len(opened) <= 2  # a pool, not a connection per transaction
    finally:
        services.close()


@pytest.mark.mariadb
def test_checkouts_never_race_the_release(economy_url: str) -> None:
    """Hammer an IdleRelease whose idle time is shorter than the gaps between uses: releases happen all
    the time, and no checkout is ever handed a connection being closed."""
    database = Database(make_settings(economy_url))
    release = IdleRelease(database.engine, 0.003)
    deadline = time.monotonic() + 2

    def hammer(i: int) -> int:
        pause = random.Random(i)
        uses = 0
        while time.monotonic() < deadline:
            with release.connect() as connection:
                assert connection.exec_driver_sql("SELECT 1").scalar() == 1
            uses += 1
            time.sleep(pause.uniform(0, 0.01))  # around the idle time: some gaps release, some do not
        return uses

    try:
        with ThreadPoolExecutor(max_workers=3) as pool:
            uses = sum(pool.map(hammer, range(3)))
        assert uses > 100
        assert release.releases >= 5, release.releases
    finally:
        release.stop()
        database.dispose()


@pytest.mark.mariadb
def test_dispose_stops_the_release_timer(economy_url: str, server_connections: ServerConnections) -> None:
    services = Services(make_settings(economy_url, db_idle_seconds=60))
    services.database.ping()
    assert services.database.idle_release.pending
    services.close()
    assert not services.database.idle_release.pending
    assert server_connections.count() == 0


@pytest.mark.mariadb
def test_many_clients_each_burst_then_idle_leave_no_connection(
    economy_url: str, server_connections: ServerConnections
) -> None:
    """A hundred desktops, each its own engine, start a burst of three concurrent operations a few
    hundredths of a second apart (more than max_connections if each kept three), then sit idle."""
    setup = _client(economy_url)
    emails = [f"desk{i:03d}@example.com" for i in range(CLIENTS)]
    account_ids = register_accounts(setup, *emails)
    setup.close()
    clients = [_client(economy_url) for _ in range(CLIENTS)]
    owner_of: dict[int, int] = {}
    for number, client in enumerate(clients):
        _record_connection_ids(client, number, owner_of)
    started = time.monotonic()

    def desktop(number: int) -> int:
        time.sleep(max(0.0, started + number * 0.07 - time.monotonic()))  # staggered, like people
        client = clients[number]
        operations = [
            lambda: client.accounts.authenticate(emails[number], STRONG_PASSWORD),
            lambda: client.accounts.get_account(account_ids[number]),
            lambda: client.accounts.registration_open(),
        ]
        with ThreadPoolExecutor(max_workers=3) as burst:
            results = [burst.submit(operation) for operation in operations for _ in range(2)]
            return sum(1 for result in results if result.result() is not None)

    try:
        with server_connections:
            with ThreadPoolExecutor(max_workers=CLIENTS) as desks:
                done = list(desks.map(desktop, range(CLIENTS)))
            remaining = server_connections.wait_for(0, IDLE_SECONDS + RELEASE_GRACE_SECONDS)
        assert done == [6] * CLIENTS
        assert remaining == 0
        per_client: dict[int, int] = {}
        for sample in server_connections.samples:
            held: dict[int, int] = {}
            for connection_id in sample:
                if connection_id in owner_of:
                    held[owner_of[connection_id]] = held.get(owner_of[connection_id], 0) + 1
            for number, count in held.items():
                per_client[number] = max(per_client.get(number, 0), count)
        assert len(per_client) >= CLIENTS * 0.9  # the watch saw (nearly) every client's connections
        assert max(per_client.values()) <= 2, sorted(per_client.values())[-5:]
        print(
            f"\n{CLIENTS} clients: at most {max(per_client.values())} connections each, "
            f"{server_connections.peak} at once in all, {remaining} after {IDLE_SECONDS} s idle"
        )
    finally:
        for client in clients:
            client.close()


def test_sqlite_is_never_released(tmp_path: Path) -> None:
    """A local file costs no server connection (and an in-memory database would be lost with it)."""
    database = Database(make_settings(f"sqlite:///{tmp_path / 'local.sqlite3'}", db_idle_seconds=1))
    try:
        assert database.idle_release.idle_seconds is None
        database.ping()
        assert not database.idle_release.pending
    finally:
        database.dispose()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DESKTOP_AUTH_DB_IDLE_SECONDS", "0", "must be at least 1"),
        ("DESKTOP_AUTH_DB_IDLE_SECONDS", "3601", "must be at most 3600"),
        ("DESKTOP_AUTH_DB_IDLE_SECONDS", "soon", "must be a whole number"),
        ("DESKTOP_AUTH_DB_POOL_SIZE", "6", "must be at most 5"),
        ("DESKTOP_AUTH_DB_POOL_SIZE", "0", "must be at least 1"),
    ],
)
def test_connection_settings_are_bounded(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=f"{name} {message}"):
        load_settings(environ={name: value}, dotenv_files=[])


def test_connection_settings_defaults_and_environment() -> None:
    defaults = load_settings(environ={}, dotenv_files=[])
    assert (defaults.db_pool_size, defaults.db_idle_seconds) == (2, 60)
    chosen = load_settings(
        environ={"DESKTOP_AUTH_DB_IDLE_SECONDS": "300", "DESKTOP_AUTH_DB_POOL_SIZE": "1"}, dotenv_files=[]
    )
    assert (chosen.db_pool_size, chosen.db_idle_seconds) == (1, 300)
