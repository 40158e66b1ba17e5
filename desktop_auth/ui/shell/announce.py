"""Telling a screen reader what a message label says: the text goes on the label, and an announcement
(``QAccessibleAnnouncementEvent``, Qt 6.8+: AT-SPI ``object:announcement``, UIA notification, NSAccessibility
announcement) carries it to the screen reader at once, wherever the focus is.

A message label keeps no ``accessibleName``: a label's name is its text, so the screen reader reads the
message, not the word "Error". Code that changes a message label's text announces it too (``show_message``,
or ``announce`` after a settling timer for a status that changes in bursts).

Qt is imported inside the functions: the sign-in dialog imports this module before its first paint, and
an announcement is only ever made later.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

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
