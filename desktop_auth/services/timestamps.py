"""The one way the command line and the CSV exports write a moment: UTC, ISO 8601, to the second, with
its offset, e.g. ``2026-12-02 17:30:05+00:00``.

The database stores naive UTC (``desktop_auth.db.types.UTCDateTime`` tags it on the way out, but a raw row
may still be naive): a naive value is taken to be UTC, never the computer's local time. An aware value in
another zone is converted to UTC. No Qt here: the GUI shows local time with its zone, by its own means.
"""

from __future__ import annotations

from datetime import UTC, datetime

#: What a missing moment (never signed in, not locked) is written as in a table or a CSV cell.
NONE = ""


def utc_text(moment: datetime | None, none: str = NONE) -> str:
    """``moment`` as ``YYYY-MM-DD HH:MM:SS+00:00`` (naive means UTC); ``none`` when there is no moment."""
    if moment is None:
        return none
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.isoformat(sep=" ", timespec="seconds")
