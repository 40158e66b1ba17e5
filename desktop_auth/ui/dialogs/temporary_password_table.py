"""The table of new temporary passwords in ``temporaryPasswordDialog``: the read-only model of (email,
password) rows, and the view that copies the selected rows on Ctrl+C."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QFontDatabase, QKeyEvent, QKeySequence
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

if TYPE_CHECKING:
    from desktop_auth.services.records import TemporaryPassword

COL_EMAIL, COL_PASSWORD = range(2)
COLUMN_COUNT = 2
Index = QModelIndex | QPersistentModelIndex


class TemporaryPasswordModel(QAbstractTableModel):
    """Read-only rows of (email, temporary password) for ``temporaryPasswordTable``; holds them until
    ``clear``."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._entries: tuple[TemporaryPassword, ...] = ()
        self._password_font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)

    def set_entries(self, entries: tuple[TemporaryPassword, ...]) -> None:
        self.beginResetModel()
        self._entries = entries
        self.endResetModel()

    def clear(self) -> None:
        self.set_entries(())

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._entries)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else COLUMN_COUNT

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            entry = self._entries[index.row()]
            return entry.email if index.column() == COL_EMAIL else entry.password
        if role == Qt.ItemDataRole.FontRole and index.column() == COL_PASSWORD:
            return self._password_font  # a fixed-width font tells similar characters apart
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.tr("Email") if section == COL_EMAIL else self.tr("Temporary password")
        return None

    def as_text(self, rows: Iterable[int]) -> str:
        """The rows as tab-separated lines of email and password, for the clipboard."""
        return "".join(f"{self._entries[row].email}\t{self._entries[row].password}\n" for row in rows)


class PasswordTable(QTableView):
    """The table of new passwords (``temporaryPasswordTable``): Ctrl+C copies the selected rows, both
    columns."""

    copy_requested = Signal()

    def __init__(self, model: TemporaryPasswordModel) -> None:
        super().__init__()
        self.setObjectName("temporaryPasswordTable")
        self.setAccessibleName(self.tr("Temporary passwords"))
        self.setModel(model)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setAlternatingRowColors(True)
        self.setTabKeyNavigation(False)  # Tab leaves the table for the buttons
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.horizontalHeader().setStretchLastSection(True)
        self.resizeColumnToContents(COL_EMAIL)  # measures the rows in view, not all of them
        self.setMinimumHeight(220)

    def selected_rows(self) -> list[int]:
        # From the selection's ranges: selectedRows() would build one index per row (a second at 100,000).
        rows: set[int] = set()
        selection = self.selectionModel().selection()
        for position in range(selection.count()):
            selected = selection.at(position)
            rows.update(range(selected.top(), selected.bottom() + 1))
        return sorted(rows)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.matches(QKeySequence.StandardKey.Copy):
            self.copy_requested.emit()
            event.accept()
            return
        super().keyPressEvent(event)
