"""One schema truth on a Galera cluster too: the migrations run there (DDL replicates to every node) and
`alembic check` finds the models and the schema in agreement, read through another node."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, text

from desktop_auth.db import migrate
from desktop_auth.db.engine import Database
from desktop_auth.db.schema import HEAD, SchemaState, schema_status
from tests.conftest import make_settings
from tests.galera_cluster import GaleraCluster
from tests.galera_fixtures import galera, galera_database  # noqa: F401 - fixtures

pytestmark = pytest.mark.galera


def test_migrations_run_on_the_cluster_and_agree_with_the_models(
    galera: GaleraCluster,  # noqa: F811 - fixture
    galera_database: str,  # noqa: F811 - fixture
) -> None:
    writer = Database(make_settings(galera.url(1, galera_database)))
    reader = Database(make_settings(galera.url(3, galera_database)))
    try:
        assert migrate.upgrade(writer) == HEAD
        assert migrate.downgrade(writer, "base") is None
        assert migrate.upgrade(writer) == HEAD
        assert schema_status(reader).state is SchemaState.CURRENT
        with reader.engine.connect() as connection:
            command.check(migrate.alembic_config(connection))
            tables = set(inspect(connection).get_table_names())
            guards = (
                connection.execute(text("SELECT name FROM invariant_guard ORDER BY name")).scalars().all()
            )
        assert {"invariant_guard", "applied_operation", "user", "role"} <= tables
        assert guards == ["admins", "settings"]
    finally:
        writer.dispose()
        reader.dispose()
