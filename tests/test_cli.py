"""The operator CLI, driven in-process through ``main(argv)`` on SQLite and MariaDB."""

from __future__ import annotations

import argparse
import io
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from desktop_auth.cli import _with_database_option, main
from desktop_auth.db import migrate
from desktop_auth.db.engine import Database
from desktop_auth.db.urls import mask_url
from desktop_auth.services import Services
from desktop_auth.services.errors import InvalidCredentialsError
from tests.cli_helpers import UTC_TEXT, Terminal, one_error_line, run
from tests.cli_helpers import cli_url as cli_url  # the fixture
from tests.conftest import CHEAP_HASH, OTHER_PASSWORD, STRONG_PASSWORD, make_settings


def test_full_operator_session(
    cli_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(cli_url, "users", "list") == 1
    hint = f"run: desktop-auth --database-url {shlex.quote(mask_url(cli_url))} db upgrade"
    assert hint in capsys.readouterr().err

    assert run(cli_url, "db", "upgrade") == 0
    assert run(cli_url, "db", "current") == 0
    assert f"{migrate.script_revisions()[-1]} (current)" in capsys.readouterr().out

    assert (
        run(
            cli_url,
            "users",
            "create",
            "Root@Example.com",
            "--role",
            "admin",
            "--password-stdin",
            stdin=STRONG_PASSWORD + "\n",
            monkeypatch=monkeypatch,
        )
        == 0
    )
    assert (
        run(
            cli_url,
            "users",
            "create",
            "pat@example.com",
            "--password-stdin",
            stdin=STRONG_PASSWORD + "\n",
            monkeypatch=monkeypatch,
        )
        == 0
    )
    assert "Created pat@example.com with role user." in capsys.readouterr().out

    assert run(cli_url, "roles", "add", "auditor") == 0
    assert run(cli_url, "users", "set-role", "PAT@example.com", "auditor") == 0
    assert run(cli_url, "users", "deactivate", "pat@example.com") == 0
    capsys.readouterr()
    assert run(cli_url, "users", "list", "--json", "--role", "auditor") == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(u["email"], u["role"], u["active"]) for u in listed] == [("pat@example.com", "auditor", False)]
    assert run(cli_url, "users", "list", "--search", "root") == 0
    out = capsys.readouterr().out
    assert "root@example.com" in out
    assert "pat@example.com" not in out
    assert run(cli_url, "users", "activate", "pat@example.com") == 0
    assert run(cli_url, "users", "unlock", "pat@example.com") == 0
    assert run(cli_url, "roles", "list") == 0
    assert "auditor" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("users", "create", "weak@example.com", "--password-stdin"), "weak\n", "at least 15 characters"),
        (("users", "create", "bad-address", "--password-stdin"), STRONG_PASSWORD + "\n", "email"),
        (
            ("users", "create", "root@example.com", "--password-stdin"),
            STRONG_PASSWORD + "\n",
            "already exists",
        ),
        (("users", "set-role", "root@example.com", "user"), None, "no active administrator"),
        (("users", "deactivate", "root@example.com"), None, "no active administrator"),
        (("users", "set-role", "nobody@example.com", "user"), None, "No account"),
        (("users", "set-role", "root@example.com", "wizard"), None, "no role named"),
        (("roles", "remove", "admin"), None, "built in"),
        (("roles", "add", "Bad Name!"), None, "role name"),
        (("users", "reset-password", "root@example.com", "--password-stdin"), "weak\n", "at least 15"),
        (("users", "reset-password", "nobody@example.com"), None, "No account"),
        (("users", "list", "--role", "nosuch"), None, "no role named 'nosuch'; the roles are: admin, user."),
        (("users", "list", "--role", ""), None, "no role named ''; the roles are: admin, user."),
        (
            ("users", "create", "pat@example.com", "--role", "wizard", "--password-stdin"),
            STRONG_PASSWORD + "\n",
            "no role named 'wizard'; the roles are: admin, user.",
        ),
        # hostile standard input: a NUL, far too long, nothing at all
        (("users", "create", "pat@example.com", "--password-stdin"), "a\x00" + STRONG_PASSWORD, "control"),
        (("users", "create", "pat@example.com", "--password-stdin"), "a" * 100_000, "longer than 1024"),
        (("users", "create", "pat@example.com", "--password-stdin"), "a" * 2_000 + "\n", "at most 1024"),
        (("users", "create", "pat@example.com", "--password-stdin"), "", "enter a password"),
        # hostile arguments: empty, huge, non-ASCII, a lone surrogate (undecodable bytes in argv)
        (("users", "create", "", "--password-stdin"), STRONG_PASSWORD + "\n", "enter an email"),
        (("users", "create", "a" * 100_000 + "@example.com", "--password-stdin"), "x\n", "at most 254"),
        (("users", "create", "b\udcff@example.com", "--password-stdin"), "x\n", "unsafe characters"),
        (("users", "list", "--search", "s" * 100_000), None, "at most 254"),
        (("users", "list", "--role", "r\udcff"), None, "no role named 'r\\udcff'"),
        (("users", "unlock", ""), None, "enter an email"),
        (("users", "activate", "jürgen@exämple.com"), None, "No account"),
        (("roles", "add", "r" * 100_000), None, "at most 64"),
        (("roles", "remove", "ünïcode"), None, "no role named"),
    ],
)
def test_refusals_exit_1_with_one_line_and_no_change(
    cli_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    stdin: str | None,
    message: str,
) -> None:
    assert run(cli_url, "db", "upgrade") == 0
    assert (
        run(
            cli_url,
            "users",
            "create",
            "root@example.com",
            "--role",
            "admin",
            "--password-stdin",
            stdin=STRONG_PASSWORD + "\n",
            monkeypatch=monkeypatch,
        )
        == 0
    )
    capsys.readouterr()
    assert run(cli_url, "users", "list", "--json") == 0
    before = capsys.readouterr().out

    assert run(cli_url, *args, stdin=stdin, monkeypatch=monkeypatch) == 1
    err = one_error_line(capsys.readouterr().err)
    assert message.lower() in err.lower()

    assert run(cli_url, "users", "list", "--json") == 0
    assert capsys.readouterr().out == before


