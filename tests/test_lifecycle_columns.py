"""What every list of users says about an account's lifecycle (issue #17): whether its password must be
changed, when its temporary password expires (one computation with sign-in's), and how many recovery codes
it has left; in pages, single users, edits' results, the CSV export and ``users list``. SQLite and MariaDB."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, update

from desktop_auth.db.engine import Database
from desktop_auth.models import RecoveryCode, User
from desktop_auth.services import Services
from desktop_auth.services.errors import TemporaryPasswordExpiredError
from desktop_auth.services.export import USER_HEADER
from desktop_auth.services.records import (
    Actor,
    BulkSelection,
    SortKey,
    UserEdit,
    UserQuery,
    UserRecord,
    temporary_password_expiry,
)
from tests.conftest import STRONG_PASSWORD, FakeClock, register_accounts


def _codes(database: Database, user_id: int, unused: int, used: int = 0) -> None:
    """Recovery code rows as services.recovery stores them (only their number and use matter here)."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [
        {
            "user_id": user_id,
            "salt": f"{n:032x}",
            "digest": f"{user_id:032x}{n:032x}",
            "created_at": now,
            "used_at": now if n >= unused else None,
        }
        for n in range(unused + used)
    ]
    with database.transaction(write=True) as session:
        session.execute(insert(RecoveryCode), rows)


def _by_email(records: list[UserRecord]) -> dict[str, UserRecord]:
    return {record.email: record for record in records}


def test_temporary_password_expiry_rule() -> None:
    changed = datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert temporary_password_expiry(False, changed, 72) is None
    assert temporary_password_expiry(False, None, 72) is None
    assert temporary_password_expiry(True, changed, 72) == datetime(2026, 1, 4, 12, tzinfo=UTC)
    assert temporary_password_expiry(True, changed, 1) == datetime(2026, 1, 1, 13, tzinfo=UTC)
    # A password that must be changed but was set at no known time has expired, whenever "now" is.
    unknown = temporary_password_expiry(True, None, 72)
    assert unknown is not None
    assert unknown < datetime(1, 1, 2, tzinfo=UTC)


def test_lists_show_must_change_and_expiry(
    services: Services, admin: Actor, database: Database, clock: FakeClock
) -> None:
    pat, _sam = register_accounts(services, "pat@example.com", "sam@example.com")
    result = services.admin.reset_password(admin, [pat])
    page = _by_email(services.admin.list_users(admin))
    assert page["pat@example.com"].must_change_password
    assert page["pat@example.com"].temporary_password_expires_at == result.expires_at
    changed = page["pat@example.com"].password_changed_at
    assert changed is not None
    assert result.expires_at - timedelta(seconds=1) < changed + timedelta(hours=72) <= result.expires_at
    assert not page["sam@example.com"].must_change_password
    assert page["sam@example.com"].temporary_password_expires_at is None
    assert page["root@example.com"].temporary_password_expires_at is None

    # The shared setting moves every expiry at once, in every list, as it moves sign-in's refusal.
    services.app_settings.update(admin, temporary_password_hours=5)
    expected = changed + timedelta(hours=5)
    assert services.admin.get_user(admin, "pat@example.com").temporary_password_expires_at == expected
    staged_page = services.admin.user_page(admin, UserQuery(), 0, 10)
    assert _by_email(staged_page.records)["pat@example.com"].temporary_password_expires_at == expected
    temporary = result.entries[0].password
    clock.advance(seconds=(expected - clock()).total_seconds() - 1)  # a second before the expiry shown
    assert services.accounts.authenticate("pat@example.com", temporary).must_change_password
    assert not services.admin.get_user(admin, "pat@example.com").temporary_password_expired
    clock.advance(seconds=(expected - clock()).total_seconds())  # at the expiry shown: refused
    with pytest.raises(TemporaryPasswordExpiredError):
        services.accounts.authenticate("pat@example.com", temporary)
    shown = services.admin.get_user(admin, "pat@example.com")
    assert (shown.temporary_password_expired, shown.temporary_password_expires_at) == (True, expected)


