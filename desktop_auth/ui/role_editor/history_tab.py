"""The History tab (``historyTab``): the audit log, newest first, filterable, a page at a time, exportable."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QLineEdit, QVBoxLayout

from desktop_auth.services.audit_words import (
    describe_actor,
    describe_detail,
    describe_event,
    describe_target,
)
from desktop_auth.ui.role_editor.lazy_tab import LazyTab, read_only_table
from desktop_auth.ui.shell.announce import show_message
from desktop_auth.ui.shell.i18n import date_time, isolate, render, translate, translate_n
from desktop_auth.ui.shell.messages import describe
from desktop_auth.ui.shell.tasks import TaskRunner
from desktop_auth.ui.shell.widgets import button, styled_label

if TYPE_CHECKING:
    from desktop_auth.services.facade import Services
    from desktop_auth.services.records import Actor, AuditRecord


HISTORY_PAGE = 500


class HistoryTab(LazyTab):
    """The audit log, newest first, filterable, loaded a page at a time, exportable to CSV."""

    HEADERS = ("When", "Who", "Account / item", "What happened", "Detail")  # in English: headers() translates

    @staticmethod
    def headers() -> list[str]:
        """The history table's headings in the current language (HEADERS, in English)."""
        return [
            translate("HistoryTab", "When"),
            translate("HistoryTab", "Who"),
            translate("HistoryTab", "Account / item"),
            translate("HistoryTab", "What happened"),
            translate("HistoryTab", "Detail"),
        ]

    def __init__(self, runner: TaskRunner, services: Services, actor: Actor) -> None:
        super().__init__("historyTab")
        self._runner, self._services, self._actor = runner, services, actor
        # Pages are fetched under one key: a page asked for before a reload (or a second click) is dropped.
        self._page_key = f"history-page-{id(self)}"

    def _build(self) -> None:
        self.model = QStandardItemModel(0, len(self.HEADERS), self)
        self.model.setHorizontalHeaderLabels(self.headers())
        self.view = read_only_table("historyTable", self.tr("Audit history"), self.model)
        self.filter_edit = QLineEdit()
        self.filter_edit.setObjectName("historyFilterEdit")
        self.filter_edit.setAccessibleName(self.tr("Filter the history"))
        self.filter_edit.setPlaceholderText(self.tr("Who, whom or what…"))
        self.filter_edit.setClearButtonEnabled(True)
        label = QLabel(self.tr("Fil&ter:"))
        label.setBuddy(self.filter_edit)
        self.more_button = button(
            self.tr("Load &older"), "loadMoreHistoryButton", self.tr("Load older entries")
        )
        self.export_button = button(
            self.tr("E&xport CSV…"), "exportHistoryButton", self.tr("Export the history to CSV")
        )
        self.error_label = styled_label("", "error", "historyErrorLabel")
        self.error_label.hide()
        self.status_label = styled_label("", "subtitle", "historyStatusLabel")
        self.status_label.hide()
        top = QHBoxLayout()
        top.addWidget(label)
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.error_label, 1)
        bottom.addWidget(self.status_label, 1)
        bottom.addWidget(self.more_button)
        layout.addLayout(bottom)
        self.filter_edit.returnPressed.connect(self.reload)
        self.filter_edit.textChanged.connect(lambda _t: self.reload())
        self.more_button.clicked.connect(self.load_more)
        self.export_button.clicked.connect(self._export)

    def reload(self) -> None:
        self.ensure_built()
        self.model.removeRows(0, self.model.rowCount())
        self.load_more()

    def load_more(self) -> None:
        admin, actor, search = self._services.admin, self._actor, self.filter_edit.text().strip()
        offset = self.model.rowCount()
        self._runner.run(
            lambda: admin.audit_log(actor, search, HISTORY_PAGE, offset),
            self._append,
            self._failed,
            owner=self,
            key=self._page_key,
        )

    def _append(self, events: list[AuditRecord]) -> None:
        for event in events:
            detail = describe_detail(event.detail)  # the services' English note, in the person's language
            self.model.appendRow(
                [
                    QStandardItem(date_time(event.created_at, seconds=True)),
                    QStandardItem(render(describe_actor(event.actor))),
                    QStandardItem(render(describe_target(event))),
                    QStandardItem(render(describe_event(event))),
                    QStandardItem(render(detail) if detail is not None else ""),
                ]
            )
        self.more_button.setEnabled(len(events) == HISTORY_PAGE)
        self.view.resizeColumnsToContents()

    def _failed(self, error: Exception) -> None:
        self.status_label.hide()
        show_message(self.error_label, describe(error))

    def _exported(self, path: str, count: int) -> None:
        self.error_label.hide()
        self.status_label.setText(
            translate_n(
                "HistoryTab",
                "Exported {n} history row to {path}",
                "Exported {n} history rows to {path}",
                count,
            ).format(path=isolate(path))
        )
        self.status_label.show()

    def _export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, self.tr("Export history"), "history.csv", self.tr("CSV files") + " (*.csv)"
        )
        if path:
            self.export(path)

    def export(self, path: str) -> None:
        self.ensure_built()
        export, actor, search = self._services.export, self._actor, self.filter_edit.text().strip()

        def write() -> int:
            from desktop_auth.services.export import open_export_file  # created 0600: it names people

            with open_export_file(path) as out:
                return export.write_audit_csv(actor, search, out)

        self.status_label.hide()
        self._runner.run(write, lambda count: self._exported(path, count), self._failed, owner=self)