def test_reset_password_prints_a_random_password_once_and_takes_a_chosen_one_from_stdin(
    cli_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(cli_url, "db", "upgrade") == 0
    for email, role in (("root@example.com", "admin"), ("pat@example.com", "user")):
        create = ("users", "create", email, "--role", role, "--password-stdin")
        assert run(cli_url, *create, stdin=STRONG_PASSWORD + "\n", monkeypatch=monkeypatch) == 0
    capsys.readouterr()

    assert run(cli_url, "users", "reset-password", "Pat@example.com") == 0
    printed = capsys.readouterr()
    first, second = printed.out.splitlines()
    assert first.startswith("Temporary password for pat@example.com: ")
    generated = first.rsplit(" ", 1)[1]
    assert len(generated) >= 15
    assert printed.out.count(generated) == 1, "shown once"
    assert "must be changed at the next sign-in and expires at" in second
    assert re.search(f"expires at {UTC_TEXT}\\. It is not shown again\\.$", second), second
    assert not printed.err

    services = Services(make_settings(cli_url))
    try:
        assert services.accounts.authenticate("pat@example.com", generated).must_change_password
        with pytest.raises(InvalidCredentialsError):
            services.accounts.authenticate("pat@example.com", STRONG_PASSWORD)

        reset = ("users", "reset-password", "pat@example.com", "--password-stdin")
        assert run(cli_url, *reset, stdin=OTHER_PASSWORD + "\n", monkeypatch=monkeypatch) == 0
        out = capsys.readouterr().out
        assert "pat@example.com has the temporary password you chose" in out
        assert re.search(f"expiring {UTC_TEXT}\\.$", out.strip()), out
        assert OTHER_PASSWORD not in out
        assert services.accounts.authenticate("pat@example.com", OTHER_PASSWORD).must_change_password
        with pytest.raises(InvalidCredentialsError):
            services.accounts.authenticate("pat@example.com", generated)
    finally:
        services.close()


def test_usage_errors_exit_2(cli_url: str) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["users", "frobnicate"])
    assert caught.value.code == 2
    with pytest.raises(SystemExit) as caught:
        main(["users", "create"])
    assert caught.value.code == 2


