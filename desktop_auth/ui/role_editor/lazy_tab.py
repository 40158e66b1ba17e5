"""What the Roles, Settings and History tabs share: each builds its contents the first time it is shown, so
opening the editor builds the Users tab only (the other three cost several ms of the GUI thread and about
2 MB, for tabs many visits never open); and the read-only table each of them shows."""

from __future__ import annotations

from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QAbstractItemView, QTableView, QWidget


def read_only_table(object_name: str, accessible: str, model: QStandardItemModel) -> QTableView:
    view = QTableView()
    view.setObjectName(object_name)
    view.setAccessibleName(accessible)
    view.setModel(model)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setAlternatingRowColors(True)
    view.verticalHeader().setVisible(False)
    view.horizontalHeader().setStretchLastSection(True)
    return view


class LazyTab(QWidget):
    """A tab page whose widgets are made by ``_build`` when it is first shown (or first needs them)."""

    def __init__(self, object_name: str) -> None:
        super().__init__()
        self.setObjectName(object_name)
        self._built = False

    @property
    def built(self) -> bool:
        return self._built

    def ensure_built(self) -> None:
        if not self._built:
            self._built = True
            self._build()

    def setVisible(self, visible: bool) -> None:
        # Not a Python showEvent: that makes PySide build QEvent's large enum (see FormDialog).
        if visible:
            self.ensure_built()
        super().setVisible(visible)

    def _build(self) -> None:
        raise NotImplementedError
