"""A bar above the user table (``unfinishedBar``) offering a change to many users that stopped before its
end (a crash, a lost connection, a rule that refused a chunk): resume it or stop it there."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel

from desktop_auth.messages import Message
from desktop_auth.services.records import BulkChangeStatus, BulkState
from desktop_auth.ui.shell.i18n import number, render, translate_n
from desktop_auth.ui.shell.widgets import button

if TYPE_CHECKING:
    from desktop_auth.services.facade import Services
    from desktop_auth.services.records import Actor
    from desktop_auth.ui.shell.tasks import TaskRunner


class UnfinishedBar(QFrame):
    resume = Signal(object)  # the BulkChangeStatus to resume (the tab runs it, with its progress dialog)
    found = Signal(object)  # the list of unfinished BulkChangeStatus, after each check
    stopped = Signal(object)  # the BulkChangeStatus of a change stopped here
    failed = Signal(object)  # the Exception of a check or stop that failed

    def __init__(self, runner: TaskRunner, services: Services, actor: Actor) -> None:
        super().__init__()
        self.setObjectName("unfinishedBar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self._runner, self._services, self._actor = runner, services, actor
        self._change: BulkChangeStatus | None = None
        self.label = QLabel()
        self.label.setObjectName("unfinishedLabel")
        self.label.setWordWrap(True)
        self.resume_button = button(
            self.tr("Res&ume"), "resumeButton", self.tr("Resume the unfinished change")
        )
        self.stop_button = button(
            self.tr("S&top it"), "stopChangeButton", self.tr("Stop the unfinished change where it is")
        )
        layout = QHBoxLayout(self)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.resume_button)
        layout.addWidget(self.stop_button)
        self.resume_button.clicked.connect(self._resume)
        self.stop_button.clicked.connect(self._stop)
        self.hide()

    def check(self) -> None:
        """Look for changes that stopped before their end (here or on another client)."""
        bulk, actor = self._services.bulk, self._actor
        self._runner.run(lambda: bulk.unfinished(actor), self._found, self.failed.emit, owner=self)

    def _found(self, changes: list[BulkChangeStatus]) -> None:
        self.show_change(changes[0] if changes else None)
        self.found.emit(changes)

    def show_change(self, change: BulkChangeStatus | None) -> None:
        self._change = change
        if change is not None:
            count = change.total
            reached = translate_n(
                "UnfinishedBar",
                "An unfinished change ({change}) has reached {done} of {n} user.",
                "An unfinished change ({change}) has reached {done} of {n} users.",
                count,
            ).format(change=render(change.describe_change()), done=number(change.done))
            if change.state is BulkState.FAILED and change.message:
                reached = self.tr("{reached} It stopped: {reason}").format(
                    reached=reached, reason=_reason(change.message)
                )
            self.label.setText(reached)
        self.setVisible(change is not None)

    def _resume(self) -> None:
        change = self._change
        if change is not None:
            self.show_change(None)
            self.resume.emit(change)

    def _stop(self) -> None:
        change, bulk, actor = self._change, self._services.bulk, self._actor
        if change is None:
            return

        def stopped(status: BulkChangeStatus) -> None:
            self.stopped.emit(status)
            self.check()

        self._runner.run(lambda: bulk.cancel(actor, change.id), stopped, self.failed.emit, owner=self)


def _reason(reason: str | Message) -> str:
    """Why the change stopped: the services' words (a Message) in the person's language; text stored with
    the change (a database's refusal) as it is."""
    return render(reason) if isinstance(reason, Message) else reason
