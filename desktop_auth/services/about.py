"""What the About dialog shows: the version, the database in use (its password masked, as everywhere:
``db.urls.mask_url``) and the licence."""

from __future__ import annotations

from desktop_auth.config import Settings
from desktop_auth.db.urls import mask_url
from desktop_auth.services.records import AboutInfo

#: pyproject.toml's ``license``, for a copy whose package metadata is missing (a source tree never installed).
LICENCE = "MIT"


def about_app(settings: Settings) -> AboutInfo:
    from importlib.metadata import PackageNotFoundError, metadata

    from desktop_auth import __version__

    try:
        meta = metadata("desktop-auth")
        licence = (meta.get_all("License-Expression") or meta.get_all("License") or [LICENCE])[0]
    except PackageNotFoundError:
        licence = LICENCE
    return AboutInfo(
        version=str(__version__), database=database_location(settings.database_url), licence=licence
    )


def database_location(url: str) -> str:
    """The database as a person reads it: a SQLite file's path, or the server URL with its password masked."""
    masked = mask_url(url)
    scheme, separator, rest = masked.partition("://")
    if separator and scheme.lower().split("+")[0] == "sqlite" and rest.startswith("/") and len(rest) > 1:
        return f"{rest[1:]} (SQLite)"  # sqlite:///relative.db, sqlite:////absolute/path.db
    return masked
