"""Settings an administrator changes for every client of one database, stored in ``app_setting``.

The first client to start on a database seeds them from its own configuration (environment / .env);
from then on the database's values hold for every client, so no desktop's configuration can loosen a
shared server's lockout, idle or registration rules.
"""

from __future__ import annotations

from dataclasses import asdict, fields, replace
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from desktop_auth.config import LONGEST_IDLE_MINUTES, LONGEST_LOCKOUT_SECONDS, Settings
from desktop_auth.errors import InvalidInputError
from desktop_auth.messages import Message, message
from desktop_auth.models import AppSetting, User
from desktop_auth.services import audit, guards
from desktop_auth.services.context import ServiceContext, require_admin_to_change, retried
from desktop_auth.services.guards import SETTINGS_GUARD
from desktop_auth.services.records import Actor, SharedSettings

# field -> (smallest, largest) for the numeric ones
_LIMITS: dict[str, tuple[int, int]] = {
    "lockout_threshold": (1, 100),
    "lockout_base_seconds": (1, 86_400),
    "lockout_max_seconds": (1, LONGEST_LOCKOUT_SECONDS),
    "idle_timeout_minutes": (1, LONGEST_IDLE_MINUTES),
    "temporary_password_hours": (1, 30 * 24),
}


def setting_labels() -> dict[str, Message]:
    """Each shared setting's name as a person reads it (the audit log stores its English as the target of a
    change; the History tab shows it translated)."""
    return {
        "allow_self_registration": message("SharedSettings", "Self-registration"),
        "lockout_threshold": message("SharedSettings", "Failed sign-ins before a lockout"),
        "lockout_base_seconds": message("SharedSettings", "First lockout (seconds)"),
        "lockout_max_seconds": message("SharedSettings", "Longest lockout (seconds)"),
        "idle_timeout_minutes": message("SharedSettings", "Idle sign-out (minutes)"),
        "temporary_password_hours": message("SharedSettings", "Temporary passwords expire after (hours)"),
        "require_two_factor_for_admins": message(
            "SharedSettings", "Require two-factor sign-in for administrators"
        ),
    }


_NAMES = frozenset(f.name for f in fields(SharedSettings))


def _encode(value: object) -> str:
    return ("1" if value else "0") if isinstance(value, bool) else str(value)


# Every sign-in reads them (see accounts.py, "Sign-in's statements"): built once, run on the session's
# connection.
_ALL = select(AppSetting.key, AppSetting.value)


def read_shared_settings(session: Session, settings: Settings, seed: bool = False) -> SharedSettings:
    """The database's shared settings; this client's configuration stands in for any not stored yet.

    With ``seed`` (in a write transaction), missing ones are stored from this client's configuration, so
    that from then on every client follows the same values. Read on the session's connection, without an
    autoflush: a caller that changed settings through the session flushes first (``update`` does).
    """
    stored = dict(session.connection().execute(_ALL).all())
    current = SharedSettings.defaults(settings)
    if seed and not stored.keys() >= _NAMES:
        # Seeders through different cluster nodes conflict on the guard, and the re-read locks so that it
        # sees rows another client committed after this transaction's snapshot (its INSERT IGNORE skipped
        # them): every client returns what the database holds.
        guards.claim(session, SETTINGS_GUARD)
        _seed_missing(session, current, stored)
        stored = dict(session.execute(_ALL.with_for_update(read=True)).all())
    changes: dict[str, Any] = {}
    for field in fields(SharedSettings):
        raw = stored.get(field.name)
        if raw is None:
            continue
        if field.type in (bool, "bool"):
            changes[field.name] = raw == "1"
        elif raw.isdigit():
            changes[field.name] = int(raw)
    return replace(current, **changes)


