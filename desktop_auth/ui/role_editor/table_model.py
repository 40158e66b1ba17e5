"""The item model behind the role editor's ``userTable`` (a QTableView).

Windowed: ``rowCount`` is the number of matching users (counted in the background); rows are fetched a
page at a time, on a worker thread, when the view first asks for them, and only the ``max_pages`` most
recently used pages are kept. Memory follows what was looked at, not the size of the table, and jumping
to the end of a million rows loads one page. Filtering and sorting are done by the database.

Edits (role, active) are pending until saved: the model keeps them apart from the loaded rows, shows them
marked, and hands them to the service as one list of ``UserEdit``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
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

from desktop_auth.services.records import SortKey, UserEdit, UserQuery, UserRecord
from desktop_auth.ui.shell.messages import describe
from desktop_auth.ui.shell.tasks import TaskRunner

COL_EMAIL, COL_ROLE, COL_ACTIVE, COL_LOCKED, COL_LAST_LOGIN, COL_LOGINS, COL_CREATED, COL_UPDATED = range(8)
HEADERS = ("Email", "Role", "Active", "Locked until", "Last sign-in", "Sign-ins", "Created", "Updated")
SORT_KEYS = {
    COL_EMAIL: SortKey.EMAIL,
    COL_ROLE: SortKey.ROLE,
    COL_ACTIVE: SortKey.ACTIVE,
    COL_LOCKED: SortKey.LOCKED_UNTIL,
    COL_LAST_LOGIN: SortKey.LAST_LOGIN,
    COL_LOGINS: SortKey.LOGIN_COUNT,
    COL_CREATED: SortKey.CREATED,
    COL_UPDATED: SortKey.UPDATED,
}
USER_ID_ROLE = Qt.ItemDataRole.UserRole + 1  # the row's user id (survives sorting proxies)
RECORD_ROLE = Qt.ItemDataRole.UserRole + 2  # the loaded UserRecord, or None
PENDING_ROLE = Qt.ItemDataRole.UserRole + 3  # True when the cell has an unsaved change
LOADING_TEXT = "…"
PENDING_BACKGROUND = QColor(255, 196, 0, 70)

Index = QModelIndex | QPersistentModelIndex
FetchPage = Callable[[UserQuery, int, int], list[UserRecord]]
CountUsers = Callable[[UserQuery], int]


_DISPLAY = Qt.ItemDataRole.DisplayRole.value
_EDIT = Qt.ItemDataRole.EditRole.value
_CHECK_STATE = Qt.ItemDataRole.CheckStateRole.value
_FONT = Qt.ItemDataRole.FontRole.value
_BACKGROUND = Qt.ItemDataRole.BackgroundRole.value
_TOOLTIP = Qt.ItemDataRole.ToolTipRole.value
_ACCESSIBLE_TEXT = Qt.ItemDataRole.AccessibleTextRole.value
_ALIGNMENT = Qt.ItemDataRole.TextAlignmentRole.value
_SERVED_ROLES = frozenset(
    {
        _DISPLAY,
        _EDIT,
        _CHECK_STATE,
        _FONT,
        _BACKGROUND,
        _TOOLTIP,
        _ACCESSIBLE_TEXT,
        _ALIGNMENT,
        USER_ID_ROLE,
        RECORD_ROLE,
        PENDING_ROLE,
    }
)
_MARKING_ROLES = frozenset({_FONT, _BACKGROUND, _TOOLTIP})  # only rows with unsaved edits have these
_ACTIVE_COLUMN_ROLES = frozenset({_CHECK_STATE, _ACCESSIBLE_TEXT})
# What QAbstractTableModel.flags() answers, computed once: flags() runs for every visible cell.
_CELL_FLAGS = Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemNeverHasChildren
_FLAGS_BY_COLUMN = {
    COL_ROLE: _CELL_FLAGS | Qt.ItemFlag.ItemIsEditable,
    COL_ACTIVE: _CELL_FLAGS | Qt.ItemFlag.ItemIsUserCheckable,
}
_CHECKED, _UNCHECKED = Qt.CheckState.Checked, Qt.CheckState.Unchecked
_RIGHT_ALIGNED = (Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter).value


def _time(value: datetime | None) -> str:
    # isoformat, not strftime: strftime imports the time module on every call, and under PySide's import
    # hook that is a Python function call each time (6 us instead of 2, for every date on screen).
    return value.astimezone().isoformat(" ", "minutes")[:16] if value else ""


def _cells(record: UserRecord) -> tuple[Any, ...]:
    """The saved values of one user as the table shows them, column by column."""
    return (
        record.email,
        record.role,
        None,  # active: the check box says it
        _time(record.locked_until),
        _time(record.last_login_at),
        record.login_count,
        _time(record.created_at),
        _time(record.updated_at),
    )


class _LoadedRow:
    """A loaded user and, once the row has been painted, its display text."""

    __slots__ = ("cells", "record")

    def __init__(self, record: UserRecord) -> None:
        self.record = record
        self.cells: tuple[Any, ...] | None = None


@dataclass
class PendingEdit:
    """Unsaved changes to one user, and what they were based on."""

    user_id: int
    email: str
    version: int
    original_role: str
    original_active: bool
    role: str | None = None
    active: bool | None = None

    @property
    def empty(self) -> bool:
        return self.role is None and self.active is None


class UserTableModel(QAbstractTableModel):
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
        self.page_size = page_size
        self.max_pages = max(2, max_pages)
        self.query = UserQuery()
        self._generation = 0
        self._rows = 0  # what rowCount() reports
        self._total: int | None = None
        self._pages: OrderedDict[int, list[_LoadedRow]] = OrderedDict()
        self._recent_page = -1  # the page _row() last moved to the recent end
        self._in_flight: set[int] = set()
        self.pending: dict[int, PendingEdit] = {}

    # -- what the view sees --------------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else self._rows

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

    def record(self, row: int) -> UserRecord | None:
        """The loaded record at ``row``, or None (and a background fetch of its page)."""
        loaded = self._row(row)
        return loaded.record if loaded is not None else None

    def _row(self, row: int) -> _LoadedRow | None:
        if not 0 <= row < self._rows:
            return None  # also an invalid index's row(), -1
        page_number, offset = divmod(row, self.page_size)
        page = self._pages.get(page_number)
        if page is None:
            self._request(page_number)
            return None
        if page_number != self._recent_page:  # least-recently-used order, touched once per page change
            self._recent_page = page_number
            self._pages.move_to_end(page_number)
        return page[offset] if offset < len(page) else None

    # data() runs for every role of every visible cell on each repaint (thousands of calls while scrolling):
    # display text comes first, from a per-row cache, and roles it does not serve are turned away early.
    def data(self, index: Index, role: int = _DISPLAY) -> Any:
        if role in (_DISPLAY, _EDIT):
            loaded = self._row(index.row())
            column = index.column()
            if loaded is None:
                return LOADING_TEXT if role == _DISPLAY and column == COL_EMAIL else None
            if self.pending and column == COL_ROLE:
                edit = self.pending.get(loaded.record.id)
                if edit is not None and edit.role is not None:
                    return edit.role
            if loaded.cells is None:
                loaded.cells = _cells(loaded.record)
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
        loaded = self._row(index.row())
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
            return self._pending_text(edit) if edit is not None else None
        if role == _ACCESSIBLE_TEXT:
            return "active" if active else "inactive"
        return None

    @staticmethod
    def _pending_text(edit: PendingEdit) -> str:
        parts = []
        if edit.role is not None:
            parts.append(f"role {edit.original_role} → {edit.role}")
        if edit.active is not None:
            parts.append("activate" if edit.active else "deactivate")
        return "Unsaved: " + ", ".join(parts)

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        if self._row(index.row()) is None:
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
        query = UserQuery(
            self.query.search,
            self.query.prefix,
            self.query.role,
            key,
            order == Qt.SortOrder.DescendingOrder,
        )
        if query != self.query:  # the view re-applies its order on set-up; that needs no reload
            self.set_query(query)

    # -- loading -------------------------------------------------------------------------------------

    def set_query(self, query: UserQuery) -> None:
        self.query = query
        self.reload()

    def reload(self) -> None:
        """Drop every loaded row and start again (pending edits are kept)."""
        self._generation += 1
        self.beginResetModel()
        self._pages.clear()
        self._recent_page = -1
        self._in_flight.clear()
        self._rows = 0
        self._total = None
        self.endResetModel()
        self._request(0)  # counting starts once the first page is in (see _loaded)

    def _count(self) -> None:
        generation, query = self._generation, self.query
        self._runner.run(
            lambda: self._count_users(query),
            lambda total: self._counted(generation, total),
            self._failed,
            owner=self,
        )

    @property
    def loaded_rows(self) -> int:
        """How many user rows the model holds in memory."""
        return sum(len(page) for page in self._pages.values())

    @property
    def first_page_in(self) -> bool:
        """Whether the first page of the current query has arrived."""
        return 0 in self._pages

    @property
    def loading(self) -> bool:
        return bool(self._in_flight)

    def _request(self, page_number: int) -> None:
        if page_number in self._in_flight:
            return
        self._in_flight.add(page_number)
        self.loading_changed.emit(True)
        generation, query, size = self._generation, self.query, self.page_size
        self._runner.run(
            lambda: self._fetch_page(query, page_number * size, size),
            lambda rows: self._loaded(generation, page_number, rows),
            self._failed,
            owner=self,
        )

    def _loaded(self, generation: int, page_number: int, rows: list[UserRecord]) -> None:
        if generation != self._generation:
            return  # the query changed while this page was on its way
        first_rows = self._total is None and not self._pages and page_number == 0
        self._in_flight.discard(page_number)
        self._pages[page_number] = [_LoadedRow(record) for record in rows]
        self._pages.move_to_end(page_number)
        self._recent_page = page_number
        while len(self._pages) > self.max_pages:
            self._pages.popitem(last=False)
        first = page_number * self.page_size
        if self._total is None and first + len(rows) > self._rows:
            # Not counted yet: show the rows that arrived.
            self.beginInsertRows(QModelIndex(), self._rows, first + len(rows) - 1)
            self._rows = first + len(rows)
            self.endInsertRows()
        elif rows:
            last = min(first + len(rows), self._rows) - 1
            if last >= first:
                self.dataChanged.emit(self.index(first, 0), self.index(last, len(HEADERS) - 1))
        if not self._in_flight:
            self.loading_changed.emit(False)
        if first_rows:
            self.first_rows_loaded.emit()
            # Counted after the first page, not beside it, and on a later turn of the event loop (after the
            # rows are painted): counting a large table competes with the page and the paint for the
            # database and the interpreter, and a person waits for the rows, not the total.
            QTimer.singleShot(0, self, self._count)

    def _counted(self, generation: int, total: int) -> None:
        if generation != self._generation:
            return
        self._total = total
        if total > self._rows:
            self.beginInsertRows(QModelIndex(), self._rows, total - 1)
            self._rows = total
            self.endInsertRows()
        elif total < self._rows:
            self.beginRemoveRows(QModelIndex(), total, self._rows - 1)
            self._rows = total
            self.endRemoveRows()
        self.total_changed.emit(total)

    def _failed(self, error: BaseException) -> None:
        self._in_flight.clear()
        self.loading_changed.emit(False)
        self.failed.emit(describe(error))

    @property
    def total(self) -> int | None:
        return self._total

    # -- pending edits -------------------------------------------------------------------------------

    def stage(self, records: list[UserRecord], role: str | None = None, active: bool | None = None) -> None:
        """Mark changes for these users; a change back to the saved value un-marks it."""
        for record in records:
            edit = self.pending.get(record.id) or PendingEdit(
                record.id, record.email, record.version, record.role, record.active
            )
            if role is not None:
                edit.role = None if role == edit.original_role else role
            if active is not None:
                edit.active = None if active == edit.original_active else active
            if edit.empty:
                self.pending.pop(record.id, None)
            else:
                self.pending[record.id] = edit
        self._refresh_all()
        self.pending_changed.emit(len(self.pending))

    def edits(self) -> list[UserEdit]:
        return [UserEdit(e.user_id, e.version, role=e.role, active=e.active) for e in self.pending.values()]

    def discard(self, user_ids: list[int] | None = None) -> None:
        if user_ids is None:
            self.pending.clear()
        else:
            for user_id in user_ids:
                self.pending.pop(user_id, None)
        self._refresh_all()
        self.pending_changed.emit(len(self.pending))

    def _refresh_all(self) -> None:
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(self._rows - 1, len(HEADERS) - 1))
