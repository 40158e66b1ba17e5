"""The import through real widgets (pytest-qt): the Users tab's importUsersButton opens importUsersDialog; a
hostile file's preview shows every row with its problems, highlighted and counted, and importConfirmButton
stays disabled (nothing written); a clean file then imports, its passwords land in a private file and work
for a first sign-in; Cancel stops a preview in progress. SQLite and MariaDB."""

from __future__ import annotations

import csv
import os
import stat
import threading
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible, QAccessibleAnnouncementEvent, QAccessibleEvent
from PySide6.QtWidgets import QCheckBox, QLabel, QPushButton, QTableView
from pytestqt.qtbot import QtBot

from desktop_auth.services import Services
from desktop_auth.services.errors import ImportCancelledError
from desktop_auth.services.records import Actor, ImportRow
from desktop_auth.ui.dialogs import import_users as import_ui
from desktop_auth.ui.dialogs.import_users import (
    COL_PROBLEMS,
    ImportPreviewModel,
    ImportUsersDialog,
)
from desktop_auth.ui.role_editor.window import RoleEditor
from desktop_auth.ui.shell.tasks import TaskRunner
from tests.conftest import register_accounts
from tests.ui_helpers import child, click, open_editor, settle

pytestmark = pytest.mark.usefixtures("isolated_qsettings")
__all__ = ["open_editor"]  # a fixture, used by name


def _open_dialog(qtbot: QtBot, editor: RoleEditor) -> ImportUsersDialog:
    click(qtbot, editor.users_tab, "importUsersButton")
    qtbot.waitUntil(lambda: editor.findChild(ImportUsersDialog) is not None, timeout=10_000)
    dialog = editor.findChild(ImportUsersDialog)
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible, timeout=10_000)
    assert dialog.objectName() == "importUsersDialog"
    return dialog


def _user_count(services: Services, admin: Actor) -> int:
    return services.admin.count_users(admin)


def test_hostile_file_shows_its_problems_then_a_clean_file_imports(
    qtbot: QtBot,
    services: Services,
    admin: Actor,
    open_editor,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    register_accounts(services, "taken@example.com")
    hostile = tmp_path / "hostile.csv"
    hostile.write_bytes(
        "\ufeffemail,role\r\n"
        "ann@example.com,user\r\n"
        '=HYPERLINK("http://x")@example.com,user\r\n'
        "taken@example.com,user\r\n"
        "ann@example.com,admin\r\n"
        "zero\u200bwidth@example.com,user\r\n"
        "ok@example.com,user\r\n".encode()
    )
    clean = tmp_path / "clean.csv"
    clean.write_text("email,role\ncara@example.com,admin\ndan@example.com,\n", encoding="utf-8")
    passwords_file = tmp_path / "out" / "passwords.csv"
    passwords_file.parent.mkdir()
    chosen = {"file": str(hostile)}
    monkeypatch.setattr(import_ui, "choose_csv_file", lambda _parent: chosen["file"])
    monkeypatch.setattr(import_ui, "choose_passwords_file", lambda _parent: str(passwords_file))

    heard: list[str] = []
    original = QAccessible.updateAccessibility

    def update(event: QAccessibleEvent) -> None:
        if isinstance(event, QAccessibleAnnouncementEvent):
            heard.append(event.message())
        original(event)

    monkeypatch.setattr(QAccessible, "updateAccessibility", staticmethod(update))
    editor = open_editor(admin)
    before = _user_count(services, admin)
    dialog = _open_dialog(qtbot, editor)
    confirm = child(dialog, QPushButton, "importConfirmButton")
    assert not confirm.isEnabled(), "nothing to import before a file is chosen"

    click(qtbot, dialog, "chooseImportFileButton")
    table = child(dialog, QTableView, "importPreviewTable")
    model = table.model()
    qtbot.waitUntil(lambda: not dialog.busy and model.rowCount() == 6, timeout=15_000)
    summary = child(dialog, QLabel, "importSummaryLabel")
    assert summary.isVisible()
    assert summary.text() == "5 of 6 rows have problems."
    assert "5 of 6 rows have problems." in heard, "the count is announced"
    assert "Checking every row…" in heard, "the busy state is announced"
    for control in (*dialog.findChildren(QPushButton), table):
        assert control.accessibleName(), control.objectName()
    assert not confirm.isEnabled()
    problems = [model.index(row, COL_PROBLEMS).data() for row in range(6)]
    assert "the same address as line 5" in problems[0]
    assert "formula" in problems[1]
    assert "already exists" in problems[2]
    assert "U+200B" in problems[4]
    assert problems[5] == "OK"
    highlighted = [model.index(row, 0).data(Qt.ItemDataRole.BackgroundRole) is not None for row in range(6)]
    assert highlighted == [True, True, True, True, True, False]
    assert model.index(0, 0).data(Qt.ItemDataRole.AccessibleTextRole) == "line 2, has problems"
    assert table.currentIndex().row() == 0, "the first row with a problem is selected"
    assert "<U+200B>" in model.index(4, 1).data(), "the invisible character is shown"
    assert _user_count(services, admin) == before, "nothing written"
    only = child(dialog, QCheckBox, "onlyProblemsCheck")
    assert only.isEnabled()
    only.click()
    assert model.rowCount() == 5
    assert [model.index(row, 0).data() for row in range(5)] == ["⚠ 2", "⚠ 3", "⚠ 4", "⚠ 5", "⚠ 6"]
    only.click()
    assert model.rowCount() == 6
    confirm.click()  # disabled: does nothing
    assert _user_count(services, admin) == before

    chosen["file"] = str(clean)
    click(qtbot, dialog, "chooseImportFileButton")
    qtbot.waitUntil(lambda: not dialog.busy and model.rowCount() == 2, timeout=15_000)
    assert summary.text() == "No problems: 2 rows ready to import."
    assert not child(dialog, QCheckBox, "onlyProblemsCheck").isEnabled()
    assert confirm.isEnabled()
    click(qtbot, dialog, "importConfirmButton")
    notice = child(dialog, QLabel, "noticeLabel")
    qtbot.waitUntil(
        lambda: not dialog.busy and notice.text().startswith("Imported 2 accounts."), timeout=15_000
    )
    assert str(passwords_file) in notice.text()
    assert not confirm.isVisible()
    if os.name == "posix":
        assert stat.S_IMODE(passwords_file.stat().st_mode) == 0o600
    with passwords_file.open(encoding="utf-8", newline="") as rows:
        entries = {row["email"]: row["temporary_password"] for row in csv.DictReader(rows)}
    assert set(entries) == {"cara@example.com", "dan@example.com"}
    assert services.accounts.authenticate(
        "cara@example.com", entries["cara@example.com"]
    ).must_change_password
    assert services.admin.get_user(admin, "cara@example.com").role == "admin"
    settle(qtbot, editor)
    qtbot.waitUntil(lambda: editor.model.total == before + 2, timeout=15_000)

    close = child(dialog, QPushButton, "cancelButton")
    assert close.text() == "C&lose"
    click(qtbot, dialog, "cancelButton")
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5_000)


