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
    return AboutInfo(version=str(__version__), database=mask_url(settings.database_url), licence=licence)
