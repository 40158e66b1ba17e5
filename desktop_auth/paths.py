"""Where the application keeps its files, and where its bundled data (migrations, resources) lives.

One helper serves a source checkout, an installed wheel and a PyInstaller bundle alike.
"""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from platformdirs import PlatformDirs

APP_NAME = "desktop-auth"

PACKAGE_DIR = Path(__file__).resolve().parent


@cache
def _dirs() -> PlatformDirs:
    from platformdirs import PlatformDirs  # imported on first use: the GUI's first window does not need it

    return PlatformDirs(APP_NAME, appauthor=False)


def user_data_dir() -> Path:
    return Path(_dirs().user_data_dir)


def user_config_dir() -> Path:
    return Path(_dirs().user_config_dir)


def user_log_dir() -> Path:
    return Path(_dirs().user_log_dir)


def app_dirs() -> list[Path]:
    """The folders the app owns: its data, config and log folders (file_modes keeps them private).

    A folder named after the app that holds one of them is the app's too (``~/.local/state/desktop-auth``
    above the Linux log folder ``.../desktop-auth/log``); the shared folders above it never are.
    """
    owned: list[Path] = []
    for folder in (user_data_dir(), user_config_dir(), user_log_dir()):
        top = folder.parent if folder.name != APP_NAME and folder.parent.name == APP_NAME else folder
        if top not in owned:
            owned.append(top)
    return owned


def is_app_owned(path: Path) -> bool:
    """True when ``path`` is one of ``app_dirs()`` or lies inside one."""
    resolved = path.expanduser().resolve()
    return any(resolved.is_relative_to(folder.expanduser().resolve()) for folder in app_dirs())


def bundled_path(name: str) -> Path:
    """Locate a top-level data folder (``alembic`` or ``resources``).

    Looks inside a PyInstaller bundle, then inside an installed wheel (``desktop_auth/_bundled``), then at
    the root of a source checkout.
    """
    candidates: list[Path] = []
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        candidates.append(Path(frozen_root) / name)
    candidates.append(PACKAGE_DIR / "_bundled" / name)
    candidates.append(PACKAGE_DIR.parent / name)
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"cannot find the bundled folder {name!r} (looked in {', '.join(map(str, candidates))})"
    )
