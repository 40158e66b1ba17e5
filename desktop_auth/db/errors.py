"""Errors of the database layer, each with a message a person can act on."""

from desktop_auth.errors import DesktopAuthError


class DatabaseUrlError(DesktopAuthError):
    """DATABASE_URL cannot be used (malformed, unsupported backend, missing driver)."""


class DatabaseUnavailableError(DesktopAuthError):
    """The database server cannot be reached, or the connection dropped mid-operation."""


class DatabaseBusyError(DatabaseUnavailableError):
    """Another client holds the write lock for longer than we are willing to wait."""


class DatabaseConnectionLostError(DatabaseUnavailableError):
    """The server could not be reached or the connection dropped before anything was committed: running
    the whole operation again is safe (a cluster's proxy may route the next attempt to a live node)."""


class CommitOutcomeUnknownError(DatabaseUnavailableError):
    """The connection dropped during COMMIT and the database could not be asked whether it committed."""


class SchemaError(DesktopAuthError):
    """The database schema is not one this version of the app can work with."""


class SchemaOutdatedError(SchemaError):
    """The schema is older than the code; an upgrade is needed."""


class IdentityConflictError(SchemaError):
    """An upgrade found addresses that would become one account, or look-alikes; nothing was changed.

    ``same`` and ``alike`` are groups of addresses as stored (see ``desktop_auth.identity.find_conflicts``).
    """

    SHOWN = 10  # groups named per kind; the rest are counted

    def __init__(self, same: list[list[str]], alike: list[list[str]]) -> None:
        self.same = same
        self.alike = alike
        parts = ["Cannot upgrade the database:"]
        if same:
            parts.append(
                "these addresses would belong to one account once spelled as the app spells them (upper/lower "
                f"case, accents, Unicode or punycode domains): {self._groups(same, ' = ')}."
            )
        if alike:
            parts.append(
                "these addresses look alike (Unicode confusables) and new accounts may not: "
                f"{self._groups(alike, ' ~ ')}."
            )
        parts.append("Merge or rename those accounts, then run the upgrade again. Nothing was changed.")
        super().__init__(" ".join(parts))

    @classmethod
    def _groups(cls, groups: list[list[str]], joiner: str) -> str:
        shown = "; ".join(joiner.join(group) for group in groups[: cls.SHOWN])
        more = len(groups) - cls.SHOWN
        return shown + (f"; and {more} more group{'s' if more != 1 else ''}" if more > 0 else "")
