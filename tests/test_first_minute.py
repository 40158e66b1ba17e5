"""The first minute (issue #16): typing into the sign-in dialog while the database is still being asked
which form is needed, and quitting with Escape before it has answered.

The database check is held back by a gate (a ``threading.Event`` the settings loader waits on, on the
worker), so "while the check is pending" is a state the test controls, not a race it hopes to win.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit
from pytestqt.qtbot import QtBot

from desktop_auth.config import Settings
from desktop_auth.services import Services
from desktop_auth.ui.dialogs.first_run import SetupAdminDialog
from desktop_auth.ui.shell.controller import AppController
from desktop_auth.ui.shell.tasks import QuittingError, TaskRunner
from tests.conftest import STRONG_PASSWORD
from tests.ui_helpers import child, front, login_ready, press_enter, put_away_codes, type_into
from tests.ui_helpers import start_app as start_app  # the fixture

pytestmark = pytest.mark.usefixtures("isolated_qsettings")

EMAIL = "Admin@Example.com"


@pytest.fixture
def gate() -> Iterator[threading.Event]:
    opened = threading.Event()
    yield opened
    opened.set()  # a failed test never leaves the loader waiting


@pytest.fixture
def slow_start(
    qtbot: QtBot, services: Services, start_app: Callable[..., AppController], gate: threading.Event
) -> Callable[[], AppController]:
    """The app, its database check held until the gate opens (which it does before ``start_app`` waits
    for the app's jobs at teardown)."""

    def settings() -> Settings:
        assert gate.wait(30), "the test never opened the gate"
        return services.settings

    def start() -> AppController:
        controller = start_app(services, settings)
        qtbot.waitUntil(lambda: controller.runner.pending == 1)  # the check is under way, held at the gate
        assert controller.login.isVisible()
        assert not controller.login.ready
        return controller

    return start


def visible_text_anywhere() -> list[str]:
    """Every text a person could read on screen: labels, and line edits that do not mask their text."""
    texts = []
    for window in QApplication.topLevelWidgets():
        if not window.isVisible():
            continue
        for edit in window.findChildren(QLineEdit):
            if edit.echoMode() == QLineEdit.EchoMode.Normal:
                texts.append(edit.text())
        texts.extend(label.text() for label in window.findChildren(QLabel))
        texts.append(window.windowTitle())
    return texts


def assert_password_nowhere_in_clear(password: str) -> None:
    leaks = [text for text in visible_text_anywhere() if password[:6] in text]
    assert not leaks, f"the password is readable on screen: {leaks}"


def setup_dialog(qtbot: QtBot, controller: AppController) -> SetupAdminDialog:
    dialog = front(qtbot, controller, "setupAdminDialog")
    assert isinstance(dialog, SetupAdminDialog)
    return dialog


def test_what_was_typed_moves_into_the_setup_form_in_the_same_fields(
    qtbot: QtBot, services: Services, slow_start: Callable[[], AppController], gate: threading.Event
) -> None:
    controller = slow_start()
    login = controller.login
    assert login.focusWidget() is login.email_edit
    qtbot.keyClicks(login.email_edit, EMAIL)
    qtbot.keyClick(login.email_edit, Qt.Key.Key_Tab)
    assert login.focusWidget() is login.password_edit
    qtbot.keyClicks(login.password_edit, STRONG_PASSWORD[:12])
    qtbot.keyClick(login.password_edit, Qt.Key.Key_Left)
    qtbot.keyClick(login.password_edit, Qt.Key.Key_Left)
    assert not login.ready, "the check was still pending while the person typed"

    gate.set()
    setup = setup_dialog(qtbot, controller)

    assert not login.isVisible()
    assert login.password_edit.text() == "", "no copy of the password is left in the hidden sign-in form"
    assert setup.email_edit.text() == EMAIL
    assert setup.password_edit.text() == STRONG_PASSWORD[:12]
    assert setup.password_edit.echoMode() == QLineEdit.EchoMode.Password
    assert setup.confirm_edit.echoMode() == QLineEdit.EchoMode.Password
    assert_password_nowhere_in_clear(STRONG_PASSWORD)
    # The cursor is where it was: the next keys go on into the password, two characters from its end.
    assert setup.focusWidget() is setup.password_edit
    assert setup.password_edit.cursorPosition() == 10
    qtbot.keyClicks(setup.focusWidget(), "!")
    assert setup.password_edit.text() == STRONG_PASSWORD[:10] + "!" + STRONG_PASSWORD[10:12]
    assert child(setup, QLabel, "noticeLabel").isVisible()
    assert services.accounts.needs_first_admin(), "nothing was submitted"


def test_a_selection_and_the_email_field_carry_over_too(
    qtbot: QtBot, slow_start: Callable[[], AppController], gate: threading.Event
) -> None:
    controller = slow_start()
    login = controller.login
    qtbot.keyClicks(login.email_edit, "admin@example.org")
    login.email_edit.setSelection(17, -3)  # "org" selected, the cursor before it (shift+left three times)
    gate.set()
    setup = setup_dialog(qtbot, controller)
    assert setup.focusWidget() is setup.email_edit
    assert setup.email_edit.selectedText() == "org"
    assert setup.email_edit.cursorPosition() == 14
    qtbot.keyClicks(setup.email_edit, "com")
    assert setup.email_edit.text() == "admin@example.com"
    assert setup.password_edit.text() == ""


def test_enter_pressed_while_the_check_is_pending_submits_nothing(
    qtbot: QtBot, services: Services, slow_start: Callable[[], AppController], gate: threading.Event
) -> None:
    controller = slow_start()
    login = controller.login
    type_into(qtbot, login, "emailEdit", EMAIL)
    type_into(qtbot, login, "passwordEdit", STRONG_PASSWORD)
    press_enter(qtbot, login, "passwordEdit")  # sign in as soon as the database is there...
    assert login.busy

    gate.set()  # ...which says there is no account at all
    setup = setup_dialog(qtbot, controller)
    controller.runner.wait()
    assert not setup.busy
    assert setup.submit_button.isEnabled()
    assert not child(setup, QLabel, "errorLabel").isVisible()
    shown = [label.text() for label in setup.findChildren(QLabel) if label.objectName().endswith("Error")]
    assert not [text for text in shown if text], "no field was checked as on a submission"
    assert services.accounts.needs_first_admin(), "neither a sign-in nor the administrator was attempted"
    assert (setup.email_edit.text(), setup.password_edit.text()) == (EMAIL, STRONG_PASSWORD)
    assert_password_nowhere_in_clear(STRONG_PASSWORD)
    # The focus had left the disabled fields: it goes to the first empty one, the confirmation.
    assert setup.focusWidget() is setup.confirm_edit


def test_keys_still_addressed_to_the_hidden_sign_in_form_reach_the_new_form_but_enter_does_not(
    qtbot: QtBot, services: Services, slow_start: Callable[[], AppController], gate: threading.Event
) -> None:
    """The window system may deliver a few keys to the old window after the swap, before the new one has
    the keyboard: typing goes on into the new form's focused field; Enter, meant for the sign-in form,
    must not press the new form's default button."""
    controller = slow_start()
    login = controller.login
    type_into(qtbot, login, "emailEdit", EMAIL)
    type_into(qtbot, login, "passwordEdit", STRONG_PASSWORD[:-4])
    gate.set()
    setup = setup_dialog(qtbot, controller)

    qtbot.keyClicks(login.password_edit, STRONG_PASSWORD[-4:])  # in flight to the old window
    assert setup.password_edit.text() == STRONG_PASSWORD
    assert login.password_edit.text() == ""
    type_into(qtbot, setup, "confirmPasswordEdit", STRONG_PASSWORD)  # now the form could be submitted
    qtbot.keyClick(login.password_edit, Qt.Key.Key_Return)
    qtbot.keyClick(login.password_edit, Qt.Key.Key_Enter)
    assert not setup.busy, "an Enter meant for the sign-in form submitted the new form"
    assert services.accounts.needs_first_admin()
    quits: list[int] = []
    controller.finished.connect(quits.append)
    qtbot.keyClick(login.password_edit, Qt.Key.Key_Escape)
    assert setup.isVisible(), "an Escape meant for the sign-in form closed the new form"
    assert quits == [], "an Escape meant for the sign-in form quit the app"

    press_enter(qtbot, setup, "confirmPasswordEdit")  # the person's own Enter, in the new form, does
    put_away_codes(qtbot, setup)
    front(qtbot, controller, "accountWindow")
    assert not services.accounts.needs_first_admin()


def test_back_on_the_sign_in_form_its_keys_are_its_own_again(
    qtbot: QtBot, services: Services, slow_start: Callable[[], AppController], gate: threading.Event
) -> None:
    """Another client creates the administrator first: submitting the setup form leads back to sign-in,
    which then takes its own typing (the forwarding ended)."""
    controller = slow_start()
    qtbot.keyClicks(controller.login.email_edit, EMAIL)
    gate.set()
    setup = setup_dialog(qtbot, controller)
    services.accounts.create_first_admin("root@example.com", STRONG_PASSWORD)
    type_into(qtbot, setup, "passwordEdit", STRONG_PASSWORD)
    type_into(qtbot, setup, "confirmPasswordEdit", STRONG_PASSWORD)
    press_enter(qtbot, setup, "confirmPasswordEdit")
    login = login_ready(qtbot, controller)
    assert login is controller.login
    type_into(qtbot, login, "emailEdit", "root@example.com")
    type_into(qtbot, login, "passwordEdit", STRONG_PASSWORD)
    assert login.email_edit.text() == "root@example.com"
    assert login.password_edit.text() == STRONG_PASSWORD
    press_enter(qtbot, login, "passwordEdit")
    front(qtbot, controller, "accountWindow")


def test_when_accounts_exist_the_sign_in_form_stays_with_what_was_typed(
    qtbot: QtBot, services: Services, slow_start: Callable[[], AppController], gate: threading.Event
) -> None:
    services.accounts.create_first_admin("root@example.com", STRONG_PASSWORD)
    controller = slow_start()
    login = controller.login
    qtbot.keyClicks(login.email_edit, "root@example.com")
    qtbot.keyClick(login.email_edit, Qt.Key.Key_Tab)
    qtbot.keyClicks(login.password_edit, STRONG_PASSWORD[:8])
    qtbot.keyClick(login.password_edit, Qt.Key.Key_Home)
    gate.set()
    assert login_ready(qtbot, controller) is login
    assert controller.current is login
    assert login.isVisible()
    assert (login.email_edit.text(), login.password_edit.text()) == ("root@example.com", STRONG_PASSWORD[:8])
    assert login.password_edit.echoMode() == QLineEdit.EchoMode.Password
    assert login.focusWidget() is login.password_edit
    assert login.password_edit.cursorPosition() == 0
    assert not [w for w in QApplication.topLevelWidgets() if w.objectName() == "setupAdminDialog"]
    qtbot.keyClick(login.password_edit, Qt.Key.Key_End)
    qtbot.keyClicks(login.password_edit, STRONG_PASSWORD[8:])
    press_enter(qtbot, login, "passwordEdit")
    front(qtbot, controller, "accountWindow")


def test_enter_while_the_check_is_pending_signs_in_once_it_answers_accounts_exist(
    qtbot: QtBot, services: Services, slow_start: Callable[[], AppController], gate: threading.Event
) -> None:
    services.accounts.create_first_admin("root@example.com", STRONG_PASSWORD)
    controller = slow_start()
    type_into(qtbot, controller.login, "emailEdit", "root@example.com")
    type_into(qtbot, controller.login, "passwordEdit", STRONG_PASSWORD)
    press_enter(qtbot, controller.login, "passwordEdit")
    gate.set()
    window = front(qtbot, controller, "accountWindow")
    assert child(window, QLabel, "emailValue").text() == "root@example.com"


def test_escape_while_a_sign_in_waits_for_the_database_quits(
    qtbot: QtBot, services: Services, slow_start: Callable[[], AppController], gate: threading.Event
) -> None:
    controller = slow_start()
    type_into(qtbot, controller.login, "emailEdit", EMAIL)
    type_into(qtbot, controller.login, "passwordEdit", STRONG_PASSWORD)
    press_enter(qtbot, controller.login, "passwordEdit")
    assert controller.login.busy
    with qtbot.waitSignal(controller.finished, timeout=5_000) as quit_:
        qtbot.keyClick(controller.login.password_edit, Qt.Key.Key_Escape)
    assert quit_.args == [0]
    controller.shutdown()  # as the app does next: it does not wait for the loader, still held at the gate
    assert not gate.is_set()


# -- quitting: the runner ------------------------------------------------------------------------------


def test_shutdown_does_not_wait_for_abandonable_work_and_drops_its_outcome(qtbot: QtBot) -> None:
    runner = TaskRunner()
    gate, delivered = threading.Event(), list[object]()
    runner.run(lambda: gate.wait(30), delivered.append, delivered.append, abandon_at_exit=True)
    assert runner.shutdown(10_000), "shutdown waited for nothing it had to"
    gate.set()
    assert runner.wait(10_000)
    qtbot.waitUntil(lambda: runner.pending == 0)
    QApplication.processEvents()
    assert delivered == [], "an outcome after shutdown is dropped: the windows that asked are closing"


def test_shutdown_waits_for_a_section_that_must_finish(qtbot: QtBot) -> None:
    runner = TaskRunner()
    inside, gate, events = threading.Event(), threading.Event(), []

    def upgrade() -> None:
        with runner.finish_before_exit():
            inside.set()
            assert gate.wait(30)
            events.append("upgraded")
        assert gate.wait(30)

    runner.run(upgrade, lambda _r: None, lambda _e: None, abandon_at_exit=True)
    assert inside.wait(10)
    quitting = threading.Thread(target=lambda: events.append(f"shut down {runner.shutdown(30_000)}"))
    quitting.start()
    gate.set()
    quitting.join(30)
    assert events == ["upgraded", "shut down True"]
    runner.wait(10_000)


def test_a_section_that_must_finish_is_not_begun_once_quitting_has_started(qtbot: QtBot) -> None:
    runner = TaskRunner()
    assert runner.shutdown(10_000)
    begun = []
    with pytest.raises(QuittingError), runner.finish_before_exit():
        begun.append("upgrade")
    assert begun == []


def test_shutdown_still_waits_for_ordinary_jobs(qtbot: QtBot) -> None:
    runner = TaskRunner()
    events: list[str] = []
    started, gate = threading.Event(), threading.Event()

    def save() -> None:
        started.set()
        assert gate.wait(30)
        events.append("saved")

    runner.run(save, lambda _r: None, lambda _e: None)
    assert started.wait(10)
    quitting = threading.Thread(target=lambda: events.append(f"shut down {runner.shutdown(30_000)}"))
    quitting.start()
    gate.set()
    quitting.join(30)
    assert events == ["saved", "shut down True"]


# -- quitting: the real process ------------------------------------------------------------------------

ESCAPE_DRIVER = """
import sys
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from desktop_auth import app as app_module
from desktop_auth.ui.shell.theme import make_application

make_application(sys.argv[0])
press_enter_first = sys.argv[1] == "enter"

def escape():
    for widget in QApplication.topLevelWidgets():
        if widget.objectName() == "loginDialog" and widget.isVisible():
            assert not widget.ready, "the database answered: it was meant to hang"
            if press_enter_first:
                QTest.keyClicks(widget.email_edit, "admin@example.com")
                QTest.keyClicks(widget.password_edit, "violet-tundra-quartz-88-lagoon")
                QTest.keyClick(widget.password_edit, Qt.Key.Key_Return)
                assert widget.busy
            print("escape", flush=True)
            QTest.keyClick(widget.focusWidget() or widget, Qt.Key.Key_Escape)
            return
    QTimer.singleShot(10, escape)

QTimer.singleShot(0, escape)
code = app_module.main(sys.argv[2:])
print("exit", code, flush=True)
sys.exit(code)
"""


@pytest.mark.parametrize("first", ["escape", "enter"])
def test_escape_during_a_slow_load_exits_cleanly(first: str, tmp_path: Path) -> None:
    """A server that accepts the connection and never answers (timeouts of 120 s): Escape on the sign-in
    dialog ends the process with exit code 0 and no traceback, without waiting for the loader. (How fast
    is bench/quit.py's business; the subprocess timeout here only says it did not wait the 120 s out.)"""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        url = f"mysql+pymysql://root:@127.0.0.1:{port}/none?connect_timeout=120&read_timeout=120"
        env = {
            **os.environ,
            "QT_QPA_PLATFORM": "offscreen",
            "XDG_CONFIG_HOME": str(tmp_path),
            "XDG_DATA_HOME": str(tmp_path),
            "DESKTOP_AUTH_LOG_DIR": str(tmp_path),
        }
        result = subprocess.run(
            [sys.executable, "-c", ESCAPE_DRIVER, first, "--database-url", url],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
    assert "escape" in result.stdout, result.stderr[-3000:]
    assert result.returncode == 0, result.stderr[-3000:]
    assert "exit 0" in result.stdout
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert "Fatal" not in result.stderr, result.stderr[-3000:]


EXIT_DRIVER = """
import atexit, sys, threading
from PySide6.QtCore import QCoreApplication
from desktop_auth.ui.shell import tasks

class Finalized:
    def __del__(self):  # runs when Python tears __main__ down
        print("python finalized", flush=True)

witness = Finalized()
app = QCoreApplication([])
runner = tasks.TaskRunner()
gate = threading.Event()
if sys.argv[1] == "abandoned":
    runner.run(lambda: gate.wait(60), print, print, abandon_at_exit=True)
runner.shutdown(10_000)
print("left running", runner.left_running, flush=True)
if runner.left_running:  # as desktop_auth.app.main does
    tasks.end_process_at_exit(3)
atexit.register(lambda: print("atexit ran", flush=True))
print("unflushed", end="")  # a pipe is block-buffered: only a flush at exit writes it
sys.exit(3)
"""


@pytest.mark.parametrize("left", ["abandoned", "nothing"])
def test_a_process_leaving_a_job_running_ends_before_python_finalizes_and_keeps_its_exit_status(
    left: str,
) -> None:
    """With a job left running, the process ends once the atexit handlers have run and its output is
    flushed, before Python's teardown (which crashed under a thread still importing) and the C libraries'
    (which crashed under a thread connecting), with the same exit status; without, nothing changes."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run(
        [sys.executable, "-c", EXIT_DRIVER, left], capture_output=True, text=True, timeout=60, env=env
    )
    assert result.returncode == 3, result.stderr[-3000:]
    assert f"left running {left == 'abandoned'}" in result.stdout
    assert "atexit ran" in result.stdout
    assert "unflushed" in result.stdout
    assert ("python finalized" in result.stdout) == (left == "nothing")
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
