"""What the app learns about its database at start-up, on a worker thread behind the sign-in dialog."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from desktop_auth.config import Settings
from desktop_auth.services.facade import Services

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StartupState:
    services: Services
    needs_first_admin: bool
    registration_open: bool
    idle_timeout_minutes: int


def open_database(settings: Settings, services: Services | None = None) -> StartupState:
    """Runs on a worker thread: load the database layer, check (or, embedded, upgrade) the schema."""
    from desktop_auth.db.schema import SchemaState, schema_status

    services = services or Services(settings)
    status = schema_status(services.database)
    if settings.embedded and status.state in (SchemaState.EMPTY, SchemaState.OUTDATED):
        from desktop_auth.db import migrate

        log.info("Upgrading the embedded database schema (was %s)", status.revision)
        migrate.upgrade(services.database)
    else:
        status.require_current()
    shared = services.app_settings.seed()  # a new database takes this client's rules, then holds them
    return StartupState(
        services,
        needs_first_admin=services.accounts.needs_first_admin(),
        registration_open=shared.allow_self_registration,
        idle_timeout_minutes=shared.idle_timeout_minutes,
    )