def test_cancel_stops_a_preview_in_progress(
    qtbot: QtBot, services: Services, admin: Actor, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    started = threading.Event()

    def slow_preview(actor, path, should_stop):  # type: ignore[no-untyped-def]
        started.set()
        deadline = time.monotonic() + 15  # a dialog that never asks to stop fails the test, not the run
        while not should_stop():
            if time.monotonic() > deadline:
                raise AssertionError("the preview was never asked to stop")
            threading.Event().wait(0.01)
        raise ImportCancelledError()

    monkeypatch.setattr(services.user_import, "preview_file", slow_preview)
    runner = TaskRunner()
    dialog = ImportUsersDialog(runner, services, admin, choose_file=lambda _parent: str(tmp_path / "x.csv"))
    qtbot.addWidget(dialog)
    dialog.show()
    click(qtbot, dialog, "chooseImportFileButton")
    assert started.wait(10)
    assert dialog.busy
    cancel = child(dialog, QPushButton, "cancelButton")
    assert cancel.isEnabled(), "Cancel stays usable while the work runs"
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not dialog.busy, timeout=10_000)
    assert dialog.isVisible(), "cancelling the work does not close the dialog"
    assert "cancelled" in child(dialog, QLabel, "noticeLabel").text()
    runner.wait()


def test_the_preview_model_passes_qt_model_tester(qtmodeltester) -> None:
    model = ImportPreviewModel()
    model.set_rows(
        (
            ImportRow(2, "ann@example.com", "user", ()),
            ImportRow(3, "=x", "user", ("the address starts with '='",)),
        )
    )
    qtmodeltester.check(model)


def test_alt_i_in_the_users_tab_opens_the_import(qtbot: QtBot, admin: Actor, open_editor) -> None:
    editor = open_editor(admin)
    editor.activateWindow()
    editor.table.setFocus()
    qtbot.keyClick(editor.table, Qt.Key.Key_I, Qt.KeyboardModifier.AltModifier)
    qtbot.waitUntil(lambda: editor.findChild(ImportUsersDialog) is not None, timeout=10_000)
    dialog = editor.findChild(ImportUsersDialog)
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible, timeout=10_000)
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5_000)


def test_when_the_passwords_cannot_be_saved_the_dialog_says_so(
    qtbot: QtBot, services: Services, admin: Actor, tmp_path: Path
) -> None:
    clean = tmp_path / "clean.csv"
    clean.write_text("email\nerin@example.com\n", encoding="utf-8")
    runner = TaskRunner()
    dialog = ImportUsersDialog(
        runner,
        services,
        admin,
        choose_file=lambda _parent: str(clean),
        choose_output=lambda _parent: str(tmp_path / "no-such-folder" / "passwords.csv"),
    )
    qtbot.addWidget(dialog)
    dialog.show()
    click(qtbot, dialog, "chooseImportFileButton")
    qtbot.waitUntil(lambda: child(dialog, QPushButton, "importConfirmButton").isEnabled(), timeout=15_000)
    click(qtbot, dialog, "importConfirmButton")
    error = child(dialog, QLabel, "errorLabel")
    qtbot.waitUntil(lambda: not dialog.busy and error.isVisible(), timeout=15_000)
    assert error.text().startswith("The passwords could not be saved")
    assert "reset those accounts' passwords" in error.text()
    assert child(dialog, QLabel, "noticeLabel").text() == "Imported 1 account."
    assert services.admin.get_user(admin, "erin@example.com").must_change_password

    # Saved elsewhere on a second try, from memory: nothing is imported twice.
    elsewhere = tmp_path / "passwords.csv"
    dialog._choose_output = lambda _parent: str(elsewhere)
    click(qtbot, dialog, "savePasswordsButton")
    notice = child(dialog, QLabel, "noticeLabel")
    qtbot.waitUntil(lambda: not dialog.busy and str(elsewhere) in notice.text(), timeout=15_000)
    assert not error.isVisible()
    assert not child(dialog, QPushButton, "savePasswordsButton").isVisible()
    with elsewhere.open(encoding="utf-8", newline="") as rows:
        (entry,) = list(csv.DictReader(rows))
    assert services.accounts.authenticate(
        "erin@example.com", entry["temporary_password"]
    ).must_change_password
    assert services.admin.count_users(admin) == 2
    runner.wait()
