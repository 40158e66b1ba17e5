# Over 300 lines: all of Qt's item-model interface for a windowed, editable table (its state is in core/).
"""The item model behind the role editor's ``userTable`` (a QTableView): the Qt face of ``core``.

Windowed: ``rowCount`` is the number of matching users (counted in the background); rows are fetched a
page at a time, on a worker thread, when the view first asks for them, and the core keeps only the most
recently read pages. Memory follows what was looked at, not the size of the table, and jumping to the end
of a million rows loads one page. Filtering and sorting are done by the database.

Edits (role, active) are pending until saved: the core keeps them apart from the loaded rows, this model
shows them marked, and the window hands them to the service as one list of ``UserEdit``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QFont

from desktop_auth.services.records import UserEdit, UserQuery, UserRecord
from desktop_auth.ui.role_editor.columns import (
    COL_ACTIVE,
    COL_EMAIL,
    COL_LOGINS,
    COL_ROLE,
    HEADERS,
    SORT_KEYS,
    cells,
)
from desktop_auth.ui.role_editor.core.page_cache import CountRequest, PageCache, PageRequest
from desktop_auth.ui.role_editor.core.pending_edits import PendingEdits
from desktop_auth.ui.role_editor.core.selection import FetchPage
from desktop_auth.ui.shell.messages import describe
from desktop_auth.ui.shell.tasks import TaskRunner

USER_ID_ROLE = Qt.ItemDataRole.UserRole + 1  # the row's user id (survives sorting proxies)
RECORD_ROLE = Qt.ItemDataRole.UserRole + 2  # the loaded UserRecord, or None
PENDING_ROLE = Qt.ItemDataRole.UserRole + 3  # True when the cell has an unsaved change
LOADING_TEXT = "…"
PENDING_BACKGROUND = QColor(255, 196, 0, 70)

Index = QModelIndex | QPersistentModelIndex
CountUsers = Callable[[UserQuery], int]


_DISPLAY = Qt.ItemDataRole.DisplayRole.value
_EDIT = Qt.ItemDataRole.EditRole.value
_CHECK_STATE = Qt.ItemDataRole.CheckStateRole.value
_FONT = Qt.ItemDataRole.FontRole.value
_BACKGROUND = Qt.ItemDataRole.BackgroundRole.value
_TOOLTIP = Qt.ItemDataRole.ToolTipRole.value
_ACCESSIBLE_TEXT = Qt.ItemDataRole.AccessibleTextRole.value
_ALIGNMENT = Qt.ItemDataRole.TextAlignmentRole.value
_MARKING_ROLES = frozenset({_FONT, _BACKGROUND, _TOOLTIP})  # only rows with unsaved edits have these
_ACTIVE_COLUMN_ROLES = frozenset({_CHECK_STATE, _ACCESSIBLE_TEXT})
_SERVED_ROLES = (
    _MARKING_ROLES
    | _ACTIVE_COLUMN_ROLES
    | {_DISPLAY, _EDIT, _ALIGNMENT, USER_ID_ROLE, RECORD_ROLE, PENDING_ROLE}
)
# What QAbstractTableModel.flags() answers, computed once: flags() runs for every visible cell.
_CELL_FLAGS = Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemNeverHasChildren
_FLAGS_BY_COLUMN = {
    COL_ROLE: _CELL_FLAGS | Qt.ItemFlag.ItemIsEditable,
    COL_ACTIVE: _CELL_FLAGS | Qt.ItemFlag.ItemIsUserCheckable,
}
_CHECKED, _UNCHECKED = Qt.CheckState.Checked, Qt.CheckState.Unchecked
_RIGHT_ALIGNED = (Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter).value


class UserTableModel(QAbstractTableModel):
    """``userTable``'s model: the core's rows, pending edits and loading, said in Qt's roles and signals."""

    loading_changed = Signal(bool)
    first_rows_loaded = Signal()  # the first page of a (re)load is in
    failed = Signal(str)
    total_changed = Signal(int)
    pending_changed = Signal(int)

    def __init__(
        self,
        runner: TaskRunner,
        fetch_page: FetchPage,
        count_users: CountUsers,
        page_size: int = 200,
        max_pages: int = 20,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._runner = runner
        self._fetch_page = fetch_page
        self._count_users = count_users
        self.cache = PageCache(self._fetch, page_size, max_pages)
        self.pending = PendingEdits()

    # -- what the core holds, read through the model --------------------------------------------------

    @property
    def query(self) -> UserQuery:
        return self.cache.query

    @property
    def total(self) -> int | None:
        return self.cache.total

    @property
    def loading(self) -> bool:
        return self.cache.loading

    @property
    def loaded_rows(self) -> int:
        """How many user rows the model holds in memory."""
        return self.cache.loaded_rows

    @property
    def first_page_in(self) -> bool:
        """Whether the first page of the current query has arrived."""
        return self.cache.first_page_in

    @property
    def page_size(self) -> int:
        return self.cache.page_size

    @property
    def max_pages(self) -> int:
        return self.cache.max_pages

    def record(self, row: int) -> UserRecord | None:
        """The loaded record at ``row``, or None (and a background fetch of its page)."""
        return self.cache.record(row)

    # -- what the view sees --------------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else self.cache.rows

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(HEADERS)
        ):
            return HEADERS[section]
        return None

    # data() runs for every role of every visible cell on each repaint (thousands of calls while scrolling):
    # display text comes first, from a per-row cache, and roles it does not serve are turned away early.
    def data(self, index: Index, role: int = _DISPLAY) -> Any:
        if role in (_DISPLAY, _EDIT):
            loaded = self.cache.row(index.row())
            column = index.column()
            if loaded is None:
                return LOADING_TEXT if role == _DISPLAY and column == COL_EMAIL else None
            if self.pending and column == COL_ROLE:
                edit = self.pending.get(loaded.record.id)
                if edit is not None and edit.role is not None:
                    return edit.role
            if loaded.cells is None:
                loaded.cells = cells(loaded.record)
            return loaded.cells[column]
        if role not in _SERVED_ROLES:
            return None
        column = index.column()
        if role in _MARKING_ROLES and not self.pending:
            return None
        if role == _ALIGNMENT:
            return _RIGHT_ALIGNED if column == COL_LOGINS else None
        if role in _ACTIVE_COLUMN_ROLES and column != COL_ACTIVE:
            return None
        loaded = self.cache.row(index.row())
        if loaded is None:
            return None
        record = loaded.record
        edit = self.pending.get(record.id) if self.pending else None
        pending_here = edit is not None and (
            (column == COL_ROLE and edit.role is not None)
            or (column == COL_ACTIVE and edit.active is not None)
        )
        active = edit.active if edit is not None and edit.active is not None else record.active
        if role == _CHECK_STATE:
            return _CHECKED if active else _UNCHECKED
        if role == USER_ID_ROLE:
            return record.id
        if role == RECORD_ROLE:
            return record
        if role == PENDING_ROLE:
            return pending_here
        if role == _FONT:
            if edit is None:
                return None
            font = QFont()
            font.setBold(pending_here)
            font.setItalic(True)
            return font
        if role == _BACKGROUND:
            return QBrush(PENDING_BACKGROUND) if pending_here else None
        if role == _TOOLTIP:
            return edit.summary() if edit is not None else None
        if role == _ACCESSIBLE_TEXT:
            return "active" if active else "inactive"
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        if self.cache.row(index.row()) is None:
            return _CELL_FLAGS
        return _FLAGS_BY_COLUMN.get(index.column(), _CELL_FLAGS)

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        record = self.record(index.row()) if index.isValid() else None
        if record is None:
            return False
        if (
            index.column() == COL_ROLE
            and role == Qt.ItemDataRole.EditRole
            and isinstance(value, str)
            and value
        ):
            self.stage([record], role=value)
            return True
        if index.column() == COL_ACTIVE and role == Qt.ItemDataRole.CheckStateRole:
            checked = value in (Qt.CheckState.Checked, Qt.CheckState.Checked.value, 2, True)
            self.stage([record], active=checked)
            return True
        return False

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        key = SORT_KEYS.get(column)
        if key is None:
            return
        query = replace(self.query, sort=key, descending=order == Qt.SortOrder.DescendingOrder)
        if query != self.query:  # the view re-applies its order on set-up; that needs no reload
            self.set_query(query)

    # -- loading -------------------------------------------------------------------------------------

    def set_query(self, query: UserQuery) -> None:
        self._restart(query)

    def reload(self) -> None:
        """Drop every loaded row and start again (pending edits are kept)."""
        self._restart(None)

    def _restart(self, query: UserQuery | None) -> None:
        self.beginResetModel()
        self.cache.restart(query)
        self.endResetModel()
        self.cache.want(0)  # counting starts once the first page is in (see _loaded)

    def _fetch(self, request: PageRequest) -> None:
        self.loading_changed.emit(True)
        fetch_page = self._fetch_page
        self._runner.run(
            lambda: fetch_page(request.query, request.offset, request.limit),
            lambda rows: self._loaded(request, rows),
            self._failed,
            owner=self,
        )

    def _loaded(self, request: PageRequest, rows: list[UserRecord]) -> None:
        arrival = self.cache.arrived(request, rows)
        if arrival is None:
            return  # the query changed while this page was on its way
        self._show_rows(arrival.rows)
        if arrival.changed is not None:
            first, stop = arrival.changed
            self.dataChanged.emit(self.index(first, 0), self.index(stop - 1, len(HEADERS) - 1))
        if not self.cache.loading:
            self.loading_changed.emit(False)
        if arrival.first_rows:
            self.first_rows_loaded.emit()
            # Counted after the first page, not beside it, and on a later turn of the event loop (after the
            # rows are painted): counting a large table competes with the page and the paint for the
            # database and the interpreter, and a person waits for the rows, not the total.
            QTimer.singleShot(0, self, self._count)

    def _count(self) -> None:
        request, count_users = self.cache.count_request(), self._count_users
        self._runner.run(
            lambda: count_users(request.query),
            lambda total: self._counted(request, total),
            self._failed,
            owner=self,
        )

    def _counted(self, request: CountRequest, total: int) -> None:
        if self.cache.counted(request, total):
            self._show_rows(total)
            self.total_changed.emit(total)

    def _show_rows(self, rows: int) -> None:
        """Tell the view the table now has ``rows`` rows."""
        shown = self.cache.rows
        if rows > shown:
            self.beginInsertRows(QModelIndex(), shown, rows - 1)
            self.cache.rows = rows
            self.endInsertRows()
        elif rows < shown:
            self.beginRemoveRows(QModelIndex(), rows, shown - 1)
            self.cache.rows = rows
            self.endRemoveRows()

    def _failed(self, error: BaseException) -> None:
        self.cache.failed()
        self.loading_changed.emit(False)
        self.failed.emit(describe(error))

    # -- pending edits -------------------------------------------------------------------------------

    def stage(self, records: list[UserRecord], role: str | None = None, active: bool | None = None) -> None:
        """Mark changes for these users; a change back to the saved value un-marks it."""
        self.pending.stage(records, role=role, active=active)
        self._pending_changed()

    def edits(self) -> list[UserEdit]:
        return self.pending.edits()

    def discard(self, user_ids: list[int] | None = None) -> None:
        self.pending.discard(user_ids)
        self._pending_changed()

    def _pending_changed(self) -> None:
        if self.cache.rows:
            self.dataChanged.emit(self.index(0, 0), self.index(self.cache.rows - 1, len(HEADERS) - 1))
        self.pending_changed.emit(len(self.pending))
