"""Errors of the database layer, each with a message a person can act on."""

from desktop_auth.errors import DesktopAuthError
from desktop_auth.messages import Message, message, message_n


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
        super().__init__(self._text(same, alike))

    @classmethod
    def _text(cls, same: list[list[str]], alike: list[list[str]]) -> Message:
        """One whole message per shape: which kinds of group there are, and whether some go unnamed."""
        same_text, same_more = cls._groups(same, " = ")
        alike_text, alike_more = cls._groups(alike, " ~ ")
        if not alike:
            return cls._same_only(same_more).format(same=same_text)
        if not same:
            return cls._alike_only(alike_more).format(alike=alike_text)
        return cls._both(same_more, alike_more).format(same=same_text, alike=alike_text)

    @staticmethod
    def _same_only(more: int) -> Message:
        if not more:
            return message(
                "DatabaseErrors",
                "Cannot upgrade the database: these addresses would belong to one account once spelled as the "
                "app spells them (upper/lower case, accents, Unicode or punycode domains): {same}. Merge or "
                "rename those accounts, then run the upgrade again. Nothing was changed.",
            )
        return message_n(
            "DatabaseErrors",
            "Cannot upgrade the database: these addresses would belong to one account once spelled as the "
            "app spells them (upper/lower case, accents, Unicode or punycode domains): {same}; and {n} more "
            "group. Merge or rename those accounts, then run the upgrade again. Nothing was changed.",
            "Cannot upgrade the database: these addresses would belong to one account once spelled as the "
            "app spells them (upper/lower case, accents, Unicode or punycode domains): {same}; and {n} more "
            "groups. Merge or rename those accounts, then run the upgrade again. Nothing was changed.",
            more,
        )

    @staticmethod
    def _alike_only(more: int) -> Message:
        if not more:
            return message(
                "DatabaseErrors",
                "Cannot upgrade the database: these addresses look alike (Unicode confusables) and new "
                "accounts may not: {alike}. Merge or rename those accounts, then run the upgrade again. "
                "Nothing was changed.",
            )
        return message_n(
            "DatabaseErrors",
            "Cannot upgrade the database: these addresses look alike (Unicode confusables) and new accounts "
            "may not: {alike}; and {n} more group. Merge or rename those accounts, then run the upgrade "
            "again. Nothing was changed.",
            "Cannot upgrade the database: these addresses look alike (Unicode confusables) and new accounts "
            "may not: {alike}; and {n} more groups. Merge or rename those accounts, then run the upgrade "
            "again. Nothing was changed.",
            more,
        )

    @staticmethod
    def _both(same_more: int, alike_more: int) -> Message:
        if not same_more and not alike_more:
            return message(
                "DatabaseErrors",
                "Cannot upgrade the database: these addresses would belong to one account once spelled as the "
                "app spells them (upper/lower case, accents, Unicode or punycode domains): {same}. these "
                "addresses look alike (Unicode confusables) and new accounts may not: {alike}. Merge or rename "
                "those accounts, then run the upgrade again. Nothing was changed.",
            )
        if not alike_more:
            return message_n(
                "DatabaseErrors",
                "Cannot upgrade the database: these addresses would belong to one account once spelled as the "
                "app spells them (upper/lower case, accents, Unicode or punycode domains): {same}; and {n} more "
                "group. these addresses look alike (Unicode confusables) and new accounts may not: {alike}. "
                "Merge or rename those accounts, then run the upgrade again. Nothing was changed.",
                "Cannot upgrade the database: these addresses would belong to one account once spelled as the "
                "app spells them (upper/lower case, accents, Unicode or punycode domains): {same}; and {n} more "
                "groups. these addresses look alike (Unicode confusables) and new accounts may not: {alike}. "
                "Merge or rename those accounts, then run the upgrade again. Nothing was changed.",
                same_more,
            )
        if not same_more:
            return message_n(
                "DatabaseErrors",
                "Cannot upgrade the database: these addresses would belong to one account once spelled as the "
                "app spells them (upper/lower case, accents, Unicode or punycode domains): {same}. these "
                "addresses look alike (Unicode confusables) and new accounts may not: {alike}; and {n} more "
                "group. Merge or rename those accounts, then run the upgrade again. Nothing was changed.",
                "Cannot upgrade the database: these addresses would belong to one account once spelled as the "
                "app spells them (upper/lower case, accents, Unicode or punycode domains): {same}. these "
                "addresses look alike (Unicode confusables) and new accounts may not: {alike}; and {n} more "
                "groups. Merge or rename those accounts, then run the upgrade again. Nothing was changed.",
                alike_more,
            )
        # More than ten groups of both kinds: a message has one count, so the second picks its sentence.
        if alike_more == 1:
            return message_n(
                "DatabaseErrors",
                "Cannot upgrade the database: these addresses would belong to one account once spelled as the app "
                "spells them (upper/lower case, accents, Unicode or punycode domains): {same}; and {n} more "
                "group. these addresses look alike (Unicode confusables) and new accounts may not: {alike}; and "
                "1 more group. Merge or rename those accounts, then run the upgrade again. Nothing was changed.",
                "Cannot upgrade the database: these addresses would belong to one account once spelled as the app "
                "spells them (upper/lower case, accents, Unicode or punycode domains): {same}; and {n} more "
                "groups. these addresses look alike (Unicode confusables) and new accounts may not: {alike}; and "
                "1 more group. Merge or rename those accounts, then run the upgrade again. Nothing was changed.",
                same_more,
            )
        return message_n(
            "DatabaseErrors",
            "Cannot upgrade the database: these addresses would belong to one account once spelled as the app "
            "spells them (upper/lower case, accents, Unicode or punycode domains): {same}; and {n} more group. "
            "these addresses look alike (Unicode confusables) and new accounts may not: {alike}; and "
            "{alike_more} more groups. Merge or rename those accounts, then run the upgrade again. Nothing "
            "was changed.",
            "Cannot upgrade the database: these addresses would belong to one account once spelled as the app "
            "spells them (upper/lower case, accents, Unicode or punycode domains): {same}; and {n} more groups. "
            "these addresses look alike (Unicode confusables) and new accounts may not: {alike}; and "
            "{alike_more} more groups. Merge or rename those accounts, then run the upgrade again. Nothing "
            "was changed.",
            same_more,
        ).format(alike_more=alike_more)

    @classmethod
    def _groups(cls, groups: list[list[str]], joiner: str) -> tuple[str, int]:
        """The first groups, each spelled out (data, shown as it is), and how many more there are."""
        shown = "; ".join(joiner.join(group) for group in groups[: cls.SHOWN])
        return shown, max(0, len(groups) - cls.SHOWN)
