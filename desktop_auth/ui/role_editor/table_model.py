# Over 300 lines: all of Qt's item-model interface for a windowed, editable table (its state is in core/).
"""The item model behind the role editor's ``userTable`` (a QTableView): the Qt face of ``core``.

Windowed: ``rowCount`` is the number of matching users (counted in the background); rows are fetched a
page at a time, on a worker thread, when the view first asks for them, and the core keeps only the most
recently read pages. Memory follows what was looked at, not the size of the table, and jumping to the end
of a million rows loads one page. Filtering and sorting are done by the database.

Edits (role, active) are pending until saved: the core keeps them apart from the loaded rows, this model
shows them marked, and the window hands them to the service as one list of ``UserEdit``. A staged bulk
change marks the rows the database says it is for: while one is staged, pages are fetched with that answer
(``fetch_page_in_change``), whatever filter is on screen and however the change's users were selected.

Marked means: italic across the row, bold with a tinted background in the changed cell, a dot before its
value (``unsaved_marker``: it stays visible on a selected row, where the background does not), and for
assistive technology the cell's accessible name says it ('admin, unsaved, was user') and every cell of the
row has the change as its accessible description.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QDate,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTime,
    QTimer,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QFont, QIcon

from desktop_auth.messages import Message
from desktop_auth.services.records import UserEdit, UserQuery, UserRecord
from desktop_auth.ui.role_editor.columns import (
    COL_ACTIVE,
    COL_EMAIL,
    COL_LOGINS,
    COL_MUST_CHANGE,
    COL_RECOVERY_CODES,
    COL_ROLE,
    HEADER_LINES,
    HEADERS,
    SORT_KEYS,
    Cell,
    cells,
    spoken,
)
from desktop_auth.ui.role_editor.core.page_cache import CountRequest, LoadedRow, PageCache, PageRequest
from desktop_auth.ui.role_editor.core.pending_edits import ACTIVE, INACTIVE, PendingEdit, PendingEdits
from desktop_auth.ui.role_editor.core.selection import FetchPage
from desktop_auth.ui.role_editor.marker import unsaved_marker
from desktop_auth.ui.shell import i18n
from desktop_auth.ui.shell.messages import describe
from desktop_auth.ui.shell.tasks import TaskRunner

if TYPE_CHECKING:
    from desktop_auth.services.user_queries import UserPage

USER_ID_ROLE = Qt.ItemDataRole.UserRole + 1  # the row's user id (survives sorting proxies)
RECORD_ROLE = Qt.ItemDataRole.UserRole + 2  # the loaded UserRecord, or None
PENDING_ROLE = Qt.ItemDataRole.UserRole + 3  # True when the cell has an unsaved change
LOADING_TEXT = "…"  # a sign, not a word: the same in every language
PENDING_BACKGROUND = QColor(255, 196, 0, 70)

Index = QModelIndex | QPersistentModelIndex
CountUsers = Callable[[UserQuery], int]
# (query, offset, limit, staged change id) -> the page, with whether that change is for each of its users
FetchPageInChange = Callable[[UserQuery, int, int, int], "UserPage"]


# What QAbstractTableModel.flags() answers, computed once: flags() runs for every visible cell.
_CELL_FLAGS = Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemNeverHasChildren
_FLAGS_BY_COLUMN = {
    COL_ROLE: _CELL_FLAGS | Qt.ItemFlag.ItemIsEditable,
    COL_ACTIVE: _CELL_FLAGS | Qt.ItemFlag.ItemIsUserCheckable,
}
RIGHT_ALIGNED = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_RIGHT_ALIGNED_COLUMNS = frozenset({COL_LOGINS, COL_RECOVERY_CODES})  # the counts
# The roles whose answers change when pending edits are staged or dropped (the role text, the check box,
# the marking); a row's id, record and alignment do not.
PENDING_ROLES = [
    Qt.ItemDataRole.DisplayRole,
    Qt.ItemDataRole.EditRole,
    Qt.ItemDataRole.CheckStateRole,
    Qt.ItemDataRole.AccessibleTextRole,
    Qt.ItemDataRole.AccessibleDescriptionRole,
    Qt.ItemDataRole.DecorationRole,
    Qt.ItemDataRole.FontRole,
    Qt.ItemDataRole.BackgroundRole,
    Qt.ItemDataRole.ToolTipRole,
    PENDING_ROLE,
]


def word(message: Message) -> str:
    """``message`` in the current language (i18n remembers the ones without parameters)."""
    return i18n.render(message)


def widest_moments() -> list[str]:
    """Moments as wide as ``i18n.date_time`` writes them in the current language (the date columns are made
    this wide): two-digit days, months and hours, morning and evening, and the zone as an offset (wider than
    an abbreviation)."""
    locale, date_format, time_format = i18n.date_time_formats()
    date = locale.toString(QDate(2000, 12, 28), date_format)
    return [f"{date} {locale.toString(QTime(hour, 58), time_format)} +0000" for hour in (10, 22)]


def shown_cells(record: UserRecord) -> tuple[Any, ...]:
    """A user's cells as the table shows them: moments and words in the person's language."""
    return tuple(_shown(value) for value in cells(record))


def _shown(value: Cell) -> Any:
    if isinstance(value, Message):
        return word(value)
    if isinstance(value, datetime):
        return i18n.date_time(value)
    return value


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
        fetch_page_in_change: FetchPageInChange | None = None,
    ) -> None:
        """``fetch_page_in_change``: how pages are fetched while a bulk change is staged (without it, the
        rows of a bulk change are not marked)."""
        super().__init__(parent)
        self._runner = runner
        self._fetch_page = fetch_page
        self._fetch_page_in_change = fetch_page_in_change
        self._count_users = count_users
        self.cache = PageCache(self._fetch, page_size, max_pages)
        self.pending = PendingEdits()
        self._cells_language = i18n.current_language()  # the language of the rows' shown cells

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
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(HEADERS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return word(HEADER_LINES[section])
        if role == Qt.ItemDataRole.AccessibleTextRole or role == Qt.ItemDataRole.ToolTipRole:
            return word(HEADERS[section])  # on one line
        return None

    # data() runs for every role of every visible cell on each repaint: one small method per role the
    # model serves (``_ANSWERS``, below the class), and roles it does not serve are turned away at once.
    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        answer = _ANSWERS.get(role)
        if answer is None:
            return None
        return answer(self, self.cache.row(index.row()), index.column())

    def _display(self, row: LoadedRow | None, column: int) -> Any:
        if row is None:
            return LOADING_TEXT if column == COL_EMAIL else None
        return self._text(row, column)

    def _edit_text(self, row: LoadedRow | None, column: int) -> Any:
        return None if row is None else self._text(row, column)

    def _check_state(self, row: LoadedRow | None, column: int) -> Qt.CheckState | None:
        if row is None or column != COL_ACTIVE:
            return None
        return Qt.CheckState.Checked if self._active(row) else Qt.CheckState.Unchecked

    def _accessible_text(self, row: LoadedRow | None, column: int) -> str | None:
        """The cell's accessible name (what a screen reader says for it; None: its display text)."""
        if row is None:
            return None
        if column >= COL_MUST_CHANGE:  # the lifecycle columns: "yes" or "3" alone would say little
            said = spoken(row.record, column)
            return None if said is None else word(said)
        if column != COL_ACTIVE and column != COL_ROLE:
            return None
        edit = self._pending_edit(row)
        if column == COL_ROLE:
            role_text = None if edit is None else edit.role_text()
            return None if role_text is None else word(role_text)
        active = self._active(row)
        return word(edit.active_text(active) if edit is not None else (ACTIVE if active else INACTIVE))

    def _accessible_description(self, row: LoadedRow | None, _column: int) -> str | None:
        """Every cell of a row with unsaved changes describes them to assistive technology."""
        edit = self._pending_edit(row)
        return word(edit.spoken()) if edit is not None else None

    def _decoration(self, row: LoadedRow | None, column: int) -> QIcon | None:
        """The unsaved marker before a changed value."""
        if column != COL_ROLE and column != COL_ACTIVE:
            return None
        edit = self._pending_edit(row)
        return unsaved_marker() if edit is not None and _changes(edit, column) else None

    def _alignment(self, _row: LoadedRow | None, column: int) -> Qt.AlignmentFlag | None:
        return RIGHT_ALIGNED if column in _RIGHT_ALIGNED_COLUMNS else None

    def _font(self, row: LoadedRow | None, column: int) -> QFont | None:
        """Italic across a row with unsaved changes (in a script that has italics), bold in the changed cell."""
        edit = self._pending_edit(row)
        if edit is None:
            return None
        font = QFont()
        font.setBold(_changes(edit, column))
        font.setItalic(i18n.italics_read_well())
        return font

    def _background(self, row: LoadedRow | None, column: int) -> QBrush | None:
        edit = self._pending_edit(row)
        return QBrush(PENDING_BACKGROUND) if edit is not None and _changes(edit, column) else None

    def _tooltip(self, row: LoadedRow | None, _column: int) -> str | None:
        edit = self._pending_edit(row)
        return word(edit.summary()) if edit is not None else None

    def _user_id(self, row: LoadedRow | None, _column: int) -> int | None:
        return None if row is None else row.record.id

    def _record(self, row: LoadedRow | None, _column: int) -> UserRecord | None:
        return None if row is None else row.record

    def _is_pending(self, row: LoadedRow | None, column: int) -> bool | None:
        if row is None:
            return None
        edit = self._pending_edit(row)
        return edit is not None and _changes(edit, column)

    def _text(self, row: LoadedRow, column: int) -> Any:
        """The cell's text: a pending role change over the saved one, else the row's cached cells."""
        if column == COL_ROLE:
            edit = self._pending_edit(row)
            if edit is not None and edit.role is not None:
                return edit.role
        language = i18n.current_language()
        if language != self._cells_language:  # the language changed: every row is written anew
            self._cells_language = language
            self.cache.forget_cells()
        if row.cells is None:
            row.cells = shown_cells(row.record)
        return row.cells[column]

    def _active(self, row: LoadedRow) -> bool:
        edit = self._pending_edit(row)
        return edit.active if edit is not None and edit.active is not None else row.record.active

    def _pending_edit(self, row: LoadedRow | None) -> PendingEdit | None:
        if row is None or not self.pending.has_any:
            return None
        change = row.change
        return self.pending.for_record(
            row.record, change is not None and change == self.pending.bulk_change_id
        )

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        # Not cache.row(): Qt asks the flags of every selected row at once (a million after Ctrl+A), and
        # asking must not fetch them.
        if not self.cache.is_loaded(index.row()):
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
        change_id, in_change = request.change_id, self._fetch_page_in_change
        if change_id is not None and in_change is not None:
            self._runner.run(
                lambda: in_change(request.query, request.offset, request.limit, change_id),
                lambda page: self._loaded(request, page.records, page.in_change),
                self._failed,
                owner=self,
            )
            return
        fetch_page = self._fetch_page
        self._runner.run(
            lambda: fetch_page(request.query, request.offset, request.limit),
            lambda rows: self._loaded(request, rows),
            self._failed,
            owner=self,
        )

    def _loaded(self, request: PageRequest, rows: list[UserRecord], in_change: Sequence[bool] = ()) -> None:
        arrival = self.cache.arrived(request, rows, in_change)
        if arrival is None:
            return  # the query changed while this page was on its way
        self._show_rows(arrival.rows)
        if arrival.changed is not None:
            first, stop = arrival.changed
            # Rows that were loading now have all their data: every role the model serves.
            self.dataChanged.emit(
                self.index(first, 0), self.index(stop - 1, len(HEADERS) - 1), list(_ANSWERS)
            )
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
        if self._fetch_page_in_change is not None:
            # A newly staged change: the pages on screen are fetched again, with who is in it (see
            # PageCache.ask_about); until they arrive their rows are shown as they were.
            self.cache.ask_about(self.pending.bulk_change_id)
        if self.cache.rows:
            last = self.index(self.cache.rows - 1, len(HEADERS) - 1)
            self.dataChanged.emit(self.index(0, 0), last, PENDING_ROLES)
        self.pending_changed.emit(len(self.pending))

    def show_pending(self) -> None:
        """The pending edits were replaced (a bulk change staged or dropped): mark the rows anew."""
        self._pending_changed()


