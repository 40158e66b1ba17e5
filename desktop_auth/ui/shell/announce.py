"""Telling a screen reader what a message label says: the text goes on the label, and an announcement
(``QAccessibleAnnouncementEvent``, Qt 6.8+: AT-SPI ``object:announcement``, UIA notification, NSAccessibility
announcement) carries it to the screen reader at once, wherever the focus is.

A message label keeps no ``accessibleName``: a label's name is its text, so the screen reader reads the
message, not the word "Error". ``watch_label`` does the same for a label whose text other code sets.

Qt is imported inside the functions: the sign-in dialog imports this module before its first paint, and
an announcement is only ever made later.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QTimer

if TYPE_CHECKING:
    from PySide6.QtWidgets import QLabel


def announce(source: QObject, text: str, assertive: bool = False) -> None:
    """Have screen readers speak ``text`` now. ``assertive`` interrupts what they are saying (errors);
    otherwise the message waits its turn (progress, confirmations)."""
    if not text:
        return
    from PySide6.QtGui import QAccessible, QAccessibleAnnouncementEvent

    event = QAccessibleAnnouncementEvent(source, text)
    if assertive:
        event.setPoliteness(QAccessible.AnnouncementPoliteness.Assertive)
    QAccessible.updateAccessibility(event)


def show_message(label: QLabel, text: str, assertive: bool = True) -> None:
    """Show ``text`` on ``label`` (hidden when empty) and announce it."""
    label.setText(text)
    label.setVisible(bool(text))
    announce(label, text, assertive)


class LabelWatcher(QObject):
    """Announces the text of a label that other code changes (it has no signal for that): once the label
    is shown or repainted with a text it has not announced yet, after ``delay_ms`` so a burst of changes
    is spoken once, with its last text."""

    def __init__(self, label: QLabel, assertive: bool, delay_ms: int) -> None:
        super().__init__(label)
        self._label = label
        self._assertive = assertive
        self._spoken = label.text() if label.isVisible() else ""
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self._speak)
        label.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.Hide:
            self._spoken = ""  # shown again with the same text, it is news again
        elif kind in (QEvent.Type.Show, QEvent.Type.Paint) and self._label.text() != self._spoken:
            self._timer.start()
        return False

    def _speak(self) -> None:
        text = self._label.text()
        if text == self._spoken or not self._label.isVisible():
            return
        self._spoken = text
        announce(self._label, text, self._assertive)


def watch_label(label: QLabel, assertive: bool = False, delay_ms: int = 0) -> LabelWatcher:
    """Announce ``label``'s text whenever it changes while shown (a live region), and expose the text as
    its name (any ``accessibleName`` is cleared: it would hide the message)."""
    label.setAccessibleName("")
    return LabelWatcher(label, assertive, delay_ms)
