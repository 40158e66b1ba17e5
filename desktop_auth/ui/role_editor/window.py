"""The administrators' window (objectName ``roleEditor``): the Users tab with the pending edits, and the
Roles, Settings and History tabs; the status bar, the shortcuts (F5, Ctrl+S), and the question about unsaved
edits on closing.

Every change goes through the services, which check again that the person is an active administrator;
hiding this window from others is a convenience, not the protection.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeyEvent, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMessageBox, QTabWidget, QWidget

from desktop_auth.ui.role_editor.history_tab import HistoryTab
from desktop_auth.ui.role_editor.roles_tab import RolesTab
from desktop_auth.ui.role_editor.settings_tab import SettingsTab
from desktop_auth.ui.role_editor.users_tab import UsersTab
from desktop_auth.ui.shell import settings_store
from desktop_auth.ui.shell.announce import announce
from desktop_auth.ui.shell.i18n import translate_n
from desktop_auth.ui.shell.messages import describe
from desktop_auth.ui.shell.tasks import TaskRunner
from desktop_auth.ui.shell.widgets import AppWindow

if TYPE_CHECKING:
    from desktop_auth.services.facade import Services
    from desktop_auth.services.records import Actor, RoleRecord


class RoleEditor(AppWindow, QMainWindow):
    closed = Signal()

    def __init__(
        self, runner: TaskRunner, services: Services, actor: Actor, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("roleEditor")
        self.setWindowTitle(self.tr("Role editor — desktop-auth"))
        self.setAccessibleName(self.tr("Role editor"))
        self._runner = runner
        self._services = services
        self._actor = actor
        self._closing_confirmed = False

        self.users_tab = UsersTab(runner, services, actor)
        self.model = self.users_tab.model
        self.table = self.users_tab.table
        self.tabs = QTabWidget()
        self.tabs.setObjectName("roleEditorTabs")
        # Each tab's letter is unique in the window: no control on any page uses s, e, g or h.
        self.tabs.addTab(self.users_tab, self.tr("U&sers"))
        self.roles_tab = RolesTab(runner, services, actor, on_change=self._load_roles)
        self.tabs.addTab(self.roles_tab, self.tr("Rol&es"))
        self.settings_tab = SettingsTab(runner, services, actor)
        self.tabs.addTab(self.settings_tab, self.tr("Settin&gs"))
        self.history_tab = HistoryTab(runner, services, actor)
        self.tabs.addTab(self.history_tab, self.tr("&History"))
        self.tabs.currentChanged.connect(self._tab_changed)
        self.setCentralWidget(self.tabs)
        self.setMinimumHeight(560)  # the width follows the layout: the user table fits all its columns
        # The first time (afterwards the remembered geometry wins): wide enough for every column of the user
        # table when the screen allows (the lifecycle columns are not part of its minimum width).
        beyond_minimum = self.table.full_width - self.table.minimumWidth()
        available = self.screen().availableGeometry().width()
        self.resize(max(1180, min(self.minimumSizeHint().width() + beyond_minimum, available)), 660)
        self._build_status_bar()

        refresh = QAction(self.tr("Refresh"), self)
        refresh.setShortcut(QKeySequence(QKeySequence.StandardKey.Refresh))
        refresh.triggered.connect(self.refresh)
        self.addAction(refresh)
        save = QAction(self.tr("Save"), self)
        save.setShortcut(QKeySequence(QKeySequence.StandardKey.Save))
        save.triggered.connect(self.save)
        self.addAction(save)
        close = QAction(self.tr("Close"), self)  # Ctrl+W (and the platform's Close); Escape: keyPressEvent
        keys = QKeySequence.keyBindings(QKeySequence.StandardKey.Close)
        close.setShortcuts(keys if QKeySequence("Ctrl+W") in keys else [QKeySequence("Ctrl+W"), *keys])
        close.triggered.connect(self.close)  # closing asks about unsaved changes
        self.addAction(close)
        self.users_tab.refresh_requested.connect(self.refresh)
        self.users_tab.roles_outdated.connect(self._load_roles)
        self.users_tab.message.connect(self.statusBar().showMessage)
        # Fetched once the window is built, on the next turn of the event loop: a worker started earlier only
        # takes turns with the building at the interpreter lock, which lengthens this pause without getting
        # the rows any sooner.
        QTimer.singleShot(0, self, self._start_loading)

    def _start_loading(self) -> None:
        self.model.reload()
        self._load_roles()

    def _build_status_bar(self) -> None:
        # In the window's status bar, not in the Users page: a label whose text changes inside a QTabWidget
        # page makes the tab widget lay itself out and repaint the whole window (each count, selection and
        # staged edit). One line, no wrapping, so the bar's height never changes with the text.
        bar = self.statusBar()
        bar.setObjectName("roleEditorStatusBar")
        bar.addPermanentWidget(self.users_tab.busy_bar)
        bar.addPermanentWidget(self.users_tab.status_label)
        # The Users tab announces its own error and status (users_tab.py); the status bar's messages here.
        bar.messageChanged.connect(lambda text: announce(bar, text))

    # -- what the tabs share -------------------------------------------------------------------------

    def _load_roles(self) -> None:
        def loaded(roles: list[RoleRecord]) -> None:
            self.users_tab.show_roles(roles)
            self.roles_tab.show_roles(roles)

        def failed(error: BaseException) -> None:
            self.users_tab.show_error(describe(error))

        self._runner.run(self._services.roles.list_roles, loaded, failed, owner=self)

    @property
    def roles_loaded(self) -> bool:
        return self.users_tab.roles_loaded

    def refresh(self) -> None:
        self.users_tab.show_error("")
        self._load_roles()
        current = self.tabs.currentWidget()
        if current is self.history_tab:
            self.history_tab.reload()
        elif current is self.settings_tab:
            self.settings_tab.reload()
        else:
            self.model.reload()

    def _tab_changed(self, _index: int) -> None:
        current = self.tabs.currentWidget()
        if current is self.history_tab:
            self.history_tab.reload()
        elif current is self.settings_tab:
            self.settings_tab.reload()

    # -- the Users tab, as scripts and tests drive it -----------------------------------------------

    def save(self) -> None:
        self.users_tab.save()

    def export_users(self, path: str) -> None:
        self.users_tab.export_users(path)

    def select_rows(self, rows: list[int]) -> None:
        """Select these rows (used by keyboard shortcuts and tests)."""
        self.users_tab.select_rows(rows)

    # -- window --------------------------------------------------------------------------------------

    def setVisible(self, visible: bool) -> None:
        super().setVisible(visible)  # RestoresGeometry puts it where it was
        if visible:
            # Showing posts layout requests (the tab widget's, the status bar's) that Qt would handle after
            # the first paint, and each would then repaint the whole window: lay out now, paint once.
            QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """Escape closes the window (asking about unsaved changes), as it closes a dialog. It arrives here
        only when the focused control did not use it: an open cell editor or list cancels with it first."""
        if event.key() == Qt.Key.Key_Escape and event.modifiers() == Qt.KeyboardModifier.NoModifier:
            self.close()
            return
        super().keyPressEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.model.pending and not self._closing_confirmed:
            count = len(self.model.pending)
            answer = QMessageBox.question(
                self,
                self.tr("Unsaved changes"),
                translate_n(
                    "RoleEditor",
                    "{n} change is not saved. Save before closing?",
                    "{n} changes are not saved. Save before closing?",
                    count,
                ),
                QMessageBox.StandardButton.Save
                | QMessageBox.StandardButton.Discard
                | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Save,
            )
            if answer == QMessageBox.StandardButton.Cancel:
                event.ignore()
                return
            if answer == QMessageBox.StandardButton.Save:
                event.ignore()
                self.save()
                return
            self.users_tab.revert()  # also forgets a staged change to many users in the database
        settings_store.save_geometry(self)
        self.closed.emit()
        super().closeEvent(event)

    def close_without_asking(self) -> None:
        """Close even with pending edits (the session ended or lost its admin role)."""
        self._closing_confirmed = True
        self.close()
