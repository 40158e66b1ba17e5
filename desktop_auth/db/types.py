"""Column types shared by the models and the migrations."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, String
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


def utcnow() -> datetime:
    return datetime.now(UTC)


BINARY_COLLATION = "utf8mb4_bin"


def binary_string(length: int) -> String:
    """A VARCHAR compared byte for byte on every backend: SQLite's default already is; MariaDB gets
    ``utf8mb4_bin`` instead of the table's ``utf8mb4_unicode_ci``, which would make ``straße`` and
    ``strasse`` (or fullwidth letters and ASCII) one value. Code point order, so ranges walk the index."""
    return String(length).with_variant(
        mysql.VARCHAR(length, charset="utf8mb4", collation=BINARY_COLLATION), "mysql", "mariadb"
    )


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime, stored as naive UTC on every backend.

    Neither SQLite nor MySQL DATETIME keeps an offset, so values are converted to UTC on the way in and
    tagged as UTC on the way out. MySQL gets microsecond precision so successive updates stay ordered.
    """

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; pass an aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], datetime | None]:
        # One C-level parse per value on SQLite, instead of SQLAlchemy's parse plus our tagging: a page of
        # users carries four of these per row. Anything fromisoformat refuses goes the general way.
        general = super().result_processor(dialect, coltype)
        if dialect.name != "sqlite" or general is None:
            return general or (lambda value: value)
        fromisoformat = datetime.fromisoformat

        def process(value: Any) -> datetime | None:
            if value is None:
                return None
            try:
                return fromisoformat(value + "+00:00")  # stored naive UTC; parsed straight to aware UTC
            except (TypeError, ValueError):
                return general(value)

        return process
