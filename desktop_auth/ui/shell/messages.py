"""What a person is told when something fails."""

from __future__ import annotations

import logging

from desktop_auth.errors import DesktopAuthError

log = logging.getLogger(__name__)

UNEXPECTED = "Something unexpected went wrong. The details are in the log file; please try again."


def describe(error: BaseException) -> str:
    """A short message for ``error``; anything not raised on purpose is logged with its traceback."""
    if isinstance(error, DesktopAuthError):
        return error.message
    log.error("Unexpected error", exc_info=(type(error), error, error.__traceback__))
    return UNEXPECTED
