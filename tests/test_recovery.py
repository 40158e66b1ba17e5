"""Recovery codes (services.recovery) on SQLite and MariaDB: batches of one-time codes stored as salted fast
hashes, "forgot password" with one of them, the lockout it shares with sign-in, one answer for every kind
of failure, a code spent once even when two clients use it at the same moment, hostile input, and the CLI."""

from __future__ import annotations

import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select, update

from desktop_auth.cli import main
from desktop_auth.db.engine import Database
from desktop_auth.errors import InvalidInputError
from desktop_auth.models import AuditEvent, LoginThrottle, RecoveryCode, User
from desktop_auth.services import Services
from desktop_auth.services.audit_words import describe_event
from desktop_auth.services.errors import (
    AccountLockedError,
    InvalidCredentialsError,
    InvalidRecoveryCodeError,
    PermissionDeniedError,
)
from desktop_auth.services.records import Actor
from desktop_auth.services.recovery import CODES_PER_BATCH, code_digest, normalize_code
from desktop_auth.services.temporary_passwords import ALPHABET, SEPARATOR
from tests.conftest import OTHER_PASSWORD, STRONG_PASSWORD, FakeClock, make_settings

NEW_PASSWORD = "marble-heron-satchel-42-quiver"
NOT_VALID = "That code is not valid for that address. If you have no recovery codes, ask an administrator."


def _rows(database: Database, user_id: int) -> list[RecoveryCode]:
    with database.transaction() as session:
        rows = session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user_id)).all()
        session.expunge_all()
        return list(rows)


def _user(database: Database, email: str) -> tuple[str | None, bool, object]:
    with database.transaction() as session:
        row = session.execute(
            select(User.password_hash, User.must_change_password, User.password_changed_at).where(
                User.email == email
            )
        ).one()
        return row[0], row[1], row[2]


def _throttle(database: Database, email: str) -> tuple[int, object] | None:
    with database.transaction() as session:
        row = session.execute(
            select(LoginThrottle.failed_count, LoginThrottle.locked_until).where(LoginThrottle.email == email)
        ).one_or_none()
        return None if row is None else (row[0], row[1])


def _ada(services: Services) -> tuple[int, tuple[str, ...]]:
    user = services.accounts.register("ada@example.com", STRONG_PASSWORD)
    return user.id, services.recovery.generate(user.id, STRONG_PASSWORD).codes


# -- making codes -----------------------------------------------------------------------------------------


def test_a_batch_is_ten_distinct_readable_codes_stored_only_as_salted_digests(
    services: Services, database: Database
) -> None:
    user_id, codes = _ada(services)
    assert len(codes) == CODES_PER_BATCH == len(set(codes))
    for code in codes:
        groups = code.split(SEPARATOR)
        assert [len(group) for group in groups] == [4, 4, 4, 4]
        assert set("".join(groups)) <= set(ALPHABET)
        assert len("".join(groups)) * math.log2(len(ALPHABET)) >= 60
    rows = _rows(database, user_id)
    assert len(rows) == CODES_PER_BATCH
    assert len({row.salt for row in rows}) == 1
    assert len(rows[0].salt) == 32
    assert {row.digest for row in rows} == {code_digest(rows[0].salt, normalize_code(c)) for c in codes}
    stored = " ".join(f"{row.salt} {row.digest}" for row in rows)
    assert not any(normalize_code(code) in stored for code in codes)  # never in the clear
    assert all(row.used_at is None for row in rows)
    assert services.recovery.codes_left(user_id) == CODES_PER_BATCH
    assert "codes" not in repr(services.recovery.generate(user_id, STRONG_PASSWORD)).split("(")[1]


def test_a_new_batch_replaces_the_earlier_one(services: Services, database: Database) -> None:
    user_id, first = _ada(services)
    second = services.recovery.generate(user_id, STRONG_PASSWORD)
    assert second.replaced_earlier
    assert not set(first) & set(second.codes)
    assert len(_rows(database, user_id)) == CODES_PER_BATCH
    with pytest.raises(InvalidRecoveryCodeError):
        services.recovery.reset_with_code("ada@example.com", first[0], NEW_PASSWORD)
    services.recovery.reset_with_code("ada@example.com", second.codes[0], NEW_PASSWORD)


