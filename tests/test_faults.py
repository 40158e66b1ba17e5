"""Faults on a real connection: a TCP proxy between the app and MariaDB is cut in the middle of an
operation. Nothing is ever half-written or applied twice; when the network is back within the failover
time the operation simply succeeds (a cluster node dying looks like this), otherwise it fails with
"database unavailable" and the next one succeeds once the network is back, without restarting anything."""

from __future__ import annotations

import csv
import threading
import time
from collections.abc import Iterator
from typing import TextIO

import pytest
from sqlalchemy import Engine, event, func, insert, select, text

from desktop_auth.db import migrate
from desktop_auth.db.engine import Database
from desktop_auth.db.errors import DatabaseUnavailableError
from desktop_auth.db.types import utcnow
from desktop_auth.models import AuditEvent, LoginThrottle, Role, User
from desktop_auth.services import Services
from desktop_auth.services.errors import InvalidCredentialsError
from desktop_auth.services.export import BATCH
from desktop_auth.services.records import Actor, UserQuery
from tests.conftest import MARIADB, OTHER_PASSWORD, STRONG_PASSWORD, make_settings, seed_users
from tests.faultproxy import FaultProxy

pytestmark = pytest.mark.mariadb
FAILOVER_SECONDS = 3


@pytest.fixture
def proxied(mariadb_server) -> Iterator[tuple[FaultProxy, Services, Database]]:
    direct_url = mariadb_server.new_database()
    direct = Database(make_settings(direct_url))
    migrate.upgrade(direct)
    proxy = FaultProxy(MARIADB["host"], int(MARIADB["port"]))
    proxied_url = direct_url.replace(f":{MARIADB['port']}/", f":{proxy.port}/")
    services = Services(make_settings(proxied_url, db_failover_seconds=FAILOVER_SECONDS))
    yield proxy, services, direct
    services.close()
    proxy.close()
    direct.dispose()


def cut_before(engine: Engine, proxy: FaultProxy, statement_start: str) -> None:
    """Cut the network just before the app sends the first statement that starts with ``statement_start``."""

    def before_execute(conn, cursor, statement: str, *args: object) -> None:
        if statement.lstrip().upper().startswith(statement_start.upper()):
            event.remove(engine, "before_cursor_execute", before_execute)
            proxy.cut()

    event.listen(engine, "before_cursor_execute", before_execute)


def cut_at_commit(engine: Engine, proxy: FaultProxy, *, after_server_commits: bool) -> None:
    """Drop the connection at the next COMMIT: before the server sees it, or after the server committed
    but before its answer arrives (the ambiguous case)."""

    armed: list[bool] = []  # by the commit token, the last statement of a write transaction
    fired: list[bool] = []

    def on_token(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO APPLIED_OPERATION"):
            armed.append(True)

    def on_commit(conn: object) -> None:
        if not armed or fired:  # once (removing a listener while SQLAlchemy dispatches it is not allowed)
            return
        fired.append(True)
        if not after_server_commits:
            proxy.cut()
            threading.Timer(0.5, proxy.restore).start()
            return
        proxy.swallow_replies()
        threading.Timer(0.5, proxy.cut).start()
        threading.Timer(1.0, proxy.restore).start()

    event.listen(engine, "before_cursor_execute", on_token)
    event.listen(engine, "commit", on_commit)


def restore_after(proxy: FaultProxy, seconds: float) -> None:
    threading.Timer(seconds, proxy.restore).start()


def _audit_count(direct: Database, action: str) -> int:
    with direct.transaction() as session:
        return int(session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == action)) or 0)


def test_cut_mid_bulk_change_is_rolled_back_and_run_again_once(proxied) -> None:
    proxy, services, direct = proxied
    admin = services.accounts.create_first_admin("root@example.com", STRONG_PASSWORD)
    actor = Actor(admin.id, admin.email)
    ids = [services.accounts.register(f"u{n}@example.com", STRONG_PASSWORD).id for n in range(5)]
    seen: list[list[str]] = []

    def check_rolled_back() -> None:  # runs while the network is down, before the retry
        with direct.transaction() as session:
            seen.append(list(session.scalars(select(Role.name).join(User.role).where(User.id.in_(ids)))))
        proxy.restore()

    # The UPDATE of the users reaches the server; the audit INSERT of the same transaction never does.
    cut_before(services.database.engine, proxy, "INSERT INTO audit_event")
    proxy_timer = threading.Timer(0.5, check_rolled_back)
    proxy_timer.start()
    assert services.admin.bulk_set_role(actor, dict.fromkeys(ids), "admin") == 5
    proxy_timer.join()
    assert seen == [["user"] * 5], "the half-done transaction was rolled back before the retry"
    with direct.transaction() as session:
        roles = list(session.scalars(select(Role.name).join(User.role).where(User.id.in_(ids))))
    assert roles == ["admin"] * 5
    assert _audit_count(direct, "role") == 5


@pytest.mark.parametrize("after_server_commits", [False, True], ids=["before-commit", "commit-answer-lost"])
def test_connection_lost_at_commit_applies_the_change_exactly_once(
    proxied, after_server_commits: bool
) -> None:
    proxy, services, direct = proxied
    cut_at_commit(services.database.engine, proxy, after_server_commits=after_server_commits)
    record = services.accounts.register("once@example.com", STRONG_PASSWORD)  # no "already registered"
    assert record.email == "once@example.com"
    assert _audit_count(direct, "create") == 1
    with direct.transaction() as session:
        assert session.scalar(select(func.count(User.id)).where(User.email == "once@example.com")) == 1


