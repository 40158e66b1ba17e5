"""What a person is told when something fails, in their language."""

from __future__ import annotations

import logging

from desktop_auth.errors import DesktopAuthError
from desktop_auth.ui.shell.i18n import describe_error, translate

log = logging.getLogger(__name__)


def unexpected() -> str:
    """What is said of an error nobody raised on purpose (its traceback is in the log)."""
    return translate(
        "messages", "Something unexpected went wrong. The details are in the log file; please try again."
    )


def describe(error: BaseException) -> str:
    """A short message for ``error``; anything not raised on purpose is logged with its traceback."""
    if isinstance(error, DesktopAuthError):
        return describe_error(error)
    log.error("Unexpected error", exc_info=(type(error), error, error.__traceback__))
    return unexpected()


def log_only(error: BaseException) -> None:
    """The failure of work the person does not wait on (a count shown as a courtesy, a picture redrawn for a
    new screen scale, a clean-up the database also does): written to the log, not shown. Never silent."""
    if isinstance(error, DesktopAuthError):
        log.warning("Background work failed: %s", type(error).__name__)
        return
    describe(error)  # unexpected: logged with its traceback
