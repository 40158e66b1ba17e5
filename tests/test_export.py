"""The CSV exports and the one date format they share with the CLI (desktop_auth.services.timestamps)."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta, timezone

from desktop_auth.services import Services
from desktop_auth.services.export import AUDIT_HEADER, USER_HEADER, _cell
from desktop_auth.services.records import Actor, UserQuery
from desktop_auth.services.timestamps import utc_text
from tests.conftest import register_accounts

UTC_TEXT = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\+00:00")


def test_utc_text_takes_naive_values_as_utc_and_converts_aware_ones() -> None:
    assert utc_text(datetime(2026, 12, 2, 17, 30, 5, 999_999)) == "2026-12-02 17:30:05+00:00"
    assert utc_text(datetime(2026, 12, 2, 17, 30, 5, tzinfo=UTC)) == "2026-12-02 17:30:05+00:00"
    newfoundland = timezone(-timedelta(hours=3, minutes=30))
    assert utc_text(datetime(2026, 12, 2, 14, 0, 5, tzinfo=newfoundland)) == "2026-12-02 17:30:05+00:00"
    tokyo = timezone(timedelta(hours=9))
    assert utc_text(datetime(2026, 12, 3, 2, 30, 5, tzinfo=tokyo)) == "2026-12-02 17:30:05+00:00"
    assert utc_text(None) == ""
    assert utc_text(None, none="-") == "-"
    assert datetime.fromisoformat(utc_text(datetime(2026, 1, 1))) == datetime(2026, 1, 1, tzinfo=UTC)


def test_csv_cells_write_dates_in_the_one_format() -> None:
    assert _cell(datetime(2026, 12, 2, 17, 30, 5)) == "2026-12-02 17:30:05+00:00"  # stored naive UTC
    assert _cell(datetime(2026, 12, 2, 17, 30, 5, 123, tzinfo=UTC)) == "2026-12-02 17:30:05+00:00"
    assert _cell(None) == ""


def test_user_and_audit_exports_write_utc_dates_with_their_offset(services: Services, admin: Actor) -> None:
    """The services' clock (tests.conftest.FakeClock) stands at 2026-01-01 12:00 UTC."""
    register_accounts(services, "pat@example.com")
    services.admin.set_role(admin, "pat@example.com", "admin")

    users = io.StringIO()
    assert services.export.write_users_csv(admin, UserQuery(), users) == 2
    rows = list(csv.DictReader(io.StringIO(users.getvalue())))
    assert list(rows[0]) == USER_HEADER
    for row in rows:
        assert UTC_TEXT.fullmatch(row["created"]), row
        assert UTC_TEXT.fullmatch(row["updated"]), row
        assert row["locked_until"] == ""
    pat = next(row for row in rows if row["email"] == "pat@example.com")
    assert pat["created"] == "2026-01-01 12:00:00+00:00"  # the fake clock's time, as stored (UTC)

    history = io.StringIO()
    assert services.export.write_audit_csv(admin, "pat@", history) >= 2
    events = list(csv.DictReader(io.StringIO(history.getvalue())))
    assert list(events[0]) == AUDIT_HEADER
    assert events[0]["action"] == "role"
    for event in events:
        assert event["when"] == "2026-01-01 12:00:00+00:00", event
