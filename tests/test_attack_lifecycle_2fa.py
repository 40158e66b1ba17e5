"""An attacker's pass over the account lifecycle (#17) and two-factor sign-in (#18) on the service layer:
second factors that must not be skipped, lockouts that must not be shed, protected roles that must stay
protected, and hostile input refused with a clear error and nothing written; on SQLite and MariaDB."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from desktop_auth.errors import DesktopAuthError, InvalidInputError
from desktop_auth.models import AuditEvent, RecoveryCode, Role, User
from desktop_auth.security import totp
from desktop_auth.services import Services
from desktop_auth.services.errors import (
    AccountInactiveError,
    AccountLockedError,
    InvalidCredentialsError,
    InvalidRecoveryCodeError,
    NotFoundError,
    PasswordChangeRequiredError,
    PermissionDeniedError,
    RoleProtectedError,
    SecondFactorRequiredError,
    SignInExpiredError,
    TwoFactorStateError,
)
from desktop_auth.services.records import Actor, SignInChallenge, UserEdit
from tests.conftest import STRONG_PASSWORD, FakeClock, register_accounts


def _code(secret: str, clock: FakeClock) -> str:
    return totp.code_for(secret, totp.step_at(clock.now))


def _enrolled(services: Services, clock: FakeClock, email: str = "ada@example.com") -> tuple[int, str]:
    (user_id,) = register_accounts(services, email)
    enrollment = services.two_factor.start_enrollment(user_id)
    services.two_factor.enable(user_id, STRONG_PASSWORD, enrollment.secret, _code(enrollment.secret, clock))
    clock.advance(seconds=totp.STEP_SECONDS)
    return user_id, enrollment.secret


def _challenge(services: Services, email: str = "ada@example.com") -> SignInChallenge:
    with pytest.raises(SecondFactorRequiredError) as raised:
        services.accounts.authenticate(email, STRONG_PASSWORD)
    return raised.value.challenge


def _counts(services: Services) -> tuple[int, int, int, int]:
    with services.context.database.transaction() as session:
        return (
            int(session.scalar(select(func.count(User.id))) or 0),
            int(session.scalar(select(func.count(AuditEvent.id))) or 0),
            int(session.scalar(select(func.count(RecoveryCode.id))) or 0),
            int(session.scalar(select(func.count(Role.id))) or 0),
        )


# -- protected roles ----------------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["ádmin", "ADMÍN", "admın"])
def test_a_look_alike_spelling_cannot_rename_the_admin_role(
    services: Services, admin: Actor, spelling: str
) -> None:
    """MariaDB compares role names without case or accents: "ádmin" finds the row of "admin"."""
    with pytest.raises((RoleProtectedError, NotFoundError)):
        services.roles.rename_role(admin, spelling, "boss")
    assert "admin" in {role.name for role in services.roles.list_roles()}


def test_a_look_alike_spelling_cannot_remove_the_user_role(services: Services, admin: Actor) -> None:
    with pytest.raises((RoleProtectedError, NotFoundError)):
        services.roles.remove_role(admin, "usér")
    assert "user" in {role.name for role in services.roles.list_roles()}


# -- the second step of a sign-in ---------------------------------------------------------------------


def test_a_challenge_gets_in_once(services: Services, clock: FakeClock) -> None:
    """A sign-in's code step, once done, cannot be done again with the same challenge and a later code."""
    _user_id, secret = _enrolled(services, clock)
    challenge = _challenge(services)
    services.accounts.complete_sign_in(challenge, _code(secret, clock))
    clock.advance(seconds=totp.STEP_SECONDS)
    with pytest.raises(SignInExpiredError):
        services.accounts.complete_sign_in(challenge, _code(secret, clock))


def test_a_deactivated_account_cannot_finish_with_a_recovery_code(
    services: Services, admin: Actor, clock: FakeClock
) -> None:
    user_id, _secret = _enrolled(services, clock)
    codes = services.recovery.generate(user_id, STRONG_PASSWORD).codes
    challenge = _challenge(services)
    services.admin.set_active(admin, "ada@example.com", False)
    with pytest.raises((AccountInactiveError, DesktopAuthError)):
        services.accounts.complete_sign_in(challenge, codes[0])
    assert services.recovery.codes_left(user_id) == len(codes)


