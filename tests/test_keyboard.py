"""Keyboard-only use: every mnemonic shown works and none clashes within a window; the role editor closes
with Escape and Ctrl+W (asking about unsaved changes) and opens where a person expects it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QShortcutEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTabWidget,
    QWidget,
)
from pytestqt.qtbot import QtBot

from desktop_auth.services import Services
from desktop_auth.services.records import Actor, SignInChallenge
from desktop_auth.ui.role_editor.columns import COL_EMAIL, COL_ROLE
from desktop_auth.ui.role_editor.window import RoleEditor
from tests.conftest import register_accounts
from tests.ui_helpers import open_editor
from tests.ui_helpers import start_app as start_app  # the fixture

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


# -- mnemonics ----------------------------------------------------------------------------------------

_MNEMONIC = re.compile(r"(?<!&)&([^&\s])")


def _letter(text: str) -> str | None:
    found = _MNEMONIC.search(text.replace("&&", ""))
    return found.group(1).lower() if found else None


class _Shortcuts(QObject):
    """Records the shortcut events the mnemonic widgets get. A button's is swallowed when it would click
    (not ambiguous): what it would do is not the point, that Alt+letter reaches it is."""

    def __init__(self, widgets: list[QWidget]) -> None:
        super().__init__()
        self.got: list[tuple[QWidget, bool]] = []
        for widget in widgets:
            widget.installEventFilter(self)
        self._widgets = widgets

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Shortcut and isinstance(watched, QWidget):
            assert isinstance(event, QShortcutEvent)
            self.got.append((watched, event.isAmbiguous()))
            return isinstance(watched, QAbstractButton) and not event.isAmbiguous()
        return False

    def remove(self) -> None:
        for widget in self._widgets:
            widget.removeEventFilter(self)


def _mnemonics(window: QWidget) -> dict[str, list[QWidget]]:
    """The visible widgets of ``window`` that show an underlined letter, by letter."""
    found: dict[str, list[QWidget]] = {}
    for widget in window.findChildren(QWidget):
        if not widget.isVisible() or widget.window() is not window:
            continue
        if isinstance(widget, QLabel) and widget.textFormat() != Qt.TextFormat.RichText:
            letter = _letter(widget.text())
            if letter is not None:
                assert widget.buddy() is not None, (
                    f"{window.objectName()}: {widget.text()!r} underlines a letter for nothing"
                )
        elif isinstance(widget, QAbstractButton):
            letter = _letter(widget.text())
        else:
            continue
        if letter is not None:
            found.setdefault(letter, []).append(widget)
    return found


def _reached(widget: QWidget) -> bool:
    if isinstance(widget, QLabel):
        buddy = widget.buddy()
        return buddy is not None and buddy.hasFocus()
    return widget.hasFocus()


def _press(qtbot: QtBot, window: QWidget, letter: str) -> None:
    target = QApplication.focusWidget() or window
    qtbot.keyClick(target, Qt.Key(ord(letter.upper())), Qt.KeyboardModifier.AltModifier)


def check_mnemonics(qtbot: QtBot, window: QWidget, tabs: QTabWidget | None = None) -> list[str]:
    """Alt+letter for every letter ``window`` shows: a label's field gets the focus, a button or check box
    is activated; a letter shown twice (which should not happen) at least cycles through its widgets, as
    Qt does with an ambiguous shortcut. Returns the letters shown twice."""
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    mnemonics = _mnemonics(window)
    tab_letters = {_letter(tabs.tabText(i)) for i in range(tabs.count())} if tabs is not None else set()
    clashes = sorted(
        letter for letter, widgets in mnemonics.items() if len(widgets) > 1 or letter in tab_letters
    )
    spy = _Shortcuts([widget for widgets in mnemonics.values() for widget in widgets])
    try:
        for letter, widgets in mnemonics.items():
            spy.got.clear()
            if not any(widget.isEnabled() for widget in widgets):
                continue  # greyed out: Qt turns its letter off too
            if len(widgets) == 1 and letter not in tab_letters:
                _press(qtbot, window, letter)
                name = widgets[0].objectName() or widgets[0].text()
                assert [got for got, _ in spy.got] == widgets, (
                    f"{window.objectName()}: Alt+{letter} missed {name}"
                )
                if isinstance(widgets[0], QLabel):
                    assert _reached(widgets[0]), (
                        f"{window.objectName()}: Alt+{letter} did not focus {name}'s field"
                    )
                continue
            visited = set()
            for _ in range(len(widgets)):
                _press(qtbot, window, letter)
                visited |= {id(widget) for widget in widgets if _reached(widget)}
            assert visited == {id(widget) for widget in widgets}, (
                f"{window.objectName()}: Alt+{letter} cycles"
            )
    finally:
        spy.remove()
    return clashes


def _dialogs(services: Services, admin: Actor) -> list[QWidget]:
    from desktop_auth.services.records import DeletionTargets
    from desktop_auth.ui.dialogs.about import AboutDialog
    from desktop_auth.ui.dialogs.change_email import ChangeEmailDialog
    from desktop_auth.ui.dialogs.change_password import ChangePasswordDialog
    from desktop_auth.ui.dialogs.create_user import CreateUserDialog
    from desktop_auth.ui.dialogs.delete_account import DeleteAccountDialog
    from desktop_auth.ui.dialogs.delete_users import DeleteUsersDialog
    from desktop_auth.ui.dialogs.first_run import SetupAdminDialog
    from desktop_auth.ui.dialogs.import_users import ImportUsersDialog
    from desktop_auth.ui.dialogs.recovery_codes import RecoveryCodesDialog
    from desktop_auth.ui.dialogs.register import RegisterDialog
    from desktop_auth.ui.dialogs.reset_password import ResetPasswordDialog
    from desktop_auth.ui.dialogs.reset_two_factor import ResetTwoFactorDialog
    from desktop_auth.ui.dialogs.sign_in import LoginDialog
    from desktop_auth.ui.dialogs.temporary_password import TemporaryPasswordDialog
    from desktop_auth.ui.dialogs.totp_code import TotpCodeDialog
    from desktop_auth.ui.dialogs.two_factor_setup import TwoFactorOffDialog, TwoFactorSetupDialog
    from desktop_auth.ui.shell.tasks import TaskRunner

    runner = TaskRunner()
    ada = next(user for user in services.admin.list_users(admin) if user.email == "ada@example.com")
    login = LoginDialog(runner)
    login.set_services(services, registration_open=True)  # as once the database is ready
    return [
        CreateUserDialog(runner, services, admin, ["admin", "user"]),
        DeleteUsersDialog(runner, services, admin, DeletionTargets((ada.id,), (ada.email,))),
        login,
        RegisterDialog(runner, services),
        SetupAdminDialog(runner, services),
        ChangePasswordDialog(runner, services, 1, "someone@example.com"),
        ChangeEmailDialog(runner, services, 1, "someone@example.com"),
        DeleteAccountDialog(runner, services, 1, "someone@example.com"),
        AboutDialog(runner, services),
        TemporaryPasswordDialog(runner, services, admin, {ada.id: ada.version}, ada.email),
        ImportUsersDialog(runner, services, admin),
        ResetPasswordDialog(runner, services),
        RecoveryCodesDialog(runner, services, ada.id),
        RecoveryCodesDialog(runner, services, ada.id, services.recovery.issue_for(admin, ada.email)),
        ResetTwoFactorDialog(runner, services, admin, ada.email),
        TwoFactorSetupDialog(runner, services, user_id=ada.id),
        TwoFactorSetupDialog(runner, services, challenge=_challenge(ada.id, ada.email, enroll=True)),
        TwoFactorOffDialog(runner, services, ada.id),
        TotpCodeDialog(runner, services, _challenge(ada.id, ada.email, enroll=False)),
    ]


def _challenge(user_id: int, email: str, enroll: bool) -> SignInChallenge:
    """A sign-in's second step, as the services hand it over after a right password (two-factor dialogs)."""
    from datetime import UTC, datetime

    return SignInChallenge(user_id, email, enroll, datetime.now(UTC), None, None, 0)


