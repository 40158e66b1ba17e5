# Over 300 lines: one dialog's four stages (choose, preview, import, save the passwords), each cancellable on the
# worker, and the preview's table model they show; the stages share the dialog's state.
"""Import users from a CSV file (objectName ``importUsersDialog``), opened by the Users tab's
``importUsersButton``.

Stages: choose a file (``chooseImportFileButton``; a file dialog the caller may replace, for tests), a
preview checked on the worker (``UserImportService.preview``) that lists every row with its problems in
``importPreviewTable`` (rows with problems highlighted and marked, the count said and announced: "3 of 120
rows have problems"; ``onlyProblemsCheck`` hides the others), then ``importConfirmButton``, enabled only
when no row has a problem: it asks where to save the passwords file, imports all the rows in one
transaction and writes each new account's temporary password to that file (readable only by its owner) on
the worker, and shows the result. When the file cannot be written, the passwords stay in memory until
``savePasswordsButton`` saves them elsewhere or the dialog closes (the message says to reset them then).
While the preview or the import runs, Cancel (or Escape) stops it: the work ends at its next check and
nothing is written.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop_auth.services import temporary_passwords
from desktop_auth.services.errors import ImportCancelledError
from desktop_auth.services.user_import import MAX_IMPORT_ROWS
from desktop_auth.ui.dialogs.form import FormDialog
from desktop_auth.ui.shell.announce import announce, show_message
from desktop_auth.ui.shell.i18n import (
    date_time,
    describe_error,
    isolate,
    number,
    numbering,
    render,
    translate,
    translate_n,
)
from desktop_auth.ui.shell.messages import describe
from desktop_auth.ui.shell.theme import is_dark
from desktop_auth.ui.shell.widgets import button, styled_label

if TYPE_CHECKING:
    from desktop_auth.services.facade import Services
    from desktop_auth.services.records import Actor, ImportPreview, ImportRow, UserImportResult
    from desktop_auth.ui.role_editor.users_tab import UsersTab
    from desktop_auth.ui.shell.tasks import TaskRunner

COL_LINE, COL_EMAIL, COL_ROLE, COL_PROBLEMS = range(4)
COLUMN_COUNT = 4
#: A row with problems: a red tint that keeps the theme's text readable (light: 12:1, dark: 10:1).
PROBLEM_BACKGROUND = {"light": "#fee2e2", "dark": "#4c1d1d"}
Index = QModelIndex | QPersistentModelIndex
ChooseFile = Callable[[QWidget], str]


def choose_csv_file(parent: QWidget) -> str:
    path, _ = QFileDialog.getOpenFileName(
        parent,
        translate("ImportUsersDialog", "Import users"),
        "",
        translate("ImportUsersDialog", "CSV files")
        + " (*.csv);;"
        + translate("ImportUsersDialog", "All files")
        + " (*)",
    )
    return path


def choose_passwords_file(parent: QWidget) -> str:
    path, _ = QFileDialog.getSaveFileName(
        parent,
        translate("ImportUsersDialog", "Save the temporary passwords"),
        "temporary-passwords.csv",
        translate("ImportUsersDialog", "CSV files") + " (*.csv)",
    )
    return path


class ImportPreviewModel(QAbstractTableModel):
    """The rows of a preview, read-only, for ``importPreviewTable``: one method per role (no ladder)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: tuple[ImportRow, ...] = ()

    def set_rows(self, rows: tuple[ImportRow, ...]) -> None:
        self.beginResetModel()
        self._rows = rows
        self.endResetModel()

    def row(self, row: int) -> ImportRow:
        return self._rows[row]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else COLUMN_COUNT

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, index.column())
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return self._spoken(row, index.column())
        if role == Qt.ItemDataRole.ToolTipRole and row.problems:
            return "\n".join(render(problem) for problem in row.problems)
        if role == Qt.ItemDataRole.BackgroundRole and row.problems:
            return QBrush(QColor(PROBLEM_BACKGROUND["dark" if is_dark() else "light"]))
        return None

    @staticmethod
    def _text(row: ImportRow, column: int) -> str:
        if column == COL_LINE:
            return f"⚠ {numbering(row.line)}" if row.problems else numbering(row.line)
        if column == COL_EMAIL:  # the file's text, kept in its own order ("=HYPERLINK(…)" inside Arabic)
            return isolate(row.email)
        if column == COL_ROLE:
            return isolate(row.role)
        return "; ".join(render(problem) for problem in row.problems) or translate("ImportPreviewModel", "OK")

    @staticmethod
    def _spoken(row: ImportRow, column: int) -> str:
        if column == COL_LINE:
            spoken = (
                translate("ImportPreviewModel", "line {line}, has problems")
                if row.problems
                else translate("ImportPreviewModel", "line {line}, no problems")
            )
            return spoken.format(line=numbering(row.line))
        return ImportPreviewModel._text(row, column)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            headers = (self.tr("Line"), self.tr("Email"), self.tr("Role"), self.tr("Problems"))
            return headers[section]
        return None