def test_generating_needs_the_current_password_and_a_wrong_one_counts_toward_the_lockout(
    make_services, database: Database
) -> None:
    services = make_services(lockout_threshold=3)
    user = services.accounts.register("ada@example.com", STRONG_PASSWORD)
    for _ in range(2):
        with pytest.raises(InvalidInputError) as refused:
            services.recovery.generate(user.id, OTHER_PASSWORD)
        assert refused.value.field == "current_password"
    with pytest.raises(AccountLockedError):  # the third locks, as in Change password
        services.recovery.generate(user.id, OTHER_PASSWORD)
    with pytest.raises(AccountLockedError):
        services.recovery.generate(user.id, STRONG_PASSWORD)
    with pytest.raises(AccountLockedError):
        services.accounts.authenticate("ada@example.com", STRONG_PASSWORD)
    assert _rows(database, user.id) == []


def test_an_operator_or_administrator_issues_codes_others_may_not(
    services: Services, admin: Actor, database: Database
) -> None:
    ada_id, _codes = _ada(services)
    bob = services.accounts.register("bob@example.com", STRONG_PASSWORD)
    issued = services.recovery.issue_for(Actor.operator("operator:test"), "ADA@example.com")
    assert issued.user_id == ada_id
    assert issued.replaced_earlier
    assert len(issued.codes) == CODES_PER_BATCH
    with pytest.raises(PermissionDeniedError):
        services.recovery.issue_for(Actor(bob.id, bob.email), "ada@example.com")
    services.recovery.issue_for(admin, "bob@example.com")
    # What an administrator sees of them: how many are left (never the codes).
    left = {user.email: user.recovery_codes_left for user in services.admin.list_users(admin)}
    assert left == {"ada@example.com": CODES_PER_BATCH, "bob@example.com": CODES_PER_BATCH, admin.label: 0}


# -- forgot password --------------------------------------------------------------------------------------


def test_a_valid_code_sets_the_new_password_once(
    services: Services, database: Database, clock: FakeClock
) -> None:
    user_id, codes = _ada(services)
    with database.transaction(write=True) as session:  # as if on a temporary password
        session.execute(update(User).where(User.id == user_id).values(must_change_password=True))
    before = _user(database, "ada@example.com")
    signed_in = services.accounts.authenticate("ada@example.com", STRONG_PASSWORD)
    with pytest.raises(InvalidCredentialsError):
        services.accounts.authenticate("ada@example.com", OTHER_PASSWORD)  # a failure to be forgotten

    reset = services.recovery.reset_with_code("Ada@Example.com", codes[3], NEW_PASSWORD)

    assert (reset.email, reset.codes_left) == ("ada@example.com", CODES_PER_BATCH - 1)
    password_hash, must_change, changed_at = _user(database, "ada@example.com")
    assert password_hash != before[0]
    assert must_change is False
    assert changed_at == reset.password_changed_at
    assert _throttle(database, "ada@example.com") is None  # failures forgotten
    # Another session signed in with the old password ends at its next check.
    assert not services.accounts.check_session(user_id, signed_in.password_changed_at).valid
    services.accounts.authenticate("ada@example.com", NEW_PASSWORD)
    with pytest.raises(InvalidCredentialsError):
        services.accounts.authenticate("ada@example.com", STRONG_PASSWORD)
    spent = [row for row in _rows(database, user_id) if row.used_at is not None]
    assert len(spent) == 1
    assert spent[0].used_at == reset.password_changed_at
    assert services.recovery.codes_left(user_id) == CODES_PER_BATCH - 1

    # The spent code is refused; the others still work.
    with pytest.raises(InvalidRecoveryCodeError) as refused:
        services.recovery.reset_with_code("ada@example.com", codes[3], OTHER_PASSWORD)
    assert str(refused.value) == NOT_VALID
    assert refused.value.field == "recovery_code"
    services.accounts.authenticate("ada@example.com", NEW_PASSWORD)
    assert services.recovery.reset_with_code("ada@example.com", codes[4], OTHER_PASSWORD).codes_left == 8

    with database.transaction() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action.in_(("recovery_codes", "recovery_reset")))
        ).all()
        details = [(event.action, event.actor, event.detail, event.new_value) for event in events]
        words = [str(describe_event(_as_record(event))) for event in events]
    assert details == [
        ("recovery_codes", "ada@example.com", None, "10"),
        ("recovery_reset", "ada@example.com", "reset own password with a recovery code (9 left)", "9"),
        ("recovery_reset", "ada@example.com", "reset own password with a recovery code (8 left)", "8"),
    ]
    assert words == [
        "10 new recovery codes made",
        "Reset own password with a recovery code (9 left)",
        "Reset own password with a recovery code (8 left)",
    ]


