"""The operator CLI, driven in-process through ``main(argv)`` on SQLite and MariaDB."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from desktop_auth.cli import main
from desktop_auth.db import migrate
from desktop_auth.db.engine import Database
from desktop_auth.services import Services
from desktop_auth.services.errors import InvalidCredentialsError
from tests.conftest import CHEAP_HASH, OTHER_PASSWORD, STRONG_PASSWORD, make_settings


@pytest.fixture
def cli_url(fresh_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DESKTOP_AUTH_HASH_METHOD", CHEAP_HASH)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return fresh_url


def run(url: str, *args: str, stdin: str | None = None, monkeypatch: pytest.MonkeyPatch | None = None) -> int:
    if stdin is not None:
        assert monkeypatch is not None
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return main(["--database-url", url, *args])


def test_full_operator_session(
    cli_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(cli_url, "users", "list") == 1
    assert "run: desktop-auth db upgrade" in capsys.readouterr().err

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
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("desktop-auth: error: ")
    assert message.lower() in err.lower()
    assert "Traceback" not in err

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
    assert run(cli_url, "users", "create", "root@example.com") == 1
    assert "do not match" in capsys.readouterr().err


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
