"""Small builders every window uses: styled labels, buttons with an accessible name, a busy indicator; the
accessibility tree put in the order of the layout; and ``AppWindow``, the mixin of every window and dialog
(where it opens, and a visible focus from the start)."""

from __future__ import annotations

from typing import cast

from PySide6.QtCore import QObject, QPoint, QRect
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QLabel,
    QLayout,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QWidget,
)

from desktop_auth.ui.shell import settings_store
from desktop_auth.ui.shell.theme import icon


class AppWindow(settings_store.RestoresGeometry):
    """Mixin for the app's windows and dialogs (before the Qt class in the bases).

    Where it opens: the first time it shows, where it was last time (``settings_store``), unless that is off
    every screen now; otherwise a dialog is centred on its parent by Qt, and a main window here, over the
    window that was active (the one it was opened from) or else on its screen, instead of at 0,0.

    Focus visible from the start: Qt's styles draw the focus frame of a button or check box only once the
    keyboard has moved the focus (``WA_KeyboardFocusChange`` on the window), so a window opening with the
    focus on a button showed none. The attribute is set as it shows. A text field shows its focus without it
    (its caret and frame), and the sign-in dialog opens on one: it is left alone there, as naming a Qt flag
    before the first window costs PySide's whole Qt enum namespace (see shell/qt_values.py).
    """

    def setVisible(self, visible: bool) -> None:
        widget = cast(QWidget, self)
        if visible and not widget.property("geometryRestored"):
            widget.setProperty("geometryRestored", "yes")
            restored = settings_store.restore_geometry(widget) and _on_a_screen(widget.geometry())
            if not restored and not isinstance(widget, QDialog):
                _centre(widget)
        super().setVisible(visible)
        if visible:
            grow_to_fit(widget)  # tall enough for its wrapped text at this width (a long translation too)
        if visible and widget.findChild(_FirstFocusShown) is None:
            _FirstFocusShown(widget)


class _FirstFocusShown(QObject):
    """Once the focus arrives in ``window`` (as it is activated: Qt clears WA_KeyboardFocusChange then, so it
    cannot be set any earlier), have the style draw it, unless it is in a text field."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self._window = window
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        self._app = app
        app.focusChanged.connect(self._focus_changed)
        self._focus_changed(None, app.focusWidget())  # it may have arrived as the window was shown

    def _focus_changed(self, _old: QWidget | None, new: QWidget | None) -> None:
        if new is None or new.window() is not self._window:
            return
        self._app.focusChanged.disconnect(self._focus_changed)
        self.setParent(None)
        self.deleteLater()
        if not isinstance(new, QLineEdit):
            show_focus(self._window)


def show_focus(window: QWidget) -> None:
    """Have the style draw the focus frame of ``window``'s controls, as after a Tab."""
    from PySide6.QtCore import Qt

    window.setAttribute(Qt.WidgetAttribute.WA_KeyboardFocusChange)


def _on_a_screen(geometry: QRect) -> bool:
    """Whether the top of a window (where its title bar is) shows on one of the screens."""
    top = QRect(geometry.x(), geometry.y(), geometry.width(), min(geometry.height(), 40))
    for screen in QApplication.screens():
        seen = screen.availableGeometry().intersected(top)
        if seen.width() >= min(100, geometry.width()) and not seen.isEmpty():
            return True
    return False


def _centre(widget: QWidget) -> None:
    """Centre ``widget`` over its parent's window or the active window, or else on its screen, kept inside
    that screen."""
    from PySide6.QtCore import Qt

    if not widget.testAttribute(Qt.WidgetAttribute.WA_Resized):
        widget.adjustSize()
    parent = widget.parentWidget()
    over = parent.window() if parent is not None else QApplication.activeWindow()
    screen = (over or widget).screen().availableGeometry()
    target = over.frameGeometry() if over is not None and over is not widget else screen
    placed = QRect(QPoint(0, 0), widget.size())
    placed.moveCenter(target.center())
    placed.moveLeft(max(screen.left(), min(placed.left(), screen.right() - placed.width())))
    placed.moveTop(max(screen.top(), min(placed.top(), screen.bottom() - placed.height())))
    widget.move(placed.topLeft())


def styled_label(text: str, role: str, object_name: str | None = None) -> QLabel:
    label = QLabel(text)
    label.setProperty("role", role)
    label.setWordWrap(True)
    if object_name:
        label.setObjectName(object_name)
    if role == "value" and QGuiApplication.isRightToLeft():
        # A value beside its caption: a wrapping label aligns by its text's own direction, so an address or
        # a version (Latin letters) sat at the far left of a right-to-left form, away from its caption.
        from PySide6.QtCore import Qt

        label.setAlignment(
            Qt.AlignmentFlag.AlignAbsolute | Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        )
    return label


def grow_to_fit(widget: QWidget) -> None:
    """Make ``widget``'s window tall enough for what it now shows, at its width: a message that wraps onto
    more lines grows the dialog instead of being clipped. Call it after changing a label's text.

    Qt sizes a window from its layout's minimum, which leaves out how tall a wrapping label gets at the
    window's width (height-for-width); so a window that opened short clips a long message. Its width stays
    the person's."""
    window = widget.window()
    layout = window.layout()
    if layout is None or not window.isVisible():  # not shown yet: Qt sizes it from its hints as it shows
        return
    layout.activate()
    needed = layout.totalMinimumSize().height()
    if layout.hasHeightForWidth():
        needed = max(needed, layout.totalHeightForWidth(window.width()))
    if window.height() < needed:
        window.resize(window.width(), needed)


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
