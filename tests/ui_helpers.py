"""Helpers for driving the real widgets the way a person does, and for starting the app and walking it to
a given window (shared by the UI test modules)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QLineEdit, QMainWindow, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from desktop_auth.config import Settings
from desktop_auth.services import Services
from desktop_auth.services.records import Actor
from desktop_auth.ui.dialogs.sign_in import LoginDialog
from desktop_auth.ui.role_editor.window import RoleEditor
from desktop_auth.ui.shell.controller import AppController
from desktop_auth.ui.shell.tasks import TaskRunner

W = TypeVar("W", bound=QWidget)


def child(parent: QWidget, kind: type[W], name: str) -> W:
    found = parent.findChild(kind, name)
    assert found is not None, f"{parent.objectName()} has no {kind.__name__} named {name!r}"
    return found


def type_into(qtbot: QtBot, parent: QWidget, name: str, text: str) -> None:
    edit = child(parent, QLineEdit, name)
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClick(edit, Qt.Key.Key_Delete)
    qtbot.keyClicks(edit, text)


def press_enter(qtbot: QtBot, parent: QWidget, field: str) -> None:
    qtbot.keyClick(child(parent, QLineEdit, field), Qt.Key.Key_Return)


def click(qtbot: QtBot, parent: QWidget, name: str) -> None:
    push = child(parent, QPushButton, name)
    assert push.isVisible(), f"{name} is not visible"
    assert push.isEnabled(), f"{name} is disabled"
    qtbot.mouseClick(push, Qt.MouseButton.LeftButton)


@pytest.fixture
def start_app(qtbot: QtBot) -> Iterator[Callable[..., AppController]]:
    controllers: list[AppController] = []

    def start(services: Services | None, settings: Settings | None = None, **options: Any) -> AppController:
        assert services is not None or settings is not None
        controller = AppController(settings or services.settings, services, **options)  # type: ignore[union-attr]
        controllers.append(controller)
        controller.start()
        qtbot.addWidget(controller.login)
        return controller

    yield start
    for controller in controllers:
        controller.runner.wait()
        qtbot.waitUntil(lambda c=controller: c.runner.pending == 0, timeout=10_000)
        for widget in (controller.window, controller.current):
            if isinstance(widget, QWidget) and widget is not controller.login:
                with contextlib.suppress(RuntimeError):  # already deleted
                    widget.close()


def front(qtbot: QtBot, controller: AppController, object_name: str) -> QWidget:
    qtbot.waitUntil(
        lambda: (
            isinstance(controller.current, QWidget)
            and controller.current.objectName() == object_name
            and controller.current.isVisible()
        ),
        timeout=10_000,
    )
    widget = controller.current
    assert isinstance(widget, QWidget)
    return widget


def login_ready(qtbot: QtBot, controller: AppController) -> QDialog:
    dialog = front(qtbot, controller, "loginDialog")
    assert isinstance(dialog, LoginDialog)
    qtbot.waitUntil(
        lambda: dialog.ready and child(dialog, QPushButton, "signInButton").isEnabled(), timeout=10_000
    )
    return dialog


def sign_in(qtbot: QtBot, controller: AppController, email: str, password: str) -> QMainWindow:
    dialog = login_ready(qtbot, controller)
    type_into(qtbot, dialog, "emailEdit", email)
    type_into(qtbot, dialog, "passwordEdit", password)
    press_enter(qtbot, dialog, "passwordEdit")
    window = front(qtbot, controller, "accountWindow")
    assert isinstance(window, QMainWindow)
    return window


def fill_new_account(
    qtbot: QtBot, dialog: QWidget, email: str, password: str, confirm: str | None = None
) -> None:
    type_into(qtbot, dialog, "emailEdit", email)
    type_into(qtbot, dialog, "passwordEdit", password)
    type_into(qtbot, dialog, "confirmPasswordEdit", password if confirm is None else confirm)


@pytest.fixture
def open_editor(qtbot: QtBot, services: Services) -> Iterator[Callable[[Actor], RoleEditor]]:
    editors: list[tuple[RoleEditor, TaskRunner]] = []

    def open_(actor: Actor) -> RoleEditor:
        runner = TaskRunner()
        editor = RoleEditor(runner, services, actor)
        # Unsaved edits would make closing ask (and wait for an answer) when a failed test leaves them.
        qtbot.addWidget(editor, before_close_func=lambda widget: widget.model.discard())
        editor.show()
        editors.append((editor, runner))
        qtbot.waitUntil(
            lambda: editor.model.total is not None and not editor.model.loading and editor.roles_loaded,
            timeout=15_000,
        )
        return editor

    yield open_
    for editor, runner in editors:
        editor.model.discard()
        runner.wait()


def settle(qtbot: QtBot, editor: RoleEditor) -> None:
    qtbot.waitUntil(lambda: editor.model.total is not None and not editor.model.loading, timeout=15_000)


def put_away_codes(qtbot: QtBot, form: QWidget) -> list[str]:
    """A new account's first recovery codes, shown over ``form`` (registration, the first run): copied, then
    the dialog closed, as a person keeping them would. Returns the codes shown."""
    from PySide6.QtWidgets import QPlainTextEdit

    qtbot.waitUntil(lambda: form.findChild(QDialog, "recoveryCodesDialog") is not None, timeout=10_000)
    codes = form.findChild(QDialog, "recoveryCodesDialog")
    assert codes is not None
    qtbot.waitUntil(lambda: codes.findChild(QPlainTextEdit, "recoveryCodesView") is not None, timeout=10_000)
    shown = child(codes, QPlainTextEdit, "recoveryCodesView").toPlainText().split("\n")
    click(qtbot, codes, "copyCodesButton")
    click(qtbot, codes, "closeButton")
    return shown


def change_own_password(qtbot: QtBot, window: QWidget, current: str, new: str) -> None:
    """Change password from the account window, as a person does: the button, the three fields, the dialog's
    button; returns once the dialog has closed."""
    import shiboken6

    click(qtbot, window, "changePasswordButton")
    qtbot.waitUntil(lambda: window.findChild(QDialog, "changePasswordDialog") is not None, timeout=10_000)
    change = window.findChild(QDialog, "changePasswordDialog")
    assert change is not None
    qtbot.waitUntil(change.isVisible)
    type_into(qtbot, change, "currentPasswordEdit", current)
    type_into(qtbot, change, "passwordEdit", new)
    type_into(qtbot, change, "confirmPasswordEdit", new)
    click(qtbot, change, "changePasswordButton")
    qtbot.waitUntil(lambda: not shiboken6.isValid(change) or not change.isVisible(), timeout=10_000)