def _changes(edit: PendingEdit, column: int) -> bool:
    """Whether ``edit`` changes the value in ``column``."""
    if column == COL_ROLE:
        return edit.role is not None
    return column == COL_ACTIVE and edit.active is not None


_Answer = Callable[[UserTableModel, LoadedRow | None, int], Any]
# The roles the model serves, each answered by one method of the model.
_ANSWERS: dict[int, _Answer] = {
    Qt.ItemDataRole.DisplayRole: UserTableModel._display,
    Qt.ItemDataRole.EditRole: UserTableModel._edit_text,
    Qt.ItemDataRole.CheckStateRole: UserTableModel._check_state,
    Qt.ItemDataRole.AccessibleTextRole: UserTableModel._accessible_text,
    Qt.ItemDataRole.AccessibleDescriptionRole: UserTableModel._accessible_description,
    Qt.ItemDataRole.DecorationRole: UserTableModel._decoration,
    Qt.ItemDataRole.TextAlignmentRole: UserTableModel._alignment,
    Qt.ItemDataRole.FontRole: UserTableModel._font,
    Qt.ItemDataRole.BackgroundRole: UserTableModel._background,
    Qt.ItemDataRole.ToolTipRole: UserTableModel._tooltip,
    USER_ID_ROLE: UserTableModel._user_id,
    RECORD_ROLE: UserTableModel._record,
    PENDING_ROLE: UserTableModel._is_pending,
}
