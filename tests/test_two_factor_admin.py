"""Administering two-factor sign-in (issue #18) without the GUI: every list of users says whether an account
has it (never its secret: not in a record's repr, the CSV exports, ``users list`` or a log file), and the
commands ``users reset-2fa``, ``settings show|set`` and ``2fa new-key``; on SQLite and MariaDB."""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, select, update

from desktop_auth import cli
from desktop_auth.commands_two_factor import SETTING_NAMES
from desktop_auth.config import Settings
from desktop_auth.db.engine import Database
from desktop_auth.models import AuditEvent, User
from desktop_auth.security import totp
from desktop_auth.services import Services
from desktop_auth.services.records import Actor, SharedSettings, UserQuery
from tests.cli_helpers import cli_url as cli_url
from tests.cli_helpers import run
from tests.conftest import STRONG_PASSWORD, FakeClock, make_settings, register_accounts
from tests.two_factor_helpers import enroll

# -- the services' lists -----------------------------------------------------------------------------------


def test_every_list_of_users_says_who_has_two_factor(
    services: Services, admin: Actor, clock: FakeClock
) -> None:
    ada, _bob = register_accounts(services, "ada@example.com", "bob@example.com")
    enroll(services, ada, clock)
    listed = {user.email: user.two_factor for user in services.admin.list_users(admin, UserQuery(), 0, 50)}
    assert listed == {"ada@example.com": True, "bob@example.com": False, "root@example.com": False}
    assert services.admin.get_user(admin, "ada@example.com").two_factor
    assert not services.admin.get_user(admin, "bob@example.com").two_factor
    batches = list(services.export.iter_users(admin, UserQuery()))
    assert {u.email: u.two_factor for batch in batches for u in batch} == listed

    services.two_factor.reset(admin, "ada@example.com")
    assert not services.admin.get_user(admin, "ada@example.com").two_factor


def test_the_csv_export_says_on_or_off(services: Services, admin: Actor, clock: FakeClock) -> None:
    (ada,) = register_accounts(services, "ada@example.com")
    enroll(services, ada, clock)
    out = io.StringIO()
    services.export.write_users_csv(admin, UserQuery(), out)
    rows = {row["email"]: row for row in csv.DictReader(io.StringIO(out.getvalue()))}
    assert rows["ada@example.com"]["two_factor"] == "yes"
    assert rows["root@example.com"]["two_factor"] == "no"


