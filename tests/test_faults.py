"""Faults on a real connection: a TCP proxy between the app and MariaDB is cut in the middle of an
operation. The operation fails with "database unavailable", leaves no partial write, and the next one
succeeds once the network is back, without restarting anything."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, event, func, select

from desktop_auth.db import migrate
from desktop_auth.db.engine import Database
from desktop_auth.db.errors import DatabaseUnavailableError
from desktop_auth.models import AuditEvent, Role, User
from desktop_auth.services import Services
from desktop_auth.services.records import Actor
from tests.conftest import MARIADB, STRONG_PASSWORD, make_settings
from tests.faultproxy import FaultProxy

pytestmark = pytest.mark.mariadb


@pytest.fixture
def proxied(mariadb_server) -> Iterator[tuple[FaultProxy, Services, Database]]:
    direct_url = mariadb_server.new_database()
    direct = Database(make_settings(direct_url))
    migrate.upgrade(direct)
    proxy = FaultProxy(MARIADB["host"], int(MARIADB["port"]))
    proxied_url = direct_url.replace(f":{MARIADB['port']}/", f":{proxy.port}/")
    services = Services(make_settings(proxied_url))
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


def test_cut_mid_bulk_change_leaves_no_partial_write_and_recovers(proxied) -> None:
    proxy, services, direct = proxied
    admin = services.accounts.create_first_admin("root@example.com", STRONG_PASSWORD)
    actor = Actor(admin.id, admin.email)
    ids = [services.accounts.register(f"u{n}@example.com", STRONG_PASSWORD).id for n in range(5)]
    with direct.transaction() as session:
        audit_before = session.scalar(select(func.count(AuditEvent.id)))

    # The UPDATE of the users reaches the server; the audit INSERT of the same transaction never does.
    cut_before(services.database.engine, proxy, "INSERT INTO audit_event")
    with pytest.raises(DatabaseUnavailableError, match="unavailable"):
        services.admin.bulk_set_role(actor, dict.fromkeys(ids), "admin")

    with direct.transaction() as session:
        roles = set(session.scalars(select(Role.name).join(User.role).where(User.id.in_(ids))))
        assert roles == {"user"}, "the half-done transaction was rolled back"
        assert session.scalar(select(func.count(AuditEvent.id))) == audit_before

    proxy.restore()
    assert services.admin.bulk_set_role(actor, dict.fromkeys(ids), "admin") == 5  # same Services, same pool
    with direct.transaction() as session:
        roles = set(session.scalars(select(Role.name).join(User.role).where(User.id.in_(ids))))
    assert roles == {"admin"}


def test_cut_during_sign_in_then_recovery(proxied) -> None:
    proxy, services, direct = proxied
    services.accounts.register("sam@example.com", STRONG_PASSWORD)
    cut_before(services.database.engine, proxy, "UPDATE user")  # the sign-in bookkeeping
    with pytest.raises(DatabaseUnavailableError):
        services.accounts.authenticate("sam@example.com", STRONG_PASSWORD)
    with direct.transaction() as session:
        assert session.scalar(select(User.login_count).where(User.email == "sam@example.com")) == 0
    proxy.restore()
    assert services.accounts.authenticate("sam@example.com", STRONG_PASSWORD).login_count == 1


def test_server_unreachable_then_back(proxied) -> None:
    proxy, services, _direct = proxied
    services.accounts.register("tess@example.com", STRONG_PASSWORD)
    proxy.cut()
    with pytest.raises(DatabaseUnavailableError):
        services.accounts.needs_first_admin()
    with pytest.raises(DatabaseUnavailableError):
        services.accounts.register("ursula@example.com", STRONG_PASSWORD)
    proxy.restore()
    assert services.accounts.register("ursula@example.com", STRONG_PASSWORD).email == "ursula@example.com"
