"""Settings an administrator changes for every client of one database, stored in ``app_setting``.

Each falls back to the client's own configuration (environment / .env) until an administrator sets it,
so a shared server's policy wins over whatever a desktop happens to have configured.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from desktop_auth.config import Settings
from desktop_auth.errors import InvalidInputError
from desktop_auth.models import AppSetting
from desktop_auth.services import audit
from desktop_auth.services.context import ServiceContext, require_admin
from desktop_auth.services.records import Actor

# field -> (smallest, largest) for the numeric ones
_LIMITS: dict[str, tuple[int, int]] = {
    "lockout_threshold": (1, 100),
    "lockout_base_seconds": (1, 86_400),
    "lockout_max_seconds": (1, 7 * 86_400),
    "idle_timeout_minutes": (1, 24 * 60),
}
_LABELS = {
    "allow_self_registration": "Self-registration",
    "lockout_threshold": "Failed sign-ins before a lockout",
    "lockout_base_seconds": "First lockout (seconds)",
    "lockout_max_seconds": "Longest lockout (seconds)",
    "idle_timeout_minutes": "Idle sign-out (minutes)",
}


@dataclass(frozen=True)
class SharedSettings:
    allow_self_registration: bool
    lockout_threshold: int
    lockout_base_seconds: int
    lockout_max_seconds: int
    idle_timeout_minutes: int

    @classmethod
    def defaults(cls, settings: Settings) -> SharedSettings:
        return cls(
            allow_self_registration=True,
            lockout_threshold=settings.lockout_threshold,
            lockout_base_seconds=settings.lockout_base_seconds,
            lockout_max_seconds=settings.lockout_max_seconds,
            idle_timeout_minutes=settings.idle_timeout_minutes,
        )


def _encode(value: object) -> str:
    return ("1" if value else "0") if isinstance(value, bool) else str(value)


def read_shared_settings(session: Session, settings: Settings) -> SharedSettings:
    stored = dict(session.execute(select(AppSetting.key, AppSetting.value)).all())
    current = SharedSettings.defaults(settings)
    changes: dict[str, Any] = {}
    for field in fields(SharedSettings):
        raw = stored.get(field.name)
        if raw is None:
            continue
        if field.name == "allow_self_registration":
            changes[field.name] = raw == "1"
        elif raw.isdigit():
            changes[field.name] = int(raw)
    return replace(current, **changes)


def validate(candidate: SharedSettings) -> None:
    for name, (low, high) in _LIMITS.items():
        value = getattr(candidate, name)
        if not low <= value <= high:
            raise InvalidInputError(name, [f"{_LABELS[name]} must be between {low} and {high}."])
    if candidate.lockout_max_seconds < candidate.lockout_base_seconds:
        raise InvalidInputError(
            "lockout_max_seconds", ["The longest lockout cannot be shorter than the first one."]
        )


class AppSettingsService:
    def __init__(self, context: ServiceContext) -> None:
        self._context = context

    def get(self) -> SharedSettings:
        with self._context.database.transaction() as session:
            return read_shared_settings(session, self._context.settings)

    def update(self, actor: Actor, **changes: Any) -> SharedSettings:
        """Change shared settings (administrators only); every change is audited."""
        unknown = set(changes) - {f.name for f in fields(SharedSettings)}
        if unknown:
            raise InvalidInputError("settings", [f"Unknown setting: {', '.join(sorted(unknown))}."])
        with self._context.database.transaction(write=True) as session:
            require_admin(session, actor)
            current = read_shared_settings(session, self._context.settings)
            candidate = replace(current, **changes)
            validate(candidate)
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
                        _LABELS[name],
                        old_value=str(old_values[name]),
                        new_value=str(value),
                    )
            session.flush()
            return read_shared_settings(session, self._context.settings)

    def set_self_registration(self, actor: Actor, allowed: bool) -> SharedSettings:
        return self.update(actor, allow_self_registration=allowed)
