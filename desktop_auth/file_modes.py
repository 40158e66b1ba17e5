"""Owner-only permissions for the files the app keeps: files 0600, the app's own folders 0700 (POSIX).

Files the app creates (the embedded database, log files, CSV exports) are opened with mode 0600, so they
are never readable by others, not even for a moment. The app's own folders (``paths.app_dirs()``) are
created 0700 and tightened at start-up, with what they hold, in case an older version left them open.
A folder a person chose (an explicit SQLite path, ``DESKTOP_AUTH_LOG_DIR``, an export target) is never
changed. On Windows nothing is done: the per-user profile folders the app uses already keep others out.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterable
from pathlib import Path

#: False on Windows, where every function here leaves permissions to the per-user profile.
ENFORCED = os.name == "posix"
PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
_GROUP_AND_OTHERS = 0o077


def make_private_dir(path: Path) -> None:
    """Create ``path`` and its missing parents 0700 (as XDG asks); existing folders are left as they are."""
    if not ENFORCED:
        path.mkdir(parents=True, exist_ok=True)
        return
    missing: list[Path] = []
    folder = path
    while not folder.exists() and folder.parent != folder:
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it first
            folder.mkdir(mode=PRIVATE_DIR)


def open_private(path: Path, flags: int = os.O_WRONLY | os.O_CREAT | os.O_TRUNC) -> int:
    """``os.open`` with mode 0600: a file it creates is private from its first byte. Returns the descriptor.

    An existing file keeps its permissions (inside the app's folders, start-up has tightened them).
    """
    return os.open(path, flags | getattr(os, "O_CLOEXEC", 0), PRIVATE_FILE)


def create_private_file(path: Path) -> bool:
    """Create ``path`` empty with mode 0600 unless it exists; True when it was created."""
    try:
        os.close(open_private(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        return False
    return True


def tighten(folders: Iterable[Path]) -> list[Path]:
    """Take group and other permissions away from each existing folder, and everything under it.

    Symbolic links are not followed and entries owned by another account are skipped. Returns what was
    changed, so the caller can log it.
    """
    if not ENFORCED:
        return []
    changed: list[Path] = []
    uid = os.getuid()

    def tighten_one(path: Path) -> None:
        try:
            info = path.lstat()
        except FileNotFoundError:
            return
        mode = stat.S_IMODE(info.st_mode)
        if stat.S_ISLNK(info.st_mode) or info.st_uid != uid or not mode & _GROUP_AND_OTHERS:
            return
        if stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode):
            path.chmod(mode & ~_GROUP_AND_OTHERS)
            changed.append(path)

    for root in dict.fromkeys(folders):  # in order, without repeats
        if not root.is_dir():
            continue
        tighten_one(root)
        for folder, subfolders, files in os.walk(root):  # does not descend into linked folders
            for name in (*subfolders, *files):
                tighten_one(Path(folder) / name)
    return changed