def _seed_missing(session: Session, values: SharedSettings, stored: dict[str, str]) -> None:
    rows = [
        {"key": name, "value": _encode(value)} for name, value in asdict(values).items() if name not in stored
    ]
    # INSERT IGNORE / ON CONFLICT DO NOTHING: another client seeding at the same moment wins harmlessly.
    statement = insert(AppSetting).values(rows)
    if session.get_bind().dialect.name == "sqlite":
        statement = statement.prefix_with("OR IGNORE")
    else:
        statement = statement.prefix_with("IGNORE")
    session.execute(statement)


def validate(candidate: SharedSettings) -> None:
    for name, (low, high) in _LIMITS.items():
        value = getattr(candidate, name)
        if not low <= value <= high:
            raise InvalidInputError(
                name,
                [
                    message("SharedSettings", "{setting} must be between {low} and {high}.").format(
                        setting=setting_labels()[name], low=str(low), high=str(high)
                    )
                ],
            )
    if candidate.lockout_max_seconds < candidate.lockout_base_seconds:
        raise InvalidInputError(
            "lockout_max_seconds",
            [message("SharedSettings", "The longest lockout cannot be shorter than the first one.")],
        )


def _refuse_without_own_factor(session: Session, actor: Actor) -> None:
    """An administrator requiring two-factor of administrators has one already: otherwise the very next
    thing they do would be refused until they set it up."""
    if actor.user_id is None:
        return  # an operator at the CLI has no account to sign in with
    if session.scalar(select(User.totp_secret).where(User.id == actor.user_id)) is None:
        raise InvalidInputError(
            "require_two_factor_for_admins",
            [
                message(
                    "SharedSettings",
                    "Set up two-factor sign-in for your own account first (Account window, Two-factor sign-in).",
                )
            ],
        )


class AppSettingsService:
    def __init__(self, context: ServiceContext) -> None:
        self._context = context

    @retried
    def get(self) -> SharedSettings:
        with self._context.database.transaction() as session:
            return read_shared_settings(session, self._context.settings)

    @retried
    def seed(self) -> SharedSettings:
        """At start-up: store this client's configuration for any shared setting the database lacks, then
        return the shared settings every client follows."""
        with self._context.database.transaction() as session:
            if set(session.scalars(select(AppSetting.key))) >= _NAMES:
                return read_shared_settings(session, self._context.settings)
        with self._context.database.transaction(write=True) as session:
            return read_shared_settings(session, self._context.settings, seed=True)

    @retried
    def update(self, actor: Actor, **changes: Any) -> SharedSettings:
        """Change shared settings (administrators only); every change is audited."""
        unknown = set(changes) - {f.name for f in fields(SharedSettings)}
        if unknown:
            raise InvalidInputError(
                "settings",
                [
                    message("SharedSettings", "Unknown setting: {names}.").format(
                        names=", ".join(sorted(unknown))
                    )
                ],
            )
        with self._context.database.transaction(write=True) as session:
            actor = require_admin_to_change(
                session, actor, SETTINGS_GUARD
            )  # checked as a whole: changes queue
            current = read_shared_settings(session, self._context.settings)
            candidate = replace(current, **changes)
            validate(candidate)
            if candidate.require_two_factor_for_admins and not current.require_two_factor_for_admins:
                _refuse_without_own_factor(session, actor)
            now = self._context.clock()
            old_values, new_values = asdict(current), asdict(candidate)
            for name, value in new_values.items():
                if name not in changes:
                    continue
                row = session.get(AppSetting, name)
                if row is None:
                    session.add(AppSetting(key=name, value=_encode(value)))
                else:
                    row.value = _encode(value)
                if old_values[name] != value:
                    audit.record(
                        session,
                        now,
                        actor,
                        "setting",
                        str(setting_labels()[name]),
                        old_value=str(old_values[name]),
                        new_value=str(value),
                    )
            session.flush()
            return read_shared_settings(session, self._context.settings)

    def set_self_registration(self, actor: Actor, allowed: bool) -> SharedSettings:
        return self.update(actor, allow_self_registration=allowed)
