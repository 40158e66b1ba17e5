"""Temporary passwords without a database: the generator (alphabet, length, entropy, policy) and the
private file they are exported to (0600 from the first byte, an existing file replaced, not written through)."""

from __future__ import annotations

import csv
import math
import os
import stat
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from desktop_auth.errors import InvalidInputError
from desktop_auth.security import PasswordPolicy
from desktop_auth.services.records import TemporaryPassword, TemporaryPasswords
from desktop_auth.services.temporary_passwords import (
    ALPHABET,
    CSV_HEADER,
    MIN_RANDOM_CHARACTERS,
    ExportFailedError,
    entropy_bits,
    generate,
    generate_distinct,
    write_csv,
)

LOOK_ALIKES = "0Oo1lIi"
POSIX_ONLY = pytest.mark.skipif(sys.platform == "win32", reason="file modes are POSIX")
RESULT = TemporaryPasswords(
    datetime(2026, 1, 4, 12, 0, tzinfo=UTC),
    (
        TemporaryPassword(1, "kim@example.com", "k7md-9xqz-ab2c-efgh-3456"),
        TemporaryPassword(2, "=cmd@example.com", "mnpq-rstu-vwxy-z234-5678"),
    ),
)


# -- the generator -------------------------------------------------------------------------------------


def test_the_alphabet_is_unambiguous_and_every_password_carries_80_bits() -> None:
    assert len(set(ALPHABET)) == len(ALPHABET) == 31
    assert not set(ALPHABET) & set(LOOK_ALIKES)
    assert ALPHABET.isascii()
    assert ALPHABET.islower()
    assert MIN_RANDOM_CHARACTERS * math.log2(len(ALPHABET)) >= 80
    password = generate(15, 1024)
    groups = password.split("-")
    assert [len(group) for group in groups] == [4, 4, 4, 4, 4], "readable groups of four"
    assert set("".join(groups)) <= set(ALPHABET)
    assert entropy_bits(password) == pytest.approx(20 * math.log2(31)), "20 random characters of 31 each"
    assert entropy_bits(password) >= 80


def test_generated_passwords_fit_the_policy_length() -> None:
    assert len(generate(40, 1024)) >= 40
    assert entropy_bits(generate(40, 1024)) >= 80
    short_max = generate(15, 18)  # the grouped form (24) would be too long: no hyphens then
    assert "-" not in short_max
    assert 17 <= len(short_max) <= 18
    assert entropy_bits(short_max) >= 80
    with pytest.raises(InvalidInputError, match="too few for a safe temporary password"):
        generate(10, 16)


def test_generated_passwords_pass_the_password_policy() -> None:
    policy = PasswordPolicy(15, 1024)
    for password in generate_distinct(30, 15, 1024):
        policy.validate(password, "someone@example.com")
    for password in generate_distinct(5, 64, 1024):
        PasswordPolicy(64, 1024).validate(password)


def test_generated_passwords_are_random() -> None:
    passwords = generate_distinct(2000, 15, 1024)
    assert len(set(passwords)) == 2000
    # Every character of the alphabet turns up in every position: no position is fixed or narrowed.
    for position in (0, 7, 23):
        assert {p[position] for p in passwords} == set(ALPHABET)


def test_a_result_never_shows_a_password_in_its_repr() -> None:
    for entry in RESULT.entries:
        assert entry.password not in repr(RESULT)
        assert entry.password not in repr(entry)


# -- the private export file ---------------------------------------------------------------------------


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


@POSIX_ONLY
@pytest.mark.usefixtures("umask_022")
def test_the_export_is_private_from_its_first_byte(tmp_path: Path) -> None:
    path = tmp_path / "passwords.csv"
    assert write_csv(path, RESULT) == 2
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    rows = _rows(path)
    assert tuple(rows[0]) == CSV_HEADER == ("email", "temporary_password", "expires_at")
    assert rows[1:] == [
        ["kim@example.com", "k7md-9xqz-ab2c-efgh-3456", "2026-01-04T12:00:00+00:00"],
        ["'=cmd@example.com", "mnpq-rstu-vwxy-z234-5678", "2026-01-04T12:00:00+00:00"],
    ], "a cell that looks like a formula is kept inert"
    assert list(tmp_path.iterdir()) == [path], "no temporary file left behind"


@POSIX_ONLY
@pytest.mark.usefixtures("umask_022")
def test_an_existing_readable_file_is_replaced_not_written_through(tmp_path: Path) -> None:
    path = tmp_path / "passwords.csv"
    path.write_text("an older, much longer file that anyone could read\n" * 100, encoding="utf-8")
    path.chmod(0o644)
    with path.open(encoding="utf-8") as reader:  # someone who opened the readable file earlier
        write_csv(path, RESULT)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        text = path.read_text(encoding="utf-8")
        assert "anyone could read" not in text, "the old contents are gone"
        assert RESULT.entries[0].password in text
        assert RESULT.entries[0].password not in reader.read(), "the earlier reader never sees them"
    link, elsewhere = tmp_path / "link.csv", tmp_path / "elsewhere.txt"
    elsewhere.write_text("keep me", encoding="utf-8")
    elsewhere.chmod(0o644)
    link.symlink_to(elsewhere)
    write_csv(link, RESULT)
    assert elsewhere.read_text(encoding="utf-8") == "keep me", "a symbolic link is replaced, not followed"
    assert not link.is_symlink()
    assert stat.S_IMODE(link.stat().st_mode) == 0o600


@POSIX_ONLY
def test_the_mode_is_exactly_0600_whatever_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0o277)
    try:
        write_csv(tmp_path / "passwords.csv", RESULT)
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "passwords.csv").stat().st_mode) == 0o600


def test_an_unwritable_target_is_a_readable_error_and_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(ExportFailedError, match="Could not write"):
        write_csv(tmp_path / "missing-folder" / "passwords.csv", RESULT)
    (tmp_path / "a-folder.csv").mkdir()
    with pytest.raises(ExportFailedError, match="Could not write"):
        write_csv(tmp_path / "a-folder.csv", RESULT)
    assert [p.name for p in tmp_path.iterdir()] == ["a-folder.csv"], "no temporary file left behind"