def test_recovery_codes_die_with_their_account_even_when_sqlite_reuses_its_id(
    services: Services, admin: Actor
) -> None:
    (user_id,) = register_accounts(services, "ada@example.com")
    codes = services.recovery.generate(user_id, STRONG_PASSWORD).codes
    services.lifecycle.delete_users(admin, [user_id])
    (again,) = register_accounts(services, "ada@example.com")
    with pytest.raises(InvalidRecoveryCodeError):
        services.recovery.reset_with_code("ada@example.com", codes[0], "An0ther-Str0ng-Passw0rd!")
    assert services.recovery.codes_left(again) == 0


# -- hostile input ------------------------------------------------------------------------------------

HOSTILE = [
    pytest.param("a" * 10_000_000 + "@example.com", id="10MB"),
    pytest.param("ada\x00@example.com", id="NUL"),
    pytest.param("ada\ud800@example.com", id="lone-surrogate"),
    pytest.param("\u202eada@example.com", id="RTL-override"),
    pytest.param("ada\u200b@example.com", id="zero-width"),
]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_input_is_refused_cleanly_and_writes_nothing(
    services: Services, admin: Actor, clock: FakeClock, hostile: str
) -> None:
    user_id, _secret = _enrolled(services, clock)
    challenge = _challenge(services)
    secret = services.two_factor.start_enrollment(admin.user_id or 0).secret
    before = _counts(services)
    calls: list[Callable[[], object]] = [
        lambda: services.own_account.change_email(user_id, STRONG_PASSWORD, hostile),
        lambda: services.own_account.rename(admin, "ada@example.com", hostile),
        lambda: services.own_account.rename(admin, hostile, "bob@example.com"),
        lambda: services.lifecycle.create_user(admin, hostile),
        lambda: services.lifecycle.create_user(admin, "new@example.com", hostile),
        lambda: services.lifecycle.targets_by_email(admin, [hostile]),
        lambda: services.lifecycle.erase_address(admin, hostile),
        lambda: services.recovery.issue_for(admin, hostile),
        lambda: services.recovery.reset_with_code(hostile, "abcd-efgh-jkmn-pqrs", "An0ther-Str0ng-Passw0rd!"),
        lambda: services.recovery.reset_with_code("ada@example.com", hostile, "An0ther-Str0ng-Passw0rd!"),
        lambda: services.recovery.reset_with_code("ada@example.com", "abcd-efgh-jkmn-pqrs", hostile),
        lambda: services.two_factor.reset(admin, hostile),
        lambda: services.two_factor.disable(user_id, hostile, hostile),
        lambda: services.recovery.generate(user_id, hostile),
        lambda: services.own_account.delete_account(user_id, hostile),
        lambda: services.roles.rename_role(admin, hostile, "boss"),
        lambda: services.roles.rename_role(admin, "user", hostile),
        lambda: services.roles.describe_role(admin, hostile, "x"),
        lambda: services.accounts.complete_sign_in(challenge, hostile),
        lambda: services.two_factor.enable(admin.user_id or 0, STRONG_PASSWORD, hostile, "123456"),
        lambda: services.two_factor.enable(admin.user_id or 0, STRONG_PASSWORD, secret, hostile),
        lambda: services.two_factor.enable(admin.user_id or 0, hostile, secret, "123456"),
        lambda: services.own_account.change_email(user_id, hostile, "new@example.com"),
    ]
    if "\u202e" not in hostile and "\u200b" not in hostile:  # a description may hold a zero-width joiner,
        calls.append(lambda: services.roles.describe_role(admin, "user", hostile))  # and is trimmed
    for index, call in enumerate(calls):
        with pytest.raises(DesktopAuthError):
            call()
        assert _counts(services)[0] == before[0], index
        assert _counts(services)[2:] == before[2:], index
    for data in (hostile, "email\n" + hostile + "\n"):  # a preview lists the problems: nothing to import
        preview = services.user_import.preview(admin, data.encode("utf-8", "surrogatepass"))
        assert not preview.ok
        assert preview.problem_lines()


# -- authorization --------------------------------------------------------------------------------------


def _second_admin(services: Services, admin: Actor, email: str = "boss@example.com") -> Actor:
    (user_id,) = register_accounts(services, email)
    services.admin.set_role(admin, email, "admin")
    return Actor(user_id, email)


def _not_an_admin(services: Services, admin: Actor) -> Actor:
    (user_id,) = register_accounts(services, "mallory@example.com")
    return Actor(user_id, "mallory@example.com")


def _deactivated_admin(services: Services, admin: Actor) -> Actor:
    other = _second_admin(services, admin)
    services.admin.set_active(admin, other.label, False)
    return other


