"""Settings an administrator changes for every client of one database, stored in ``app_setting``."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from desktop_auth.models import AppSetting
from desktop_auth.services import audit
from desktop_auth.services.context import ServiceContext, require_admin
from desktop_auth.services.records import Actor

SELF_REGISTRATION = "allow_self_registration"


@dataclass(frozen=True)
class SharedSettings:
    allow_self_registration: bool = True


def read_shared_settings(session: Session) -> SharedSettings:
    values = dict(session.execute(select(AppSetting.key, AppSetting.value)).all())
    return SharedSettings(allow_self_registration=values.get(SELF_REGISTRATION, "1") == "1")


class AppSettingsService:
    def __init__(self, context: ServiceContext) -> None:
        self._context = context

    def get(self) -> SharedSettings:
        with self._context.database.transaction() as session:
            return read_shared_settings(session)

    def set_self_registration(self, actor: Actor, allowed: bool) -> SharedSettings:
        with self._context.database.transaction(write=True) as session:
            require_admin(session, actor)
            current = read_shared_settings(session)
            new_value = "1" if allowed else "0"
            setting = session.get(AppSetting, SELF_REGISTRATION)
            if setting is None:
                session.add(AppSetting(key=SELF_REGISTRATION, value=new_value))
            else:
                setting.value = new_value
            if current.allow_self_registration != allowed:
                audit.record(
                    session,
                    self._context.clock(),
                    actor,
                    "setting",
                    SELF_REGISTRATION,
                    old_value=str(current.allow_self_registration).lower(),
                    new_value=str(allowed).lower(),
                )
            session.flush()
            return read_shared_settings(session)