def _as_record(event: AuditEvent):
    from desktop_auth.services.records import AuditRecord

    return AuditRecord(
        event.id,
        event.created_at,
        event.actor,
        event.action,
        event.target,
        event.old_value,
        event.new_value,
        event.detail,
    )


SPELLINGS = {
    "upper case": lambda code: code.upper(),
    "no hyphens": lambda code: code.replace("-", ""),
    "spaces": lambda code: " ".join(code.split("-")) + "  ",
    "zero-width spaces": lambda code: "\u200b".join(code.replace("-", "")),
    "full-width": lambda code: code.translate({ord(c): ord(c) + 0xFEE0 for c in code if c != "-"}),
    "en dashes": lambda code: code.replace("-", "\u2013"),
    "BOM and soft hyphens": lambda code: "\ufeff" + code.replace("-", "\u00ad"),
}


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_codes_are_accepted_however_they_are_typed(services: Services, spelling: str) -> None:
    _user_id, codes = _ada(services)
    typed = SPELLINGS[spelling](codes[0])
    assert typed != codes[0]
    services.recovery.reset_with_code("ada@example.com", typed, NEW_PASSWORD)
    services.accounts.authenticate("ada@example.com", NEW_PASSWORD)


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "\u200b\u200b",
        "x" * 5_000_000,
        "ÄÖÜ-ßçé-日本語-😀😀",
        "\ud800\udfff-lone-surrogates",
        "' OR 1=1 --",
        "%",
    ],
    ids=["empty", "zero-width only", "huge", "non-ascii", "lone surrogates", "sql", "percent"],
)
def test_hostile_codes_are_refused_and_change_nothing(
    services: Services, database: Database, typed: str
) -> None:
    user_id, _codes = _ada(services)
    before = _user(database, "ada@example.com")
    started = time.perf_counter()
    with pytest.raises(InvalidRecoveryCodeError):
        services.recovery.reset_with_code("ada@example.com", typed, NEW_PASSWORD)
    assert time.perf_counter() - started < 5
    assert _user(database, "ada@example.com") == before
    assert services.recovery.codes_left(user_id) == CODES_PER_BATCH


@pytest.mark.parametrize(
    "email", ["\u200bada@example.com", "ada@example.com" + "x" * 1_000_000, "аda@example.com"]
)
def test_hostile_addresses_get_the_same_answer(services: Services, email: str) -> None:
    _user_id, codes = _ada(services)
    with pytest.raises(InvalidRecoveryCodeError):
        services.recovery.reset_with_code(email, codes[0], NEW_PASSWORD)


def test_the_new_password_must_meet_the_policy_before_anything_is_counted(
    services: Services, database: Database
) -> None:
    user_id, codes = _ada(services)
    for weak in ("short", "ada@example.com-ada@example.com", "\u200b" * 40):
        with pytest.raises(InvalidInputError) as refused:
            services.recovery.reset_with_code("ada@example.com", codes[0], weak)
        assert refused.value.field == "password"
    assert _throttle(database, "ada@example.com") is None
    assert services.recovery.codes_left(user_id) == CODES_PER_BATCH


def test_every_failure_reads_alike(services: Services, admin: Actor, database: Database) -> None:
    _user_id, codes = _ada(services)
    services.accounts.register("nocodes@example.com", STRONG_PASSWORD)
    inactive = services.accounts.register("inactive@example.com", STRONG_PASSWORD)
    inactive_codes = services.recovery.generate(inactive.id, STRONG_PASSWORD).codes
    with database.transaction(write=True) as session:
        session.execute(update(User).where(User.id == inactive.id).values(active=False))
    attempts = {
        "unknown": ("nobody@example.com", codes[0]),
        "no codes": ("nocodes@example.com", codes[0]),
        "inactive": ("inactive@example.com", inactive_codes[0]),
        "wrong code": ("ada@example.com", "abcd-efgh-jkmn-pqrs"),
        "another's code": ("ada@example.com", inactive_codes[1]),
        "not an address": ("not an address", codes[0]),
    }
    for kind, (email, code) in attempts.items():
        with pytest.raises(InvalidRecoveryCodeError) as refused:
            services.recovery.reset_with_code(email, code, NEW_PASSWORD)
        assert str(refused.value) == NOT_VALID, kind
    assert services.recovery.codes_left(inactive.id) == CODES_PER_BATCH


