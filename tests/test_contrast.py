"""WCAG 2.2 AA contrast, measured on what Qt actually draws in the light and dark themes: text at 4.5:1
against its background (1.4.3), and focus indicators at 3:1 against the colours next to them (1.4.11),
visible all the way round a control that has keyboard focus (2.4.7)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPalette, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop_auth.ui.shell import theme
from desktop_auth.ui.shell.widgets import styled_label
from tests.pixels import NON_TEXT, TEXT, contrast, over, pixels, strong_changes
from tests.ui_helpers import start_app as start_app  # the fixture

Role = QPalette.ColorRole


@pytest.fixture(params=[Qt.ColorScheme.Light, Qt.ColorScheme.Dark], ids=["light", "dark"])
def themed(request: pytest.FixtureRequest, qapp: QApplication) -> Iterator[QPalette]:
    original = qapp.palette(), qapp.styleSheet(), qapp.property("themeDark")
    theme.apply_theme(qapp, request.param)
    try:
        yield qapp.palette()
    finally:
        qapp.setPalette(original[0])
        qapp.setStyleSheet(original[1])
        qapp.setProperty("themeDark", original[2])


@pytest.mark.parametrize(
    ("text", "background"),
    [
        (Role.WindowText, Role.Window),
        (Role.Text, Role.Base),
        (Role.Text, Role.AlternateBase),
        (Role.PlaceholderText, Role.Base),
        (Role.HighlightedText, Role.Highlight),
        (Role.ButtonText, Role.Button),
        (Role.ToolTipText, Role.ToolTipBase),
        (Role.Link, Role.Window),
    ],
)
def test_palette_text_meets_aa(
    themed: QPalette, text: QPalette.ColorRole, background: QPalette.ColorRole
) -> None:
    back = themed.color(background)
    assert contrast(over(themed.color(text), back), back) >= TEXT


@pytest.mark.parametrize("role", ["error", "subtitle", "value", "title"])
def test_styled_labels_meet_aa(qtbot, themed: QPalette, role: str) -> None:
    """The stylesheet's label colours, read off the rendered glyphs: the strongest pixel is the colour."""
    label = styled_label("Wg Hx 0123 The email address or password is incorrect.", role)
    qtbot.addWidget(label)
    label.show()
    back = themed.color(Role.Window)
    strongest = max(contrast(color, back) for _x, _y, color in pixels(label.grab().toImage()))
    assert strongest >= TEXT


