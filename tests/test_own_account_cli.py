"""``desktop-auth users rename OLD NEW``: an operator changes a person's address, on SQLite and MariaDB."""

from __future__ import annotations

import pytest

from desktop_auth.db.engine import Database
from desktop_auth.services import Services
from desktop_auth.services.errors import AccountLockedError, InvalidCredentialsError
from tests.cli_helpers import cli_url as cli_url  # the fixture
from tests.cli_helpers import one_error_line, run
from tests.conftest import OTHER_PASSWORD, STRONG_PASSWORD, make_settings


@pytest.fixture
def ready(cli_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Services:
    assert run(cli_url, "db", "upgrade") == 0
    services = Services(make_settings(cli_url, lockout_threshold=2), Database(make_settings(cli_url)))
    services.accounts.create_first_admin("root@example.com", STRONG_PASSWORD)
    services.accounts.register("ada@example.com", STRONG_PASSWORD)
    services.accounts.register("bob@example.com", STRONG_PASSWORD)
    capsys.readouterr()
    yield services
    services.close()


def test_rename_changes_the_address_keeps_the_lockout_and_is_audited(
    cli_url: str, ready: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    for _ in range(2):
        with pytest.raises(InvalidCredentialsError):
            ready.accounts.authenticate("ada@example.com", OTHER_PASSWORD)
    assert run(cli_url, "users", "rename", "ADA@example.com", "Ada.L@Example.com") == 0
    assert capsys.readouterr().out == "ada@example.com is now ada.l@example.com.\n"
    with pytest.raises(AccountLockedError):
        ready.accounts.authenticate("ada.l@example.com", STRONG_PASSWORD)
    root = ready.accounts.authenticate("root@example.com", STRONG_PASSWORD)
    (event,) = [e for e in ready.admin.audit_log(root.actor) if e.action == "email_change"]
    assert event.actor.startswith("operator:")
    assert event.detail == "changed email from ada@example.com to ada.l@example.com"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("ada@example.com", "bob@example.com"), "An account with this email address already exists."),
        (("ada@example.com", "bоb@example.com"), "looks too much like an existing account's"),
        (("nobody@example.com", "new@example.com"), "No account has the email address nobody@example.com."),
        (("ada@example.com", "not-an-address"), "email address"),
        (("ada@example.com", "ADA@example.com"), "ada@example.com already has that address."),
        (("ada@example.com", "x" * 10_000), "at most"),
    ],
)
def test_rename_refusals_are_one_line_with_exit_status_1(
    cli_url: str, ready: Services, capsys: pytest.CaptureFixture[str], args: tuple[str, str], message: str
) -> None:
    assert run(cli_url, "users", "rename", *args) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in one_error_line(captured.err)
    assert ready.accounts.authenticate("ada@example.com", STRONG_PASSWORD).email == "ada@example.com"


def test_rename_needs_both_addresses(
    cli_url: str, ready: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as usage:
        run(cli_url, "users", "rename", "ada@example.com")
    assert usage.value.code == 2
