"""``desktop-auth users import FILE.csv --passwords-out FILE``: the CLI side of ``services.user_import``.

Every problem of the file is printed on standard error as ``line N: reason`` (all of them, in file order)
and the command exits 1 with nothing written. A clean file is imported in one transaction, and each new
account's temporary password goes to ``--passwords-out``, a CSV file created readable only by its owner
(``temporary_passwords.write_csv``). That file must not exist yet (an earlier import's passwords are never
overwritten) and its folder must be writable: both are checked before anything is imported.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TextIO

from desktop_auth.errors import DesktopAuthError
from desktop_auth.services import Services, temporary_passwords
from desktop_auth.services.errors import ImportRefusedError
from desktop_auth.services.records import Actor
from desktop_auth.services.timestamps import utc_text


class ImportCommandError(DesktopAuthError):
    """A refusal of ``users import`` before or after the import (the file or the passwords file)."""


def import_users(args: argparse.Namespace, services: Services, out: TextIO, err: TextIO | None = None) -> int:
    actor = Actor.operator()
    passwords_out = _check_passwords_out(Path(args.passwords_out))
    preview = services.user_import.preview_file(actor, args.file)
    if not preview.ok:
        for line in preview.problem_lines():
            print(line, file=err or sys.stderr)
        raise ImportRefusedError(preview.rows_with_problems, whole_file=bool(preview.file_problems))
    result = services.user_import.import_users(actor, preview)
    try:
        temporary_passwords.write_csv(passwords_out, result.passwords)
    except temporary_passwords.ExportFailedError as error:
        raise ImportCommandError(
            f"Imported {result.count:,} accounts, but their passwords could not be written ({error}); "
            "give each of them a new one with: desktop-auth users reset-password EMAIL"
        ) from error
    print(
        f"Imported {result.count:,} account{'s' if result.count != 1 else ''}. Their temporary passwords are in "
        f"{passwords_out} (readable only by you); each must be changed at the first sign-in and expires at "
        f"{utc_text(result.passwords.expires_at)}.",
        file=out,
    )
    return 0


def _check_passwords_out(path: Path) -> Path:
    if path.exists() or path.is_symlink():
        raise ImportCommandError(
            f"{str(path)!r} already exists; name a new file for the passwords (nothing was imported)."
        )
    folder = path.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise ImportCommandError(
            f"Cannot create {str(path)!r}: its folder does not exist or is not writable (nothing was imported)."
        )
    return path
