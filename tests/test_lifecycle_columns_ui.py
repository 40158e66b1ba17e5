"""The users table's lifecycle columns (issue #17) through the real role editor: "Must change password",
"Temporary password expires" (local time; "expired" once past), "Recovery codes"; what a screen reader says
for them; which of them sort."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAccessible
from pytestqt.qtbot import QtBot
from sqlalchemy import insert

from desktop_auth.db.engine import Database
from desktop_auth.models import RecoveryCode
from desktop_auth.services import Services
from desktop_auth.services.records import Actor, SortKey
from desktop_auth.ui.role_editor.columns import (
    COL_EMAIL,
    COL_MUST_CHANGE,
    COL_RECOVERY_CODES,
    COL_TEMPORARY_EXPIRES,
    HEADERS,
)
from desktop_auth.ui.role_editor.window import RoleEditor
from desktop_auth.ui.shell.dates import local_time
from tests.conftest import FakeClock, register_accounts
from tests.ui_helpers import open_editor as open_editor
from tests.ui_helpers import settle

pytestmark = pytest.mark.usefixtures("isolated_qsettings")


def _codes(database: Database, user_id: int, unused: int, used: int) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with database.transaction(write=True) as session:
        session.execute(
            insert(RecoveryCode),
            [
                {
                    "user_id": user_id,
                    "salt": "0" * 32,
                    "digest": f"{user_id:032x}{n:032x}",
                    "created_at": now,
                    "used_at": now if n >= unused else None,
                }
                for n in range(unused + used)
            ],
        )


def _row_of(editor: RoleEditor, email: str) -> int:
    model = editor.model
    for row in range(model.rowCount()):
        if model.index(row, COL_EMAIL).data() == email:
            return row
    raise AssertionError(f"{email} is not in the table")


def _spoken(editor: RoleEditor, email: str, column: int) -> str:
    """What a screen reader reads for a cell of ``email``'s row: found among the table's accessible
    children by the email cell's name (the row's other cells follow it)."""
    table = QAccessible.queryAccessibleInterface(editor.table)
    assert table is not None
    names = [str(table.child(i).text(QAccessible.Text.Name)) for i in range(table.childCount())]
    return names[names.index(email) + column - COL_EMAIL]


def _click_header(qtbot: QtBot, editor: RoleEditor, column: int) -> None:
    header = editor.table.horizontalHeader()
    editor.table.scrollTo(editor.model.index(0, column))  # a window narrower than every column scrolls
    x = header.sectionViewportPosition(column) + header.sectionSize(column) // 2
    assert 0 <= x < header.viewport().width(), f"{HEADERS[column]} is off screen"
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, header.height() // 2))


def test_the_table_shows_each_accounts_lifecycle(
    qtbot: QtBot,
    services: Services,
    admin: Actor,
    database: Database,
    clock: FakeClock,
    open_editor,
) -> None:
    kim, pat, sam = register_accounts(services, "kim@example.com", "pat@example.com", "sam@example.com")
    services.admin.reset_password(admin, [kim])
    clock.advance(hours=100)  # kim's temporary password (72 hours) has expired
    fresh = services.admin.reset_password(admin, [pat])
    _codes(database, sam, unused=3, used=7)
    _codes(database, pat, unused=1, used=0)
    editor: RoleEditor = open_editor(admin)
    model = editor.model
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert headers[-4:-1] == ["Must change\npassword", "Temporary password\nexpires", "Recovery\ncodes"]
    named = [
        model.headerData(c, Qt.Orientation.Horizontal, Qt.ItemDataRole.AccessibleTextRole)
        for c in range(model.columnCount())
    ]
    assert named[-4:-1] == ["Must change password", "Temporary password expires", "Recovery codes"]
    # Each heading's lines fit its column, beside the sort arrow.
    metrics = editor.table.horizontalHeader().fontMetrics()
    for column in (COL_MUST_CHANGE, COL_TEMPORARY_EXPIRES, COL_RECOVERY_CODES):
        widest = max(metrics.horizontalAdvance(line) for line in headers[column].splitlines())
        assert editor.table.columnWidth(column) >= widest + 16, headers[column]

    shown = {
        email: tuple(
            model.index(_row_of(editor, email), column).data()
            for column in (COL_MUST_CHANGE, COL_TEMPORARY_EXPIRES, COL_RECOVERY_CODES)
        )
        for email in ("kim@example.com", "pat@example.com", "sam@example.com", "root@example.com")
    }
    assert shown == {
        "kim@example.com": ("yes", "expired", 0),
        "pat@example.com": ("yes", local_time(fresh.expires_at), 1),
        "sam@example.com": ("no", "", 3),
        "root@example.com": ("no", "", 0),
    }
    said = {
        email: tuple(
            _spoken(editor, email, column)
            for column in (COL_MUST_CHANGE, COL_TEMPORARY_EXPIRES, COL_RECOVERY_CODES)
        )
        for email in ("kim@example.com", "pat@example.com", "sam@example.com")
    }
    assert said == {
        "kim@example.com": ("must change password", "temporary password expired", "no recovery codes left"),
        "pat@example.com": (
            "must change password",
            f"temporary password expires {local_time(fresh.expires_at)}",
            "1 recovery code left",
        ),
        "sam@example.com": ("need not change password", "no temporary password", "3 recovery codes left"),
    }
    sam_codes = model.index(_row_of(editor, "sam@example.com"), COL_RECOVERY_CODES)
    assert sam_codes.data(Qt.ItemDataRole.TextAlignmentRole) & Qt.AlignmentFlag.AlignRight
    # The expiry fits its column, as every date does.
    view = editor.table
    text = local_time(fresh.expires_at)
    assert view.columnWidth(COL_TEMPORARY_EXPIRES) >= view.fontMetrics().horizontalAdvance(text)


def test_must_change_sorts_and_the_computed_columns_do_not(
    qtbot: QtBot, services: Services, admin: Actor, open_editor
) -> None:
    ids = register_accounts(services, "a@example.com", "b@example.com", "c@example.com")
    services.admin.reset_password(admin, [ids[2]])
    editor: RoleEditor = open_editor(admin)
    header = editor.table.horizontalHeader()
    before = editor.model.query

    for column in (COL_RECOVERY_CODES, COL_TEMPORARY_EXPIRES):
        _click_header(qtbot, editor, column)
        settle(qtbot, editor)
        assert editor.model.query == before, HEADERS[column]
        assert header.sortIndicatorSection() == COL_EMAIL, "the arrow stays on the order the rows have"

    _click_header(qtbot, editor, COL_MUST_CHANGE)
    qtbot.waitUntil(lambda: editor.model.query.sort is SortKey.MUST_CHANGE, timeout=10_000)
    settle(qtbot, editor)
    assert header.sortIndicatorSection() == COL_MUST_CHANGE
    column = [editor.model.index(row, COL_MUST_CHANGE).data() for row in range(editor.model.rowCount())]
    assert column == ["no", "no", "no", "yes"]
    _click_header(qtbot, editor, COL_MUST_CHANGE)
    qtbot.waitUntil(lambda: editor.model.query.descending, timeout=10_000)
    settle(qtbot, editor)
    assert editor.model.index(0, COL_EMAIL).data() == "c@example.com"
    # A click on an unsortable column now leaves this order alone too.
    _click_header(qtbot, editor, COL_RECOVERY_CODES)
    settle(qtbot, editor)
    assert (editor.model.query.sort, editor.model.query.descending) == (SortKey.MUST_CHANGE, True)
    assert header.sortIndicatorSection() == COL_MUST_CHANGE
    assert header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder


def test_the_editor_opened_wide_enough_shows_every_column(
    qtbot: QtBot, services: Services, admin: Actor, open_editor
) -> None:
    """The lifecycle columns are not part of the table's minimum width (the editor fits a 1366-pixel
    screen); at the width the editor opens with on a screen that has the room, every column shows."""
    editor: RoleEditor = open_editor(admin)
    table = editor.table
    assert table.full_width > table.minimumWidth()
    editor.resize(editor.minimumSizeHint().width() + table.full_width - table.minimumWidth(), 660)
    qtbot.waitUntil(lambda: not table.horizontalScrollBar().isVisible(), timeout=5_000)
    header = table.horizontalHeader()
    last = COL_RECOVERY_CODES
    assert header.sectionViewportPosition(last) + header.sectionSize(last) <= table.viewport().width()


def test_cells_say_expired_without_formatting_a_far_past_moment() -> None:
    """No local-time conversion of the far past (0001-01-01 would overflow west of UTC): just "expired"."""
    from dataclasses import replace

    from desktop_auth.ui.role_editor.columns import cells, spoken
    from tests.user_records import user_record

    far_past = datetime.min.replace(tzinfo=UTC)
    record = replace(
        user_record(1),
        must_change_password=True,
        temporary_password_expires_at=far_past,
        temporary_password_expired=True,
        recovery_codes_left=10,
    )
    shown = cells(record)
    assert (str(shown[COL_MUST_CHANGE]), str(shown[COL_TEMPORARY_EXPIRES]), shown[COL_RECOVERY_CODES]) == (
        "yes",
        "expired",
        10,
    )
    assert str(spoken(record, COL_TEMPORARY_EXPIRES)) == "temporary password expired"
    assert str(spoken(record, COL_RECOVERY_CODES)) == "10 recovery codes left"
    assert spoken(record, COL_EMAIL) is None
    plain = cells(user_record(2))
    assert (str(plain[COL_MUST_CHANGE]), plain[COL_TEMPORARY_EXPIRES], plain[COL_RECOVERY_CODES]) == (
        "no",
        "",
        0,
    )
