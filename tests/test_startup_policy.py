"""The one start-up policy (``desktop_auth.services.startup``) that the app and the CLI both go through: the
embedded database is created or upgraded by itself, a database named by a URL is never migrated by a client,
and the shared settings are seeded."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text

from desktop_auth.db import migrate
from desktop_auth.db.engine import Database
from desktop_auth.db.errors import SchemaError, SchemaOutdatedError
from desktop_auth.db.schema import HEAD, REVISIONS, SchemaState, schema_status
from desktop_auth.services import Services
from desktop_auth.services.startup import open_services
from tests.conftest import make_settings


def test_the_embedded_database_is_created_and_seeded(tmp_path: Path) -> None:
    settings = make_settings(
        f"sqlite:///{tmp_path / 'embedded.sqlite3'}", embedded=True, idle_timeout_minutes=7
    )
    opened = open_services(settings)
    try:
        assert schema_status(opened.services.database).state is SchemaState.CURRENT
        assert opened.shared.idle_timeout_minutes == 7, "a new database takes this client's rules"
        assert opened.services.app_settings.get() == opened.shared, "and stores them"
    finally:
        opened.services.close()


def test_an_older_embedded_database_is_upgraded(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'embedded.sqlite3'}"
    older = Database(make_settings(url))
    migrate.upgrade(older, REVISIONS[-2])
    older.dispose()
    opened = open_services(make_settings(url, embedded=True))
    try:
        assert schema_status(opened.services.database).revision == HEAD
    finally:
        opened.services.close()


def test_a_database_named_by_a_url_is_never_migrated_by_a_client(fresh_url: str) -> None:
    settings = make_settings(fresh_url)
    services = Services(settings)
    try:
        with pytest.raises(SchemaOutdatedError, match="run: desktop-auth db upgrade"):
            open_services(settings, services)
        assert schema_status(services.database).state is SchemaState.EMPTY, "no table was created"
        migrate.upgrade(services.database, REVISIONS[-2])
        with pytest.raises(SchemaOutdatedError, match="run: desktop-auth db upgrade"):
            open_services(settings, services)
        assert schema_status(services.database).revision == REVISIONS[-2], "nothing was upgraded"
        migrate.upgrade(services.database)  # the operator's `db upgrade`
        opened = open_services(settings, services)
        assert opened.services is services
        assert opened.shared == services.app_settings.get()
    finally:
        services.close()


def test_a_schema_newer_than_this_version_is_refused_even_embedded(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'embedded.sqlite3'}"
    newer = Database(make_settings(url))
    migrate.upgrade(newer)
    with newer.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'f00d'"))
    newer.dispose()
    settings = make_settings(url, embedded=True)
    services = Services(settings)
    try:
        with pytest.raises(SchemaError, match="update the application") as refused:
            open_services(settings, services)
        assert not isinstance(refused.value, SchemaOutdatedError)
        assert schema_status(services.database).revision == "f00d", "left as it was"
    finally:
        services.close()


def test_the_embedded_upgrade_and_only_it_runs_inside_upgrading(tmp_path: Path) -> None:
    """The app wraps the upgrade so that quitting waits for it (ui/shell/tasks.py): the wrapper is entered
    exactly when an upgrade runs, and the upgrade is over when it is left."""
    seen: list[str] = []

    @contextmanager
    def upgrading() -> Iterator[None]:
        seen.append("entered")
        yield
        seen.append(f"left at {schema_status(database).state.name}")

    url = f"sqlite:///{tmp_path / 'embedded.sqlite3'}"
    database = Database(make_settings(url))
    try:
        opened = open_services(make_settings(url, embedded=True), upgrading=upgrading)
        opened.services.close()
        assert seen == ["entered", "left at CURRENT"]
        opened = open_services(make_settings(url, embedded=True), upgrading=upgrading)
        opened.services.close()
        assert seen == ["entered", "left at CURRENT"], "a current database is not upgraded"
    finally:
        database.dispose()
