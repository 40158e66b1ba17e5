"""Helpers for two-factor sign-in (shared by the two-factor test modules)."""

from __future__ import annotations

from desktop_auth.security import totp
from desktop_auth.services import Services
from tests.conftest import STRONG_PASSWORD, FakeClock


def enroll(services: Services, user_id: int, clock: FakeClock | None = None) -> str:
    """Turn two-factor sign-in on for ``user_id`` (password STRONG_PASSWORD) as the account window does;
    returns the secret."""
    enrollment = services.two_factor.start_enrollment(user_id)
    now = clock.now if clock is not None else services.context.clock()
    code = totp.code_for(enrollment.secret, totp.step_at(now))
    services.two_factor.enable(user_id, STRONG_PASSWORD, enrollment.secret, code)
    return enrollment.secret
