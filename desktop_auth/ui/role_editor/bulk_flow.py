"""The Users tab's changes to many users at once (``desktop_auth.services.bulk``), off the GUI thread.

Staging asks the database to take its snapshot of the selected users (seconds at a million); applying runs
the job with a progress dialog (``bulkProgressDialog``) whose Cancel stops it between chunks; an unfinished
job (the client crashed, the connection dropped, a rule refused a chunk) is offered again by the tab.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer, Slot
from PySide6.QtWidgets import QMessageBox, QProgressDialog, QWidget

from desktop_auth.messages import message
from desktop_auth.services.errors import NotFoundError, SelfDemotionError
from desktop_auth.services.records import BulkChangeStatus, BulkSelection, BulkState, UserEdit
from desktop_auth.ui.role_editor.core.pending_edits import PendingBulk, PendingEdits
from desktop_auth.ui.role_editor.core.selection import Selection
from desktop_auth.ui.shell.i18n import isolate, number, render, translate_n
from desktop_auth.ui.shell.messages import log_only

if TYPE_CHECKING:
    from desktop_auth.services.facade import Services
    from desktop_auth.services.records import Actor
    from desktop_auth.ui.shell.tasks import TaskRunner

OnStatus = Callable[[BulkChangeStatus], None]
OnError = Callable[[Exception], None]


def outcome_text(status: BulkChangeStatus) -> tuple[str, str]:
    """What to tell the person when a change ends: (done message, warning about conflicts or '')."""
    if status.state is BulkState.CANCELLED:
        count = status.changed
        done = translate_n(
            "BulkFlow",
            "Stopped: changed {n} user of {total}; the others are as they were.",
            "Stopped: changed {n} users of {total}; the others are as they were.",
            count,
        ).format(total=number(status.total))
    else:
        count = status.changed
        done = translate_n(
            "BulkFlow", "Changed {n} user ({change}).", "Changed {n} users ({change}).", count
        ).format(change=render(status.describe_change()))
    if not status.conflicts:
        return done, ""
    names = ", ".join(isolate(email) for email in status.conflict_emails)
    more = status.conflicts - len(status.conflict_emails)
    if more > 0:
        names = translate_n("BulkFlow", "{emails} and {n} more", "{emails} and {n} more", more).format(
            emails=names
        )
    count = status.conflicts
    return done, translate_n(
        "BulkFlow",
        "{n} user was left alone because someone else changed them after you selected them: {emails}. "
        "Review them and try again.",
        "{n} users were left alone because someone else changed them after you selected them: {emails}. "
        "Review them and try again.",
        count,
    ).format(emails=names)


class _LatestProgress:
    """How far a change has got, left here by the worker for the GUI thread to read: the worker touches no
    Qt (a signal of a window closed meanwhile would end the change with an error between two chunks). One
    tuple, replaced whole: no lock needed."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value: tuple[int, int] | None = None

    def report(self, status: BulkChangeStatus) -> None:
        self.value = (status.done, status.total)


