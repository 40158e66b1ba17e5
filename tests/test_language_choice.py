"""The account window's ``languageCombo`` (issue #19): the choice is remembered on this computer, installed at
once, and the windows are built again in it without ending the session; DESKTOP_AUTH_LANGUAGE still wins."""

from __future__ import annotations

import gc
import threading
import weakref
from collections.abc import Callable, Iterator

import pytest
import shiboken6
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QComboBox, QLabel, QMainWindow, QPushButton
from pytestqt.qtbot import QtBot

from desktop_auth.services import Services
from desktop_auth.services.records import Actor
from desktop_auth.ui.account_window import AccountWindow
from desktop_auth.ui.shell import i18n
from desktop_auth.ui.shell.controller import AppController
from tests.conftest import STRONG_PASSWORD, register_accounts
from tests.ui_helpers import child, click, front, login_ready, sign_in
from tests.ui_helpers import start_app as start_app  # the fixture

pytestmark = pytest.mark.usefixtures("isolated_qsettings")


@pytest.fixture(autouse=True)
def english_again(qapp: QApplication, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No DESKTOP_AUTH_LANGUAGE from outside; English again afterwards, for the tests that follow."""
    monkeypatch.delenv(i18n.LANGUAGE_ENV, raising=False)
    yield
    i18n.install(qapp, i18n.ENGLISH)


def choose(combo: QComboBox, code: str) -> None:
    """Pick the item of ``code`` ("" for the system's) as a person does (currentIndexChanged follows)."""
    index = combo.findData(code)
    assert index >= 0, f"no item for {code!r}"
    combo.setCurrentIndex(index)


def rebuilt(qtbot: QtBot, controller: AppController, old: QMainWindow) -> AccountWindow:
    qtbot.waitUntil(lambda: controller.window is not None and controller.window is not old, timeout=10_000)
    window = front(qtbot, controller, "accountWindow")
    assert isinstance(window, AccountWindow)
    assert window is controller.window
    qtbot.waitUntil(lambda: not shiboken6.isValid(old), timeout=10_000)  # closed and deleted
    return window


def test_choosing_deutsch_saves_it_and_rebuilds_the_windows_in_the_same_session(
    qtbot: QtBot, services: Services, admin: Actor, start_app: Callable[..., AppController]
) -> None:
    controller = start_app(services)
    old_login = controller.login
    window = sign_in(qtbot, controller, "root@example.com", STRONG_PASSWORD)
    combo = child(window, QComboBox, "languageCombo")
    items = [(combo.itemText(index), combo.itemData(index)) for index in range(combo.count())]
    assert items == [("System default", ""), ("English", "en"), ("Deutsch", "de"), ("العربية", "ar")]
    assert combo.currentData() == "", "nothing saved yet: the system's"
    caption = next(label for label in window.findChildren(QLabel) if label.buddy() is combo)
    assert caption.text() == "&Language:"
    assert window.findChild(QLabel, "languageNote") is None, "no environment variable: no note"

    # The role editor, open meanwhile, closes the normal way (no unsaved edits: without a question).
    click(qtbot, window, "roleEditorButton")
    qtbot.waitUntil(
        lambda: controller.role_editor is not None and controller.role_editor.isVisible(), timeout=15_000
    )
    window.resize(window.width() + 37, window.height() + 23)
    geometry = window.geometry()

    editor = weakref.ref(controller.role_editor)
    choose(combo, "de")
    # A garbage collection on another thread before Qt's deferred deletes of the closed windows (a worker's
    # allocation can trigger one at any time) must not free them there: PySide would delete the window on
    # that thread (that crashed in CI). They are held until Qt deletes them, on the GUI thread.
    collector = threading.Thread(target=gc.collect)
    collector.start()
    collector.join()
    assert editor() is not None, "the closed role editor was freed by another thread's garbage collection"
    qtbot.waitUntil(lambda: editor() is None or not shiboken6.isValid(editor()), timeout=10_000)
    assert QSettings().value(i18n.LANGUAGE_KEY) == "de"
    assert i18n.current_language() == "de"
    assert controller.role_editor is None
    new = rebuilt(qtbot, controller, window)
    assert new.user.email == "root@example.com", "still signed in, as the same person"
    assert new.geometry().topLeft() == geometry.topLeft(), "in the same place"
    assert new.height() == geometry.height()
    # As wide as before, or wider where the German words need it (the layout grows, never clips).
    assert geometry.width() <= new.width() <= max(geometry.width(), new.minimumSizeHint().width())
    assert child(new, QComboBox, "languageCombo").currentData() == "de"
    assert controller.login is not old_login, "the sign-in dialog is built again too"
    assert not controller.login.isVisible()

    # The session goes on in the new window: signing out there reaches the new sign-in dialog, ready.
    click(qtbot, new, "signOutButton")
    login = login_ready(qtbot, controller)
    assert login is controller.login
    assert i18n.current_language() == "de"


def test_arabic_lays_the_app_out_right_to_left_and_the_system_default_forgets_the_choice(
    qtbot: QtBot,
    services: Services,
    admin: Actor,
    qapp: QApplication,
    start_app: Callable[..., AppController],
) -> None:
    register_accounts(services, "ada@example.com")
    controller = start_app(services)
    window = sign_in(qtbot, controller, "ada@example.com", STRONG_PASSWORD)

    choose(child(window, QComboBox, "languageCombo"), "ar")
    assert QSettings().value(i18n.LANGUAGE_KEY) == "ar"
    assert i18n.current_language() == "ar"
    assert qapp.layoutDirection() == Qt.LayoutDirection.RightToLeft
    arabic = rebuilt(qtbot, controller, window)
    assert arabic.layoutDirection() == Qt.LayoutDirection.RightToLeft
    assert child(arabic, QPushButton, "signOutButton").isVisible()

    choose(child(arabic, QComboBox, "languageCombo"), "")
    assert not QSettings().contains(i18n.LANGUAGE_KEY), "the system default is no saved choice"
    assert i18n.current_language() == i18n.system_language()
    if i18n.system_language() != "ar":
        back = rebuilt(qtbot, controller, arabic)
        assert child(back, QComboBox, "languageCombo").currentData() == ""
        assert qapp.layoutDirection() == back.layoutDirection() == Qt.LayoutDirection.LeftToRight


def test_the_environment_variable_overrides_the_saved_choice(
    qtbot: QtBot,
    services: Services,
    admin: Actor,
    monkeypatch: pytest.MonkeyPatch,
    start_app: Callable[..., AppController],
) -> None:
    i18n.save_language("ar")
    monkeypatch.setenv(i18n.LANGUAGE_ENV, "de")
    assert i18n.chosen_language() == "de"
    monkeypatch.setenv(i18n.LANGUAGE_ENV, "klingon")
    assert i18n.chosen_language() == "ar", "a language we do not speak is ignored"
    monkeypatch.setenv(i18n.LANGUAGE_ENV, "de")

    # The account window says so under the choice, which is still saved.
    register_accounts(services, "ada@example.com")
    controller = start_app(services)
    window = sign_in(qtbot, controller, "ada@example.com", STRONG_PASSWORD)
    note = child(window, QLabel, "languageNote")
    assert note.isVisible()
    assert "DESKTOP_AUTH_LANGUAGE" in note.text()
    combo = child(window, QComboBox, "languageCombo")
    assert combo.currentData() == "ar"
    choose(combo, "en")
    assert QSettings().value(i18n.LANGUAGE_KEY) == "en"
    assert i18n.current_language() == "de", "the environment variable decides for now"
