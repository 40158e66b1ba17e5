"""Property-based tests: arbitrary text thrown at every entry point ends in success or a typed, readable
error — never an unhandled exception — and a refusal leaves the database exactly as it was."""

from __future__ import annotations

import io
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from desktop_auth.cli import main as cli_main
from desktop_auth.db.engine import Database
from desktop_auth.errors import DesktopAuthError
from desktop_auth.models import AppSetting, AuditEvent, LoginThrottle, Role, User
from desktop_auth.services import Services
from desktop_auth.services.errors import AccountLockedError
from desktop_auth.services.records import Actor, UserEdit
from tests.conftest import CHEAP_HASH, STRONG_PASSWORD

FRAGMENTS = [
    "",
    " ",
    "  padded@example.com  ",
    "\x00",
    "\t\n\r",
    "\u202e\u200f",  # right-to-left override and mark
    "🦊🌲",
    "ﬁ",  # NFKC changes it
    "' OR '1'='1' --",
    "Robert'); DROP TABLE user;--",
    "%s%s%s%n",
    "{0}{__class__}",
    "\\",
    "a@b.c",
    "user@example.com",
    "ADMIN@EXAMPLE.COM",
    "@",
    "admin",
    "user",
    "-",
    "--help",
    "\ud800",  # a lone surrogate: not encodable text
    STRONG_PASSWORD,
]
HUGE = "x" * 100_000

weird_text = st.one_of(
    st.sampled_from(FRAGMENTS),
    st.text(max_size=40),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=12)), max_size=4).map("".join),
    st.just(HUGE),
    st.just("a" * 300 + "@example.com"),
)
PROPERTY_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def snapshot(database: Database, with_throttle: bool = True) -> dict[str, Any]:
    with database.transaction() as session:
        state: dict[str, Any] = {
            "users": [
                tuple(r)
                for r in session.execute(
                    select(
                        User.id,
                        User.email,
                        User.password_hash,
                        User.role_id,
                        User.active,
                        User.version,
                        User.must_change_password,
                    ).order_by(User.id)
                )
            ],
            "roles": [tuple(r) for r in session.execute(select(Role.id, Role.name).order_by(Role.id))],
            "settings": [tuple(r) for r in session.execute(select(AppSetting.key, AppSetting.value))],
            "audit": session.scalar(select(func.count(AuditEvent.id))),
        }
        if with_throttle:
            state["throttle"] = [
                tuple(r)
                for r in session.execute(
                    select(LoginThrottle.email, LoginThrottle.failed_count).order_by(LoginThrottle.email)
                )
            ]
        return state


def outcome(call: Any) -> DesktopAuthError | None:
    """Run ``call``; return the typed error it raised, or None on success. Anything else fails the test."""
    caught: DesktopAuthError | None = None
    try:
        call()
    except DesktopAuthError as error:
        caught = error
    if caught is not None:
        assert caught.message.strip(), "an error needs a message a person can read"
        assert "Traceback" not in caught.message
    return caught


@pytest.fixture
def admin(services: Services) -> Actor:
    services.app_settings.seed()  # as the app and the CLI do at start-up
    record = services.accounts.create_first_admin("root@example.com", STRONG_PASSWORD)
    return Actor(record.id, record.email)


@PROPERTY_SETTINGS
@given(email=weird_text, password=weird_text)
def test_register(services: Services, database: Database, email: str, password: str) -> None:
    before = snapshot(database)
    if outcome(lambda: services.accounts.register(email, password)) is not None:
        assert snapshot(database) == before


@PROPERTY_SETTINGS
@given(email=weird_text, password=weird_text)
def test_sign_in(make_services, database: Database, email: str, password: str) -> None:
    services = make_services(lockout_threshold=1_000_000)
    services.app_settings.seed()  # as the app and the CLI do at start-up
    services.accounts.register("someone@example.com", STRONG_PASSWORD) if not _exists(database) else None
    before = snapshot(database, with_throttle=False)
    error = outcome(lambda: services.accounts.authenticate(email, password))
    if error is not None:  # a failed sign-in may count a failure, and nothing else
        assert snapshot(database, with_throttle=False) == before


def _exists(database: Database) -> bool:
    with database.transaction() as session:
        return session.scalar(select(User.id).where(User.email == "someone@example.com")) is not None


@PROPERTY_SETTINGS
@given(current=weird_text, new=weird_text)
def test_change_password(
    services: Services, database: Database, admin: Actor, current: str, new: str
) -> None:
    before = snapshot(database)
    assert admin.user_id is not None
    error = outcome(lambda: services.accounts.change_password(admin.user_id or 0, current, new))
    if error is None:
        return
    after = snapshot(database)
    if isinstance(error, AccountLockedError) or getattr(error, "field", None) == "current_password":
        # A wrong current password counts against the lockout and is audited, and nothing else changes.
        assert _without(after, "throttle", "audit") == _without(before, "throttle", "audit")
        assert set(_audit_actions(database)[before["audit"] :]) <= {"password_change_failed", "lockout"}
    else:
        # The right current password forgets earlier failures (as a sign-in does); nothing else changes.
        assert _without(after, "throttle") == _without(before, "throttle")
        assert after["throttle"] in (before["throttle"], [])


def _without(state: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: value for key, value in state.items() if key not in keys}


def _audit_actions(database: Database) -> list[str]:
    with database.transaction() as session:
        return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


@PROPERTY_SETTINGS
@given(email=weird_text, role=weird_text, password=weird_text, active=st.booleans())
def test_admin_operations(
    services: Services, database: Database, admin: Actor, email: str, role: str, password: str, active: bool
) -> None:
    operations = [
        lambda: services.admin.set_role(admin, email, role),
        lambda: services.admin.set_active(admin, email, active),
        lambda: services.admin.unlock(admin, [email]),
        lambda: services.admin.create_user(admin, email, password, role),
        lambda: services.roles.add_role(admin, role),
        lambda: services.roles.remove_role(admin, role),
        lambda: services.admin.apply_edits(
            admin, [UserEdit(admin.user_id or 0, None, role=role, active=active)]
        ),
        lambda: services.admin.list_users(admin),
        lambda: services.admin.audit_log(admin, search=email),
    ]
    for operation in operations:
        before = snapshot(database)
        if outcome(operation) is not None:
            assert snapshot(database) == before


@PROPERTY_SETTINGS
@given(email=weird_text, password=weird_text, role=weird_text)
def test_cli(
    services: Services,
    database: Database,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    email: str,
    password: str,
    role: str,
) -> None:
    monkeypatch.setenv("DESKTOP_AUTH_HASH_METHOD", CHEAP_HASH)
    services.app_settings.seed()  # as any command does first
    url = database.engine.url.render_as_string(hide_password=False)
    commands = [
        ["users", "create", email, "--role", role, "--password-stdin"],
        ["users", "set-role", email, role],
        ["users", "deactivate", email],
        ["users", "unlock", email],
        ["roles", "add", role],
        ["roles", "remove", role],
        ["users", "list", "--search", email, "--json"],
    ]
    for command in commands:
        monkeypatch.setattr(sys, "stdin", io.StringIO(password + "\n"))
        before = snapshot(database)
        try:
            code = cli_main(["--database-url", url, *command])
        except SystemExit as exit_:  # argparse usage error (e.g. an "email" that looks like an option)
            code = exit_.code
        captured = capsys.readouterr()
        assert code in (0, 1, 2), code
        assert "Traceback" not in captured.err
        if code != 0:
            assert snapshot(database) == before
            assert captured.err.strip(), "a refusal says why"