class BulkFlow(QObject):
    PROGRESS_POLL_MS = 100  # how often the progress dialog reads how far the change has got

    def __init__(self, runner: TaskRunner, services: Services, actor: Actor, parent: QWidget) -> None:
        super().__init__(parent)
        self._runner = runner
        self._services = services
        self._actor = actor
        self._window = parent
        self._dialog: QProgressDialog | None = None
        self._stop = threading.Event()
        self._latest = _LatestProgress()
        self._progress_timer = QTimer(self)
        self._progress_timer.setInterval(self.PROGRESS_POLL_MS)
        self._progress_timer.timeout.connect(self._poll_progress)

    @property
    def running(self) -> bool:
        return self._dialog is not None

    def stage(
        self,
        selection: BulkSelection,
        role: str | None,
        active: bool | None,
        on_staged: OnStatus,
        on_error: OnError,
    ) -> None:
        bulk, actor = self._services.bulk, self._actor
        self._runner.run(lambda: bulk.stage(actor, selection, role, active), on_staged, on_error, owner=self)

    def stage_selection(
        self,
        pending: PendingEdits,
        selection: Selection,
        role: str | None,
        active: bool | None,
        on_staged: Callable[[Exception | None], None],
    ) -> str | None:
        """Stage a change for ``selection`` as a query (nothing fetched); ``pending.bulk`` holds it once
        ``on_staged(None)`` is called (``on_staged(error)`` when it failed). Returns why not, when another bulk change is waiting to be saved."""
        request = selection.as_request()
        waiting = pending.bulk
        if waiting is not None:
            if waiting.selection != request or waiting.overridden:
                return self.tr(
                    "Save or revert the unsaved change ({change}) before changing other users."
                ).format(change=render(waiting.summary()))
            # The same users again: one change doing both (staged anew; the old one is forgotten).
            role = role if role is not None else waiting.role
            active = active if active is not None else waiting.active
            self.discard(waiting.change_id)
            pending.bulk = None

        def staged(status: BulkChangeStatus) -> None:
            if status.total:
                pending.bulk = PendingBulk(status.id, request, status.total, role, active)
                on_staged(None)
            else:
                self.discard(status.id)
                on_staged(NotFoundError(message("BulkFlow", "None of the selected users is there any more.")))

        self.stage(request, role, active, staged, lambda error: on_staged(error))
        return None

    def save(
        self,
        edits: list[UserEdit],
        bulk: PendingBulk | None,
        on_saved: Callable[[int], None],
        on_bulk_saved: OnStatus,
        on_error: OnError,
    ) -> None:
        """Save the edits of single users (all or nothing), then the bulk change; users edited one by one
        are left out of the bulk change first (their own edit wins)."""
        admin, actor = self._services.admin, self._actor

        def save_bulk() -> None:
            assert bulk is not None
            staged = BulkChangeStatus(bulk.change_id, bulk.role, bulk.active, BulkState.STAGED, bulk.total)
            self.apply(staged, on_bulk_saved, on_error)

        def save_singles() -> None:
            if not edits:
                save_bulk()
                return
            self._runner.run(
                lambda: admin.apply_edits(actor, edits, return_records=False),
                lambda _r: save_bulk() if bulk is not None else on_saved(len(edits)),
                on_error,
                owner=self,
            )

        if bulk is not None:
            self.exclude_then(bulk.change_id, sorted(bulk.overridden), save_singles, on_error)
        else:
            save_singles()

    def exclude_then(
        self, change_id: int, user_ids: list[int], then: Callable[[], None], on_error: OnError
    ) -> None:
        """Leave these users (edited one by one) out of the staged change, then go on."""
        if not user_ids:
            then()
            return
        bulk, actor = self._services.bulk, self._actor
        self._runner.run(
            lambda: bulk.exclude(actor, change_id, user_ids), lambda _s: then(), on_error, owner=self
        )

    def discard(self, change_id: int) -> None:
        """Forget a staged change in the background (a failure only delays it: the database purges it)."""
        bulk, actor = self._services.bulk, self._actor
        self._runner.run(lambda: bulk.discard(actor, change_id), lambda _r: None, log_only, owner=self)

    def apply(
        self, status: BulkChangeStatus, on_done: OnStatus, on_error: OnError, confirmed: bool = False
    ) -> None:
        """Apply (or resume) the change with a progress dialog; asks first when it would take away the
        person's own administrator role."""
        self._stop.clear()
        count = status.total
        dialog = QProgressDialog(
            translate_n(
                "BulkFlow", "Applying {change} to {n} user…", "Applying {change} to {n} users…", count
            ).format(change=render(status.describe_change())),
            self.tr("&Cancel"),
            0,
            max(1, status.total),
            self._window,
        )
        dialog.setObjectName("bulkProgressDialog")
        dialog.setWindowTitle(self.tr("Saving changes"))
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(300)  # a change that takes a blink shows no dialog
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.setValue(status.done)
        dialog.canceled.connect(self._cancel)
        self._dialog = dialog
        self._latest = latest = _LatestProgress()
        self._progress_timer.start()
        bulk, actor, stop = self._services.bulk, self._actor, self._stop

        def work() -> BulkChangeStatus:
            return bulk.apply(
                actor,
                status.id,
                confirm_self_demotion=confirmed,
                progress=latest.report,
                should_stop=stop.is_set,
            )

        def failed(error: Exception) -> None:
            self._close_dialog()
            if isinstance(error, SelfDemotionError) and self._confirm_self_demotion():
                self.apply(status, on_done, on_error, confirmed=True)
                return
            on_error(error)

        def done(result: BulkChangeStatus) -> None:
            self._close_dialog()
            on_done(result)

        self._runner.run(work, done, failed, owner=self)

    def _confirm_self_demotion(self) -> bool:
        answer = QMessageBox.question(
            self._window,
            self.tr("Remove your own administrator role?"),
            self.tr(
                "This change takes away your own administrator role. You will lose access to this window."
            ),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Yes

    @Slot()
    def _cancel(self) -> None:
        self._stop.set()
        if self._dialog is not None:
            self._dialog.setLabelText(self.tr("Stopping after the users being changed now…"))
            self._dialog.setCancelButton(None)  # no second Cancel: it is stopping

    @Slot()
    def _poll_progress(self) -> None:
        reported = self._latest.value
        if self._dialog is not None and reported is not None:
            done, total = reported
            self._dialog.setMaximum(max(1, total))
            self._dialog.setValue(min(done, total))

    def _close_dialog(self) -> None:
        self._progress_timer.stop()
        if self._dialog is not None:
            self._dialog.canceled.disconnect(self._cancel)
            self._dialog.close()
            self._dialog.deleteLater()
            self._dialog = None
