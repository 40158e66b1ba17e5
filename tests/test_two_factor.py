"""Two-factor sign-in's codes and service (issue #18): RFC 6238's own test vectors and an independent
implementation (``oathtool``), skew and replay, the shared lockout, two clients racing one code, secrets at
rest with and without the operator's key; on SQLite and MariaDB."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from desktop_auth.config import Settings
from desktop_auth.db.engine import Database
from desktop_auth.errors import ConfigError, InvalidInputError
from desktop_auth.models import AuditEvent, User
from desktop_auth.security import totp
from desktop_auth.services import Services
from desktop_auth.services.audit_words import describe_event
from desktop_auth.services.errors import (
    AccountLockedError,
    AuthenticatorCodeRequiredError,
    InvalidCredentialsError,
    InvalidRecoveryCodeError,
    PermissionDeniedError,
    SecondFactorRequiredError,
    SignInExpiredError,
    TwoFactorEnrollmentRequiredError,
    TwoFactorStateError,
)
from desktop_auth.services.records import (
    ENROLL_STEP_SECONDS,
    SIGN_IN_STEP_SECONDS,
    Actor,
    UserEdit,
    UserQuery,
)
from tests.conftest import IN_CI, STRONG_PASSWORD, FakeClock, make_settings, register_accounts

# RFC 6238 appendix B: the SHA-1 seed is the ASCII string "12345678901234567890".
RFC_SECRET = base64.b32encode(b"12345678901234567890").decode("ascii")
RFC_VECTORS = {  # Unix time -> the 8-digit code of the RFC's table; 6-digit codes are its last six
    59: "94287082",
    1111111109: "07081804",
    1111111111: "14050471",
    1234567890: "89005924",
    2000000000: "69279037",
    20000000000: "65353130",
}


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


@pytest.mark.parametrize(("unix_time", "eight_digits"), RFC_VECTORS.items())
def test_codes_match_rfc_6238s_test_vectors(unix_time: int, eight_digits: str) -> None:
    assert totp.code_for(RFC_SECRET, totp.step_at(_at(unix_time))) == eight_digits[-6:]


def test_codes_match_oathtool_at_step_boundaries() -> None:
    oathtool = shutil.which("oathtool")
    if oathtool is None:
        if IN_CI:
            pytest.fail("oathtool is missing (Debian package oathtool; .ci/run installs it)")
        pytest.skip("oathtool is not installed")
    secret = totp.new_secret()
    base = 1_798_000_000 - 1_798_000_000 % totp.STEP_SECONDS  # a step boundary in 2026
    for unix_time in (base - 1, base, base + 29, base + 30, base + 31):
        moment = _at(unix_time)
        stamp = moment.strftime("%Y-%m-%d %H:%M:%S UTC")
        independent = subprocess.run(
            [oathtool, "--totp", "--base32", "--now", stamp, secret],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "TZ": "UTC"},
        ).stdout.strip()
        assert totp.code_for(secret, totp.step_at(moment)) == independent, stamp


def test_one_step_of_clock_skew_either_way_is_accepted_two_are_not() -> None:
    secret = totp.new_secret()
    now = _at(1_798_000_015)
    step = totp.step_at(now)
    for offset in (-1, 0, 1):
        assert totp.matching_step(secret, totp.code_for(secret, step + offset), now) == step + offset
    for offset in (-2, 2):
        assert totp.matching_step(secret, totp.code_for(secret, step + offset), now) is None


def test_a_step_already_used_or_older_never_matches_again() -> None:
    secret = totp.new_secret()
    now = _at(1_798_000_015)
    step = totp.step_at(now)
    code = totp.code_for(secret, step)
    assert totp.matching_step(secret, code, now, after_step=step - 1) == step
    assert totp.matching_step(secret, code, now, after_step=step) is None
    earlier = totp.code_for(secret, step - 1)
    assert totp.matching_step(secret, earlier, now, after_step=step) is None  # older than the last used


@pytest.mark.parametrize(
    "typed",
    ["{code}", " {spaced} ", "{hyphened}", "{fullwidth}", "{zero_width}"],
)
def test_typed_codes_are_read_as_people_type_them(typed: str) -> None:
    secret = totp.new_secret()
    now = _at(1_798_000_015)
    code = totp.code_for(secret, totp.step_at(now))
    spelled = typed.format(
        code=code,
        spaced=f"{code[:3]} {code[3:]}",
        hyphened=f"{code[:3]}-{code[3:]}",
        fullwidth="".join(chr(ord(digit) - ord("0") + 0xFF10) for digit in code),
        zero_width="\u200b".join(code),
    )
    assert totp.matching_step(secret, spelled, now) is not None


@pytest.mark.parametrize("typed", ["", "12345", "1234567", "12a456", "١٢٣٤٥٦", "9" * 10_000_000, "\x00" * 6])
def test_what_cannot_be_a_code_matches_nothing(typed: str) -> None:
    assert totp.normalize_code(typed) is None
    assert totp.matching_step(totp.new_secret(), typed, _at(1_798_000_015)) is None


def test_the_provisioning_uri_names_issuer_account_and_the_defaults() -> None:
    uri = totp.provisioning_uri("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "ada+x@example.com")
    assert uri == (
        "otpauth://totp/desktop-auth:ada%2Bx@example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
        "&issuer=desktop-auth&algorithm=SHA1&digits=6&period=30"
    )


# -- the service ---------------------------------------------------------------------------------------


def _code(services: Services, secret: str, clock: FakeClock, steps_ahead: int = 0) -> str:
    return totp.code_for(secret, totp.step_at(clock.now) + steps_ahead)


def _wrong(code: str) -> str:
    return str((int(code) + 1) % 1_000_000).zfill(6)


def _enrolled(services: Services, clock: FakeClock, email: str = "ada@example.com") -> tuple[int, str]:
    (user_id,) = register_accounts(services, email)
    enrollment = services.two_factor.start_enrollment(user_id)
    services.two_factor.enable(
        user_id, STRONG_PASSWORD, enrollment.secret, _code(services, enrollment.secret, clock)
    )
    clock.advance(seconds=totp.STEP_SECONDS)  # the enrolling code is spent: sign in with the next one
    return user_id, enrollment.secret


def test_enrolling_stores_the_secret_only_after_a_right_code_and_password(
    services: Services, clock: FakeClock
) -> None:
    (user_id,) = register_accounts(services, "ada@example.com")
    enrollment = services.two_factor.start_enrollment(user_id)
    assert enrollment.uri.startswith("otpauth://totp/desktop-auth:ada@example.com?secret=")
    assert enrollment.secret not in repr(enrollment)
    assert not services.two_factor.has_factor(user_id)
    wrong_code = _wrong(_code(services, enrollment.secret, clock))
    with pytest.raises(InvalidInputError) as refused:
        services.two_factor.enable(user_id, STRONG_PASSWORD, enrollment.secret, wrong_code)
    assert refused.value.field == "totp_code"
    with pytest.raises(InvalidInputError) as refused:
        services.two_factor.enable(
            user_id, "not the password", enrollment.secret, _code(services, enrollment.secret, clock)
        )
    assert refused.value.field == "current_password"
    with pytest.raises(InvalidInputError):
        services.two_factor.enable(user_id, STRONG_PASSWORD, "not-a-secret", "000000")
    assert not services.two_factor.has_factor(user_id)
    services.two_factor.enable(
        user_id, STRONG_PASSWORD, enrollment.secret, _code(services, enrollment.secret, clock)
    )
    assert services.two_factor.has_factor(user_id)
    with pytest.raises(TwoFactorStateError):
        services.two_factor.start_enrollment(user_id)


def test_a_code_gets_in_once(services: Services, clock: FakeClock) -> None:
    user_id, secret = _enrolled(services, clock)
    code = _code(services, secret, clock)
    services.two_factor.verify_code(user_id, code)
    with pytest.raises(InvalidInputError) as replayed:
        services.two_factor.verify_code(user_id, code)
    assert replayed.value.field == "totp_code"
    clock.advance(seconds=totp.STEP_SECONDS)
    services.two_factor.verify_code(user_id, _code(services, secret, clock))


def test_the_enrolling_code_cannot_be_used_to_sign_in(services: Services, clock: FakeClock) -> None:
    (user_id,) = register_accounts(services, "ada@example.com")
    enrollment = services.two_factor.start_enrollment(user_id)
    code = _code(services, enrollment.secret, clock)
    services.two_factor.enable(user_id, STRONG_PASSWORD, enrollment.secret, code)
    with pytest.raises(InvalidInputError):
        services.two_factor.verify_code(user_id, code)


def test_wrong_codes_count_against_the_same_lockout_as_passwords(
    make_services: Callable[..., Services], clock: FakeClock, database: Database
) -> None:
    services = make_services(lockout_threshold=3)
    user_id, secret = _enrolled(services, clock)
    with pytest.raises(InvalidCredentialsError):  # a wrong password first, at the sign-in form
        services.accounts.authenticate("ada@example.com", "not the password")
    with pytest.raises(InvalidInputError):
        services.two_factor.verify_code(user_id, _wrong(_code(services, secret, clock)))
    with pytest.raises(AccountLockedError):  # the third failure (one password, two codes) locks it
        services.two_factor.verify_code(user_id, _wrong(_code(services, secret, clock)))
    with pytest.raises(AccountLockedError):  # even the right code, now
        services.two_factor.verify_code(user_id, _code(services, secret, clock))
    with pytest.raises(AccountLockedError):
        services.accounts.authenticate("ada@example.com", STRONG_PASSWORD)
    with database.transaction() as session:
        failures = session.scalars(
            select(AuditEvent.action).where(AuditEvent.action == "two_factor_failed")
        ).all()
    assert len(failures) == 2


def test_a_right_code_forgets_earlier_failures(
    make_services: Callable[..., Services], clock: FakeClock
) -> None:
    services = make_services(lockout_threshold=3)
    user_id, secret = _enrolled(services, clock)
    for _ in range(2):
        with pytest.raises(InvalidInputError):
            services.two_factor.verify_code(user_id, "abcdef")
    services.two_factor.verify_code(user_id, _code(services, secret, clock))
    clock.advance(seconds=totp.STEP_SECONDS)
    for _ in range(2):  # two more wrong ones do not lock: the count started again
        with pytest.raises(InvalidInputError):
            services.two_factor.verify_code(user_id, "abcdef")
    services.two_factor.verify_code(user_id, _code(services, secret, clock))


def test_one_code_sent_by_two_clients_at_once_gets_in_once(
    services: Services, database: Database, clock: FakeClock
) -> None:
    url = database.engine.url.render_as_string(hide_password=False)
    other = Services(make_settings(url), Database(make_settings(url)), clock)
    try:
        for trial in range(6):
            user_id, secret = _enrolled(services, clock, f"race{trial}@example.com")
            code = _code(services, secret, clock)
            barrier = threading.Barrier(2)

            def use(
                client: Services,
                user_id: int = user_id,
                code: str = code,
                barrier: threading.Barrier = barrier,
            ) -> str:
                barrier.wait()
                try:
                    client.two_factor.verify_code(user_id, code)
                except InvalidInputError:
                    return "refused"
                return "in"

            with ThreadPoolExecutor(max_workers=2) as pool:
                outcomes = sorted(pool.map(use, (services, other)))
            assert outcomes == ["in", "refused"], (trial, outcomes)
    finally:
        other.close()


def test_turning_it_off_needs_the_password_and_a_current_code(services: Services, clock: FakeClock) -> None:
    user_id, secret = _enrolled(services, clock)
    with pytest.raises(InvalidInputError) as refused:
        services.two_factor.disable(user_id, "not the password", _code(services, secret, clock))
    assert refused.value.field == "current_password"
    with pytest.raises(InvalidInputError) as refused:
        services.two_factor.disable(user_id, STRONG_PASSWORD, "abcdef")
    assert refused.value.field == "totp_code"
    assert services.two_factor.has_factor(user_id)
    services.two_factor.disable(user_id, STRONG_PASSWORD, _code(services, secret, clock))
    assert not services.two_factor.has_factor(user_id)
    with pytest.raises(TwoFactorStateError):
        services.two_factor.verify_code(user_id, _code(services, secret, clock))


def test_an_administrator_resets_a_lost_factor_and_others_cannot(
    services: Services, admin: Actor, clock: FakeClock, database: Database
) -> None:
    user_id, _secret = _enrolled(services, clock)
    (bob,) = register_accounts(services, "bob@example.com")
    with pytest.raises(PermissionDeniedError):
        services.two_factor.reset(Actor(bob, "bob@example.com"), "ada@example.com")
    assert services.two_factor.has_factor(user_id)
    services.two_factor.reset(admin, "ADA@example.com")
    assert not services.two_factor.has_factor(user_id)
    with pytest.raises(TwoFactorStateError):
        services.two_factor.reset(admin, "ada@example.com")
    with database.transaction() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "two_factor_reset")).one()
        assert (event.actor, event.target) == ("root@example.com", "ada@example.com")


def test_secrets_at_rest_are_encrypted_with_the_operators_key(
    make_services: Callable[..., Services], clock: FakeClock, database: Database
) -> None:
    key = Fernet.generate_key().decode("ascii")
    keyed = make_services(totp_key=key)
    user_id, secret = _enrolled(keyed, clock)
    with database.transaction() as session:
        stored = session.scalar(select(User.totp_secret).where(User.id == user_id))
    assert stored is not None
    assert stored.startswith("fernet:")
    assert secret not in stored
    keyed.two_factor.verify_code(user_id, _code(keyed, secret, clock))
    for wrong in (make_services(), make_services(totp_key=Fernet.generate_key().decode("ascii"))):
        with pytest.raises(totp.SecretKeyError, match="DESKTOP_AUTH_TOTP_KEY"):
            wrong.two_factor.verify_code(user_id, _code(wrong, secret, clock))


def test_without_a_key_secrets_are_stored_in_clear_and_say_so(
    services: Services, clock: FakeClock, database: Database
) -> None:
    user_id, secret = _enrolled(services, clock)
    with database.transaction() as session:
        assert session.scalar(select(User.totp_secret).where(User.id == user_id)) == f"plain:{secret}"


@pytest.mark.parametrize("key", ["", "short", "x" * 44, Fernet.generate_key().decode()[:-2] + "!="])
def test_a_key_that_is_not_a_fernet_key_is_refused_at_start_up(key: str) -> None:
    if not key:
        assert Settings(database_url="sqlite://", totp_key=None).totp_key is None
        return
    with pytest.raises(ConfigError, match="DESKTOP_AUTH_TOTP_KEY"):
        Settings(database_url="sqlite://", totp_key=key)


def test_the_key_never_shows_in_the_settings_repr() -> None:
    key = Fernet.generate_key().decode("ascii")
    assert key not in repr(Settings(database_url="sqlite://", totp_key=key))


# -- sign-in with a second step ------------------------------------------------------------------------


def test_a_right_password_asks_for_the_code_and_records_nothing_until_it_comes(
    services: Services, clock: FakeClock
) -> None:
    user_id, secret = _enrolled(services, clock)
    with pytest.raises(InvalidCredentialsError):  # a wrong password says nothing of a factor
        services.accounts.authenticate("ada@example.com", "not the password")
    with pytest.raises(SecondFactorRequiredError) as asked:
        services.accounts.authenticate("ada@example.com", STRONG_PASSWORD)
    challenge = asked.value.challenge
    assert (challenge.user_id, challenge.enroll) == (user_id, False)
    assert services.accounts.get_account(user_id).login_count == 0
    with pytest.raises(InvalidInputError):
        services.accounts.complete_sign_in(challenge, _wrong(_code(services, secret, clock)))
    signed_in = services.accounts.complete_sign_in(challenge, _code(services, secret, clock))
    assert (signed_in.id, signed_in.login_count) == (user_id, 1)
    # the same code again, with the same challenge: the challenge got in once already
    with pytest.raises(SignInExpiredError):
        services.accounts.complete_sign_in(challenge, _code(services, secret, clock))


def test_the_second_step_expires_and_notices_a_password_changed_meanwhile(
    services: Services, clock: FakeClock
) -> None:
    user_id, secret = _enrolled(services, clock)
    with pytest.raises(SecondFactorRequiredError) as asked:
        services.accounts.authenticate("ada@example.com", STRONG_PASSWORD)
    clock.advance(seconds=SIGN_IN_STEP_SECONDS + 1)
    with pytest.raises(SignInExpiredError):
        services.accounts.complete_sign_in(asked.value.challenge, _code(services, secret, clock))
    with pytest.raises(SecondFactorRequiredError) as asked:
        services.accounts.authenticate("ada@example.com", STRONG_PASSWORD)
    services.accounts.change_password(user_id, STRONG_PASSWORD, "amber-glacier-piano-71-thistle")
    clock.advance(seconds=totp.STEP_SECONDS)
    with pytest.raises(InvalidCredentialsError):  # the password it checked is no longer the password
        services.accounts.complete_sign_in(asked.value.challenge, _code(services, secret, clock))


def test_a_password_guesser_gets_no_extra_code_guesses(
    make_services: Callable[..., Services], clock: FakeClock
) -> None:
    """The right password does not reset the count while the code is still owed."""
    services = make_services(lockout_threshold=4)
    _enrolled(services, clock)
    for _ in range(2):  # right password, wrong code: two counted attempts each round
        with pytest.raises(SecondFactorRequiredError) as asked:
            services.accounts.authenticate("ada@example.com", STRONG_PASSWORD)
        with pytest.raises((InvalidInputError, AccountLockedError)):
            services.accounts.complete_sign_in(asked.value.challenge, "abcdef")
    with pytest.raises(AccountLockedError):
        services.accounts.authenticate("ada@example.com", STRONG_PASSWORD)


def test_administrators_set_up_a_factor_when_the_organisation_requires_it(
    services: Services, admin: Actor, clock: FakeClock
) -> None:
    (bob,) = register_accounts(services, "bob@example.com")
    with pytest.raises(InvalidInputError, match="your own account first"):
        services.app_settings.update(admin, require_two_factor_for_admins=True)
    enrollment = services.two_factor.start_enrollment(admin.user_id or 0)
    services.two_factor.enable(
        admin.user_id or 0, STRONG_PASSWORD, enrollment.secret, _code(services, enrollment.secret, clock)
    )
    assert services.app_settings.update(
        admin, require_two_factor_for_admins=True
    ).require_two_factor_for_admins
    services.admin.apply_edits(admin, [UserEdit(bob, None, role="admin")])
    bob_admin = Actor(bob, "bob@example.com")
    with pytest.raises(PermissionDeniedError, match="two-factor"):  # signed in before: can do nothing
        services.admin.list_users(bob_admin, UserQuery(), 0, 10)
    with pytest.raises(TwoFactorEnrollmentRequiredError) as asked:
        services.accounts.authenticate("bob@example.com", STRONG_PASSWORD)
    challenge = asked.value.challenge
    assert challenge.enroll
    with pytest.raises(TwoFactorStateError):  # a code alone does not finish an enrollment
        services.accounts.complete_sign_in(challenge, "123456")
    bobs = services.two_factor.start_enrollment(bob)
    signed_in = services.accounts.enroll_at_sign_in(
        challenge, bobs.secret, _code(services, bobs.secret, clock)
    )
    assert signed_in.is_admin
    assert services.two_factor.has_factor(bob)
    services.admin.list_users(bob_admin, UserQuery(), 0, 10)  # set up: allowed again
    (carol,) = register_accounts(services, "carol@example.com")
    assert services.accounts.authenticate("carol@example.com", STRONG_PASSWORD).id == carol  # not an admin


# -- recovery codes and two factors --------------------------------------------------------------------


def test_a_recovery_code_stands_in_for_the_authenticator_once(
    services: Services, admin: Actor, clock: FakeClock
) -> None:
    user_id, _secret = _enrolled(services, clock)
    codes = services.recovery.generate(user_id, STRONG_PASSWORD).codes
    with pytest.raises(SecondFactorRequiredError) as asked:
        services.accounts.authenticate("ada@example.com", STRONG_PASSWORD)
    signed_in = services.accounts.complete_sign_in(asked.value.challenge, codes[0].upper())
    assert signed_in.id == user_id
    assert services.recovery.codes_left(user_id) == len(codes) - 1
    (event,) = [e for e in services.admin.audit_log(admin, limit=50) if e.action == "recovery_sign_in"]
    assert (
        str(describe_event(event)) == "Signed in with a recovery code instead of the authenticator (9 left)"
    )
    with pytest.raises(SecondFactorRequiredError) as asked:
        services.accounts.authenticate("ada@example.com", STRONG_PASSWORD)
    with pytest.raises(InvalidInputError) as spent:
        services.accounts.complete_sign_in(asked.value.challenge, codes[0])
    assert spent.value.field == "totp_code"
    assert "recovery code works once" in str(spent.value)


def test_forgot_password_needs_the_authenticator_too_when_it_is_on(
    services: Services, clock: FakeClock
) -> None:
    user_id, secret = _enrolled(services, clock)
    codes = services.recovery.generate(user_id, STRONG_PASSWORD).codes
    new_password = "marble-harbor-cactus-42-willow"
    with pytest.raises(InvalidRecoveryCodeError):  # a wrong recovery code: the answer says nothing of 2FA
        services.recovery.reset_with_code("ada@example.com", "aaaa-bbbb-cccc-dddd", new_password)
    with pytest.raises(AuthenticatorCodeRequiredError):  # one factor never stands in for two
        services.recovery.reset_with_code("ada@example.com", codes[0], new_password)
    with pytest.raises(AuthenticatorCodeRequiredError):
        services.recovery.reset_with_code("ada@example.com", codes[0], new_password, "abcdef")
    assert services.recovery.codes_left(user_id) == len(codes)  # nothing spent on the way
    code = _code(services, secret, clock)
    services.recovery.reset_with_code("ada@example.com", codes[0], new_password, code)
    assert services.recovery.codes_left(user_id) == len(codes) - 1
    with pytest.raises(SecondFactorRequiredError) as asked:
        services.accounts.authenticate("ada@example.com", new_password)
    with pytest.raises(InvalidInputError):  # the authenticator code the reset used is spent too
        services.accounts.complete_sign_in(asked.value.challenge, code)


def test_without_two_factor_forgot_password_ignores_an_authenticator_code(services: Services) -> None:
    (user_id,) = register_accounts(services, "ada@example.com")
    codes = services.recovery.generate(user_id, STRONG_PASSWORD).codes
    services.recovery.reset_with_code("ada@example.com", codes[0], "marble-harbor-cactus-42-willow")
    assert services.accounts.authenticate("ada@example.com", "marble-harbor-cactus-42-willow").id == user_id


def test_an_administrator_cannot_turn_off_a_factor_the_organisation_requires(
    services: Services, admin: Actor, clock: FakeClock
) -> None:
    admin_id = admin.user_id or 0
    enrollment = services.two_factor.start_enrollment(admin_id)
    services.two_factor.enable(
        admin_id, STRONG_PASSWORD, enrollment.secret, _code(services, enrollment.secret, clock)
    )
    services.app_settings.update(admin, require_two_factor_for_admins=True)
    clock.advance(seconds=totp.STEP_SECONDS)
    with pytest.raises(TwoFactorStateError, match="cannot be turned off"):
        services.two_factor.disable(admin_id, STRONG_PASSWORD, _code(services, enrollment.secret, clock))
    assert services.two_factor.has_factor(admin_id)
    user_id, secret = _enrolled(services, clock)  # not an administrator: free to turn it off
    services.two_factor.disable(user_id, STRONG_PASSWORD, _code(services, secret, clock))


def test_setting_an_app_up_at_sign_in_may_take_longer_than_typing_a_code(
    services: Services, admin: Actor, clock: FakeClock
) -> None:
    admin_id = admin.user_id or 0
    enrollment = services.two_factor.start_enrollment(admin_id)
    services.two_factor.enable(
        admin_id, STRONG_PASSWORD, enrollment.secret, _code(services, enrollment.secret, clock)
    )
    services.app_settings.update(admin, require_two_factor_for_admins=True)
    (bob,) = register_accounts(services, "bob@example.com")
    services.admin.apply_edits(admin, [UserEdit(bob, None, role="admin")])
    with pytest.raises(TwoFactorEnrollmentRequiredError) as asked:
        services.accounts.authenticate("bob@example.com", STRONG_PASSWORD)
    clock.advance(seconds=SIGN_IN_STEP_SECONDS + 60)  # too long for a code, not for setting an app up
    bobs = services.two_factor.start_enrollment(bob)
    services.accounts.enroll_at_sign_in(
        asked.value.challenge, bobs.secret, _code(services, bobs.secret, clock)
    )
    services.two_factor.reset(admin, "bob@example.com")
    with pytest.raises(TwoFactorEnrollmentRequiredError) as asked:
        services.accounts.authenticate("bob@example.com", STRONG_PASSWORD)
    clock.advance(seconds=ENROLL_STEP_SECONDS + 1)
    bobs = services.two_factor.start_enrollment(bob)
    with pytest.raises(SignInExpiredError):
        services.accounts.enroll_at_sign_in(
            asked.value.challenge, bobs.secret, _code(services, bobs.secret, clock)
        )


def _due(services: Services, user_id: int) -> bool:
    state = services.accounts.check_session(
        user_id, services.accounts.get_account(user_id).password_changed_at
    )
    assert state.valid
    return state.two_factor_due


def test_a_session_learns_that_two_factor_became_due(
    services: Services, admin: Actor, clock: FakeClock
) -> None:
    admin_id = admin.user_id or 0
    (bob,) = register_accounts(services, "bob@example.com")
    services.admin.apply_edits(admin, [UserEdit(bob, None, role="admin")])
    assert not _due(services, bob)
    services.app_settings.update(Actor.operator("ops"), require_two_factor_for_admins=True)
    assert _due(services, bob)
    enrollment = services.two_factor.start_enrollment(bob)
    services.two_factor.enable(
        bob, STRONG_PASSWORD, enrollment.secret, _code(services, enrollment.secret, clock)
    )
    assert not _due(services, bob)
    (carol,) = register_accounts(services, "carol@example.com")
    assert not _due(services, carol)  # not an administrator
    assert _due(services, admin_id)
