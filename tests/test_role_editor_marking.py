"""Which rows the role editor marks as unsaved, and how it tells it: a staged bulk change marks exactly the
users the database snapshotted (asked with each page), however they were selected (ranges across pages,
rows left out) and whatever filter is on screen since; unsaved edits reach screen readers (the cells'
accessible names and descriptions, read through QAccessible), stay visible on a selected row, and the
current cell has a frame that shows. Both backends, real widgets, offscreen."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtCore import QModelIndex, QPoint, Qt
from PySide6.QtGui import QAccessible, QAccessibleInterface, QColor, QIcon, QImage, QPalette
from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QTableView
from pytestqt.qtbot import QtBot
from sqlalchemy import inspect

from desktop_auth.db.engine import Database
from desktop_auth.services import Services
from desktop_auth.services.records import Actor, BulkSelection, SortKey, UserQuery
from desktop_auth.ui.role_editor.columns import COL_ACTIVE, COL_EMAIL, COL_ROLE
from desktop_auth.ui.role_editor.marker import unsaved_marker
from desktop_auth.ui.role_editor.table_model import PENDING_ROLE
from desktop_auth.ui.role_editor.window import RoleEditor
from desktop_auth.ui.shell.theme import focus_ring_color, unsaved_edit_color
from tests.conftest import register_accounts, seed_users
from tests.ui_helpers import child, click, open_editor, settle, type_into

pytestmark = pytest.mark.usefixtures("isolated_qsettings")
__all__ = ["open_editor"]  # a fixture, used by name

SEEDED = 1500  # eight pages of 200: a range across them is not held, so it is staged as a bulk change
# Sorted by email, root@example.com is row 0 and seed{n} is row n + 1.
FIRST, LAST, LEFT_OUT = 10, 1250, 1221  # shift-click from row 10 to row 1250, ctrl-click row 1221 out


def seed_email(row: int) -> str:
    return f"seed{row - 1:07d}@example.com"


def in_change(row: int) -> bool:
    return FIRST <= row <= LAST and row != LEFT_OUT


# -- the service: a page says which of its users a staged change is for -----------------------------------


def test_a_page_says_which_users_a_staged_change_is_for(
    services: Services, admin: Actor, database: Database
) -> None:
    seed_users(database, 300)
    runs = ((FIRST, 120), (150, 160))  # rows of the email order
    staged = services.bulk.stage(
        admin,
        BulkSelection(UserQuery(), runs=runs, excluded=frozenset(), included=frozenset()),
        role="admin",
    )
    left_out = services.admin.get_user(admin, seed_email(100)).id
    services.bulk.exclude(admin, staged.id, [left_out])

    def chosen(row: int) -> bool:
        return any(start <= row < stop for start, stop in runs) and row != 100

    page = services.admin.user_page(admin, UserQuery(), 0, 200, pending_change_id=staged.id)
    assert len(page.records) == len(page.in_change) == 200
    expected = [chosen(row) for row in range(200)]
    assert page.in_change == expected
    assert page.records == services.admin.list_users(admin, UserQuery(), 0, 200), "the same rows"

    # Another filter and order: the same users are in it, wherever they are shown.
    other = UserQuery(search="seed00001", prefix=True, sort=SortKey.CREATED, descending=True)
    shown = services.admin.user_page(admin, other, 0, 200, pending_change_id=staged.id)
    assert len(shown.records) == 100
    assert {r.email for r, member in zip(shown.records, shown.in_change, strict=True) if member} == {
        seed_email(row) for row in range(1, 301) if chosen(row) and seed_email(row).startswith("seed00001")
    }

    plain = services.admin.user_page(admin, UserQuery(), 0, 20)
    assert plain.in_change == [False] * 20, "no change asked about"
    services.bulk.discard(admin, staged.id)
    gone = services.admin.user_page(admin, UserQuery(), 0, 20, pending_change_id=staged.id)
    assert not any(gone.in_change)


def test_the_membership_question_is_answered_by_the_primary_key(database: Database) -> None:
    """One lookup per row: bulk_change_member's primary key starts with (change_id, user_id)."""
    with database.transaction() as session:
        key = inspect(session.connection()).get_pk_constraint("bulk_change_member")
    assert key["constrained_columns"] == ["change_id", "user_id"]


# -- the editor: a range across pages, then another filter ---------------------------------------------------