def test_strength_meter_colours_stand_out_from_the_bar(qtbot, themed: QPalette) -> None:
    """Each score's fill against the empty bar: non-text contrast."""
    for score in range(5):
        bar = QProgressBar()
        bar.setObjectName("strengthMeter")
        bar.setTextVisible(False)
        bar.setRange(0, 4)
        bar.setValue(4)  # all fill
        bar.setProperty("score", str(score))
        empty = QProgressBar()
        empty.setObjectName("strengthMeter")
        empty.setTextVisible(False)
        empty.setRange(0, 4)
        empty.setValue(0)
        for widget in (bar, empty):
            qtbot.addWidget(widget)
            widget.resize(200, 14)
            widget.show()
        filled, blank = bar.grab().toImage(), empty.grab().toImage()
        middle = (filled.width() // 2, filled.height() // 2)
        fill, track = filled.pixelColor(*middle), blank.pixelColor(*middle)
        assert contrast(fill, track) >= NON_TEXT, f"score {score}: {fill.name()} on {track.name()}"


def _focus_window(qtbot) -> tuple[QWidget, dict[str, QWidget]]:
    window = QWidget()
    qtbot.addWidget(window)
    model = QStandardItemModel(3, 2, window)
    for row in range(3):
        for column in range(2):
            model.setItem(row, column, QStandardItem(f"cell {row}{column}"))
    table = QTableView()
    table.setModel(model)
    table.setTabKeyNavigation(False)
    combo = QComboBox()
    combo.addItems(["user", "admin"])
    controls: dict[str, QWidget] = {
        "line edit": QLineEdit("ada@example.com"),
        "button": QPushButton("Sign in"),
        "check box": QCheckBox("Remember me"),
        "combo box": combo,
        "table": table,
    }
    layout = QVBoxLayout(window)
    start = QLabel("start")
    start.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    layout.addWidget(start)
    for control in controls.values():
        layout.addWidget(control)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    table.setCurrentIndex(model.index(1, 1))
    table.clearSelection()
    start.setFocus()
    qtbot.waitUntil(start.hasFocus)
    return window, controls


def test_keyboard_focus_is_visible_with_aa_contrast(qtbot, themed: QPalette) -> None:
    """Tab from control to control: the pixels that change on focus contrast 3:1 with the window and the
    field colours next to them, and there are enough of them to go round the control (a 1 px outline;
    for a check box, round its box or its text)."""
    QApplication.setCursorFlashTime(0)  # a steady caret, so "changed" is the focus and not the blink
    window, controls = _focus_window(qtbot)
    unfocused = {name: control.grab().toImage() for name, control in controls.items()}
    for name, control in controls.items():
        # What a focus indicator sits next to: the window outside and the control's own face inside.
        face = {QPushButton: Role.Button, QComboBox: Role.Button, QTableView: Role.AlternateBase}
        adjacent = [
            themed.color(Role.Window),
            themed.color(Role.Base),
            themed.color(face.get(type(control), Role.Base)),
        ]
        if isinstance(control, QTableView):
            adjacent = adjacent[1:]  # a cell sits inside the table, not on the window
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        qtbot.waitUntil(control.hasFocus)
        if isinstance(control, QTableView):
            control.clearSelection()  # the current cell alone, as after moving with Ctrl+arrows
        focused = control.grab().toImage()
        before = unfocused[name]
        strong = strong_changes(focused, before, adjacent)
        if isinstance(control, QTableView):
            cell = control.visualRect(control.currentIndex())
            needed = 2 * (cell.width() + cell.height()) * 0.9
        elif isinstance(control, QCheckBox):
            needed = 4 * 12  # round a 13 px box
        else:
            needed = 2 * (focused.width() + focused.height()) * 0.9
        assert strong >= needed, f"{name}: {strong} pixels show focus at 3:1, {needed:.0f} needed"
    window.close()


def _focused_control(qtbot, window: QWidget) -> QWidget:
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not None, timeout=5_000)
    focused = QApplication.focusWidget()
    assert focused is not None
    assert focused.window() is window, (
        f"{window.objectName()}: the focus is in {focused.window().objectName()}"
    )
    return focused


def _focus_shows(qtbot, themed: QPalette, window: QWidget) -> None:
    """The control that has the focus as ``window`` opens, grabbed focused and then unfocused: the focus
    changes enough pixels at 3:1 to go round it (the measure of the Tab test above)."""
    control = _focused_control(qtbot, window)
    focused = control.grab().toImage()
    control.clearFocus()
    qtbot.waitUntil(lambda: not control.hasFocus())
    # Fusion draws a dialog's default button with the focus outline, focused or not: compared with a plain
    # button, so the outline is still what is measured (a person cannot tell "default" from "focused").
    default = isinstance(control, QPushButton) and control.isDefault()
    if default:
        control.setDefault(False)
    before = control.grab().toImage()
    if default:
        control.setDefault(True)
    face = {QPushButton: Role.Button, QComboBox: Role.Button, QTableView: Role.AlternateBase}
    kind = next((kind for kind in face if isinstance(control, kind)), None)
    adjacent = [
        themed.color(Role.Window),
        themed.color(Role.Base),
        themed.color(face[kind] if kind else Role.Base),
    ]
    strong = strong_changes(focused, before, adjacent)
    needed = 4 * 12 if isinstance(control, QCheckBox) else 2 * (focused.width() + focused.height()) * 0.9
    assert strong >= needed, (
        f"{window.objectName()}: {control.objectName()} shows its focus in {strong} pixels at 3:1, "
        f"{needed:.0f} needed"
    )


def test_the_focus_shows_as_each_window_opens(qtbot, themed: QPalette, services, admin, start_app) -> None:
    """Qt's styles draw a button's focus frame only after the keyboard moved the focus; a window opening
    with the focus on a button (the account window) showed none. Each window and dialog, as it opens."""
    from desktop_auth.ui.dialogs.change_password import ChangePasswordDialog
    from desktop_auth.ui.dialogs.first_run import SetupAdminDialog
    from desktop_auth.ui.dialogs.register import RegisterDialog
    from desktop_auth.ui.dialogs.temporary_password import TemporaryPasswordDialog
    from desktop_auth.ui.shell.tasks import TaskRunner
    from tests.conftest import STRONG_PASSWORD
    from tests.ui_helpers import sign_in

    QApplication.setCursorFlashTime(0)
    controller = start_app(services)
    window = sign_in(qtbot, controller, "root@example.com", STRONG_PASSWORD)
    _focus_shows(qtbot, themed, window)
    window.close()
    runner = TaskRunner()
    for dialog in (
        RegisterDialog(runner, services),
        SetupAdminDialog(runner, services),
        ChangePasswordDialog(runner, services, admin.user_id, "root@example.com"),
        TemporaryPasswordDialog(runner, services, admin, {admin.user_id: 1}, "root@example.com"),
    ):
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.waitExposed(dialog)
        _focus_shows(qtbot, themed, dialog)
        dialog.close()


