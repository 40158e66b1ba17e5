"""Run slow work (hashing, queries) on a thread pool and deliver the outcome on the GUI thread.

A widget calls ``runner.run(work, on_done, on_error, owner=self)``; if the owner has been deleted by the
time the work ends, the outcome is dropped instead of touching a dead widget. Workers report through one
long-lived signal of the runner (queued to the GUI thread), so no per-job QObject can vanish mid-flight.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

log = logging.getLogger(__name__)

T = TypeVar("T")


class _Pending(NamedTuple):  # not a dataclass: this module is on the start-up path
    on_done: Callable[[Any], None]
    on_error: Callable[[BaseException], None]
    owner: QObject | None


class _Job(QRunnable):
    def __init__(
        self, job_id: int, work: Callable[[], Any], report: Callable[[int, object, bool], None]
    ) -> None:
        super().__init__()
        # The pool owns the job (start() transfers ownership) and deletes it once run() has returned.
        # Holding it in Python instead would free it when the GUI thread takes delivery, which can
        # happen while run() is still unwinding on the worker.
        self.setAutoDelete(True)
        self._job_id = job_id
        self._work = work
        self._report = report

    def run(self) -> None:
        try:
            result = self._work()
        except BaseException as error:  # delivered to the GUI thread, which decides what to show
            self._report(self._job_id, error, False)
        else:
            self._report(self._job_id, result, True)


class TaskRunner(QObject):
    """Owns the background jobs of one window tree. ``pending`` counts jobs not yet delivered."""

    idle = Signal()
    # Only the job id crosses threads; outcomes wait in ``_outcomes`` under a lock, so no Python object
    # has to survive Qt's queued-argument copying.
    _finished = Signal(int)

    def __init__(self, parent: QObject | None = None, pool: QThreadPool | None = None) -> None:
        super().__init__(parent)
        self._pool = pool or QThreadPool.globalInstance()
        self._pending: dict[int, _Pending] = {}
        self._outcomes: dict[int, tuple[object, bool]] = {}
        self._outcomes_lock = threading.Lock()
        self._ids = itertools.count(1)
        # Emitted on a worker thread, so Qt queues it to this object's (the GUI) thread. The connection type
        # is left implicit: naming Qt.ConnectionType would build PySide's whole Qt enum namespace (~15 ms)
        # at start-up.
        self._finished.connect(self._deliver)

    @property
    def pending(self) -> int:
        return len(self._pending)

    def run(
        self,
        work: Callable[[], T],
        on_done: Callable[[T], None],
        on_error: Callable[[BaseException], None],
        owner: QObject | None = None,
    ) -> None:
        job_id = next(self._ids)
        self._pending[job_id] = _Pending(on_done, on_error, owner)
        self._pool.start(_Job(job_id, work, self._report))

    def _report(self, job_id: int, value: object, ok: bool) -> None:
        # Called on the worker thread. Look the signal up at each call: a SignalInstance captured
        # earlier can be collected and then refuses to emit ("Signal source has been deleted").
        with self._outcomes_lock:
            self._outcomes[job_id] = (value, ok)
        self._finished.emit(job_id)

    @Slot(int)
    def _deliver(self, job_id: int) -> None:
        with self._outcomes_lock:
            value, ok = self._outcomes.pop(job_id)
        pending = self._pending.pop(job_id, None)
        if pending is None:
            return
        try:
            if pending.owner is None or shiboken6.isValid(pending.owner):
                if ok:
                    pending.on_done(value)
                else:
                    assert isinstance(value, BaseException)
                    pending.on_error(value)
        finally:
            if not self._pending:
                self.idle.emit()

    def wait(self, msecs: int = 30_000) -> bool:
        """Block until every started job has finished (used at shutdown and in tests)."""
        return bool(self._pool.waitForDone(msecs))
