"""Keyboard-only use: every mnemonic shown works and none clashes within a window; the role editor closes
with Escape and Ctrl+W (asking about unsaved changes) and opens where a person expects it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from desktop_auth.services import Services
from desktop_auth.services.records import Actor
from desktop_auth.ui.role_editor.columns import COL_EMAIL, COL_ROLE
from desktop_auth.ui.role_editor.window import RoleEditor
from tests.conftest import register_accounts
from tests.ui_helpers import open_editor

pytestmark = pytest.mark.usefixtures("isolated_qsettings")
__all__ = ["open_editor"]  # a fixture, used by name


def _activate(qtbot: QtBot, window: RoleEditor) -> None:
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)


def test_the_role_editor_closes_with_escape_and_ctrl_w_asking_about_unsaved_changes(
    qtbot: QtBot, services: Services, admin: Actor, open_editor, monkeypatch: pytest.MonkeyPatch
) -> None:
    register_accounts(services, "ada@example.com")
    asked: list[str] = []
    answer = [QMessageBox.StandardButton.Cancel]

    def question(_parent: object, title: str, text: str, *_args: object) -> QMessageBox.StandardButton:
        asked.append(text)
        return answer[0]

    monkeypatch.setattr(QMessageBox, "question", question)
    editor: RoleEditor = open_editor(admin)
    _activate(qtbot, editor)
    model = editor.model
    ada = next(
        row for row in range(model.rowCount()) if model.index(row, COL_EMAIL).data() == "ada@example.com"
    )
    model.setData(model.index(ada, COL_ROLE), "admin", Qt.ItemDataRole.EditRole)
    editor.table.setFocus()
    qtbot.waitUntil(editor.table.hasFocus)

    qtbot.keyClick(editor.table, Qt.Key.Key_Escape)
    assert asked == ["1 change is not saved. Save before closing?"]
    assert editor.isVisible(), "Cancel keeps it open"
    qtbot.keyClick(editor.table, Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier)
    assert len(asked) == 2
    assert editor.isVisible()

    answer[0] = QMessageBox.StandardButton.Discard
    with qtbot.waitSignal(editor.closed, timeout=5_000):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Escape)
    assert not editor.isVisible()
    assert not model.pending


def test_ctrl_w_closes_the_role_editor_without_asking_when_nothing_is_unsaved(
    qtbot: QtBot, admin: Actor, open_editor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(QMessageBox, "question", lambda *_args: pytest.fail("nothing to ask about"))
    editor: RoleEditor = open_editor(admin)
    _activate(qtbot, editor)
    with qtbot.waitSignal(editor.closed, timeout=5_000):
        qtbot.keyClick(editor.table, Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier)


PLACEMENT_DRIVER = """
import json, os, sys
from PySide6.QtCore import QElapsedTimer
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication([])
from desktop_auth.config import Settings
from desktop_auth.services import Services
from desktop_auth.services.records import Actor
from desktop_auth.ui.role_editor.window import RoleEditor
from desktop_auth.ui.shell import settings_store
from desktop_auth.ui.shell.tasks import TaskRunner

settings = Settings(database_url=sys.argv[1], hash_method="pbkdf2:sha256:1000", allow_weak_hash_for_tests=True)
services, runner, actor = Services(settings), TaskRunner(), Actor(1, "root@example.com")
opener = QMainWindow()
opener.setObjectName("opener")
opener.setGeometry(640, 330, 520, 300)
opener.show()
opener.activateWindow()
clock = QElapsedTimer()
clock.start()
while not opener.isActiveWindow() and clock.elapsed() < 5000:
    app.processEvents()
seen = {"screen": app.primaryScreen().availableGeometry().getRect(), "opener": opener.frameGeometry().getRect()}

def editor():
    window = RoleEditor(runner, services, actor)
    window.show()
    return window

first = editor()
seen["first"] = first.frameGeometry().getRect()
first.move(-5000, -4000)  # the screen it was on is gone
settings_store.save_geometry(first)
first.close_without_asking()
second = editor()
seen["after off-screen"] = second.frameGeometry().getRect()
second.move(130, 90)
settings_store.save_geometry(second)
second.close_without_asking()
seen["remembered"] = editor().pos().toTuple()
print("PLACED", json.dumps(seen), flush=True)
os._exit(0)
"""


def test_the_role_editor_opens_centred_on_the_window_it_came_from_and_never_off_screen(
    services: Services, admin: Actor, tmp_path: Path
) -> None:
    """On a 1920x1080 screen (the offscreen platform's, configured: its default is smaller than the
    editor), in a process of its own."""
    screens = tmp_path / "screens.json"
    screens.write_text(
        json.dumps({"screens": [{"name": "wide", "x": 0, "y": 0, "width": 1920, "height": 1080, "dpr": 1}]})
    )
    url = services.database.engine.url.render_as_string(hide_password=False)
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": f"offscreen:configfile={screens}",
        "XDG_CONFIG_HOME": str(tmp_path),
        "DESKTOP_AUTH_LOG_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-c", PLACEMENT_DRIVER, url], capture_output=True, text=True, timeout=60, env=env
    )
    line = next((line for line in result.stdout.splitlines() if line.startswith("PLACED ")), None)
    assert line is not None, result.stderr
    seen = json.loads(line.removeprefix("PLACED "))
    sx, sy, sw, sh = seen["screen"]
    ox, oy, ow, oh = seen["opener"]
    x, y, w, h = seen["first"]
    assert (sw, sh) == (1920, 1080)
    assert abs((x + w / 2) - (ox + ow / 2)) <= 2, seen
    assert abs((y + h / 2) - (oy + oh / 2)) <= 2, seen
    x, y, w, h = seen["after off-screen"]  # the frame: its 1 px border may sit on the screen's edge
    assert sx - 2 <= x <= sx + sw + 2 - w, f"brought back onto the screen: {seen}"
    assert sy - 2 <= y <= sy + sh + 2 - h, f"brought back onto the screen: {seen}"
    assert seen["remembered"] == [130, 90], "a remembered place on the screen wins"
