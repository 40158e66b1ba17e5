"""A bar above the user table (``unfinishedBar``) offering a change to many users that stopped before its
end (a crash, a lost connection, a rule that refused a chunk): resume it or stop it there."""

from __future__ import annotations

from PySide6.QtCore import Signal, SignalInstance
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel

from desktop_auth.services.records import BulkChangeStatus, BulkState
from desktop_auth.ui.shell.widgets import button


class UnfinishedBar(QFrame):
    resume = Signal(object)  # the BulkChangeStatus to resume
    stop = Signal(object)  # the BulkChangeStatus to stop

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("unfinishedBar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self._change: BulkChangeStatus | None = None
        self.label = QLabel()
        self.label.setObjectName("unfinishedLabel")
        self.label.setWordWrap(True)
        self.resume_button = button("Res&ume", "resumeButton", "Resume the unfinished change")
        self.stop_button = button("S&top it", "stopChangeButton", "Stop the unfinished change where it is")
        layout = QHBoxLayout(self)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.resume_button)
        layout.addWidget(self.stop_button)
        self.resume_button.clicked.connect(lambda: self._emit(self.resume))
        self.stop_button.clicked.connect(lambda: self._emit(self.stop))
        self.hide()

    def show_change(self, change: BulkChangeStatus | None) -> None:
        self._change = change
        if change is not None:
            why = (
                f" It stopped: {change.message}"
                if change.state is BulkState.FAILED and change.message
                else ""
            )
            self.label.setText(
                f"An unfinished change ({change.describe_change()}) has reached {change.done:,} of "
                f"{change.total:,} users.{why}"
            )
        self.setVisible(change is not None)

    def _emit(self, signal: SignalInstance) -> None:
        if self._change is not None:
            signal.emit(self._change)
