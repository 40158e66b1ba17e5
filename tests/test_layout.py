"""How the windows are laid out and what they say, measured on the real widgets: moments written one way,
dialogs that grow with their messages (nothing clipped), fields and meters that line up."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from PySide6.QtGui import QStandardItem, QStandardItemModel
from pytestqt.qtbot import QtBot

from desktop_auth.ui.account_window import format_time
from desktop_auth.ui.role_editor.columns import COL_CREATED, COL_LAST_LOGIN, COL_LOCKED, COL_UPDATED, HEADERS
from desktop_auth.ui.role_editor.table_view import UserTableView
from desktop_auth.ui.shell.dates import local_time

pytestmark = pytest.mark.usefixtures("isolated_qsettings")

MOMENT = datetime(2026, 12, 2, 17, 30, 5, tzinfo=UTC)


@pytest.fixture(params=["Europe/Berlin", "Asia/Kathmandu", "America/Sao_Paulo"])
def zone(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The computer's time zone: one with an abbreviation (CET), and ones Python names by offset."""
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


def test_the_account_window_and_the_table_write_moments_one_way(zone: str) -> None:
    from desktop_auth.services.records import UserRecord
    from desktop_auth.ui.role_editor.columns import cells

    assert format_time(MOMENT) == local_time(MOMENT)
    assert format_time(None) == "This is your first sign-in"
    record = UserRecord(
        id=1,
        email="ada@example.com",
        role="user",
        active=True,
        must_change_password=False,
        locked_until=MOMENT,
        last_login_at=MOMENT,
        login_count=3,
        created_at=MOMENT,
        updated_at=MOMENT,
        version=1,
    )
    shown = cells(record)
    for column in (COL_LOCKED, COL_LAST_LOGIN, COL_CREATED, COL_UPDATED):
        assert shown[column] == local_time(MOMENT), HEADERS[column]
    assert local_time(MOMENT).split()[-1] not in ("", "UTC"), "the local zone is named"


def test_a_date_column_fits_a_moment_with_its_zone(qtbot: QtBot, zone: str) -> None:
    """No "2026-12-02 18:3…": the widest moment fits its column (the email column stretches)."""
    model = QStandardItemModel(1, len(HEADERS))
    for column in (COL_LOCKED, COL_LAST_LOGIN, COL_CREATED, COL_UPDATED):
        model.setItem(0, column, QStandardItem(local_time(MOMENT)))
    view = UserTableView(model)
    qtbot.addWidget(view)
    view.show()
    metrics = view.fontMetrics()
    margin = 2 * (view.style().pixelMetric(view.style().PixelMetric.PM_FocusFrameHMargin, None, view) + 1)
    for column in (COL_LOCKED, COL_LAST_LOGIN, COL_CREATED, COL_UPDATED):
        text = model.index(0, column).data()
        assert view.columnWidth(column) >= metrics.horizontalAdvance(text) + margin, (HEADERS[column], text)