# -- the theme's own marks: the focus ring and the unsaved edit ---------------------------------------------


def test_the_themes_focus_ring_and_unsaved_edit_colours_meet_3_to_1(themed: QPalette) -> None:
    ring, unsaved = theme.focus_ring_color(), theme.unsaved_edit_color()
    assert ring.name() == ("#60a5fa" if theme.is_dark() else "#1d4ed8")
    for role in (Role.Window, Role.Base, Role.AlternateBase):
        assert contrast(ring, themed.color(role)) >= NON_TEXT, f"focus ring on {role.name}"
    for role in (Role.Base, Role.AlternateBase):  # the table's rows
        assert contrast(unsaved, themed.color(role)) >= NON_TEXT, f"unsaved edit on {role.name}"


def test_the_unsaved_marker_is_drawn_in_the_themes_colour(themed: QPalette) -> None:
    """The dot on a plain row in the theme's unsaved-edit colour, 3:1 on either row colour; on a selected row
    in the highlighted text colour, 3:1 on the highlight."""
    from desktop_auth.ui.role_editor.marker import MARKER_SIZE, unsaved_marker

    def strongest(mode: QIcon.Mode, background: QColor) -> QColor:
        image = unsaved_marker().pixmap(MARKER_SIZE, MARKER_SIZE, mode).toImage()
        shown = [over(color, background) for _x, _y, color in pixels(image) if color.alpha()]
        return max(shown, key=lambda color: contrast(color, background))

    for role in (Role.Base, Role.AlternateBase):
        dot = strongest(QIcon.Mode.Normal, themed.color(role))
        assert dot.name() == theme.unsaved_edit_color().name()
        assert contrast(dot, themed.color(role)) >= NON_TEXT
    highlight = themed.color(Role.Highlight)
    assert contrast(strongest(QIcon.Mode.Selected, highlight), highlight) >= NON_TEXT


def test_the_user_tables_current_cell_frame_uses_the_focus_ring(qtbot, themed: QPalette) -> None:
    """The role editor's table draws its current cell's frame in the theme's focus colour, with a base-
    coloured ring inside: the frame's pixels contrast 3:1 with the rows round it, plain or selected."""
    from desktop_auth.ui.role_editor.columns import HEADERS
    from desktop_auth.ui.role_editor.table_view import UserTableView

    model = QStandardItemModel(3, len(HEADERS))
    for row in range(3):
        for column in range(len(HEADERS)):
            model.setItem(row, column, QStandardItem(f"cell {row}{column}"))
    view = UserTableView(model)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitExposed(view)
    view.activateWindow()
    qtbot.waitUntil(view.isActiveWindow)
    view.setCurrentIndex(model.index(1, 1))
    for selected, adjacent in ((False, [Role.Base, Role.AlternateBase]), (True, [Role.Highlight])):
        view.clearSelection()
        if selected:
            view.selectRow(1)
            view.setCurrentIndex(model.index(1, 1))
        view.clearFocus()
        qtbot.waitUntil(lambda: not view.hasFocus())
        cell = view.visualRect(model.index(1, 1))
        before = view.viewport().grab(cell).toImage()
        view.setFocus()
        qtbot.waitUntil(view.hasFocus)
        focused = view.viewport().grab(cell).toImage()
        colours = {focused.pixelColor(x, y).name() for x, y, _ in pixels(focused)}
        assert theme.focus_ring_color().name() in colours, "drawn in the focus colour"
        strong = strong_changes(focused, before, [themed.color(role) for role in adjacent])
        needed = 2 * (cell.width() + cell.height()) * 0.9
        assert strong >= needed, (
            f"selected={selected}: {strong} pixels frame the cell at 3:1, {needed:.0f} needed"
        )
