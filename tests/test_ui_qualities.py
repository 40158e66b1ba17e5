"""Qualities of the desktop app: responsiveness, keyboard use, accessibility, the entry point."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import QElapsedTimer, Qt, QTimer
from PySide6.QtWidgets import QAbstractButton, QCheckBox, QLabel, QLineEdit, QWidget
from pytestqt.qtbot import QtBot

from desktop_auth.services import Services
from desktop_auth.ui.dialogs.change_password import ChangePasswordDialog
from desktop_auth.ui.dialogs.first_run import SetupAdminDialog
from desktop_auth.ui.dialogs.register import RegisterDialog
from desktop_auth.ui.dialogs.sign_in import LoginDialog
from desktop_auth.ui.shell.controller import AppController
from desktop_auth.ui.shell.tasks import TaskRunner
from tests.conftest import STRONG_PASSWORD
from tests.ui_helpers import child, front, login_ready, type_into

pytestmark = pytest.mark.usefixtures("isolated_qsettings")


class GapMeter:
    """Ticks a 5 ms timer and records the longest gap between ticks: how long the event loop stalled."""

    def __init__(self) -> None:
        self.clock = QElapsedTimer()
        self.timer = QTimer()
        self.timer.setInterval(5)
        self.timer.timeout.connect(self._tick)
        self.last = 0
        self.longest = 0

    def _tick(self) -> None:
        now = self.clock.elapsed()
        self.longest = max(self.longest, now - self.last)
        self.last = now

    def __enter__(self) -> GapMeter:
        self.clock.start()
        self.timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.timer.stop()


@pytest.mark.slow
def test_event_loop_keeps_ticking_during_a_real_sign_in(qtbot: QtBot, make_services) -> None:
    """The real default hash (scrypt, ~0.3 s) runs on a worker: the GUI thread never stalls over 50 ms."""
    services = make_services(hash_method="scrypt:131072:8:1")
    services.accounts.create_first_admin("root@example.com", STRONG_PASSWORD)
    services.accounts.authenticate("root@example.com", STRONG_PASSWORD)  # warm the connection and dummy hash
    controller = AppController(services.settings, services)
    controller.start()
    qtbot.addWidget(controller.login)
    login = login_ready(qtbot, controller)
    type_into(qtbot, login, "emailEdit", "root@example.com")
    type_into(qtbot, login, "passwordEdit", STRONG_PASSWORD)
    started = time.perf_counter()
    with GapMeter() as meter:
        qtbot.keyClick(child(login, QLineEdit, "passwordEdit"), Qt.Key.Key_Return)
        window = front(qtbot, controller, "accountWindow")
    elapsed = time.perf_counter() - started
    assert elapsed > 0.1, "the real hash was used"
    print(f"sign-in took {elapsed:.2f} s; longest event-loop gap {meter.longest} ms")
    assert meter.longest < 50, f"the event loop stalled for {meter.longest} ms"
    window.close()
    controller.shutdown()


def _dialogs(qtbot: QtBot, services: Services) -> list[QWidget]:
    runner = TaskRunner()
    dialogs: list[QWidget] = [
        LoginDialog(runner),
        RegisterDialog(runner, services),
        SetupAdminDialog(runner, services),
        ChangePasswordDialog(runner, services, 1, "someone@example.com"),
    ]
    for dialog in dialogs:
        qtbot.addWidget(dialog)
    return dialogs


def test_every_control_is_named_and_every_field_labelled(qtbot: QtBot, services: Services) -> None:
    for dialog in _dialogs(qtbot, services):
        assert dialog.accessibleName(), dialog.objectName()
        for control in dialog.findChildren(QLineEdit) + dialog.findChildren(QAbstractButton):
            assert control.accessibleName(), (
                f"{dialog.objectName()}: {control.objectName()} has no accessibleName"
            )
        buddies = {label.buddy() for label in dialog.findChildren(QLabel) if label.buddy() is not None}
        for edit in dialog.findChildren(QLineEdit):
            assert edit in buddies, f"{dialog.objectName()}: {edit.objectName()} has no label tied to it"
        mnemonics = [label.text() for label in dialog.findChildren(QLabel) if label.buddy() is not None]
        assert all("&" in text for text in mnemonics), mnemonics
        # A label's accessible name is its text: an accessibleName on a text label (e.g. "Error" on the
        # form-wide message) would hide what it says from screen readers. Only images are named.
        for label in dialog.findChildren(QLabel):
            if label.pixmap().isNull():
                assert not label.accessibleName(), (
                    f"{dialog.objectName()}: {label.objectName()} hides its text behind {label.accessibleName()!r}"
                )


def test_tab_order_follows_the_form(qtbot: QtBot, services: Services) -> None:
    runner = TaskRunner()
    dialog = RegisterDialog(runner, services)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    order = []
    widget = child(dialog, QLineEdit, "emailEdit")
    widget.setFocus()
    for _ in range(6):
        order.append(widget.objectName())
        widget = widget.nextInFocusChain()
        while not (widget.focusPolicy() & Qt.FocusPolicy.TabFocus) or not widget.isVisible():
            widget = widget.nextInFocusChain()
    assert order == [
        "emailEdit",
        "passwordEdit",
        "confirmPasswordEdit",
        "showPasswordCheck",
        "registerButton",
        "cancelButton",
    ]


def test_show_password_toggle_and_escape(qtbot: QtBot, services: Services) -> None:
    runner = TaskRunner()
    dialog = RegisterDialog(runner, services)
    qtbot.addWidget(dialog)
    dialog.show()
    password = child(dialog, QLineEdit, "passwordEdit")
    assert password.echoMode() == QLineEdit.EchoMode.Password
    child(dialog, QCheckBox, "showPasswordCheck").setChecked(True)
    assert password.echoMode() == QLineEdit.EchoMode.Normal
    assert child(dialog, QLineEdit, "confirmPasswordEdit").echoMode() == QLineEdit.EchoMode.Normal
    with qtbot.waitSignal(dialog.rejected, timeout=2_000):
        qtbot.keyClick(password, Qt.Key.Key_Escape)


def test_window_geometry_is_remembered(qtbot: QtBot, services: Services) -> None:
    runner = TaskRunner()
    first = LoginDialog(runner)
    qtbot.addWidget(first)
    first.show()
    first.resize(640, 420)
    first.done(0)
    second = LoginDialog(runner)
    qtbot.addWidget(second)
    second.show()
    assert second.size().width() == 640


MAIN_DRIVER = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from desktop_auth import app as app_module

existing = QApplication([])
seen = []

def close_sign_in():
    for widget in QApplication.topLevelWidgets():
        if widget.objectName() == "loginDialog" and widget.isVisible() and widget.ready:
            seen.append(widget.objectName())
            widget.reject()  # Escape / closing the window quits the app
            return
    QTimer.singleShot(50, close_sign_in)

QTimer.singleShot(50, close_sign_in)
code = app_module.main(["--database-url", sys.argv[1]])
print("exit", code, "same-app", QApplication.instance() is existing, "seen", seen)
"""


