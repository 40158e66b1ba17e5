"""UTCDateTime reads back aware UTC datetimes whatever shape SQLite holds them in."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert, select, text

from desktop_auth.db.types import UTCDateTime

metadata = MetaData()
stamps = Table("stamps", metadata, Column("id", Integer, primary_key=True), Column("at", UTCDateTime()))
raw = Table("stamps", MetaData(), Column("id", Integer, primary_key=True), Column("at", String))


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ("2026-11-26 05:04:18.923125", datetime(2026, 11, 26, 5, 4, 18, 923125, tzinfo=UTC)),  # ours
        ("2026-11-26 05:04:18", datetime(2026, 11, 26, 5, 4, 18, tzinfo=UTC)),  # CURRENT_TIMESTAMP
        ("2026-11-26 05:04:18.5+00:00", datetime(2026, 11, 26, 5, 4, 18, 500000, tzinfo=UTC)),  # foreign
        (None, None),
    ],
)
def test_sqlite_values_come_back_as_aware_utc(stored: str | None, expected: datetime | None) -> None:
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(raw).values(id=1, at=stored))
        value = connection.scalar(select(stamps.c.at))
    assert value == expected
    if value is not None:
        assert value.tzinfo is UTC


def test_written_values_are_stored_as_naive_utc_and_read_back_equal() -> None:
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    moment = datetime(2026, 11, 26, 5, 4, 18, 923125, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(insert(stamps).values(id=1, at=moment))
        assert connection.scalar(text("SELECT at FROM stamps")) == "2026-11-26 05:04:18.923125"
        assert connection.scalar(select(stamps.c.at)) == moment