def _admin_on_a_temporary_password(services: Services, admin: Actor) -> Actor:
    other = _second_admin(services, admin)
    assert other.user_id is not None
    services.admin.reset_password(admin, [other.user_id])
    return other


def _admin_without_the_required_factor(services: Services, admin: Actor) -> Actor:
    other = _second_admin(services, admin)
    services.app_settings.update(admin, require_two_factor_for_admins=True)
    return other


@pytest.mark.parametrize(
    "make_actor",
    [_not_an_admin, _deactivated_admin, _admin_on_a_temporary_password, _admin_without_the_required_factor],
)
def test_every_administrators_call_refuses_who_may_not_administer(
    services: Services, admin: Actor, clock: FakeClock, make_actor: Callable[[Services, Actor], Actor]
) -> None:
    victim, _secret = _enrolled(services, clock, "victim@example.com")
    services.recovery.generate(victim, STRONG_PASSWORD)
    services.roles.add_role(admin, "staff")
    if make_actor is _admin_without_the_required_factor:
        enrollment = services.two_factor.start_enrollment(admin.user_id or 0)
        services.two_factor.enable(
            admin.user_id or 0, STRONG_PASSWORD, enrollment.secret, _code(enrollment.secret, clock)
        )
    actor = make_actor(services, admin)
    before = _counts(services)
    csv = b"email\nnew@example.com\n"
    calls: list[Callable[[], object]] = [
        lambda: services.lifecycle.create_user(actor, "new@example.com"),
        lambda: services.lifecycle.targets_by_email(actor, ["victim@example.com"]),
        lambda: services.lifecycle.delete_users(actor, [victim]),
        lambda: services.lifecycle.erase_address(actor, "gone@example.com"),
        lambda: services.recovery.issue_for(actor, "victim@example.com"),
        lambda: services.two_factor.reset(actor, "victim@example.com"),
        lambda: services.own_account.rename(actor, "victim@example.com", "renamed@example.com"),
        lambda: services.roles.rename_role(actor, "staff", "people"),
        lambda: services.roles.describe_role(actor, "user", "everyone"),
        lambda: services.user_import.preview(actor, csv),
    ]
    for index, call in enumerate(calls):
        with pytest.raises((PermissionDeniedError, PasswordChangeRequiredError)):
            call()
        assert _counts(services) == before, index
    assert services.two_factor.has_factor(victim)


# -- erasing an address ---------------------------------------------------------------------------------


def test_erasing_an_address_labels_it_with_its_own_deleted_account(services: Services, admin: Actor) -> None:
    """MariaDB compares audit text without accents: ada@ and adá@ are two people, each with its own label."""
    first, _spacer = register_accounts(services, "ada@example.com", "spacer@example.com")
    services.lifecycle.delete_users(admin, [first])  # (the spacer keeps SQLite from reusing the id)
    (second,) = register_accounts(services, "adá@example.com")
    services.lifecycle.delete_users(admin, [second])
    services.lifecycle.erase_address(admin, "ada@example.com")
    with services.context.database.transaction() as session:
        targets = set(session.scalars(select(AuditEvent.target)))
    assert "ada@example.com" not in targets
    assert f"deleted account #{first}" in targets
    assert f"deleted account #{second}" not in targets
    assert "adá@example.com" in targets


# -- identities that must not be confused ---------------------------------------------------------------


def test_a_challenge_for_one_account_does_not_take_anothers_code(
    services: Services, clock: FakeClock
) -> None:
    _ada, ada_secret = _enrolled(services, clock, "ada@example.com")
    _bob, bob_secret = _enrolled(services, clock, "bob@example.com")
    challenge = _challenge(services, "ada@example.com")
    code = _code(bob_secret, clock)
    if code == _code(ada_secret, clock):  # one in a million: the same code for both this step
        clock.advance(seconds=totp.STEP_SECONDS)
        challenge = _challenge(services, "ada@example.com")
        code = _code(bob_secret, clock)
    with pytest.raises(InvalidInputError):
        services.accounts.complete_sign_in(challenge, code)
    enroll = dataclasses.replace(challenge, enroll=True)
    with pytest.raises(TwoFactorStateError):  # a code step's challenge is no setup's, nor the other way
        services.accounts.enroll_at_sign_in(enroll, totp.new_secret(), _code(ada_secret, clock))
    with pytest.raises(TwoFactorStateError):
        services.accounts.complete_sign_in(
            dataclasses.replace(challenge, enroll=True), _code(ada_secret, clock)
        )


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_an_edit_of_a_deleted_account_does_not_land_on_a_newcomer_with_its_id(
    services: Services, admin: Actor
) -> None:
    (deleted,) = register_accounts(services, "ada@example.com")
    seen = services.accounts.get_account(deleted).version  # an administrator's pending edit: make ada admin
    services.lifecycle.delete_users(admin, [deleted])  # another administrator deletes ada meanwhile
    (newcomer,) = register_accounts(services, "mallory@example.com")  # and someone registers
    with pytest.raises(DesktopAuthError):
        services.admin.apply_edits(admin, [UserEdit(deleted, seen, role="admin")])
    assert services.accounts.get_account(newcomer).role == "user"


