"""One way the GUI shows a moment: the person's local time, with its zone, so "18:30" is never ambiguous.

The CLI and exports show UTC with its offset instead (services); the GUI shows what the clock on the wall says.
"""

from __future__ import annotations

from datetime import UTC, datetime


def local_time(moment: datetime | None, *, seconds: bool = False) -> str:
    """``2026-12-02 18:30 CET`` (or ``… 18:30:05 CET``); an empty string for no moment.

    Moments from the services are aware UTC; a naive one is taken as UTC too (that is how it is stored)."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone()
    clock = local.isoformat(" ", "seconds" if seconds else "minutes")[: 19 if seconds else 16]
    return f"{clock} {local.tzname() or local.strftime('%z')}"
