"""Errors of the database layer, each with a message a person can act on."""

from desktop_auth.errors import DesktopAuthError


class DatabaseUrlError(DesktopAuthError):
    """DATABASE_URL cannot be used (malformed, unsupported backend, missing driver)."""


class DatabaseUnavailableError(DesktopAuthError):
    """The database server cannot be reached, or the connection dropped mid-operation."""


class DatabaseBusyError(DatabaseUnavailableError):
    """Another client holds the write lock for longer than we are willing to wait."""


class SchemaError(DesktopAuthError):
    """The database schema is not one this version of the app can work with."""


class SchemaOutdatedError(SchemaError):
    """The schema is older than the code; an upgrade is needed."""