def test_failed_sign_in_counted_once_when_the_commit_answer_is_lost(proxied) -> None:
    proxy, services, direct = proxied
    services.accounts.register("counted@example.com", STRONG_PASSWORD)
    cut_at_commit(services.database.engine, proxy, after_server_commits=True)  # the reservation's COMMIT
    with pytest.raises(InvalidCredentialsError):
        services.accounts.authenticate("counted@example.com", OTHER_PASSWORD)
    with direct.transaction() as session:
        failed = session.scalar(
            select(LoginThrottle.failed_count).where(LoginThrottle.email == "counted@example.com")
        )
    assert failed == 1


def test_cut_during_sign_in_then_recovery_within_the_failover_time(proxied) -> None:
    proxy, services, direct = proxied
    services.accounts.register("sam@example.com", STRONG_PASSWORD)
    cut_before(services.database.engine, proxy, "UPDATE user")  # the sign-in bookkeeping
    restore_after(proxy, 1.0)
    assert services.accounts.authenticate("sam@example.com", STRONG_PASSWORD).login_count == 1
    with direct.transaction() as session:
        assert session.scalar(select(User.login_count).where(User.email == "sam@example.com")) == 1


@pytest.mark.parametrize("export", ["users", "history"])
def test_an_export_goes_on_across_a_dropped_connection(proxied, tmp_path, export: str) -> None:
    """The connection drops as the second batch is read (a node failing over mid-export): that batch is read
    again once the network is back, and the file has every row exactly once."""
    proxy, services, direct = proxied
    admin = services.accounts.create_first_admin("root@example.com", STRONG_PASSWORD)
    actor = Actor(admin.id, admin.email)
    total = BATCH + 500
    if export == "users":
        seed_users(direct, total - 1)  # and the administrator
        table = "FROM user"

        def write(out: TextIO) -> int:
            return services.export.write_users_csv(actor, UserQuery(), out)

    else:
        with direct.transaction(write=True) as session:
            session.execute(
                insert(AuditEvent),
                [
                    {"created_at": utcnow(), "actor": "ops", "action": "note", "target": f"row {n}"}
                    for n in range(total - 1)
                ],
            )
        table = "FROM audit_event"

        def write(out: TextIO) -> int:
            return services.export.write_audit_csv(actor, "", out)

    reads: list[str] = []  # the batches' parameters, as sent (the administrator checks read `user` too)

    def before_execute(_conn, _cursor, statement: str, parameters: object, *_args: object) -> None:
        sql = statement.upper()
        if sql.lstrip().startswith("SELECT") and table.upper() in sql and "LIMIT" in sql:
            reads.append(repr(parameters))
            if len(reads) == 2:  # the second batch
                proxy.cut()
                restore_after(proxy, 1.0)

    event.listen(services.database.engine, "before_cursor_execute", before_execute)
    path = tmp_path / "export.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        written = write(out)
    event.remove(services.database.engine, "before_cursor_execute", before_execute)
    assert len(reads) >= 4, reads  # the first batch, the second (cut), the second again, the empty end
    assert reads[2] == reads[1], "the cut batch was read again from where it was, not skipped"
    assert reads[3] != reads[1]
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert written == len(rows) >= total
    key = "email" if export == "users" else "target"
    assert len({row[key] for row in rows}) == len(rows), "no row twice"


def test_server_unreachable_beyond_the_failover_time_then_back(proxied) -> None:
    proxy, services, _direct = proxied
    services.accounts.register("tess@example.com", STRONG_PASSWORD)
    proxy.cut()
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailableError, match="unavailable"):
        services.accounts.needs_first_admin()
    assert FAILOVER_SECONDS <= time.monotonic() - started < FAILOVER_SECONDS + 10
    with pytest.raises(DatabaseUnavailableError):
        services.accounts.register("ursula@example.com", STRONG_PASSWORD)
    proxy.restore()
    assert services.accounts.register("ursula@example.com", STRONG_PASSWORD).email == "ursula@example.com"


def test_a_server_never_reached_is_reported_at_once(proxied) -> None:
    proxy, services, _direct = proxied
    proxy.cut()
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailableError, match="unavailable"):
        services.accounts.needs_first_admin()  # this client's first contact: no failover wait
    assert time.monotonic() - started < FAILOVER_SECONDS


def test_the_commit_check_waits_for_a_commit_still_in_progress(mariadb_server) -> None:
    """A COMMIT the server is still working on (a replica's acknowledgement, say) holds its token's row:
    the check waits for the outcome instead of answering "not applied" and letting the client apply the
    change twice."""
    from desktop_auth.db import commit_tokens

    database = Database(make_settings(mariadb_server.new_database()))
    migrate.upgrade(database)
    token = commit_tokens.new_token()
    answers: list[tuple[bool, float]] = []
    try:
        with database.engine.connect() as committing:
            committing.begin()
            committing.execute(
                text("INSERT INTO applied_operation (token, applied_at) VALUES (:t, NOW())"), {"t": token}
            )

            def check() -> None:
                started = time.monotonic()
                with database.engine.connect() as checking:
                    answers.append((commit_tokens.was_applied(checking, token), time.monotonic() - started))

            checker = threading.Thread(target=check)
            checker.start()
            time.sleep(0.5)
            committing.commit()
            checker.join(10)
        assert answers, "the check never answered"
        assert answers[0][0] is True, answers
        assert answers[0][1] >= 0.4, "the check answered before the COMMIT finished"
    finally:
        database.dispose()