def test_lists_count_unused_recovery_codes(services: Services, admin: Actor, database: Database) -> None:
    pat, sam, kim = register_accounts(services, "pat@example.com", "sam@example.com", "kim@example.com")
    _codes(database, pat, unused=7, used=3)
    _codes(database, sam, unused=0, used=10)
    counts = {u.email: u.recovery_codes_left for u in services.admin.list_users(admin)}
    assert counts == {"root@example.com": 0, "pat@example.com": 7, "sam@example.com": 0, "kim@example.com": 0}
    # Every way of reading users says the same.
    assert services.admin.get_user(admin, "pat@example.com").recovery_codes_left == 7
    (edited,) = services.admin.apply_edits(admin, [UserEdit(kim, role="admin")])
    assert edited.recovery_codes_left == 0
    _codes(database, kim, unused=10)
    assert services.admin.get_user(admin, "kim@example.com").recovery_codes_left == 10
    staged = services.bulk.stage(admin, BulkSelection(UserQuery(search="pat")), active=False)
    in_change = services.admin.user_page(admin, UserQuery(), 0, 10, pending_change_id=staged.id)
    assert {u.email: u.recovery_codes_left for u in in_change.records}["pat@example.com"] == 7
    assert dict(zip((u.email for u in in_change.records), in_change.in_change, strict=True)) == {
        "root@example.com": False,
        "pat@example.com": True,
        "sam@example.com": False,
        "kim@example.com": False,
    }
    # Spending one is seen at once; deleting the account deletes its codes (ON DELETE CASCADE).
    with database.transaction(write=True) as session:
        session.execute(
            update(RecoveryCode)
            .where(RecoveryCode.user_id == pat, RecoveryCode.used_at.is_(None))
            .values(used_at=datetime(2026, 1, 2, tzinfo=UTC))
            .execution_options(synchronize_session=False)
        )
    assert services.admin.get_user(admin, "pat@example.com").recovery_codes_left == 0


def test_sort_by_must_change(services: Services, admin: Actor) -> None:
    ids = register_accounts(services, "a@example.com", "b@example.com", "c@example.com")
    services.admin.reset_password(admin, [ids[1]])
    first = services.admin.list_users(admin, UserQuery(sort=SortKey.MUST_CHANGE, descending=True), limit=1)
    assert [u.email for u in first] == ["b@example.com"]
    last = services.admin.list_users(admin, UserQuery(sort=SortKey.MUST_CHANGE))
    assert last[-1].email == "b@example.com"
    assert [u.must_change_password for u in last] == [False, False, False, True]


def test_csv_export_has_the_lifecycle_columns(
    services: Services, admin: Actor, database: Database, clock: FakeClock
) -> None:
    pat, _sam = register_accounts(services, "pat@example.com", "sam@example.com")
    result = services.admin.reset_password(admin, [pat])
    _codes(database, pat, unused=4, used=1)
    out = io.StringIO()
    assert services.export.write_users_csv(admin, UserQuery(), out) == 3
    rows = {row["email"]: row for row in csv.DictReader(io.StringIO(out.getvalue()))}
    assert USER_HEADER[-4:-1] == ["must_change_password", "temporary_password_expires", "recovery_codes_left"]
    assert rows["pat@example.com"]["must_change_password"] == "yes"
    expires = result.expires_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S+00:00")
    assert rows["pat@example.com"]["temporary_password_expires"] == expires
    assert rows["pat@example.com"]["recovery_codes_left"] == "4"
    assert (
        rows["sam@example.com"]["must_change_password"],
        rows["sam@example.com"]["temporary_password_expires"],
        rows["sam@example.com"]["recovery_codes_left"],
    ) == ("no", "", "0")


def test_must_change_with_no_known_password_date_reads_as_expired(
    services: Services, admin: Actor, database: Database
) -> None:
    """An account that must change a password set at no recorded time (say, flagged by hand in SQL): sign-in
    refuses it as expired, and every list says so, without failing on the far-past moment."""
    (pat,) = register_accounts(services, "pat@example.com")
    with database.transaction(write=True) as session:
        session.execute(
            update(User)
            .where(User.id == pat)
            .values(must_change_password=True, password_changed_at=None)
            .execution_options(synchronize_session=False)
        )
    record = services.admin.get_user(admin, "pat@example.com")
    assert record.must_change_password
    assert record.temporary_password_expired
    assert record.temporary_password_expires_at is not None
    with pytest.raises(TemporaryPasswordExpiredError):
        services.accounts.authenticate("pat@example.com", STRONG_PASSWORD)
    out = io.StringIO()
    services.export.write_users_csv(admin, UserQuery(search="pat"), out)
    (row,) = csv.DictReader(io.StringIO(out.getvalue()))
    assert row["temporary_password_expires"] == "0001-01-01 00:00:00+00:00"