def _click_row(qtbot: QtBot, table: QTableView, row: int, modifier: Qt.KeyboardModifier) -> None:
    index = table.model().index(row, COL_EMAIL)
    table.scrollTo(index)
    qtbot.waitUntil(lambda: index.data() not in (None, "…"), timeout=15_000)
    center = table.visualRect(index).center()
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, modifier, center)


def _marks(editor: RoleEditor, rows: range) -> list[object]:
    return [editor.model.index(row, COL_ROLE).data(PENDING_ROLE) for row in rows]


def _wait_marks(qtbot: QtBot, editor: RoleEditor, rows: range, expected: Callable[[int], bool]) -> None:
    """Scroll to ``rows`` and wait until they are loaded, asked about the staged change, and marked."""
    table = editor.users_tab.table
    table.scrollTo(editor.model.index(rows.start, COL_EMAIL), QTableView.ScrollHint.PositionAtTop)
    want = [expected(row) for row in rows]
    qtbot.waitUntil(lambda: _marks(editor, rows) == want and not editor.model.loading, timeout=15_000)
    assert _marks(editor, rows) == want


@pytest.fixture
def range_staged(
    qtbot: QtBot, admin: Actor, database: Database, open_editor: Callable[[Actor], RoleEditor]
) -> RoleEditor:
    """The editor on SEEDED users, rows FIRST to LAST selected by a click and a shift-click pages apart, row
    LEFT_OUT ctrl-clicked out of them, and the admin role set on them: staged, not saved."""
    seed_users(database, SEEDED)
    editor = open_editor(admin)
    users = editor.users_tab
    table = users.table
    table.setFocus()
    _wait_marks(qtbot, editor, range(0, 40), lambda _row: False)  # page 0 held before the change
    _click_row(qtbot, table, FIRST, Qt.KeyboardModifier.NoModifier)
    _click_row(qtbot, table, LAST, Qt.KeyboardModifier.ShiftModifier)
    _click_row(qtbot, table, LEFT_OUT, Qt.KeyboardModifier.ControlModifier)
    selection = users.selection()
    assert selection.runs == ((FIRST, LEFT_OUT), (LEFT_OUT + 1, LAST + 1))
    assert editor.model.cache.records_in(selection) is None, "not all held: staged as a bulk change"
    child(users, QComboBox, "bulkRoleCombo").setCurrentText("admin")
    click(qtbot, users, "setRoleButton")
    qtbot.waitUntil(lambda: editor.model.pending.bulk is not None, timeout=15_000)
    assert editor.model.pending.bulk.selection.runs == selection.runs  # type: ignore[union-attr]
    return editor


def test_a_range_across_pages_is_marked_on_every_page(
    qtbot: QtBot, qtmodeltester, range_staged: RoleEditor
) -> None:
    editor = range_staged
    model = editor.model
    status = child(editor, QLabel, "statusLabel").text()
    assert f"role → admin for {LAST - FIRST:,} selected users" in status
    # Page 0 was held before the change was staged: asked again, its rows inside the range are marked.
    _wait_marks(qtbot, editor, range(0, 40), in_change)
    for start in range(0, SEEDED + 1, 100):  # every page, scrolled to in turn
        _wait_marks(qtbot, editor, range(start, min(start + 40, SEEDED + 1)), in_change)
    _wait_marks(qtbot, editor, range(LEFT_OUT - 15, LEFT_OUT + 15), in_change)  # the row left out: not
    _wait_marks(qtbot, editor, range(LAST - 15, LAST + 15), in_change)  # the end of the range
    row = model.index(FIRST + 3, COL_ROLE)
    assert row.data() == "admin"
    assert row.data(Qt.ItemDataRole.FontRole).italic()
    assert model.index(0, COL_ROLE).data(PENDING_ROLE) is False  # root: outside the range
    assert model.loaded_rows <= model.page_size * model.max_pages, "marked without holding the selection"
    qtmodeltester.check(model)


