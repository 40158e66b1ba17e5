"""Is the database's schema the one this code expects? Answered with one query, without importing Alembic.

``REVISIONS`` mirrors alembic/versions in order; a test keeps the two in step.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy import Connection, inspect, text

from desktop_auth.db.engine import Database, translate_errors
from desktop_auth.db.errors import SchemaError, SchemaOutdatedError
from desktop_auth.messages import message

REVISIONS: tuple[str, ...] = ("0001", "0002", "0003", "0004", "0005", "0006", "0007")
HEAD = REVISIONS[-1]
UPGRADE_COMMAND = "desktop-auth db upgrade"


class SchemaState(enum.Enum):
    CURRENT = "current"
    EMPTY = "empty"  # no tables at all: a new database
    OUTDATED = "outdated"  # an older revision of ours
    LEGACY = "legacy"  # the tutorial's tables, with no revision of ours
    NEWER = "newer"  # a revision this code does not know, on a schema that is not the tutorial's


@dataclass(frozen=True)
class SchemaStatus:
    state: SchemaState
    revision: str | None

    def require_current(self) -> None:
        """Raise a SchemaError that says what to run, unless the schema is current."""
        if self.state is SchemaState.CURRENT:
            return
        if self.state is SchemaState.NEWER:
            raise SchemaError(
                message(
                    "DatabaseErrors",
                    "The database schema (revision {revision}) is newer than this version of desktop-auth "
                    "knows (head {head}); update the application.",
                ).format(revision=str(self.revision), head=HEAD)
            )
        described = {
            SchemaState.EMPTY: message("DatabaseErrors", "The database has no tables yet; run: {command}"),
            SchemaState.OUTDATED: message(
                "DatabaseErrors",
                "The database schema is out of date (revision {revision}, need {head}); run: {command}",
            ),
            SchemaState.LEGACY: message(
                "DatabaseErrors",
                "The database holds the tutorial's tables and must be adopted; run: {command}",
            ),
        }[self.state]
        raise SchemaOutdatedError(
            described.format(revision=str(self.revision), head=HEAD, command=UPGRADE_COMMAND)
        )


def read_revision(connection: Connection) -> str | None:
    """The revision in alembic_version, or None when there is no such table or row."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    rows = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return rows[0] if len(rows) == 1 else None


def looks_like_tutorial(connection: Connection) -> bool:
    inspector = inspect(connection)
    if not (inspector.has_table("user") and inspector.has_table("role")):
        return False
    user_columns = {column["name"] for column in inspector.get_columns("user")}
    return {"email", "password_hash", "role_id"} <= user_columns and "version" not in user_columns


def inspect_schema(connection: Connection) -> SchemaStatus:
    revision = read_revision(connection)
    if revision == HEAD:
        return SchemaStatus(SchemaState.CURRENT, revision)
    if revision in REVISIONS:
        return SchemaStatus(SchemaState.OUTDATED, revision)
    if looks_like_tutorial(connection):
        return SchemaStatus(SchemaState.LEGACY, revision)
    inspector = inspect(connection)
    if revision is None and not inspector.has_table("user") and not inspector.has_table("role"):
        return SchemaStatus(SchemaState.EMPTY, None)
    return SchemaStatus(SchemaState.NEWER, revision)


def schema_status(database: Database) -> SchemaStatus:
    with translate_errors(database.engine), database.engine.connect() as connection:
        return inspect_schema(connection)
