"""Helpers for driving the real widgets the way a person does."""

from __future__ import annotations

from typing import TypeVar

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit, QPushButton, QWidget
from pytestqt.qtbot import QtBot

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
