"""What the app learns about its database at start-up, on a worker thread behind the sign-in dialog.

The policy (schema checks, upgrading the embedded database, seeding the shared settings) is the service
layer's, shared with the command line: ``desktop_auth.services.startup``.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

from desktop_auth.config import Settings
from desktop_auth.services.facade import Services
from desktop_auth.services.startup import open_services


@dataclass(frozen=True)
class StartupState:
    services: Services
    needs_first_admin: bool
    registration_open: bool
    idle_timeout_minutes: int


def open_database(
    settings: Settings,
    services: Services | None = None,
    upgrading: Callable[[], AbstractContextManager[object]] = nullcontext,
) -> StartupState:
    """Runs on a worker thread: open the database under the start-up policy, then ask what the first
    window needs to know. ``upgrading`` wraps a schema upgrade (quitting waits for it)."""
    opened = open_services(settings, services, upgrading)
    return StartupState(
        opened.services,
        needs_first_admin=opened.services.accounts.needs_first_admin(),
        registration_open=opened.shared.allow_self_registration,
        idle_timeout_minutes=opened.shared.idle_timeout_minutes,
    )
