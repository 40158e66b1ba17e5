"""The filters above the user table: email text (applied once typing pauses), "starts with", role; and
Refresh. The database does the filtering."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QLineEdit, QToolButton, QWidget

from desktop_auth.services.records import UserQuery
from desktop_auth.ui.shell.widgets import button

ALL_ROLES = ""
FILTER_DELAY_MS = 300


def name_clear_button(edit: QLineEdit, name: str) -> None:
    """Give the line edit's clear button (Qt's, created by setClearButtonEnabled) a name and a tooltip:
    Qt leaves it unnamed, so a screen reader says only "button"."""
    for clear in edit.findChildren(QToolButton):
        clear.setObjectName(f"{edit.objectName()}ClearButton")
        clear.setAccessibleName(name)
        clear.setToolTip(name)


class FilterBar(QWidget):
    changed = Signal()  # a filter changed (the text once typing pauses, or Enter)
    refresh_requested = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.filter_edit = QLineEdit()
        self.filter_edit.setObjectName("filterEdit")
        self.filter_edit.setAccessibleName(self.tr("Filter by email"))
        self.filter_edit.setPlaceholderText(self.tr("Email contains…"))
        self.filter_edit.setClearButtonEnabled(True)
        name_clear_button(self.filter_edit, self.tr("Clear the filter"))
        filter_label = QLabel(self.tr("&Filter:"))
        filter_label.setBuddy(self.filter_edit)
        self.prefix_check = QCheckBox(self.tr("Starts &with"))
        self.prefix_check.setObjectName("prefixCheck")
        self.prefix_check.setAccessibleName(self.tr("Match only the start of the address"))
        self.prefix_check.setToolTip(self.tr("Match the start of the address (fastest on very large tables)"))
        self.role_filter = QComboBox()
        self.role_filter.setObjectName("roleFilterCombo")
        # The roles arrive after it first shows: as wide as the longest of them ("Alle Rollen") once they do.
        self.role_filter.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.role_filter.setAccessibleName(self.tr("Show role"))
        role_label = QLabel(self.tr("Ro&le:"))
        role_label.setBuddy(self.role_filter)
        self.refresh_button = button(
            self.tr("Refresh"), "refreshButton", self.tr("Refresh")
        )  # F5; every letter of it is taken
        self.refresh_button.setToolTip(self.tr("Reload from the database (F5)"))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(filter_label)
        layout.addWidget(self.filter_edit, 1)
        layout.addWidget(self.prefix_check)
        layout.addWidget(role_label)
        layout.addWidget(self.role_filter)
        layout.addWidget(self.refresh_button)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(FILTER_DELAY_MS)
        self._timer.timeout.connect(self._changed)
        self.filter_edit.textChanged.connect(lambda _t: self._timer.start())
        self.filter_edit.returnPressed.connect(self._changed)
        self.role_filter.activated.connect(lambda _i: self._changed())
        self.prefix_check.toggled.connect(lambda _on: self._changed())
        self.refresh_button.clicked.connect(lambda: self.refresh_requested.emit())

    def _changed(self) -> None:
        self._timer.stop()
        self.changed.emit()

    def query(self, current: UserQuery) -> UserQuery:
        """``current`` with these filters (its order kept)."""
        role = self.role_filter.currentData() or None
        return replace(
            current, search=self.filter_edit.text().strip(), prefix=self.prefix_check.isChecked(), role=role
        )

    def show_roles(self, names: list[str]) -> None:
        current = self.role_filter.currentData()
        self.role_filter.clear()
        self.role_filter.addItem(self.tr("All roles"), ALL_ROLES)
        for name in names:
            self.role_filter.addItem(name, name)
        self.role_filter.setCurrentIndex(max(0, self.role_filter.findData(current)))
