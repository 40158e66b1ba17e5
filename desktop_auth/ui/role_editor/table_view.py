"""The role editor's ``userTable``: a QTableView set up for a windowed model of many users, and how a
window holding one is first shown.

Its own module so the benchmark can put Qt's QSqlTableModel behind exactly the same view.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QAbstractItemModel, QItemSelectionModel, QObject, Qt, QTimer
from PySide6.QtGui import QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from desktop_auth.ui.role_editor.columns import (
    COL_ACTIVE,
    COL_CREATED,
    COL_EMAIL,
    COL_LAST_LOGIN,
    COL_LOCKED,
    COL_LOGINS,
    COL_MUST_CHANGE,
    COL_RECOVERY_CODES,
    COL_ROLE,
    COL_TEMPORARY_EXPIRES,
    COL_TWO_FACTOR,
    COL_UPDATED,
    SORT_KEYS,
)
from desktop_auth.ui.role_editor.delegate import RoleDelegate
from desktop_auth.ui.role_editor.table_model import UserTableModel, widest_moments
from desktop_auth.ui.shell.theme import focus_ring_color

DATE_COLUMNS = (COL_LOCKED, COL_LAST_LOGIN, COL_CREATED, COL_UPDATED, COL_TEMPORARY_EXPIRES)
CELL_PADDING = 14  # a cell's margins and the room its text needs not to be elided
COLUMN_WIDTHS = {
    COL_ROLE: 100,
    COL_ACTIVE: 56,
    COL_LOCKED: 150,  # the dates' widths follow the font (date_width); these are at the default font
    COL_LAST_LOGIN: 150,
    COL_LOGINS: 64,
    COL_CREATED: 150,
    COL_UPDATED: 150,
    COL_MUST_CHANGE: 64,
    COL_TEMPORARY_EXPIRES: 150,
    COL_RECOVERY_CODES: 64,
    COL_TWO_FACTOR: 48,
}
SORT_ARROW_ROOM = 16  # the header's sort indicator beside a heading
LIFECYCLE_COLUMNS = (COL_MUST_CHANGE, COL_TEMPORARY_EXPIRES, COL_RECOVERY_CODES, COL_TWO_FACTOR)
EMAIL_MIN_WIDTH = 150  # the stretching email column never gets narrower than this
FOCUS_FRAME_WIDTH = 2  # the current cell's frame: an outer ring this wide, and a 1 px inner one
FIRST_ROWS_WAIT_MS = 100  # under this, a wait reads as instant; past it, show the table loading


def show_with_first_rows(show: Callable[[], None], model: UserTableModel, parent: QObject) -> None:
    """Call ``show`` once the model's first page is in, or after FIRST_ROWS_WAIT_MS at the latest.

    The window's first frame then has rows, instead of an empty table that fills a few ms later and is
    painted twice; and while the page is fetched the GUI thread sits idle in the event loop (never
    blocked), which leaves the interpreter to the worker doing the fetch.
    """
    shown = False

    def once() -> None:
        nonlocal shown
        if not shown:
            shown = True
            timer.stop()
            show()

    timer = QTimer(parent)
    timer.setSingleShot(True)
    timer.timeout.connect(once)
    if model.first_page_in:
        once()
        return
    model.first_rows_loaded.connect(once, Qt.ConnectionType.SingleShotConnection)
    model.failed.connect(once, Qt.ConnectionType.SingleShotConnection)
    timer.start(FIRST_ROWS_WAIT_MS)


class UserTableView(QTableView):
    def __init__(
        self, model: QAbstractItemModel, sort_column: int = COL_EMAIL, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("userTable")
        self.setAccessibleName(self.tr("Users"))
        self.setModel(model)
        # Indicator first: enabling sorting then asks the model once for the order it already has.
        self.horizontalHeader().setSortIndicator(sort_column, Qt.SortOrder.AscendingOrder)
        self.setSortingEnabled(True)
        self._sorted_by = (sort_column, Qt.SortOrder.AscendingOrder)
        self.horizontalHeader().sortIndicatorChanged.connect(self._keep_sortable_indicator)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.SelectedClicked
        )
        self.setAlternatingRowColors(True)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(24)
        header = self.horizontalHeader()
        # Fixed widths: sizing to contents would make the view read (and so fetch) thousands of rows. A date
        # column fits the widest moment the table writes in the person's language, with its zone, in the
        # table's font.
        widths = dict(COLUMN_WIDTHS)
        metrics = self.fontMetrics()
        date_width = max(metrics.horizontalAdvance(text) for text in widest_moments()) + CELL_PADDING
        widths.update(dict.fromkeys(DATE_COLUMNS, date_width))
        # A column is also as wide as the longest line of its heading and the sort arrow (German and Arabic
        # headings are longer than their values).
        heading = header.fontMetrics()
        for column in widths:
            text = str(model.headerData(column, Qt.Orientation.Horizontal) or "")
            lines = max((heading.horizontalAdvance(line) for line in text.splitlines()), default=0)
            widths[column] = max(widths[column], lines + CELL_PADDING + SORT_ARROW_ROOM)
        for column, width in widths.items():
            self.setColumnWidth(column, width)
        header.setSectionResizeMode(COL_EMAIL, QHeaderView.ResizeMode.Stretch)
        header.setHighlightSections(False)
        # The header's own selection model, never the view's: painting it asks whether each column is
        # selected, which Qt answers by visiting every selected row (a million after Ctrl+A, 80 s).
        header.setSelectionModel(QItemSelectionModel(model, header))
        # Wide enough for every column: no horizontal scroll bar until someone widens a column. Without it,
        # the editor's first layout (its tab page at the page's size hint, before the real size) showed a
        # scroll bar in the first frame and hid it in the next, painting the whole window twice.
        #: The width that shows every column. The lifecycle columns (must change, temporary password expiry,
        #: recovery codes, 2FA) are left out of the minimum, so the editor still fits a 1366-pixel screen; a
        #: window opened wide enough (RoleEditor) shows them all, and a narrower one scrolls to them.
        scroll_bar = self.verticalScrollBar().sizeHint().width()
        self.full_width = sum(widths.values()) + EMAIL_MIN_WIDTH + scroll_bar + 2 * self.frameWidth()
        lifecycle = sum(widths[column] for column in LIFECYCLE_COLUMNS)
        self.setMinimumWidth(self.full_width - lifecycle)
        self.delegate = RoleDelegate(self)
        self.setItemDelegateForColumn(COL_ROLE, self.delegate)

    def _keep_sortable_indicator(self, column: int, order: Qt.SortOrder) -> None:
        """A click on a column the model cannot sort by (columns.SORT_KEYS) leaves the order, and the
        header's arrow, where they were."""
        if column in SORT_KEYS:
            self._sorted_by = (column, order)
        else:
            self.horizontalHeader().setSortIndicator(*self._sorted_by)

    def paintEvent(self, event: QPaintEvent) -> None:
        """The cells, then a clear frame around the current cell while the table has the focus.

        The style's own focus rectangle (Fusion's) is drawn only after a keyboard focus change and is a
        faint tint of the highlight colour, all but invisible on a selected row. This one is two rings, the
        theme's focus colour outside (theme.FOCUS_RING, as the stylesheets' focused fields) and the palette's
        base colour inside, so one of them contrasts with whatever is under it: a selected or plain row, a
        light or dark theme. Drawn inside the cell, which Qt repaints when the current cell or the focus
        moves."""
        super().paintEvent(event)
        current = self.currentIndex()
        if not current.isValid() or not self.hasFocus():
            return
        rect = self.visualRect(current)
        if rect.isEmpty() or not event.rect().intersects(rect):
            return
        palette = self.palette()
        painter = QPainter(self.viewport())
        outer = QPen(focus_ring_color(), FOCUS_FRAME_WIDTH)
        outer.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
        painter.setPen(outer)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        half = FOCUS_FRAME_WIDTH // 2
        painter.drawRect(rect.adjusted(half, half, -half, -half))
        painter.setPen(QPen(palette.color(QPalette.ColorRole.Base), 1))
        inner = FOCUS_FRAME_WIDTH
        painter.drawRect(rect.adjusted(inner, inner, -inner - 1, -inner - 1))
        painter.end()