def test_rows_of_the_change_are_marked_under_another_filter(
    qtbot: QtBot, services: Services, admin: Actor, range_staged: RoleEditor
) -> None:
    editor = range_staged
    model = editor.model
    users = editor.users_tab
    child(users, QCheckBox, "prefixCheck").setChecked(True)
    type_into(qtbot, users, "filterEdit", "seed00012")  # seed0001200 .. seed0001299: half of them in it
    qtbot.waitUntil(lambda: model.query.search == "seed00012" and model.total == 100, timeout=15_000)
    settle(qtbot, editor)

    def expected(row: int) -> bool:
        return in_change(int(model.index(row, COL_EMAIL).data()[4:11]) + 1)

    _wait_marks(qtbot, editor, range(100), expected)
    emails = [model.index(row, COL_EMAIL).data() for row in range(100)]
    marked = {email for email, mark in zip(emails, _marks(editor, range(100)), strict=True) if mark}
    assert marked == {seed_email(row) for row in range(1201, LAST + 1)} - {seed_email(LEFT_OUT)}
    assert seed_email(LEFT_OUT) in emails, "shown, left out of the change: not marked"

    # An edit of one user wins over the change, under this filter too.
    row = emails.index(seed_email(1230))
    assert model.setData(model.index(row, COL_ROLE), "user")
    assert model.index(row, COL_ROLE).data(PENDING_ROLE) is False
    assert model.index(row + 1, COL_ROLE).data(PENDING_ROLE) is True

    # Back to every user: still marked by the database's answer, the overridden user not.
    type_into(qtbot, users, "filterEdit", "")
    qtbot.waitUntil(lambda: model.query.search == "" and model.total == SEEDED + 1, timeout=15_000)
    _wait_marks(qtbot, editor, range(1220, 1240), lambda row: in_change(row) and row != 1230)

    saved: list[str] = []
    users.message.connect(lambda text, _ms: saved.append(text))
    click(qtbot, users, "saveButton")
    qtbot.waitUntil(lambda: bool(saved) and not users.bulk_flow.running, timeout=30_000)
    assert saved[-1] == f"Changed {LAST - FIRST - 1:,} users (role → admin)."
    assert services.admin.get_user(admin, seed_email(LEFT_OUT)).role == "user"
    assert services.admin.get_user(admin, seed_email(1230)).role == "user"
    assert services.admin.get_user(admin, seed_email(LAST)).role == "admin"
    assert services.admin.get_user(admin, seed_email(LAST + 1)).role == "user"


# -- telling it: screen readers, a selected row, the current cell ---------------------------------------------


def accessible_cell(table: QTableView, index: QModelIndex) -> QAccessibleInterface:
    """The cell as assistive technology reaches it: the table's accessible interface, then its child."""
    table.scrollTo(index)
    view = QAccessible.queryAccessibleInterface(table)
    assert view is not None
    assert view.role() == QAccessible.Role.Table
    point = table.viewport().mapToGlobal(table.visualRect(index).center())
    cell = view.childAt(point.x(), point.y())
    assert cell is not None
    assert cell.role() == QAccessible.Role.Cell
    return cell


def _spoken(cell: QAccessibleInterface) -> tuple[str, str]:
    return cell.text(QAccessible.Text.Name), cell.text(QAccessible.Text.Description)


def _row(editor: RoleEditor, email: str) -> int:
    model = editor.model
    return next(row for row in range(model.rowCount()) if model.index(row, COL_EMAIL).data() == email)


def test_unsaved_edits_reach_screen_readers(
    qtbot: QtBot, services: Services, admin: Actor, open_editor: Callable[[Actor], RoleEditor]
) -> None:
    register_accounts(services, "bob@example.com", "carol@example.com")
    editor = open_editor(admin)
    table, model = editor.users_tab.table, editor.model
    bob = _row(editor, "bob@example.com")
    role, active, email = (model.index(bob, column) for column in (COL_ROLE, COL_ACTIVE, COL_EMAIL))
    assert _spoken(accessible_cell(table, role)) == ("user", "")
    assert _spoken(accessible_cell(table, active)) == ("active", "")

    assert model.setData(role, "admin")
    assert model.setData(active, Qt.CheckState.Unchecked.value, Qt.ItemDataRole.CheckStateRole)
    said = "Unsaved change: role from user to admin, deactivate"
    assert _spoken(accessible_cell(table, role)) == ("admin, unsaved, was user", said)
    assert _spoken(accessible_cell(table, active)) == ("inactive, unsaved, was active", said)
    assert _spoken(accessible_cell(table, email)) == ("bob@example.com", said)
    carol = model.index(_row(editor, "carol@example.com"), COL_ROLE)
    assert _spoken(accessible_cell(table, carol)) == ("user", "")