class ProblemRowsFilter(QSortFilterProxyModel):
    """Every row, or (``only_problems``) only the rows with problems: in a file of thousands, the few to fix."""

    def __init__(self, source: ImportPreviewModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._source = source
        self._only_problems = False
        self.setSourceModel(source)

    def set_only_problems(self, only: bool) -> None:
        self.beginFilterChange()
        self._only_problems = only
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        return not self._only_problems or bool(self._source.row(source_row).problems)


class ImportUsersDialog(FormDialog):
    """Choose a CSV file, see every row with its problems, then import them all (or none)."""

    #: Emitted with how many accounts were created.
    imported = Signal(int)

    def __init__(
        self,
        runner: TaskRunner,
        services: Services,
        actor: Actor,
        parent: QWidget | None = None,
        choose_file: ChooseFile | None = None,
        choose_output: ChooseFile | None = None,
    ) -> None:
        super().__init__(
            "importUsersDialog",
            self.tr("Import users"),
            self.tr("Create many accounts at once from a CSV file; each gets its own temporary password."),
            parent,
        )
        self._runner, self._services, self._actor = runner, services, actor
        # The file dialogs, replaceable (tests): by argument, or this module's functions when called.
        self._choose_file = choose_file or (lambda parent: choose_csv_file(parent))
        self._choose_output = choose_output or (lambda parent: choose_passwords_file(parent))
        self._preview: ImportPreview | None = None
        self._path = ""
        self._stop = threading.Event()
        self._done = False
        self._unsaved: UserImportResult | None = None  # an import's passwords not yet in a file
        self.save_button: QPushButton | None = None
        self.model = ImportPreviewModel(self)
        self.show_notice(
            self.tr(
                "The file is UTF-8 text whose first line names the columns: {columns} ({role_column} may be "
                "left out; then the role is {default_role}). At most {rows} rows. Every row is checked first; "
                "nothing is imported until no row has a problem, and then all of them are, or none."
            ).format(  # the column names and the role are the file's words, the same in every language
                columns=isolate("email,role"),
                role_column=isolate("role"),
                default_role=isolate("user"),
                rows=number(MAX_IMPORT_ROWS),
            )
        )
        self._build()

    def _build(self) -> None:
        self.choose_button = button(
            self.tr("&Choose file…"), "chooseImportFileButton", self.tr("Choose the CSV file to import")
        )
        self.file_label = QLabel(self.tr("No file chosen."))
        self.file_label.setObjectName("importFileLabel")
        self.file_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        file_row = QWidget()
        file_layout = QHBoxLayout(file_row)
        file_layout.setContentsMargins(0, 0, 0, 0)
        file_layout.addWidget(self.choose_button)
        file_layout.addWidget(self.file_label, 1)
        self.add_row_widget(file_row)
        self._inputs.remove(file_row)
        self._inputs.append(self.choose_button)

        table = QTableView()
        table.setObjectName("importPreviewTable")
        table.setAccessibleName(self.tr("Rows of the file"))
        self.rows = ProblemRowsFilter(self.model, self)
        table.setModel(self.rows)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setTabKeyNavigation(False)  # Tab leaves the table for the buttons
        table.verticalHeader().setVisible(False)
        table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        table.horizontalHeader().setStretchLastSection(True)
        table.setMinimumHeight(200)
        self.table = table
        label = QLabel(self.tr("&Rows:"))
        label.setBuddy(table)
        self.summary_label = styled_label("", "subtitle", "importSummaryLabel")  # its name is its text
        self.summary_label.hide()
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        self.only_problems_check = QCheckBox(self.tr("&Only rows with problems"))
        self.only_problems_check.setObjectName("onlyProblemsCheck")
        self.only_problems_check.setAccessibleName(self.tr("Show only the rows with problems"))
        self.only_problems_check.setEnabled(False)
        self.only_problems_check.toggled.connect(self.rows.set_only_problems)
        heading = QHBoxLayout()
        heading.addWidget(label)
        heading.addStretch(1)
        heading.addWidget(self.only_problems_check)
        column.addLayout(heading)
        column.addWidget(table, 1)
        column.addWidget(self.summary_label)
        self.form.addRow(box)
        self._inputs.extend((self.only_problems_check, table))
        self.give_the_form_the_height()

        self.confirm_button = self.add_button(
            button(self.tr("&Import"), "importConfirmButton", self.tr("Import every row")),
            QDialogButtonBox.ButtonRole.AcceptRole,
        )
        self.confirm_button.setEnabled(False)
        # Cancel is not one of the inputs the busy state disables: it stops the work in progress.
        self.cancel_button = QPushButton(self.tr("Cancel"))
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.setAccessibleName(self.tr("Cancel"))
        self.buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.choose_button.clicked.connect(self.choose)
        self.confirm_button.clicked.connect(self.submit)
        self.resize(760, 560)

    # -- the preview ---------------------------------------------------------------------------------

    def choose(self) -> None:
        if self.busy or self._done:
            return
        path = self._choose_file(self)
        if path:
            self.load(path)

    def load(self, path: str) -> None:
        """Check the file at ``path`` on the worker and show every row with its problems."""
        if self.busy or self._done:
            return
        self._path = path
        self._preview = None
        self.model.set_rows(())
        self.file_label.setText(path)
        self.clear_errors()
        self._show_summary("")
        self._stop.clear()
        stop = self._stop.is_set
        service, actor = self._services.user_import, self._actor
        self.set_busy(True, self.tr("Checking every row…"))
        self._runner.run(
            lambda: service.preview_file(actor, path, stop), self._previewed, self._failed, owner=self
        )

    def _previewed(self, preview: ImportPreview) -> None:
        self.set_busy(False)
        self._preview = preview
        self.model.set_rows(preview.rows)
        self._fit_columns()
        total, bad = len(preview.rows), preview.rows_with_problems
        if preview.file_problems:
            self.show_error(" ".join(render(problem) for problem in preview.file_problems))
        if preview.ok:
            summary = translate_n(
                "ImportUsersDialog",
                "No problems: {n} row ready to import.",
                "No problems: {n} rows ready to import.",
                total,
            )
        elif total == 1:
            summary = self.tr("1 of 1 row has problems.")
        elif total:
            # The verb agrees with the rows that have problems; {total} is 2 or more.
            summary = translate_n(
                "ImportUsersDialog",
                "{n} of {total} rows has problems.",
                "{n} of {total} rows have problems.",
                bad,
            ).format(total=number(total))
        else:
            summary = ""
        self._show_summary(summary)
        self._update_confirm()
        first = next(
            (number for number, row in enumerate(preview.rows) if row.problems), 0 if total else None
        )
        if first is not None:
            shown_row = self.rows.mapFromSource(self.model.index(first, 0)).row()
            self.table.selectRow(shown_row)
            self.table.scrollTo(self.rows.index(shown_row, 0))
        (self.confirm_button if preview.ok else self.table if total else self.choose_button).setFocus()

    def _fit_columns(self) -> None:
        """Line, email and role as wide as the rows in view need (the current cell's focus frame too), the
        problems take the rest."""
        for column in (COL_LINE, COL_EMAIL, COL_ROLE):
            self.table.resizeColumnToContents(column)
            self.table.setColumnWidth(column, self.table.columnWidth(column) + 12)

    def _show_summary(self, text: str) -> None:
        show_message(self.summary_label, text, assertive=False)

    def _update_confirm(self) -> None:
        self.only_problems_check.setEnabled(
            not self.busy and self._preview is not None and self._preview.rows_with_problems > 0
        )
        self.confirm_button.setEnabled(
            not self.busy and not self._done and self._preview is not None and self._preview.ok
        )

    # -- the import ----------------------------------------------------------------------------------

    def submit(self) -> None:
        preview = self._preview
        if self.busy or self._done or preview is None or not preview.ok:
            return
        output = self._choose_output(self)
        if not output:
            return
        self.clear_errors()
        self._stop.clear()
        stop = self._stop.is_set
        service, actor = self._services.user_import, self._actor

        def work() -> tuple[UserImportResult, temporary_passwords.ExportFailedError | None]:
            result = service.import_users(actor, preview, stop)
            try:
                temporary_passwords.write_csv(output, result.passwords)
            except temporary_passwords.ExportFailedError as error:
                return result, error
            return result, None

        count = len(preview.rows)
        self.set_busy(
            True,
            translate_n("ImportUsersDialog", "Importing {n} account…", "Importing {n} accounts…", count),
        )
        self._runner.run(work, lambda outcome: self._imported(outcome, output), self._failed, owner=self)

    def _imported(
        self, outcome: tuple[UserImportResult, temporary_passwords.ExportFailedError | None], output: str
    ) -> None:
        result, write_problem = outcome
        self.set_busy(False)
        self._done = True
        self._update_confirm()
        self.confirm_button.hide()
        self.choose_button.setEnabled(False)
        self.cancel_button.setText(self.tr("C&lose"))
        self.cancel_button.setAccessibleName(self.tr("Close"))
        count = result.count
        self.show_notice(
            translate_n("ImportUsersDialog", "Imported {n} account.", "Imported {n} accounts.", count)
        )
        if write_problem is None:
            self._saved(result, output)
        else:
            self._not_saved(result, describe_error(write_problem))
        self.imported.emit(result.count)

    def _saved(self, result: UserImportResult, output: str) -> None:
        self._unsaved = None
        if self.save_button is not None:
            self.save_button.hide()
        self.show_error("")
        count = result.count
        self.show_notice(
            translate_n(
                "ImportUsersDialog",
                "Imported {n} account. Their temporary passwords are in {output} (readable only by you); each must "
                "be changed at the first sign-in and expires at {expires}.",
                "Imported {n} accounts. Their temporary passwords are in {output} (readable only by you); each "
                "must be changed at the first sign-in and expires at {expires}.",
                count,
            ).format(output=isolate(output), expires=date_time(result.passwords.expires_at))
        )
        self.cancel_button.setFocus()

    def _not_saved(self, result: UserImportResult, problem: str) -> None:
        """The accounts exist but their passwords are only in memory: offer to save them elsewhere."""
        self._unsaved = result
        if self.save_button is None:
            self.save_button = self.add_button(
                button(
                    self.tr("&Save passwords…"),
                    "savePasswordsButton",
                    self.tr("Save the temporary passwords to a file"),
                ),
                QDialogButtonBox.ButtonRole.ActionRole,
            )
            self.save_button.clicked.connect(self.save_passwords)
        self.save_button.show()
        self.show_error(
            self.tr(
                "The passwords could not be saved: {problem} Choose another place with Save passwords. If you "
                "close this window first, reset those accounts' passwords to give them new ones."
            ).format(problem=problem)
        )
        self.save_button.setFocus()

    def save_passwords(self) -> None:
        """Try again to write the passwords of the import just made (kept in memory until then)."""
        result = self._unsaved
        if result is None or self.busy:
            return
        output = self._choose_output(self)
        if not output:
            return

        def write() -> temporary_passwords.ExportFailedError | None:
            try:
                temporary_passwords.write_csv(output, result.passwords)
            except temporary_passwords.ExportFailedError as error:
                return error
            return None

        def written(problem: temporary_passwords.ExportFailedError | None) -> None:
            self.set_busy(False)
            self.choose_button.setEnabled(False)
            if problem is None:
                self._saved(result, output)
            else:
                self._not_saved(result, describe_error(problem))

        self.set_busy(True, self.tr("Saving the passwords…"))
        self._runner.run(write, written, self._failed, owner=self)

    def _failed(self, error: BaseException) -> None:
        self.set_busy(False)
        self._update_confirm()
        if isinstance(error, ImportCancelledError):
            self.show_notice(describe_error(error))
            return
        self.show_error(describe(error))

    # -- state ---------------------------------------------------------------------------------------

    def set_busy(self, busy: bool, status: str = "") -> None:
        super().set_busy(busy, status)
        self._update_confirm()

    def reject(self) -> None:
        """Cancel: while work runs it stops at its next check (nothing is written); otherwise closes."""
        if self.busy:
            if not self._stop.is_set():
                self._stop.set()
                cancelling = self.tr("Cancelling…")
                self.status_label.setText(cancelling)
                announce(self.status_label, cancelling)
            return
        super().reject()


def open_import_dialog(tab: UsersTab) -> ImportUsersDialog:
    """Open the dialog over the Users tab; the table reloads once accounts were created."""
    dialog = ImportUsersDialog(tab.runner, tab.services, tab.actor, parent=tab)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def imported(count: int) -> None:
        tab.message.emit(
            translate_n("ImportUsersDialog", "Imported {n} account.", "Imported {n} accounts.", count), 10_000
        )
        tab.model.reload()

    dialog.imported.connect(imported)
    dialog.open()
    return dialog


def add_import_button(tab: UsersTab) -> QPushButton:
    """Put the Users tab's ``importUsersButton`` at the end of its action bar (beside Export CSV)."""
    push = button(
        translate("ImportUsersDialog", "&Import CSV…"),
        "importUsersButton",
        translate("ImportUsersDialog", "Import users from a CSV file"),
    )
    push.clicked.connect(lambda: open_import_dialog(tab))
    layout = tab.action_bar.layout()
    if layout is not None:
        layout.addWidget(push)
    return push
