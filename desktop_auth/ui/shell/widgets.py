"""Small builders every window uses: styled labels, buttons with an accessible name, a busy indicator; and
the accessibility tree put in the order of the layout."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QLayout, QProgressBar, QPushButton, QWidget

from desktop_auth.ui.shell.theme import icon


def styled_label(text: str, role: str, object_name: str | None = None) -> QLabel:
    label = QLabel(text)
    label.setProperty("role", role)
    label.setWordWrap(True)
    if object_name:
        label.setObjectName(object_name)
    return label


def busy_indicator(accessible_name: str) -> QProgressBar:
    """A hidden, indefinite progress bar (``busyIndicator``) to show while work runs."""
    bar = QProgressBar()
    bar.setObjectName("busyIndicator")
    bar.setAccessibleName(accessible_name)
    bar.setRange(0, 0)
    bar.setTextVisible(False)
    bar.hide()
    return bar


def button(text: str, object_name: str, accessible_name: str, icon_name: str | None = None) -> QPushButton:
    push = QPushButton(text)
    push.setObjectName(object_name)
    push.setAccessibleName(accessible_name)
    if icon_name:
        push.setIcon(icon(icon_name))
    return push


def _laid_out(layout: QLayout, parent: QWidget, found: list[QWidget]) -> None:
    for index in range(layout.count()):
        item = layout.itemAt(index)
        if item is None:
            continue
        widget, inner = item.widget(), item.layout()
        if widget is not None and widget.parentWidget() is parent:
            found.append(widget)
        elif inner is not None:
            _laid_out(inner, parent, found)


def order_children_as_laid_out(parent: QWidget) -> None:
    """Put ``parent``'s child widgets in the order its layout shows them (rows top to bottom, a row's
    label before its field), which is the order screen readers walk: they follow the children's order,
    which is the order the widgets were put in, e.g. a form's rows after the buttons built before them.
    Call it once the layout is complete (raising a child moves it to the end of the list)."""
    layout = parent.layout()
    if layout is None:
        return
    found: list[QWidget] = []
    _laid_out(layout, parent, found)
    for widget in found:
        widget.raise_()