def test_a_pending_bulk_change_reaches_screen_readers(
    qtbot: QtBot, admin: Actor, database: Database, open_editor: Callable[[Actor], RoleEditor]
) -> None:
    seed_users(database, 450)  # three pages: Ctrl+A is staged as a bulk change
    editor = open_editor(admin)
    users, model = editor.users_tab, editor.model
    users.table.setFocus()
    qtbot.keyClick(users.table, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    child(users, QComboBox, "bulkRoleCombo").setCurrentText("admin")
    click(qtbot, users, "setRoleButton")
    qtbot.waitUntil(lambda: model.pending.bulk is not None, timeout=15_000)
    role = model.index(5, COL_ROLE)
    qtbot.waitUntil(lambda: role.data(PENDING_ROLE) is True, timeout=15_000)
    name, description = _spoken(accessible_cell(users.table, role))
    assert (name, description) == ("admin, unsaved, was user", "Unsaved change: role from user to admin")
    root = model.index(0, COL_ROLE)  # in the change, already an administrator: nothing unsaved
    assert _spoken(accessible_cell(users.table, root)) == ("admin", "")


def _solid(image: QImage, x: int, y: int, color: QColor) -> bool:
    """Whether the 3x3 pixels around (x, y) are all ``color`` (a glyph's stroke is thinner than that)."""
    return all(image.pixelColor(x + dx, y + dy) == color for dx in (-1, 0, 1) for dy in (-1, 0, 1))


def _dot_in(image: QImage, left: int, right: int, y: int, color: QColor) -> bool:
    return any(_solid(image, x, y, color) for x in range(left + 1, right - 1))


def test_an_unsaved_edit_shows_on_a_selected_row_and_the_current_cell_is_framed(
    qtbot: QtBot, services: Services, admin: Actor, open_editor: Callable[[Actor], RoleEditor]
) -> None:
    register_accounts(services, "bob@example.com", "carol@example.com")
    editor = open_editor(admin)
    table, model = editor.users_tab.table, editor.model
    bob, carol = (_row(editor, email) for email in ("bob@example.com", "carol@example.com"))
    assert model.setData(model.index(bob, COL_ROLE), "admin")
    assert model.setData(model.index(carol, COL_ROLE), "admin")
    assert model.setData(model.index(carol, COL_ROLE), "user")  # back: nothing unsaved for carol
    editor.users_tab.select_rows([bob, carol])  # both selected: the tinted background is not shown
    palette = table.palette()
    selected_text = palette.color(QPalette.ColorRole.HighlightedText)
    marker = unsaved_marker()
    for mode, color in (
        (QIcon.Mode.Normal, unsaved_edit_color()),
        (QIcon.Mode.Selected, selected_text),
    ):  # the dot in the theme's unsaved-edit colour, and in the selected text's colour on a selected row
        dot = marker.pixmap(16, mode).toImage()
        assert dot.pixelColor(dot.width() // 2, dot.height() // 2).rgb() == color.rgb()

    image = table.viewport().grab().toImage()
    for row, marked in ((bob, True), (carol, False)):
        cell = table.visualRect(model.index(row, COL_ROLE))
        found = _dot_in(image, cell.left(), cell.left() + 24, cell.center().y(), selected_text)
        assert found is marked, f"row {row}: the marker before the value, on a selected row"

    # The current cell, framed while the table has the focus: the outer ring in the theme's focus colour.
    current = model.index(carol, COL_EMAIL)
    table.setCurrentIndex(current)
    editor.activateWindow()
    table.setFocus()
    qtbot.waitUntil(table.hasFocus, timeout=5_000)
    rect = table.visualRect(current)
    edge = QPoint(rect.left() + 1, rect.center().y())
    ring = focus_ring_color()
    qtbot.waitUntil(lambda: table.viewport().grab().toImage().pixelColor(edge) == ring, timeout=5_000)
    framed = table.viewport().grab().toImage()
    for point in (
        QPoint(rect.right() - 1, rect.center().y()),
        QPoint(rect.center().x(), rect.top() + 1),
        QPoint(rect.center().x(), rect.bottom() - 1),
    ):
        assert framed.pixelColor(point) == ring
    other = table.visualRect(model.index(bob, COL_EMAIL))
    assert framed.pixelColor(QPoint(other.left() + 1, other.center().y())) != ring, "the current cell only"
