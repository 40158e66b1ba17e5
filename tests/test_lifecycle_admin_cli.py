"""The lifecycle's operator commands: ``users create --temporary-password``, ``users delete EMAIL...
[--yes]`` and ``audit erase EMAIL [--yes]``, in-process through ``main(argv)`` on SQLite and MariaDB."""

from __future__ import annotations

import re
import sys

import pytest
from sqlalchemy import select

from desktop_auth.db.engine import Database
from desktop_auth.models import AuditEvent, User
from desktop_auth.services import Services
from tests.cli_helpers import UTC_TEXT, Terminal, one_error_line, run
from tests.cli_helpers import cli_url as cli_url  # the fixture: a fresh database URL on each backend
from tests.conftest import STRONG_PASSWORD, make_settings


@pytest.fixture
def cli_db(cli_url: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert run(cli_url, "db", "upgrade") == 0
    services = Services(make_settings(cli_url))
    try:
        services.accounts.create_first_admin("root@example.com", STRONG_PASSWORD)
        for email in ("ada@example.com", "ben@example.com", "cy@example.com"):
            services.accounts.register(email, STRONG_PASSWORD)
    finally:
        services.close()
    capsys.readouterr()
    return cli_url


def _emails(url: str) -> set[str]:
    database = Database(make_settings(url))
    try:
        with database.transaction() as session:
            return set(session.scalars(select(User.email)))
    finally:
        database.dispose()


def _terminal(monkeypatch: pytest.MonkeyPatch, typed: str) -> None:
    monkeypatch.setattr(sys, "stdin", Terminal())
    monkeypatch.setattr("builtins.input", lambda prompt: (print(prompt, end=""), typed)[1])


def test_create_with_a_temporary_password(
    cli_db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", Terminal())  # never asked for a password
    assert run(cli_db, "users", "create", "New@Example.com", "--temporary-password") == 0
    out = capsys.readouterr().out
    password = re.search(r"Temporary password for new@example.com: (\S+)\n", out)
    assert password is not None, out
    assert re.search(
        rf"must be changed at the first sign-in and expires at {UTC_TEXT}\. It is not shown", out
    )
    services = Services(make_settings(cli_db))
    try:
        assert services.accounts.authenticate("new@example.com", password.group(1)).must_change_password
    finally:
        services.close()
    # The same refusals as anywhere else, in one line.
    assert run(cli_db, "users", "create", "new@example.com", "--temporary-password") == 1
    assert "already exists" in one_error_line(capsys.readouterr().err)
    assert run(cli_db, "users", "create", "r\u043e\u043et@example.com", "--temporary-password") == 1
    assert "looks too much like" in one_error_line(capsys.readouterr().err)
    with pytest.raises(SystemExit) as usage:
        run(cli_db, "users", "create", "x@example.com", "--temporary-password", "--password-stdin")
    assert usage.value.code == 2


def test_delete_with_yes_all_or_none(cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(cli_db, "users", "delete", "ada@example.com", "nobody@example.com", "--yes") == 1
    err = one_error_line(capsys.readouterr().err)
    assert "nobody@example.com" in err
    assert "nothing was deleted" in err
    assert "ada@example.com" in _emails(cli_db)
    assert run(cli_db, "users", "delete", "ADA@example.com", "ben@example.com", "--yes") == 0
    assert capsys.readouterr().out == "Deleted 2 accounts.\n"
    assert _emails(cli_db) == {"root@example.com", "cy@example.com"}
    assert run(cli_db, "users", "delete", "cy@example.com", "--yes") == 0
    assert capsys.readouterr().out == "Deleted cy@example.com.\n"


def test_delete_never_the_last_admin(cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(cli_db, "users", "delete", "root@example.com", "ada@example.com", "--yes") == 1
    assert "last active administrator" in one_error_line(capsys.readouterr().err)
    assert _emails(cli_db) == {"root@example.com", "ada@example.com", "ben@example.com", "cy@example.com"}


def test_delete_asks_on_a_terminal(
    cli_db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _terminal(monkeypatch, "1")  # the count is not the answer for one account: its address is
    assert run(cli_db, "users", "delete", "ada@example.com") == 1
    captured = capsys.readouterr()
    assert "Delete ada@example.com? This cannot be undone. Type ada@example.com to confirm: " in captured.out
    assert "Not confirmed; nothing was changed." in one_error_line(captured.err)
    _terminal(monkeypatch, " ADA@example.com ")
    assert run(cli_db, "users", "delete", "ada@example.com") == 0
    _terminal(monkeypatch, "3")
    assert run(cli_db, "users", "delete", "ben@example.com", "cy@example.com") == 1
    assert "Type 2 to confirm" in capsys.readouterr().out
    _terminal(monkeypatch, "2")
    assert run(cli_db, "users", "delete", "ben@example.com", "cy@example.com") == 0
    assert _emails(cli_db) == {"root@example.com"}


def test_delete_without_a_terminal_needs_yes(
    cli_db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (
        run(cli_db, "users", "delete", "ada@example.com", stdin="ada@example.com\n", monkeypatch=monkeypatch)
        == 1
    )
    assert "add --yes" in one_error_line(capsys.readouterr().err)
    assert "ada@example.com" in _emails(cli_db)


def test_audit_erase(
    cli_db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(cli_db, "audit", "erase", "ada@example.com", "--yes") == 1
    assert "delete the account first" in one_error_line(capsys.readouterr().err)
    assert run(cli_db, "users", "delete", "ada@example.com", "--yes") == 0
    _terminal(monkeypatch, "no")
    assert run(cli_db, "audit", "erase", "ada@example.com") == 1
    assert "Not confirmed" in capsys.readouterr().err
    _terminal(monkeypatch, "yes")
    assert run(cli_db, "audit", "erase", "ada@example.com") == 0
    assert "Erased the address from 2 history entries." in capsys.readouterr().out  # create, delete
    database = Database(make_settings(cli_db))
    try:
        with database.transaction() as session:
            rows = session.execute(select(AuditEvent.actor, AuditEvent.target, AuditEvent.detail)).all()
    finally:
        database.dispose()
    assert not any("ada@example.com" in " ".join(filter(None, row)) for row in rows), rows


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        run("sqlite://", "users", "--help")
    out = capsys.readouterr().out
    assert "delete" in out
    assert "never the last active administrator" in out.replace("\n", " ").replace("  ", " ")
    with pytest.raises(SystemExit):
        run("sqlite://", "users", "create", "--help")
    assert "--temporary-password" in capsys.readouterr().out
