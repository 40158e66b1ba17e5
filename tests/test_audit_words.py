"""The History tab's sentences, from what the services really write to the audit log on each backend."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from desktop_auth.services import Services
from desktop_auth.services.audit_words import describe_event
from desktop_auth.services.errors import InvalidCredentialsError
from desktop_auth.services.records import Actor, AuditRecord, UserEdit
from tests.conftest import OTHER_PASSWORD, STRONG_PASSWORD, FakeClock


def utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def sentences(services: Services, actor: Actor) -> dict[str, str]:
    events: list[AuditRecord] = services.admin.audit_log(actor, limit=1000)
    return {event.action: str(describe_event(event)) for event in reversed(events)}


def test_every_action_reads_as_words(services: Services, admin: Actor, clock: FakeClock) -> None:
    ada = services.accounts.register("ada@example.com", STRONG_PASSWORD)
    services.admin.apply_edits(admin, [UserEdit(ada.id, None, role="admin")])
    services.admin.apply_edits(admin, [UserEdit(ada.id, None, active=False)])
    services.admin.apply_edits(admin, [UserEdit(ada.id, None, active=True)])
    reset = services.admin.reset_password(admin, [ada.id])
    services.roles.add_role(admin, "auditor")
    services.roles.remove_role(admin, "auditor")
    services.app_settings.set_self_registration(admin, False)
    for _ in range(services.app_settings.get().lockout_threshold):
        with pytest.raises(InvalidCredentialsError):
            services.accounts.authenticate("ada@example.com", OTHER_PASSWORD)
    services.admin.unlock(admin, ["ada@example.com"])

    said = sentences(services, admin)
    assert said["create"] == "Account created with the role user"
    assert said["role"] == "Role changed from user to admin"
    assert said["deactivate"] == "Account deactivated"
    assert said["activate"] == "Account activated"
    assert said["password_reset"] == (
        f"Password reset to a temporary password that expires {utc(reset.expires_at)}"
    )
    assert said["role_add"] == "Role added"
    assert said["role_remove"] == "Role removed"
    assert said["setting"].endswith("changed from on to off")
    assert said["lockout"].startswith("Sign-in locked until 20")
    assert said["unlock"] == "Unlocked"
    for sentence in said.values():  # no machine words left
        for raw in ("role_add", "role_remove", "true", "false", "True", "False", "None"):
            assert raw not in sentence.split()


def test_an_unknown_action_still_reads(services: Services) -> None:
    event = AuditRecord(
        1, datetime.now(UTC), "x@example.com", "role_merge", "auditor", "auditor", "viewer", None
    )
    assert str(describe_event(event)) == "Role merge: auditor → viewer"


def test_two_factor_events_read_as_words(services: Services, admin: Actor, clock: FakeClock) -> None:
    from desktop_auth.errors import InvalidInputError
    from desktop_auth.security import totp

    ada = services.accounts.register("ada@example.com", STRONG_PASSWORD)
    enrollment = services.two_factor.start_enrollment(ada.id)

    def code() -> str:
        return totp.code_for(enrollment.secret, totp.step_at(clock.now))

    with pytest.raises(InvalidInputError):
        services.two_factor.enable(ada.id, OTHER_PASSWORD, enrollment.secret, code())
    services.two_factor.enable(ada.id, STRONG_PASSWORD, enrollment.secret, code())
    with pytest.raises(InvalidInputError):
        services.two_factor.verify_code(ada.id, code())  # spent by enrolling
    with pytest.raises(InvalidInputError):
        services.two_factor.disable(ada.id, OTHER_PASSWORD, code())
    clock.advance(seconds=totp.STEP_SECONDS)
    services.two_factor.disable(ada.id, STRONG_PASSWORD, code())
    clock.advance(seconds=totp.STEP_SECONDS)
    enrollment = services.two_factor.start_enrollment(ada.id)
    services.two_factor.enable(ada.id, STRONG_PASSWORD, enrollment.secret, code())
    services.two_factor.reset(admin, "ada@example.com")

    said = sentences(services, admin)
    assert (
        said["two_factor_enable_failed"] == "Wrong current password typed while turning on two-factor sign-in"
    )
    assert said["two_factor_enable"] == "Two-factor sign-in turned on"
    assert said["two_factor_failed"] == "Wrong or reused authenticator code at sign-in"
    assert (
        said["two_factor_disable_failed"]
        == "Wrong password or code typed while turning off two-factor sign-in"
    )
    assert said["two_factor_disable"] == "Two-factor sign-in turned off"
    assert said["two_factor_reset"] == "Two-factor sign-in removed by an administrator"