def test_main_entry_point_reuses_the_application_and_returns_the_exit_code(
    services: Services, tmp_path: Path
) -> None:
    """``main(argv)`` drives the real app on an existing QApplication; closing sign-in returns 0.

    Run in its own process: a QApplication whose exec() has returned is not one later tests should share.
    """
    import os
    import subprocess
    import sys

    services.accounts.create_first_admin("root@example.com", STRONG_PASSWORD)
    url = services.database.engine.url.render_as_string(hide_password=False)
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "DESKTOP_AUTH_HASH_METHOD": "pbkdf2:sha256:1000",
        "XDG_CONFIG_HOME": str(tmp_path),
        "DESKTOP_AUTH_LOG_DIR": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-c", MAIN_DRIVER, url], capture_output=True, text=True, timeout=60, env=env
    )
    assert result.returncode == 0, result.stderr
    assert "exit 0 same-app True seen ['loginDialog']" in result.stdout


def test_every_window_and_dialog_remembers_where_it_was(qtbot: QtBot) -> None:
    from PySide6.QtWidgets import QMainWindow

    from desktop_auth.ui.account_window import AccountWindow
    from desktop_auth.ui.dialogs.form import FormDialog
    from desktop_auth.ui.role_editor.window import RoleEditor
    from desktop_auth.ui.shell import settings_store

    for window_class in (FormDialog, AccountWindow, RoleEditor):
        assert issubclass(window_class, settings_store.RestoresGeometry), window_class

    class Remembering(settings_store.RestoresGeometry, QMainWindow):
        pass

    first = Remembering()
    first.setObjectName("rememberingWindow")
    qtbot.addWidget(first)
    first.show()
    first.resize(700, 480)
    settings_store.save_geometry(first)
    first.close()
    second = Remembering()
    second.setObjectName("rememberingWindow")
    qtbot.addWidget(second)
    second.show()
    assert (second.width(), second.height()) == (700, 480)


def _string_literals(path: Path) -> list[tuple[int, str]]:
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    ]


def test_no_message_says_s_in_brackets() -> None:
    """Counts agree with their nouns ("1 user", "2 users", shell/words.count), never "user(s)": every string
    literal (f-strings' text parts too, docstrings aside) in ui/ and services/."""
    root = Path(__file__).resolve().parents[1] / "desktop_auth"
    found = [
        f"{path.relative_to(root)}:{line}: {text!r}"
        for folder in ("ui", "services")
        for path in sorted((root / folder).rglob("*.py"))
        for line, text in _string_literals(path)
        if "(s)" in text
    ]
    assert not found, "\n".join(found)


def test_counted_words_agree() -> None:
    from desktop_auth.ui.shell.words import count

    assert [count(n, "user") for n in (0, 1, 2, 1500)] == ["0 users", "1 user", "2 users", "1,500 users"]
    assert count(1, "unsaved change") == "1 unsaved change"
    assert count(3, "entry", "entries") == "3 entries"


def test_passwords_do_not_match_waits_for_a_pause_or_leaving_the_field(
    qtbot: QtBot, services: Services
) -> None:
    """Not said on each keystroke of a half-typed confirmation: after a pause in typing, or at once when the
    person leaves the field; cleared the moment the two match."""
    dialog = RegisterDialog(TaskRunner(), services)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    error = child(dialog, QLabel, "confirmPasswordEditError")
    type_into(qtbot, dialog, "passwordEdit", STRONG_PASSWORD)
    type_into(qtbot, dialog, "confirmPasswordEdit", STRONG_PASSWORD[:5])
    assert not error.isVisible(), "not while the person is typing"
    qtbot.waitUntil(error.isVisible, timeout=3_000)  # they paused
    assert error.text() == "The passwords do not match."
    qtbot.keyClicks(child(dialog, QLineEdit, "confirmPasswordEdit"), STRONG_PASSWORD[5:])
    assert not error.isVisible(), "a match clears it at once"

    qtbot.keyClick(child(dialog, QLineEdit, "confirmPasswordEdit"), Qt.Key.Key_Backspace)
    assert not error.isVisible()
    qtbot.keyClick(child(dialog, QLineEdit, "confirmPasswordEdit"), Qt.Key.Key_Tab)  # leaves the field
    assert error.isVisible()
    assert error.text() == "The passwords do not match."
