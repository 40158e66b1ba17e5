"""Database access: engines, transactions, schema version checks and migrations."""

from desktop_auth.db.engine import Database, make_engine, mask_url, parse_database_url
from desktop_auth.db.errors import (
    DatabaseBusyError,
    DatabaseUnavailableError,
    DatabaseUrlError,
    SchemaError,
    SchemaOutdatedError,
)

__all__ = [
    "Database",
    "DatabaseBusyError",
    "DatabaseUnavailableError",
    "DatabaseUrlError",
    "SchemaError",
    "SchemaOutdatedError",
    "make_engine",
    "mask_url",
    "parse_database_url",
]