@pytest.mark.parametrize("with_key", [False, True], ids=["in clear", "with a key"])
def test_the_secret_is_in_no_record_export_listing_or_log_file(
    clock: FakeClock,
    log_dir: Path,
    cli_url: str,
    with_key: bool,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Enrolled for real (sealed as the services seal it), then every way an administrator or operator
    sees an account: the record's repr, both CSV exports, ``users list`` and its JSON, and the log files."""
    key = Fernet.generate_key().decode("ascii") if with_key else None
    if key is not None:
        monkeypatch.setenv("DESKTOP_AUTH_TOTP_KEY", key)
    assert run(cli_url, "db", "upgrade") == 0
    settings = make_settings(cli_url, totp_key=key)
    database = Database(settings)
    try:
        services = Services(settings, database, clock)
        root = services.accounts.create_first_admin("root@example.com", STRONG_PASSWORD)
        admin = Actor(root.id, root.email)
        (ada,) = register_accounts(services, "ada@example.com")
        secret = enroll(services, ada, clock)
        with database.transaction() as session:
            stored = session.scalar(select(User.totp_secret).where(User.id == ada))
        assert stored is not None
        # Also what a base32 secret looks like in lower case or split up, as a careless log line might.
        needles = {secret, secret.lower(), secret[:16], stored.split(":", 1)[1][:24]}

        seen: list[str] = []
        record = services.admin.get_user(admin, "ada@example.com")
        seen += [repr(record), str(record)]
        seen += [repr(services.admin.list_users(admin, UserQuery(), 0, 50))]
        users_csv, audit_csv = io.StringIO(), io.StringIO()
        services.export.write_users_csv(admin, UserQuery(), users_csv)
        services.export.write_audit_csv(admin, "", audit_csv)
        seen += [users_csv.getvalue(), audit_csv.getvalue()]
        assert "two_factor_enable" in audit_csv.getvalue()  # the history says it happened, not with what
        capsys.readouterr()
        assert run(cli_url, "users", "list") == 0
        assert run(cli_url, "users", "list", "--json") == 0
        said = capsys.readouterr()
        seen += [said.out, said.err]
        seen += [path.read_text(errors="replace") for path in log_dir.rglob("*") if path.is_file()]
        for text in seen:
            for needle in needles:
                assert needle not in text
    finally:
        database.dispose()


# -- the commands --------------------------------------------------------------------------------------------


def _cli_services(url: str) -> tuple[Services, Database]:
    settings = make_settings(url)
    database = Database(settings)
    return Services(settings, database), database


def _set_up(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(url, "db", "upgrade") == 0
    for email, role in (("root@example.com", "admin"), ("ada@example.com", "user")):
        create = ("users", "create", email, "--role", role, "--password-stdin")
        assert run(url, *create, stdin=STRONG_PASSWORD + "\n", monkeypatch=monkeypatch) == 0


def _has_factor(url: str, email: str) -> bool:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.scalar(select(User.totp_secret).where(User.email == email)) is not None
    finally:
        engine.dispose()


def test_users_list_and_reset_2fa(
    cli_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _set_up(cli_url, monkeypatch)
    services, database = _cli_services(cli_url)
    try:
        ada = services.admin.get_user(Actor.operator(), "ada@example.com").id
        enroll(services, ada)
    finally:
        database.dispose()
    capsys.readouterr()

    assert run(cli_url, "users", "list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert re.search(r"  CODES LEFT +2FA$", lines[0]), lines[0]
    assert next(line for line in lines if line.startswith("ada@")).endswith("  on")
    assert next(line for line in lines if line.startswith("root@")).endswith("  off")
    assert run(cli_url, "users", "list", "--json") == 0
    listed = {row["email"]: row["two_factor"] for row in json.loads(capsys.readouterr().out)}
    assert listed == {"ada@example.com": True, "root@example.com": False}

    # Without --yes and no terminal to ask on: refused, nothing changed.
    monkeypatch.setattr(sys, "stdin", io.StringIO("yes\n"))
    assert run(cli_url, "users", "reset-2fa", "ada@example.com") == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "add --yes" in err
    assert _has_factor(cli_url, "ada@example.com")

    assert run(cli_url, "users", "reset-2fa", "ADA@example.com", "--yes") == 0
    assert capsys.readouterr().out == (
        "Reset the two-factor sign-in of ada@example.com; the password alone signs in now.\n"
    )
    assert not _has_factor(cli_url, "ada@example.com")
    engine = create_engine(cli_url)
    with engine.connect() as connection:
        event = connection.execute(
            select(AuditEvent.actor, AuditEvent.target).where(AuditEvent.action == "two_factor_reset")
        ).one()
    engine.dispose()
    assert event.target == "ada@example.com"
    assert event.actor.startswith("operator:")

    for email, said in (
        ("ada@example.com", "ada@example.com has no two-factor sign-in to reset; nothing was changed."),
        ("nobody@example.com", "No account has the email address nobody@example.com."),
        ("ada\u200b@example.com", None),  # an invisible character: not ada's address
        ("\u0430da@example.com", None),  # a Cyrillic 'а': a look-alike, not ada's address
        ("a" * 100_000 + "@example.com", None),  # huge: one short line all the same
    ):
        assert run(cli_url, "users", "reset-2fa", email, "--yes") == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert err.startswith("desktop-auth: error: ")
        if said is not None:
            assert err == f"desktop-auth: error: {said}\n"
        assert len(err) < 300, err[:300]


def test_settings_show_and_set(
    cli_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _set_up(cli_url, monkeypatch)
    capsys.readouterr()
    assert run(cli_url, "settings", "show") == 0
    shown = dict(line.split() for line in capsys.readouterr().out.splitlines())
    assert shown["require-2fa-for-admins"] == "off"
    assert shown["lockout-threshold"] == "5"
    assert list(shown) == list(SETTING_NAMES)

    # An operator may require it although no administrator has a factor yet (they set one up at sign-in).
    assert run(cli_url, "settings", "set", "require-2fa-for-admins", "on") == 0
    said = capsys.readouterr()
    assert said.out == "require-2fa-for-admins is now on.\n"
    assert said.err == (
        "desktop-auth: 1 administrator has no two-factor sign-in yet (root@example.com): each sets it up at "
        "the next sign-in.\n"
    )
    assert run(cli_url, "settings", "set", "require-2fa-for-admins", "on") == 0  # on already: not said again
    assert capsys.readouterr().err == ""
    assert run(cli_url, "settings", "show") == 0
    assert "require-2fa-for-admins    on" in capsys.readouterr().out
    assert run(cli_url, "settings", "set", "lockout-threshold", "7") == 0
    assert capsys.readouterr().out == "lockout-threshold is now 7.\n"
    assert run(cli_url, "settings", "set", "require-2fa-for-admins", "OFF") == 0
    capsys.readouterr()

    for name, value in (
        ("require-2fa-for-admins", "yes please"),
        ("require-2fa-for-admins", "o\u200bn"),
        ("lockout-threshold", "٧"),  # an Arabic-Indic seven: a digit to str.isdigit, not to this command
        ("lockout-threshold", "9" * 5000),
        ("lockout-threshold", "0"),  # out of range: the services' refusal
    ):
        assert run(cli_url, "settings", "set", name, value) == 1, value
        err = capsys.readouterr().err
        assert err.count("\n") == 1, err
        assert err.startswith("desktop-auth: error: "), err
        assert len(err) < 200, err
    with pytest.raises(SystemExit) as usage:
        run(cli_url, "settings", "set", "require-two-factor", "on")
    assert usage.value.code == 2
    services, database = _cli_services(cli_url)
    try:
        current = services.app_settings.get()
    finally:
        database.dispose()
    assert not current.require_two_factor_for_admins
    assert current.lockout_threshold == 7


def test_every_shared_setting_has_a_command_line_name() -> None:
    from dataclasses import fields

    assert sorted(SETTING_NAMES.values()) == sorted(f.name for f in fields(SharedSettings))
    assert list(SETTING_NAMES) == list(cli.SETTING_NAMES)


def test_2fa_new_key_prints_a_key_and_how_to_provision_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Even where the configured key is broken and the database does not exist: it is the way out of both.
    monkeypatch.setenv("DESKTOP_AUTH_TOTP_KEY", "not a key")
    missing = f"sqlite:///{tmp_path / 'none.sqlite3'}"
    keys = set()
    for _ in range(2):
        assert run(missing, "2fa", "new-key") == 0
        said = capsys.readouterr()
        key = said.out.strip()
        assert said.out == key + "\n"
        assert totp.valid_key(key)
        Settings(database_url="sqlite://", totp_key=key)  # accepted as DESKTOP_AUTH_TOTP_KEY
        assert said.err.count("\n") == 1
        assert "DESKTOP_AUTH_TOTP_KEY" in said.err
        assert ".env" in said.err
        assert "every client" in said.err
        keys.add(key)
    assert len(keys) == 2
    assert not (tmp_path / "none.sqlite3").exists()
    assert run(missing, "users", "list") == 1  # other commands still refuse the broken key
    assert "2fa new-key" in capsys.readouterr().err


def test_a_secret_written_to_the_database_directly_is_never_listed(
    cli_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Whatever the column holds (here an odd value written by hand), lists say only on or off."""
    _set_up(cli_url, monkeypatch)
    engine = create_engine(cli_url)
    with engine.begin() as connection:
        connection.execute(
            update(User).where(User.email == "ada@example.com").values(totp_secret="plain:SECRETSECRETSECRET")
        )
    engine.dispose()
    capsys.readouterr()
    assert run(cli_url, "users", "list", "--json") == 0
    out = capsys.readouterr().out
    assert "SECRETSECRET" not in out
    assert {row["email"]: row["two_factor"] for row in json.loads(out)}["ada@example.com"] is True


# -- unsaved role edits and renamed roles (the role editor's core, no Qt) ------------------------------------


def test_pending_edits_follow_a_renamed_role_and_drop_a_removed_one() -> None:
    from desktop_auth.services.records import BulkSelection
    from desktop_auth.ui.role_editor.core.pending_edits import PendingBulk, PendingEdits
    from tests.user_records import user_record

    pending = PendingEdits()
    ann, bob, dee = (user_record(n) for n in range(3))
    pending.stage([ann], role="auditor")
    pending.stage([bob], role="temp", active=False)
    pending.stage([user_record(4, role="auditor")], role="user")  # holds the role that is renamed
    pending.bulk = PendingBulk(1, BulkSelection(UserQuery()), total=3, role="auditor")

    following = pending.follow_roles({"auditor": "reviewer", "temp": None})
    assert following == (1, 1, None)
    edits = {edit.user_id: (edit.role, edit.active) for edit in pending.edits()}
    assert edits == {
        ann.id: ("reviewer", None),
        bob.id: (None, False),
        5: ("user", None),
    }
    assert pending.get(5) is not None
    assert pending.get(5).original_role == "reviewer"  # what they hold, by its new name
    assert pending.bulk.role == "reviewer"  # the database renamed the staged change with the role
    pending.stage([user_record(4, role="reviewer")], role="reviewer")  # back to what they hold: unmarked
    assert pending.get(5) is None
    assert pending.get(dee.id) is None

    pending.bulk.role = "gone"
    assert pending.follow_roles({"gone": None}).stale_bulk_role == "gone"
    assert pending.follow_roles({}) == (0, 0, None)
