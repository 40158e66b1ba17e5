"""Random temporary passwords for password resets, and the private CSV file an administrator may export
them to. No Qt, no database: the role editor and the CLI call these, ``AdminService.reset_password`` uses
the generator.

A temporary password is random (at least 80 bits by construction), readable (groups of four characters
from an alphabet without look-alikes) and long enough for the configured policy. It expires, so it may be
stored with a fast salted hash (``PasswordHasher.hash_temporary``).
"""

from __future__ import annotations

import contextlib
import csv
import math
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from desktop_auth import file_modes
from desktop_auth.errors import DesktopAuthError, InvalidInputError
from desktop_auth.messages import Message, message
from desktop_auth.services.records import TemporaryPasswords
from desktop_auth.text import inert_in_spreadsheets

#: Lower-case letters and digits without the look-alikes 0/o, 1/l/i: 31 characters, about 4.95 bits each.
ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
MIN_ENTROPY_BITS = 80
#: Fewest random characters that carry MIN_ENTROPY_BITS (17).
MIN_RANDOM_CHARACTERS = math.ceil(MIN_ENTROPY_BITS / math.log2(len(ALPHABET)))
GROUP_LENGTH = 4
SEPARATOR = "-"
CSV_HEADER = ("email", "temporary_password", "expires_at")


class ExportFailedError(DesktopAuthError):
    """The file could not be written; nothing was left behind."""


def entropy_bits(password: str) -> float:
    """The entropy a generated password carries: its random characters (separators carry none)."""
    return len(password.replace(SEPARATOR, "")) * math.log2(len(ALPHABET))


def generate(min_length: int = 0, max_length: int | None = None) -> str:
    """A random temporary password of at least ``min_length`` characters and at most ``max_length``.

    Normally groups of four joined by hyphens (``k7md-9xqz-…``, 20 random characters, about 99 bits); a
    policy whose maximum is shorter than that gets the random characters without hyphens. Raises
    InvalidInputError when the policy leaves no room for 80 bits.
    """
    groups = max(-(-MIN_RANDOM_CHARACTERS // GROUP_LENGTH), -(-(min_length + 1) // (GROUP_LENGTH + 1)))
    length = groups * (GROUP_LENGTH + 1) - 1
    if max_length is None or length <= max_length:
        characters = _random_characters(groups * GROUP_LENGTH)
        return SEPARATOR.join(
            characters[start : start + GROUP_LENGTH] for start in range(0, len(characters), GROUP_LENGTH)
        )
    plain = max(MIN_RANDOM_CHARACTERS, min_length)
    if plain > max_length:
        raise InvalidInputError(
            "temporary_password",
            [
                message(
                    "TemporaryPasswords",
                    "The password policy allows at most {limit} characters, too few for a safe temporary "
                    "password ({needed}). Raise DESKTOP_AUTH_PASSWORD_MAX_LENGTH.",
                ).format(limit=max_length, needed=MIN_RANDOM_CHARACTERS)
            ],
        )
    return _random_characters(plain)


def generate_distinct(count: int, min_length: int = 0, max_length: int | None = None) -> list[str]:
    """``count`` generated passwords, no two alike (a repeat is astronomically unlikely; this makes it
    impossible)."""
    seen: set[str] = set()
    passwords: list[str] = []
    while len(passwords) < count:
        password = generate(min_length, max_length)
        if password not in seen:
            seen.add(password)
            passwords.append(password)
    return passwords


def _random_characters(count: int) -> str:
    # One draw from the operating system's CSPRNG, written in base 31: uniform, and far cheaper than a
    # secrets.choice() per character when 100,000 passwords are made at once.
    base = len(ALPHABET)
    number = secrets.randbelow(base**count)
    characters = []
    for _ in range(count):
        number, digit = divmod(number, base)
        characters.append(ALPHABET[digit])
    return "".join(characters)


# -- the private export file -------------------------------------------------------------------------------


@contextlib.contextmanager
def private_text_file(path: str | os.PathLike[str]) -> Iterator[TextIO]:
    """Write a text file only its owner may read (0600 on POSIX), from its first byte.

    The text goes to a new file next to ``path``, created 0600 with O_EXCL (and O_NOFOLLOW), which then
    replaces ``path`` in one step. So there is no moment when it is readable by others, an existing file
    at ``path`` (say a 0644 one) is replaced rather than written through (whoever had it open never sees
    the new text), and a symbolic link at ``path`` is replaced, not followed. On failure nothing new is
    left behind and ``path`` is untouched. (Windows ignores the mode; the profile folders protect files.)
    """
    target = Path(path)
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    for optional in ("O_NOFOLLOW", "O_BINARY"):
        flags |= getattr(os, optional, 0)
    try:
        descriptor = file_modes.open_private(temporary, flags)
    except OSError as error:
        raise ExportFailedError(_could_not_write(target, error)) from error
    written = False
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(descriptor, file_modes.PRIVATE_FILE)  # exactly 0600, whatever the umask
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
        written = True
    except OSError as error:
        raise ExportFailedError(_could_not_write(target, error)) from error
    finally:
        if not written:  # failed, or interrupted: no half-written file is left behind
            with contextlib.suppress(OSError):
                os.unlink(temporary)


def _could_not_write(target: Path, error: OSError) -> Message:
    return message("TemporaryPasswords", "Could not write {path}: {reason}.").format(
        path=str(target), reason=str(error.strerror or error)
    )


def write_csv(path: str | os.PathLike[str], passwords: TemporaryPasswords) -> int:
    """Export email, temporary password and expiry, one row per account, to a private file (see
    ``private_text_file``); returns how many rows were written."""
    expires = passwords.expires_at.isoformat(timespec="seconds")
    with private_text_file(path) as out:
        writer = csv.writer(out)
        writer.writerow(CSV_HEADER)
        writer.writerows(
            (inert_in_spreadsheets(entry.email), entry.password, expires) for entry in passwords.entries
        )
    return len(passwords.entries)