# -- every new way of typing a secret counts toward the lockout ---------------------------------------

GUESSES = ["change_email", "delete_account", "recovery_codes", "disable", "code_step", "forgot_password"]


@pytest.mark.parametrize("path", GUESSES)
def test_guessing_through_any_new_door_locks_the_address(
    make_services: Callable[..., Services], admin: Actor, clock: FakeClock, path: str
) -> None:
    services = make_services(lockout_threshold=3)
    user_id, secret = _enrolled(services, clock)
    codes = services.recovery.generate(user_id, STRONG_PASSWORD).codes
    new_password = "marble-harbor-cactus-42-willow"
    wrong_code = str((int(_code(secret, clock)) + 1) % 1_000_000).zfill(6)
    guesses: dict[str, Callable[[], object]] = {
        "change_email": lambda: services.own_account.change_email(user_id, "wrong", "new@example.com"),
        "delete_account": lambda: services.own_account.delete_account(user_id, "wrong"),
        "recovery_codes": lambda: services.recovery.generate(user_id, "wrong"),
        "disable": lambda: services.two_factor.disable(user_id, STRONG_PASSWORD, wrong_code),
        "code_step": lambda: services.accounts.complete_sign_in(challenge, "aaaa-bbbb-cccc-dddd"),
        "forgot_password": lambda: services.recovery.reset_with_code(
            "ada@example.com", codes[0], new_password, wrong_code
        ),
    }
    if path == "code_step":
        challenge = _challenge(services)
    locked = False
    for _attempt in range(4):  # (like the sign-in form, "forgot password" says "locked" from the next try)
        try:
            guesses[path]()
        except AccountLockedError:
            locked = True
            break
        except DesktopAuthError:
            continue
    assert locked
    with pytest.raises(AccountLockedError):  # the right password is refused at the sign-in form too
        services.accounts.authenticate("ada@example.com", STRONG_PASSWORD)
    assert services.recovery.codes_left(user_id) == len(codes)
    assert services.two_factor.has_factor(user_id)


def test_a_stale_challenge_spends_no_recovery_code(services: Services, clock: FakeClock) -> None:
    """Used once already, or its password changed since: refused before a recovery code is spent."""
    user_id, secret = _enrolled(services, clock)
    codes = services.recovery.generate(user_id, STRONG_PASSWORD).codes
    used = _challenge(services)
    services.accounts.complete_sign_in(used, _code(secret, clock))
    with pytest.raises(SignInExpiredError):
        services.accounts.complete_sign_in(used, codes[0])
    assert services.recovery.codes_left(user_id) == len(codes)
    changed = _challenge(services)
    services.accounts.change_password(user_id, STRONG_PASSWORD, "marble-harbor-cactus-42-willow")
    with pytest.raises(InvalidCredentialsError):
        services.accounts.complete_sign_in(changed, codes[1])
    assert services.recovery.codes_left(user_id) == len(codes)


def test_one_challenge_sent_by_two_clients_with_two_good_codes_gets_in_once(
    services: Services, clock: FakeClock
) -> None:
    """The current code and the next one (one step of skew) are both good once: not twice for one sign-in."""
    _user_id, secret = _enrolled(services, clock)
    challenge = _challenge(services)
    step = totp.step_at(clock.now)
    codes = [totp.code_for(secret, step), totp.code_for(secret, step + 1)]
    barrier = threading.Barrier(2)

    def finish(code: str) -> str:
        barrier.wait()
        try:
            services.accounts.complete_sign_in(challenge, code)
        except DesktopAuthError as error:
            return type(error).__name__
        return "signed in"

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(finish, codes))
    assert outcomes.count("signed in") == 1, outcomes
    assert services.accounts.get_account(challenge.user_id).login_count == 1