def test_wrong_codes_count_against_the_sign_in_lockout(make_services, database: Database) -> None:
    services = make_services(lockout_threshold=3)
    user_id, codes = _ada(services)
    with pytest.raises(InvalidCredentialsError):
        services.accounts.authenticate("ada@example.com", OTHER_PASSWORD)  # one wrong password
    for _ in range(2):
        with pytest.raises(InvalidRecoveryCodeError):
            services.recovery.reset_with_code("ada@example.com", "abcd-efgh-jkmn-pqrs", NEW_PASSWORD)
    # Three failures of either kind: the fourth attempt, even with a valid code, meets the lock.
    with pytest.raises(AccountLockedError) as locked:
        services.recovery.reset_with_code("ada@example.com", codes[0], NEW_PASSWORD)
    assert "Too many failed sign-ins" in str(locked.value)
    with pytest.raises(AccountLockedError):
        services.accounts.authenticate("ada@example.com", STRONG_PASSWORD)
    assert services.recovery.codes_left(user_id) == CODES_PER_BATCH  # the lock spent nothing
    # An unknown address is locked alike.
    for _ in range(3):
        with pytest.raises(InvalidRecoveryCodeError):
            services.recovery.reset_with_code("nobody@example.com", codes[1], NEW_PASSWORD)
    with pytest.raises(AccountLockedError):
        services.recovery.reset_with_code("nobody@example.com", codes[1], NEW_PASSWORD)


def test_the_same_code_used_twice_at_once_succeeds_exactly_once(
    services: Services, database: Database, clock: FakeClock
) -> None:
    """Two clients, each with its own connection pool, send the same code at the same moment."""
    url = database.engine.url.render_as_string(hide_password=False)
    other = Services(make_settings(url), Database(make_settings(url)), clock)
    try:
        for trial in range(6):
            email = f"race{trial}@example.com"
            user = services.accounts.register(email, STRONG_PASSWORD)
            code = services.recovery.generate(user.id, STRONG_PASSWORD).codes[0]
            barrier = threading.Barrier(2)

            def use(
                client: Services,
                password: str,
                email: str = email,
                code: str = code,
                barrier: threading.Barrier = barrier,
            ) -> str:
                barrier.wait()
                try:
                    client.recovery.reset_with_code(email, code, password)
                except InvalidRecoveryCodeError:
                    return "refused"
                return password

            with ThreadPoolExecutor(max_workers=2) as pool:
                outcomes = list(pool.map(use, (services, other), (NEW_PASSWORD, OTHER_PASSWORD + "-two")))
            assert sorted(outcomes, key=lambda o: o == "refused")[1] == "refused", outcomes
            winner = next(outcome for outcome in outcomes if outcome != "refused")
            services.accounts.authenticate(email, winner)  # the winner's password is the one stored
            assert services.recovery.codes_left(user.id) == CODES_PER_BATCH - 1
    finally:
        other.close()


def test_the_cli_prints_a_new_batch_for_a_person(
    services: Services, admin: Actor, database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    user_id, first = _ada(services)
    url = database.engine.url.render_as_string(hide_password=False)
    assert main(["--database-url", url, "users", "recovery-codes", "ADA@example.com"]) == 0
    captured = capsys.readouterr()
    printed = [line.strip() for line in captured.out.splitlines() if line.strip().count("-") == 3]
    assert len(printed) == CODES_PER_BATCH
    assert not set(printed) & set(first)
    assert "earlier" in captured.err
    assert "stop working" in captured.err
    services.recovery.reset_with_code("ada@example.com", printed[0], NEW_PASSWORD)
    with database.transaction() as session:
        actor = session.scalar(
            select(AuditEvent.actor)
            .where(AuditEvent.action == "recovery_codes")
            .order_by(AuditEvent.id.desc())
        )
    assert actor is not None
    assert actor.startswith("operator:")
    assert main(["--database-url", url, "users", "recovery-codes", "nobody@example.com"]) == 1
    assert "No account" in capsys.readouterr().err
    assert services.recovery.codes_left(user_id) == CODES_PER_BATCH - 1


def test_a_huge_new_password_is_refused_at_once(services: Services, database: Database) -> None:
    user_id, codes = _ada(services)
    started = time.perf_counter()
    with pytest.raises(InvalidInputError) as refused:
        services.recovery.reset_with_code("ada@example.com", codes[0], "long-guess-" * 1_000_000)
    assert time.perf_counter() - started < 5
    assert refused.value.field == "password"
    assert services.recovery.codes_left(user_id) == CODES_PER_BATCH
    assert _throttle(database, "ada@example.com") is None
