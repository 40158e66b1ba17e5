"""Running Alembic from the app and the CLI, including adopting a tutorial database in place."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from sqlalchemy import Connection, text

from desktop_auth import paths
from desktop_auth.db.engine import Database, translate_errors
from desktop_auth.db.errors import SchemaError
from desktop_auth.db.schema import REVISIONS, SchemaState, inspect_schema
from desktop_auth.messages import message

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

TUTORIAL_BASELINE = REVISIONS[0]


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config that needs no alembic.ini: script location and connection are set here."""
    from alembic.config import Config

    # Alembic binds its default output stream when it is first imported; pass today's sys.stdout.
    config = Config(stdout=sys.stdout)
    config.set_main_option("script_location", str(paths.bundled_path("alembic")))
    config.set_main_option("path_separator", "os")
    config.attributes["skip_logging_config"] = True
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _adopt_tutorial_schema(connection: Connection, stray_revision: str | None) -> None:
    """Stamp a tutorial database at the baseline revision, so it upgrades like a fresh one."""
    from alembic import command

    log.info("Adopting a tutorial database (previous alembic revision: %s)", stray_revision)
    if stray_revision is not None:
        # The revision belongs to the tutorial's own history, which this project never had.
        connection.execute(text("DELETE FROM alembic_version"))
        connection.commit()
    command.stamp(alembic_config(connection), TUTORIAL_BASELINE)
    connection.commit()


@contextlib.contextmanager
def foreign_keys_off(connection: Connection) -> Iterator[None]:
    """On SQLite, the connection's foreign keys off while migrating, as SQLite's own procedure for
    rebuilding a table asks: with them on, rebuilding ``user`` (DROP TABLE) would run the ON DELETE actions
    of every table that refers to it, deleting recovery codes and cutting history from its accounts. They
    are checked before they are turned on again: a migration that broke one fails. Elsewhere, nothing."""
    if connection.dialect.name != "sqlite":
        yield
        return
    # Before anything begins a transaction, where the pragma would do nothing.
    connection.rollback()
    connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
    try:
        yield
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        connection.rollback()
        if broken:
            raise SchemaError(
                message(
                    "DatabaseErrors", "The migration left rows whose foreign keys point nowhere: {rows}"
                ).format(rows=str(broken[:5]))
            )
    finally:
        connection.rollback()
        connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]


@contextlib.contextmanager
def _migrating(database: Database) -> Iterator[Connection]:
    with (
        translate_errors(database.engine),
        database.engine.connect() as connection,
        foreign_keys_off(connection),
    ):
        yield connection


def upgrade(database: Database, revision: str = "head") -> str | None:
    """Upgrade (adopting a tutorial database first); return the revision reached."""
    from alembic import command

    with _migrating(database) as connection:
        status = inspect_schema(connection)
        if status.state is SchemaState.LEGACY:
            _adopt_tutorial_schema(connection, status.revision)
        elif status.state is SchemaState.NEWER:
            raise SchemaError(
                message(
                    "DatabaseErrors",
                    "The database holds revision '{revision}', which this version of desktop-auth does not "
                    "know, and its tables are not the tutorial's; refusing to touch it.",
                ).format(revision=str(status.revision))
            )
        command.upgrade(alembic_config(connection), revision)
        connection.commit()
        return inspect_schema(connection).revision


def downgrade(database: Database, revision: str) -> str | None:
    from alembic import command

    with _migrating(database) as connection:
        command.downgrade(alembic_config(connection), revision)
        connection.commit()
        return inspect_schema(connection).revision


def script_revisions() -> list[str]:
    """Revision ids of the migration scripts, oldest first."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(alembic_config())
    return [script.revision for script in reversed(list(scripts.walk_revisions()))]
