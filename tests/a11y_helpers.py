"""Helpers for what screen readers get and how windows are laid out (shared by the UI test modules): the
announcements the app sends (``Announcement``, the ``announced`` fixture), the name a screen reader reads
(``name_of``), labels smaller than their text (``clipped``) and the ``themed`` fixture (light and dark)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import pytest
from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAccessible, QAccessibleAnnouncementEvent, QAccessibleEvent
from PySide6.QtWidgets import QApplication, QLabel, QWidget

from desktop_auth.ui.shell import theme


class Announcement(NamedTuple):
    source: QObject
    text: str
    assertive: bool


@pytest.fixture
def announced(monkeypatch: pytest.MonkeyPatch) -> list[Announcement]:
    """Every announcement the app makes, in order (still passed on to Qt)."""
    heard: list[Announcement] = []
    original = QAccessible.updateAccessibility

    def update(event: QAccessibleEvent) -> None:
        if isinstance(event, QAccessibleAnnouncementEvent):
            assertive = event.politeness() == QAccessible.AnnouncementPoliteness.Assertive
            heard.append(Announcement(event.object(), event.message(), assertive))
        original(event)

    monkeypatch.setattr(QAccessible, "updateAccessibility", staticmethod(update))
    return heard


def name_of(widget: QWidget) -> str:
    """The name a screen reader reads for ``widget``."""
    interface = QAccessible.queryAccessibleInterface(widget)
    assert interface is not None
    return str(interface.text(QAccessible.Text.Name))


def clipped(dialog: QWidget) -> list[str]:
    """The visible labels smaller than their text needs: a wrapping label shorter than its height for its
    width, any label narrower or shorter than its minimum."""
    found = []
    for label in dialog.findChildren(QLabel):
        if not label.isVisible() or not label.text():
            continue
        need = label.minimumSizeHint()
        short = label.height() < (label.heightForWidth(label.width()) if label.wordWrap() else need.height())
        if short or label.width() < need.width():
            found.append(
                f"{label.objectName() or label.text()!r}: {label.size().toTuple()}, needs {need.toTuple()}"
            )
    return found


@pytest.fixture(params=[Qt.ColorScheme.Light, Qt.ColorScheme.Dark], ids=["light", "dark"])
def themed(request: pytest.FixtureRequest, qapp: QApplication) -> Iterator[None]:
    """The app's light and dark themes, each in turn; the palette and style sheet are put back after."""
    original = qapp.palette(), qapp.styleSheet(), qapp.property("themeDark")
    theme.apply_theme(qapp, request.param)
    yield
    qapp.setPalette(original[0])
    qapp.setStyleSheet(original[1])
    qapp.setProperty("themeDark", original[2])
