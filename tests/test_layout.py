"""How the windows are laid out and what they say, measured on the real widgets: moments written one way,
dialogs that grow with their messages (nothing clipped), fields and meters that line up."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QLabel, QLineEdit, QProgressBar, QWidget
from pytestqt.qtbot import QtBot

from desktop_auth.services import Services
from desktop_auth.services.records import Actor
from desktop_auth.ui.account_window import format_time
from desktop_auth.ui.role_editor.columns import COL_CREATED, COL_LAST_LOGIN, COL_LOCKED, COL_UPDATED, HEADERS
from desktop_auth.ui.role_editor.table_view import UserTableView
from desktop_auth.ui.shell.dates import local_time
from tests.a11y_helpers import clipped
from tests.a11y_helpers import themed as themed  # the fixture: light and dark
from tests.conftest import STRONG_PASSWORD
from tests.ui_helpers import child, type_into
from tests.ui_helpers import start_app as start_app  # the fixture

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
    from desktop_auth.ui.role_editor.table_model import shown_cells

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
    shown = shown_cells(record)
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


# -- new-password forms after a weak password ---------------------------------------------------------------


def _new_password_dialogs(services: Services, admin: Actor) -> list[QWidget]:
    from desktop_auth.ui.dialogs.change_password import ChangePasswordDialog
    from desktop_auth.ui.dialogs.first_run import SetupAdminDialog
    from desktop_auth.ui.dialogs.register import RegisterDialog
    from desktop_auth.ui.dialogs.reset_password import ResetPasswordDialog
    from desktop_auth.ui.shell.tasks import TaskRunner

    runner = TaskRunner()
    return [
        RegisterDialog(runner, services),
        SetupAdminDialog(runner, services),
        ChangePasswordDialog(runner, services, admin.user_id, "root@example.com"),  # type: ignore[arg-type]
        ResetPasswordDialog(runner, services),
    ]


def test_after_a_weak_password_the_forms_grow_and_say_it_once(
    qtbot: QtBot, services: Services, admin: Actor, themed: None, tmp_path: Path
) -> None:
    """Register, first run and change password: the strength advice is not clipped (the dialog grows), it
    is said once (in red under the field once a submission is refused, no longer in grey beneath), the
    strength bar starts where the fields start, the title is one line."""
    services.app_settings.set_self_registration(admin, True)
    for dialog in _new_password_dialogs(services, admin):
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.waitExposed(dialog)
        name = dialog.objectName()
        if name == "changePasswordDialog":
            type_into(qtbot, dialog, "currentPasswordEdit", STRONG_PASSWORD)
        else:
            type_into(qtbot, dialog, "emailEdit", "ada@example.com")
        if name == "resetPasswordDialog":
            type_into(qtbot, dialog, "recoveryCodeEdit", "abcd-efgh-jkmn-pqrs")
        type_into(qtbot, dialog, "passwordEdit", "password")
        type_into(qtbot, dialog, "confirmPasswordEdit", "password")
        feedback = child(dialog, QLabel, "strengthFeedback")
        qtbot.waitUntil(lambda f=feedback: f.isVisible() and "15 characters" in f.text(), timeout=10_000)
        qtbot.waitUntil(lambda d=dialog: not clipped(d), timeout=2_000)
        dialog.grab().save(str(tmp_path / f"{name}-typed.png"))

        error = child(dialog, QLabel, "passwordEditError")
        dialog.submit()
        qtbot.waitUntil(lambda e=error: e.isVisible() and "15 characters" in e.text(), timeout=10_000)
        dialog.grab().save(str(tmp_path / f"{name}-refused.png"))
        saying = [
            label
            for label in dialog.findChildren(QLabel)
            if label.isVisible() and "15 characters" in label.text()
        ]
        assert saying == [error], f"{name}: said by {[label.objectName() for label in saying]}"
        assert not clipped(dialog), f"{name}: {clipped(dialog)}"

        bar, field = child(dialog, QProgressBar, "strengthMeter"), child(dialog, QLineEdit, "passwordEdit")
        assert bar.mapTo(dialog, QPoint(0, 0)).x() == field.mapTo(dialog, QPoint(0, 0)).x(), name
        title = child(dialog, QLabel, "titleLabel")
        metrics = title.fontMetrics()
        assert title.height() < 2 * metrics.lineSpacing(), f"{name}: the title wraps"
        assert title.width() >= metrics.horizontalAdvance(title.text()), f"{name}: the title is cut"
        dialog.hide()


def test_the_account_windows_buttons_keep_their_words_however_small_the_window(
    qtbot: QtBot, services: Services, admin: Actor, start_app
) -> None:
    """A remembered or dragged size never squeezes a button below its text: the layout's minimum holds."""
    from PySide6.QtWidgets import QPushButton

    from tests.ui_helpers import sign_in

    controller = start_app(services)
    window = sign_in(qtbot, controller, "root@example.com", STRONG_PASSWORD)
    window.resize(200, 120)
    qtbot.waitUntil(lambda: window.width() >= window.minimumSizeHint().width())
    for button in window.findChildren(QPushButton):
        if button.isVisible():
            assert button.width() >= button.minimumSizeHint().width(), button.objectName()