def test_prompted_passwords_must_match(cli_url: str, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    assert run(cli_url, "db", "upgrade") == 0
    answers = iter([STRONG_PASSWORD, STRONG_PASSWORD + "typo"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    monkeypatch.setattr(sys, "stdin", Terminal())
    assert run(cli_url, "users", "create", "root@example.com") == 1
    assert "do not match" in one_error_line(capsys.readouterr().err)


def test_a_weak_password_is_refused_at_the_first_prompt(
    cli_url: str, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    assert run(cli_url, "db", "upgrade") == 0
    prompts: list[str] = []

    def getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return "weak"

    monkeypatch.setattr("getpass.getpass", getpass)
    monkeypatch.setattr(sys, "stdin", Terminal())
    assert run(cli_url, "users", "create", "root@example.com") == 1
    assert "at least 15 characters" in one_error_line(capsys.readouterr().err)
    assert prompts == ["Password: "], "refused before being asked to confirm"

    prompts.clear()
    answers = iter([STRONG_PASSWORD, STRONG_PASSWORD])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": prompts.append(prompt) or next(answers))
    assert run(cli_url, "users", "create", "root@example.com", "--role", "admin") == 0
    assert prompts == ["Password: ", "Repeat password: "]
    assert "Created root@example.com with role admin." in capsys.readouterr().out


def test_bad_address_or_role_is_refused_before_any_prompt(
    cli_url: str, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    assert run(cli_url, "db", "upgrade") == 0
    monkeypatch.setattr("getpass.getpass", lambda prompt="": pytest.fail(f"prompted: {prompt}"))
    monkeypatch.setattr(sys, "stdin", Terminal())
    assert run(cli_url, "users", "create", "not-an-address") == 1
    assert "@-sign" in one_error_line(capsys.readouterr().err)
    assert run(cli_url, "users", "create", "pat@example.com", "--role", "wizard") == 1
    assert "no role named 'wizard'" in one_error_line(capsys.readouterr().err)


def test_end_of_input_at_the_prompt_is_one_line(
    cli_url: str, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    assert run(cli_url, "db", "upgrade") == 0

    def getpass(prompt: str = "") -> str:
        raise EOFError  # Ctrl-D

    monkeypatch.setattr("getpass.getpass", getpass)
    monkeypatch.setattr(sys, "stdin", Terminal())
    assert run(cli_url, "users", "create", "root@example.com") == 1
    assert "No password was entered; nothing was changed." in one_error_line(capsys.readouterr().err)


def test_no_terminal_to_prompt_on_says_to_use_password_stdin(
    cli_url: str, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """stdin from /dev/null or a pipe: getpass would hit end of input (EOFError) or prompt on another
    terminal than the one the password is piped from; the command says what to do instead."""
    assert run(cli_url, "db", "upgrade") == 0

    def getpass(prompt: str = "") -> str:
        raise EOFError  # what getpass does with no terminal and stdin at its end

    monkeypatch.setattr("getpass.getpass", getpass)
    for stdin in ("", STRONG_PASSWORD + "\n"):  # /dev/null; a pipe without --password-stdin
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        assert run(cli_url, "users", "create", "root@example.com", "--role", "admin") == 1
        err = one_error_line(capsys.readouterr().err)
        assert "not a terminal" in err
        assert "--password-stdin" in err
    assert run(cli_url, "users", "list", "--json") == 0
    assert json.loads(capsys.readouterr().out) == []

    # reset-password asks for nothing: without --password-stdin it prints a random password, terminal or not
    create = ("users", "create", "root@example.com", "--role", "admin", "--password-stdin")
    assert run(cli_url, *create, stdin=STRONG_PASSWORD + "\n", monkeypatch=monkeypatch) == 0
    capsys.readouterr()
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert run(cli_url, "users", "reset-password", "root@example.com") == 0
    assert capsys.readouterr().out.startswith("Temporary password for root@example.com: ")


def test_password_stdin_that_is_not_utf8_is_one_line(
    cli_url: str, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    assert run(cli_url, "db", "upgrade") == 0
    for args in (("users", "create", "root@example.com"), ("users", "reset-password", "root@example.com")):
        stdin = io.TextIOWrapper(io.BytesIO(b"\xff\xfe-not-utf-8-violet-tundra\n"), encoding="utf-8")
        monkeypatch.setattr(sys, "stdin", stdin)
        assert run(cli_url, *args, "--password-stdin") == 1
        assert "not UTF-8" in one_error_line(capsys.readouterr().err)


def test_unknown_revisions_are_one_line_and_change_nothing(cli_url: str, capsys) -> None:
    for args in (
        ("db", "upgrade", "9999"),
        ("db", "upgrade", ""),
        ("db", "upgrade", "head\x00; DROP TABLE user"),
        ("db", "downgrade", "nosuch"),
    ):
        assert run(cli_url, *args) == 1, args
        err = one_error_line(capsys.readouterr().err)
        assert "Unknown revision" in err
        assert f"{migrate.script_revisions()[-1]}, head, base" in err
        assert "unexpected" not in err
    assert run(cli_url, "db", "current") == 0
    assert capsys.readouterr().out == "none (empty)\n"

    assert run(cli_url, "db", "upgrade") == 0
    capsys.readouterr()
    for args in (("db", "upgrade", "+1"), ("db", "downgrade", "-99")):  # steps past either end
        assert run(cli_url, *args) == 1, args
        assert "Cannot " in one_error_line(capsys.readouterr().err)
    assert run(cli_url, "db", "downgrade", "-1") == 0
    assert f"at revision {migrate.script_revisions()[-2]}." in capsys.readouterr().out


def test_db_current_creates_no_database_where_there_is_none(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "typo" / "missing.sqlite3"
    url = f"sqlite:///{missing}"
    for args in (("db", "current"), ("db", "downgrade", "base"), ("users", "list"), ("roles", "list")):
        assert main(["--database-url", url, *args]) == 1, args
        err = one_error_line(capsys.readouterr().err)
        assert f"There is no database at {str(missing)!r}" in err
        assert f"run: desktop-auth --database-url {url} db upgrade" in err
        assert not missing.exists()
        assert not missing.parent.exists()
    assert main(["--database-url", url, "db", "upgrade"]) == 0  # upgrade is what creates it
    assert main(["--database-url", url, "db", "current"]) == 0
    assert "(current)" in capsys.readouterr().out


def test_a_file_that_is_not_a_database_is_one_line(tmp_path: Path, capsys) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database, " * 100)
    for args in (("db", "current"), ("db", "upgrade"), ("users", "list")):
        assert main(["--database-url", f"sqlite:///{notes}", *args]) == 1
        assert "is not a usable SQLite database" in one_error_line(capsys.readouterr().err)
    assert notes.read_text() == "not a database, " * 100


def test_the_upgrade_hint_names_the_database_given_on_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("DESKTOP_AUTH_HASH_METHOD", CHEAP_HASH)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    url_file = tmp_path / "my db.url"  # a space: the hint quotes it for the shell
    url_file.write_text(f"sqlite:///{tmp_path / 'app.sqlite3'}\n")
    assert main(["--database-url-file", str(url_file), "users", "list"]) == 1
    err = one_error_line(capsys.readouterr().err)
    hint = err.split("run: ", 1)[1].strip()
    assert hint == f"desktop-auth --database-url-file {shlex.quote(str(url_file))} db upgrade"
    assert main(shlex.split(hint)[1:]) == 0  # copying the hint works
    assert main(["--database-url-file", str(url_file), "users", "list"]) == 0

    empty = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    Database(make_settings(empty)).dispose()  # an empty file: no tables yet
    assert main(["--database-url", empty, "users", "list"]) == 1
    err = one_error_line(capsys.readouterr().err)
    assert err.endswith(f"run: desktop-auth --database-url {empty} db upgrade\n")


def test_the_upgrade_hint_masks_the_password() -> None:
    url = "mysql+pymysql://ops:t0p-secret@db.example.com/app?read_timeout=20"
    args = argparse.Namespace(database_url=f"  {url} ", database_url_file=None)
    message = "The database has no tables yet; run: desktop-auth db upgrade"
    shown = _with_database_option(message, args)
    assert "t0p-secret" not in shown
    assert shown == (
        "The database has no tables yet; run: desktop-auth --database-url "
        f"{shlex.quote(mask_url(url))} db upgrade"
    )
    assert "'mysql+pymysql://ops:***@db.example.com/app?read_timeout=20'" in shown
    other = argparse.Namespace(database_url=None, database_url_file=None)  # DATABASE_URL or embedded
    assert _with_database_option(message, other) == message
    assert _with_database_option("No account has that address.", args) == "No account has that address."


def test_users_list_shows_dates_in_utc_with_their_offset(
    cli_url: str, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    assert run(cli_url, "db", "upgrade") == 0
    create = ("users", "create", "root@example.com", "--role", "admin", "--password-stdin")
    assert run(cli_url, *create, stdin=STRONG_PASSWORD + "\n", monkeypatch=monkeypatch) == 0
    capsys.readouterr()
    assert run(cli_url, "users", "list") == 0
    row = capsys.readouterr().out.splitlines()[1]
    # ... then must change password, temporary password expiry, recovery codes left
    assert re.fullmatch(f"root@example.com +admin +yes +- +- +0 +{UTC_TEXT} +no +- +0 +off", row), row
    assert run(cli_url, "users", "list", "--json") == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert re.fullmatch(UTC_TEXT, listed["created_at"]), listed
    assert re.fullmatch(UTC_TEXT, listed["updated_at"]), listed
    assert listed["last_login_at"] is None


def test_unreachable_database_is_one_line_with_masked_password(capsys) -> None:
    assert main(["--database-url", "mysql+pymysql://ops:t0p-secret@127.0.0.1:1/app", "users", "list"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "t0p-secret" not in err
    assert "unavailable" in err


def test_embedded_default_upgrades_by_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """With no DATABASE_URL the CLI works on the embedded SQLite file and creates its schema itself."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DESKTOP_AUTH_HASH_METHOD", CHEAP_HASH)
    monkeypatch.setattr(
        "desktop_auth.config.embedded_database_url", lambda: f"sqlite:///{tmp_path / 'e.sqlite3'}"
    )
    monkeypatch.chdir(tmp_path)
    assert main(["users", "list"]) == 0
    assert "0 accounts" in capsys.readouterr().out


def test_python_dash_m_runs_the_same_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "desktop_auth", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert result.stdout.startswith("desktop-auth ")
    helped = subprocess.run(
        [sys.executable, "-m", "desktop_auth", "users", "--help"], capture_output=True, text=True
    )
    assert helped.returncode == 0
    assert "set-role" in helped.stdout


def test_cli_database_left_at_head(cli_url: str) -> None:
    assert main(["--database-url", cli_url, "db", "upgrade"]) == 0
    assert main(["--database-url", cli_url, "db", "downgrade", "base"]) == 0
    database = Database(make_settings(cli_url))
    assert migrate.upgrade(database) == migrate.script_revisions()[-1]
    database.dispose()


def test_a_terminal_that_is_not_utf8_gets_escapes_not_an_error(
    cli_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Latin-1 locale: the account is created and said so, its CJK letters written as \\uXXXX."""
    assert run(cli_url, "db", "upgrade") == 0
    latin1 = io.TextIOWrapper(io.BytesIO(), encoding="latin-1")
    monkeypatch.setattr(sys, "stdout", latin1)
    create = ("users", "create", "用户@example.com", "--password-stdin")
    assert run(cli_url, *create, stdin=STRONG_PASSWORD + "\n", monkeypatch=monkeypatch) == 0
    assert run(cli_url, "users", "list", "--json") == 0
    latin1.flush()
    printed = latin1.buffer.getvalue().decode("latin-1")  # type: ignore[attr-defined]
    assert printed.startswith("Created \\u7528\\u6237@example.com with role user.\n")
    assert json.loads(printed.split("\n", 1)[1])[0]["email"] == "用户@example.com"


def test_unlock_names_the_address_as_the_app_spells_it(cli_url: str, capsys) -> None:
    assert run(cli_url, "db", "upgrade") == 0
    capsys.readouterr()
    assert run(cli_url, "users", "unlock", "  Ju\u0308rgen@EXAMPLE.com ") == 0  # decomposed ü, upper case
    assert capsys.readouterr().out == "j\u00fcrgen@example.com: was not locked.\n"