def test_every_mnemonic_works_and_none_clashes_in_the_dialogs(
    qtbot: QtBot, services: Services, admin: Actor
) -> None:
    register_accounts(services, "ada@example.com")
    for dialog in _dialogs(services, admin):
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.waitExposed(dialog)
        if dialog.objectName() == "twoFactorSetupDialog":  # its secret first: Copy and Turn on need it
            qtbot.waitUntil(lambda d=dialog: d.uri is not None and not d.busy, timeout=10_000)
        assert check_mnemonics(qtbot, dialog) == [], dialog.objectName()
        if dialog.objectName() == "temporaryPasswordDialog":  # then the passwords, with their own buttons
            dialog.findChild(QPushButton, "resetButton").click()
            qtbot.waitUntil(
                lambda d=dialog: (
                    d.findChild(QPushButton, "copyAllButton") is not None
                    and d.findChild(QPushButton, "copyAllButton").isVisible()
                ),
                timeout=10_000,
            )
            assert check_mnemonics(qtbot, dialog) == [], "temporary passwords shown"
        if dialog.objectName() == "createUserDialog":  # then the password, with its own buttons
            dialog.findChild(QLineEdit, "emailEdit").setText("new@example.com")
            dialog.findChild(QPushButton, "createUserConfirmButton").click()
            qtbot.waitUntil(
                lambda d=dialog: d.findChild(QPushButton, "copyPasswordButton") is not None, timeout=10_000
            )
            assert check_mnemonics(qtbot, dialog) == [], "temporary password shown"
        dialog.hide()


def test_every_mnemonic_works_in_the_account_window(
    qtbot: QtBot, services: Services, admin: Actor, start_app
) -> None:
    from tests.conftest import STRONG_PASSWORD
    from tests.ui_helpers import sign_in

    controller = start_app(services)
    window = sign_in(qtbot, controller, "root@example.com", STRONG_PASSWORD)
    assert sorted(_mnemonics(window)) == ["a", "c", "d", "e", "h", "l", "o", "r", "t", "y"]
    assert check_mnemonics(qtbot, window) == []


# Letters two controls of the Users tab share, both in role_editor/filter_bar.py: "&Filter:" and "Re&fresh".
KNOWN_CLASHES: dict[str, list[str]] = {}  # none: a clash makes Alt+letter only move the focus


def test_every_mnemonic_works_in_each_tab_of_the_role_editor(
    qtbot: QtBot, services: Services, admin: Actor, open_editor
) -> None:
    editor: RoleEditor = open_editor(admin)
    editor.activateWindow()
    qtbot.waitUntil(editor.isActiveWindow, timeout=5_000)
    tabs = editor.tabs
    for index in range(tabs.count()):
        letter = _letter(tabs.tabText(index))
        assert letter is not None
        _press(qtbot, editor, letter)
        qtbot.waitUntil(lambda i=index: tabs.currentIndex() == i, timeout=2_000)
        title = tabs.tabText(index).replace("&", "")
        editor.settings_tab.reload() if tabs.currentWidget() is editor.settings_tab else None
        assert check_mnemonics(qtbot, editor, tabs) == KNOWN_CLASHES.get(title, []), title
        tabs.setCurrentIndex(index)
