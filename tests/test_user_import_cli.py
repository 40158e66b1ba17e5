"""``desktop-auth users import FILE.csv --passwords-out FILE``, in-process through ``main(argv)``, on SQLite
and MariaDB: problems as ``line N: reason`` with exit 1 and nothing written; success prints how many and
where the passwords are, in a private file whose passwords sign in."""

from __future__ import annotations

import csv
import os
import stat
from pathlib import Path

import pytest

from desktop_auth.cli import main
from desktop_auth.db.engine import Database
from desktop_auth.services import Services
from tests.conftest import CHEAP_HASH, make_settings


@pytest.fixture
def cli_url(fresh_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DESKTOP_AUTH_HASH_METHOD", CHEAP_HASH)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert main(["--database-url", fresh_url, "db", "upgrade"]) == 0
    return fresh_url


def _users(url: str) -> list[str]:
    database = Database(make_settings(url))
    try:
        services = Services(make_settings(url), database)
        from desktop_auth.services.records import Actor

        return [user.email for user in services.admin.list_users(Actor.operator(), limit=1000)]
    finally:
        database.dispose()


def test_problems_are_printed_per_line_and_nothing_is_written(
    cli_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "people.csv"
    source.write_bytes(
        "\ufeffemail,role\r\nok@example.com,user\r\n=cmd|'/C calc'!A0,user\r\nok@example.com,boss\r\n".encode()
    )
    out_file = tmp_path / "passwords.csv"
    capsys.readouterr()
    code = main(["--database-url", cli_url, "users", "import", str(source), "--passwords-out", str(out_file)])
    assert code == 1
    captured = capsys.readouterr()
    err = captured.err.splitlines()
    assert err[0] == "line 2: the same address as line 4"
    assert any(line.startswith("line 3: the address starts with '='") for line in err)
    assert "line 4: unknown role 'boss'" in err
    assert err[-1].startswith("desktop-auth: error: 3 rows of the file have problems; nothing was imported")
    assert captured.out == ""
    assert not out_file.exists()
    assert _users(cli_url) == []


def test_a_clean_file_is_imported_and_the_passwords_file_is_private(
    cli_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "people.csv"
    source.write_text("email;role\nann@example.com;admin\nben@example.com;\n", encoding="utf-8")
    out_file = tmp_path / "passwords.csv"
    capsys.readouterr()
    args = ["--database-url", cli_url, "users", "import", str(source), "--passwords-out", str(out_file)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Imported 2 accounts. Their temporary passwords are in {out_file}")
    assert "+00:00" in out
    if os.name == "posix":
        assert stat.S_IMODE(out_file.stat().st_mode) == 0o600
    with out_file.open(encoding="utf-8", newline="") as rows:
        entries = {row["email"]: row["temporary_password"] for row in csv.DictReader(rows)}
    assert set(entries) == {"ann@example.com", "ben@example.com"}
    assert sorted(_users(cli_url)) == ["ann@example.com", "ben@example.com"]
    database = Database(make_settings(cli_url))
    try:
        services = Services(make_settings(cli_url), database)
        for email, password in entries.items():
            assert services.accounts.authenticate(email, password).must_change_password
    finally:
        database.dispose()

    # The same command again: the passwords file exists, so nothing is imported (nor overwritten).
    assert main(args) == 1
    assert "already exists" in capsys.readouterr().err
    assert sorted(_users(cli_url)) == ["ann@example.com", "ben@example.com"]


def test_a_missing_file_or_an_unwritable_folder_is_one_line(
    cli_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    missing = tmp_path / "nope.csv"
    assert (
        main(
            [
                "--database-url",
                cli_url,
                "users",
                "import",
                str(missing),
                "--passwords-out",
                str(tmp_path / "p.csv"),
            ]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "Could not read" in err
    source = tmp_path / "people.csv"
    source.write_text("email\nann@example.com\n", encoding="utf-8")
    nowhere = tmp_path / "no-such-folder" / "p.csv"
    assert (
        main(["--database-url", cli_url, "users", "import", str(source), "--passwords-out", str(nowhere)])
        == 1
    )
    assert "not writable" in capsys.readouterr().err
    assert _users(cli_url) == []


def test_a_file_that_is_not_utf8_is_refused_whole(
    cli_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "latin1.csv"
    source.write_bytes("email\nzoë@example.com\n".encode("latin-1"))
    capsys.readouterr()
    out_file = tmp_path / "p.csv"
    assert (
        main(["--database-url", cli_url, "users", "import", str(source), "--passwords-out", str(out_file)])
        == 1
    )
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "line 2: the file is not UTF-8 text (byte 0xEB); save it as UTF-8",
        "desktop-auth: error: The file cannot be imported as it is; nothing was imported. Fix it and try again.",
    ]
    assert not out_file.exists()
    assert _users(cli_url) == []
