"""Opening a database at start-up: one policy, for the app and the command line alike.

1. The schema is checked with one query. The **embedded** SQLite file (no ``DATABASE_URL``: this computer's
   own database, which nobody else uses) is created or upgraded on the spot when it is new or older than
   this version. Any database named by a URL — a MySQL/MariaDB server, or a SQLite file someone chose — is
   **never migrated by a client**: only an operator's ``desktop-auth db upgrade`` changes its schema. Until
   then start-up stops with ``SchemaOutdatedError`` (no tables yet, an older revision, or the tutorial's
   tables: the message names the command) or ``SchemaError`` (a revision this version does not know).
2. The shared settings are seeded: a database that has none takes this client's values, and from then on
   every client follows the database's (``desktop_auth.services.app_settings``).

What stops start-up is a typed ``DesktopAuthError`` with a message a person can act on (the schema errors
above, an unreachable or busy database, a URL that cannot be used: ``desktop_auth.services.errors``). The ``db``
commands do not come through here: they act on the schema itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

from desktop_auth.config import Settings
from desktop_auth.db.engine import Database
from desktop_auth.db.schema import SchemaState, schema_status
from desktop_auth.services.facade import Services
from desktop_auth.services.records import SharedSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OpenedDatabase:
    """A database ready for use, and the shared rules it holds."""

    services: Services
    shared: SharedSettings


def open_services(
    settings: Settings,
    services: Services | None = None,
    upgrading: Callable[[], AbstractContextManager[object]] = nullcontext,
) -> OpenedDatabase:
    """Open the database ``settings`` name (or the one ``services`` already holds) under the start-up
    policy above; raises the typed error of the first step that fails. ``upgrading`` wraps the upgrade of
    the embedded database, if there is one (the app's start-up says with it that quitting must wait)."""
    owned = services is None
    services = services or Services(settings)
    try:
        prepare_schema(services.database, embedded=services.settings.embedded, upgrading=upgrading)
        shared = services.app_settings.seed()  # a new database takes this client's rules, then holds them
    except Exception:
        if owned:
            services.close()  # a refused start (and each Retry after it) leaves no pool behind
        raise
    return OpenedDatabase(services, shared)


def prepare_schema(
    database: Database,
    embedded: bool,
    upgrading: Callable[[], AbstractContextManager[object]] = nullcontext,
) -> None:
    """Step 1 of the policy: upgrade the embedded database if it needs it; require any other to be current.
    The upgrade runs inside ``upgrading()``."""
    status = schema_status(database)
    if embedded and status.state in (SchemaState.EMPTY, SchemaState.OUTDATED):
        with upgrading():
            from desktop_auth.db import migrate  # Alembic is loaded only when there is something to upgrade

            log.info("Upgrading the embedded database schema (was %s)", status.revision)
            migrate.upgrade(database)
        return
    status.require_current()
