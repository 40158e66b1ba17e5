"""The service layer for one database, as one object the GUI and the CLI hold."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from desktop_auth.config import Settings
from desktop_auth.db.engine import Database
from desktop_auth.db.types import utcnow
from desktop_auth.security import PasswordPolicy
from desktop_auth.services.accounts import AccountService
from desktop_auth.services.admin import AdminService
from desktop_auth.services.app_settings import AppSettingsService
from desktop_auth.services.bulk import BulkService
from desktop_auth.services.context import ServiceContext
from desktop_auth.services.export import ExportService
from desktop_auth.services.lifecycle import LifecycleService
from desktop_auth.services.own_account import OwnAccountService
from desktop_auth.services.recovery import RecoveryService
from desktop_auth.services.roles import RoleService
from desktop_auth.services.two_factor import TwoFactorService
from desktop_auth.services.user_import import UserImportService


class Services:
    """The service layer for one database."""

    def __init__(
        self, settings: Settings, database: Database | None = None, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.context = ServiceContext(settings, database or Database(settings), clock)
        self.accounts = AccountService(self.context)
        self.admin = AdminService(self.context)
        self.bulk = BulkService(self.context)
        self.roles = RoleService(self.context)
        self.app_settings = AppSettingsService(self.context)
        self.export = ExportService(self.context)
        self.user_import = UserImportService(self.context)
        self.own_account = OwnAccountService(self.context)
        self.recovery = RecoveryService(self.context)
        self.lifecycle = LifecycleService(self.context)
        self.two_factor = TwoFactorService(self.context)

    @property
    def database(self) -> Database:
        return self.context.database

    @property
    def settings(self) -> Settings:
        return self.context.settings

    @property
    def policy(self) -> PasswordPolicy:
        """The password rules, for dialogs that check a password as it is typed (the services check again)."""
        return self.context.policy

    def close(self) -> None:
        self.context.database.dispose()
