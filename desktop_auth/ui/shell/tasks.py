"""Run slow work (hashing, queries) on a thread pool and deliver the outcome on the GUI thread.

A widget calls ``runner.run(work, on_done, on_error, owner=self)``; if the owner has been deleted by the
time the work ends, the outcome is dropped instead of touching a dead widget. With ``key="..."`` only the
latest job of that key is delivered: a newer job with the same key makes an older one's outcome be dropped
(a search typed letter by letter shows the last search, never an earlier one arriving late). Every dropped
outcome is logged at debug level, by job id and key only (never the result or the error, which can hold
what a person typed). Workers report through one long-lived signal of the runner (queued to the GUI
thread), so no per-job QObject can vanish mid-flight. Work touches no Qt and imports no module that does:
PySide makes a Qt class's Python type when a module first names it, and a worker doing that beside the GUI
thread crashed the app (``shell/preload.py`` imports windows ahead of time on the GUI thread instead).

Errors: an ``Exception`` raised by the work reaches ``on_error`` as itself. A ``BaseException`` that is not
an ``Exception`` (``KeyboardInterrupt``, ``SystemExit``, ``GeneratorExit``) is not the work failing but a
request to stop, and the runner does not catch it: it propagates out of the worker, where PySide reports
it (a ``SystemExit`` there ends the process, as it would on the GUI thread). So that the window waiting
for the job is not left busy forever, the job is still settled: ``on_error`` receives a
``TaskInterruptedError`` whose ``__cause__`` is the interruption.

Quitting (``shutdown``): the app waits for the jobs whose outcome matters, and not for those whose result
nobody needs any more. A job run with ``abandon_at_exit=True`` (loading the database layer behind the
sign-in dialog, reading which modules to import ahead of time) runs on a daemon thread of its own instead
of the pool: quitting does not wait for it (Qt's pool is joined when the application object goes, so it
could not be there), it is frozen where it stands when the interpreter exits, and a result it produces after
``shutdown`` is dropped. What such a job may be doing when frozen: importing, connecting, reading, or
one write transaction, which the database rolls back with the connection (SQLite's journal, InnoDB). The
exception is a write that spans transactions and must not be cut in half, the embedded database's schema
upgrade above all: the job wraps it in ``with runner.finish_before_exit():``, and ``shutdown`` waits for
every such section to end; one not yet begun when quitting starts is not begun at all. (The upgrade is
one transaction on SQLite, so even a killed process would leave the previous revision; the app waits
anyway, as it never migrates a MariaDB server, whose DDL is not transactional: only the operator's
``desktop-auth db upgrade`` does, outside the app.) Jobs run without the flag (every save, sign-in,
search) are waited for as before.

A thread left running must not meet the interpreter's teardown, nor the C libraries' own. Python
finalizes with daemon threads still running: one waiting for the import lock as CPython freed it crashed
(SIGSEGV, 1 quit in 40 with Escape at once on SQLite, the loader importing), and OpenSSL's exit handler
freed its tables under PyMySQL loading the CA bundle on the connecting thread (2 quits in 80 during a
slow connect). So when ``shutdown`` left a job running, the entry point calls ``end_process_at_exit`` with
its exit code: at interpreter exit, once the other ``atexit`` handlers have run, the logs and output are
flushed and the process ends there with ``os._exit`` and that code, before any teardown.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple, TypeVar

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

log = logging.getLogger(__name__)

T = TypeVar("T")


class TaskInterruptedError(Exception):
    """The work was stopped by a ``KeyboardInterrupt``, ``SystemExit`` or the like (its ``__cause__``)."""


class QuittingError(Exception):
    """``finish_before_exit`` was entered after ``shutdown``: the app is quitting, so the section is not
    begun (it could not be finished)."""


class _Pending(NamedTuple):  # not a dataclass: this module is on the start-up path
    on_done: Callable[[Any], None]
    on_error: Callable[[Exception], None]
    owner: QObject | None
    key: str | None


def _execute(job_id: int, work: Callable[[], Any], report: Callable[[int, object, bool], None]) -> None:
    settled = False
    try:
        try:
            result = work()
        except Exception as error:  # delivered to the GUI thread, which decides what to show
            settled = True
            report(job_id, error, False)
        else:
            settled = True
            report(job_id, result, True)
    finally:
        if not settled:  # a KeyboardInterrupt, SystemExit...: settle the job, let it propagate
            stop = sys.exc_info()[1]
            log.warning("Background job %d was stopped by %s", job_id, type(stop).__name__)
            interrupted = TaskInterruptedError(f"The work was stopped ({type(stop).__name__}).")
            interrupted.__cause__ = stop
            report(job_id, interrupted, False)


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
        _execute(self._job_id, self._work, self._report)


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
        self._latest: dict[str, int] = {}  # key -> the id of the newest job run with it
        self._threads: list[threading.Thread] = []  # the abandonable jobs' threads, until they end
        self._holds = 0  # sections in ``finish_before_exit``, now running
        self._holds_changed = threading.Condition(self._outcomes_lock)
        self._shut_down = False
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
        on_error: Callable[[Exception], None],
        owner: QObject | None = None,
        key: str | None = None,
        abandon_at_exit: bool = False,
    ) -> None:
        """Run ``work`` on the pool; ``on_done(result)`` or ``on_error(exception)`` follows on the GUI thread.

        ``key``: keep only the latest. A later ``run`` with the same key makes this job's outcome be dropped
        (and logged at debug level); the work itself is not cancelled, only its outcome ignored.

        ``abandon_at_exit``: quitting does not wait for this job (see the module's docstring); it runs on
        a daemon thread of its own. For work whose result only the running app needs.

        After ``shutdown`` nothing is started.
        """
        if self._shut_down:  # the app is quitting: nothing new starts
            log.debug("Not started: a job run after shutdown")
            return
        job_id = next(self._ids)
        self._pending[job_id] = _Pending(on_done, on_error, owner, key)
        if key is not None:
            self._latest[key] = job_id
        if not abandon_at_exit:
            self._pool.start(_Job(job_id, work, self._report))
            return
        self._threads = [thread for thread in self._threads if thread.is_alive()]
        thread = threading.Thread(
            target=_execute, args=(job_id, work, self._report), name=f"desktop-auth job {job_id}", daemon=True
        )
        self._threads.append(thread)
        thread.start()

    @contextmanager
    def finish_before_exit(self) -> Iterator[None]:
        """For a section of an abandonable job that must not be cut in half (a schema upgrade): ``shutdown``
        waits until it has ended. Entered after ``shutdown`` it raises ``QuittingError`` instead, so such a
        section is either finished before the process exits or never begun. Usable from any thread."""
        with self._holds_changed:
            if self._shut_down:
                raise QuittingError("The app is quitting: not begun.")
            self._holds += 1
        try:
            yield
        finally:
            with self._holds_changed:
                self._holds -= 1
                self._holds_changed.notify_all()

    def _report(self, job_id: int, value: object, ok: bool) -> None:
        # Called on the worker thread. Look the signal up at each call: a SignalInstance captured
        # earlier can be collected and then refuses to emit ("Signal source has been deleted").
        with self._outcomes_lock:
            if self._shut_down:  # an abandoned job ending after all: nobody is waiting for it
                log.debug("Dropped the outcome of job %d: the app is quitting", job_id)
                return
            self._outcomes[job_id] = (value, ok)
        try:
            self._finished.emit(job_id)
        except RuntimeError:  # the runner was deleted meanwhile (the app is closing): nobody to tell
            log.debug("Dropped the outcome of job %d: the runner is gone", job_id)

    @Slot(int)
    def _deliver(self, job_id: int) -> None:
        with self._outcomes_lock:
            value, ok = self._outcomes.pop(job_id)
        pending = self._pending.pop(job_id, None)
        if pending is None:
            return
        try:
            outcome = "result" if ok else f"error ({type(value).__name__})"
            if pending.key is not None and self._latest.get(pending.key) != job_id:
                log.debug("Dropped the %s of job %d: a newer %r job was run", outcome, job_id, pending.key)
                return
            if pending.key is not None:
                del self._latest[pending.key]
            if pending.owner is not None and not shiboken6.isValid(pending.owner):
                log.debug("Dropped the %s of job %d: its owner was deleted", outcome, job_id)
                return
            if ok:
                pending.on_done(value)
            else:
                assert isinstance(value, Exception)
                pending.on_error(value)
        finally:
            if not self._pending:
                self.idle.emit()

    def wait(self, msecs: int = 30_000) -> bool:
        """Block until every started job has finished, abandonable ones included (used in tests)."""
        deadline = time.monotonic() + msecs / 1000
        done = bool(self._pool.waitForDone(msecs))
        for thread in list(self._threads):
            thread.join(max(0.0, deadline - time.monotonic()))
            done = done and not thread.is_alive()
        return done

    def shutdown(self, msecs: int = 30_000) -> bool:
        """The app is quitting: wait for the jobs that must finish (every job run without
        ``abandon_at_exit``, and every ``finish_before_exit`` section), not for the others. No outcome is
        delivered from now on: the windows that asked are closing. True when everything waited for ended
        within ``msecs``."""
        deadline = time.monotonic() + msecs / 1000
        self._pending.clear()
        with self._holds_changed:
            self._shut_down = True
            if self._holds:
                log.info("Quitting: waiting for a database upgrade to finish first")
            while self._holds and self._holds_changed.wait(max(0.0, deadline - time.monotonic())):
                pass
            held = self._holds
        remaining = max(0, int((deadline - time.monotonic()) * 1000))
        return bool(self._pool.waitForDone(remaining)) and not held

    @property
    def left_running(self) -> bool:
        """Whether an abandonable job is still running (after ``shutdown``: one it left behind)."""
        return any(thread.is_alive() for thread in self._threads)


def end_process_at_exit(status: int) -> None:
    """The app quits leaving a job running (``TaskRunner.left_running``): when the interpreter exits, end
    the process with ``os._exit(status)`` instead of letting Python, then the C libraries, tear down under
    the running thread (module docstring). The atexit handlers registered after this call run first (LIFO),
    as usual; of those registered before it, only logging's matters (PySide's destroys Qt objects, which
    the process ending makes moot), so it is run here. Call it last, with the code the process exits with.
    """
    atexit.register(_end_process, status)


def _end_process(status: int) -> None:
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # closed, or its reader gone: nothing more to say there
            pass
    os._exit(status)
