"""Give a client's server connections back once it has been idle, so an idle desktop holds none.

Every connection the service layer uses is checked out through ``IdleRelease.connect()``, which counts the
checkouts in progress (waiting for a connection included) under a lock. When none has been in progress for
``idle_seconds``, a daemon timer disposes of the engine's pool, closing every pooled connection; the next
checkout opens a fresh one. The release runs under the same lock as the counting, so a checkout either
starts before it (and the release is put off) or after it (and gets a new connection): none can be handed a
connection that is being closed.

One timer covers a whole burst: it is armed when the count first drops to zero and, when it fires during
activity or too early, simply re-arms for the rest of the idle time. Cancelling and starting a thread on
every transaction would cost more than a short transaction itself.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, exc

from desktop_auth.db.errors import DatabaseBusyError
from desktop_auth.messages import message

log = logging.getLogger(__name__)

__all__ = ["IdleRelease"]


class IdleRelease:
    """Hands out connections of ``engine`` and releases its pool after ``idle_seconds`` without use.

    ``idle_seconds=None`` never releases. Neither does an SQLite engine: a local file costs no server
    connection, and an in-memory database lives only as long as its connection.
    """

    def __init__(self, engine: Engine, idle_seconds: float | None) -> None:
        self._engine = engine
        self._idle_seconds = None if engine.dialect.name == "sqlite" else idle_seconds
        self._lock = threading.Lock()
        self._in_use = 0
        self._idle_since = time.monotonic()
        self._timer: threading.Timer | None = None
        #: How many times the pool was released (for tests and the benchmark).
        self.releases = 0

    @property
    def idle_seconds(self) -> float | None:
        return self._idle_seconds

    @property
    def pending(self) -> bool:
        """Is a release timer armed (or about to run)?"""
        with self._lock:
            return self._timer is not None

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection for one unit of work; waits while every pooled connection is in use."""
        with self._lock:  # counted before the pool is asked, so a waiting checkout also holds off the release
            self._in_use += 1
        try:
            try:
                connection = self._engine.connect()
            except exc.TimeoutError as error:
                # The pool's wait ran out (translate_errors handles driver errors only): say busy.
                raise DatabaseBusyError(
                    message(
                        "DatabaseErrors",
                        "Every database connection of this client stayed busy too long; please try again.",
                    )
                ) from error
            with connection:
                yield connection
        finally:
            with self._lock:
                self._in_use -= 1
                if self._in_use == 0 and self._idle_seconds is not None:
                    self._idle_since = time.monotonic()
                    if self._timer is None:
                        self._arm(self._idle_seconds)

    def stop(self) -> None:
        """Cancel a pending release (the owner is disposing of the engine itself). A later checkout re-arms."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def _arm(self, delay: float) -> None:
        # Called with the lock held.
        self._timer = threading.Timer(delay, self._on_timer)
        self._timer.name = "desktop-auth-idle-release"
        self._timer.daemon = True  # never keeps the application alive at exit
        self._timer.start()

    def _on_timer(self) -> None:
        with self._lock:
            if threading.current_thread() is not self._timer:
                return  # stopped (or replaced) while this timer was about to run
            self._timer = None
            idle_seconds = self._idle_seconds
            if self._in_use or idle_seconds is None:
                return  # busy again: the checkout that ends the burst re-arms
            remaining = self._idle_since + idle_seconds - time.monotonic()
            if remaining > 0:  # a burst came and went since this timer was armed
                self._arm(remaining)
                return
            pool = self._engine.pool
            if getattr(pool, "checkedout", lambda: 0)() > 0:
                # Someone used the engine directly (a migration, a schema check): try again later rather
                # than orphan the connection it holds.
                self._arm(idle_seconds)
                return
            pooled = getattr(pool, "checkedin", lambda: 0)()
            if pooled:
                self._engine.dispose()  # under the lock: no checkout can start until it has finished
                self.releases += 1
                log.debug("Released %d idle database connection(s) after %g s", pooled, idle_seconds)
