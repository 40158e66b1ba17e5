"""The session check reports the account's address as it is now: an administrator or operator may rename a
signed-in account, or its owner change it on another computer, while a session is open."""

from __future__ import annotations

from desktop_auth.services import Services
from desktop_auth.services.records import Actor
from tests.conftest import STRONG_PASSWORD, register_accounts


def test_the_session_check_reports_the_address_after_a_rename(services: Services, admin: Actor) -> None:
    (user_id,) = register_accounts(services, "ada@example.com")
    signed_in = services.accounts.authenticate("ada@example.com", STRONG_PASSWORD)
    before = services.accounts.check_session(user_id, signed_in.password_changed_at)
    assert before.valid
    assert before.email == "ada@example.com"

    services.own_account.rename(admin, "ada@example.com", "ada.lovelace@example.com")
    after = services.accounts.check_session(user_id, signed_in.password_changed_at)
    assert after.valid, after.reason
    assert after.email == "ada.lovelace@example.com"
    assert after.role == "user"

    # The owner's own change, on another computer: the same.
    services.own_account.change_email(user_id, STRONG_PASSWORD, "countess@example.com")
    assert services.accounts.check_session(user_id, signed_in.password_changed_at).email == (
        "countess@example.com"
    )


def test_an_ended_session_reports_no_address(services: Services, admin: Actor) -> None:
    (user_id,) = register_accounts(services, "ada@example.com")
    signed_in = services.accounts.authenticate("ada@example.com", STRONG_PASSWORD)
    services.admin.set_active(admin, "ada@example.com", False)
    state = services.accounts.check_session(user_id, signed_in.password_changed_at)
    assert not state.valid
    assert state.email is None
