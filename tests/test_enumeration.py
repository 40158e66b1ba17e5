"""No account enumeration: an unknown address and a wrong password answer alike, in about the same time."""

from __future__ import annotations

import statistics
import time

import pytest

from desktop_auth.services.errors import InvalidCredentialsError
from tests.conftest import OTHER_PASSWORD, STRONG_PASSWORD


def _timed_failure(services, email: str) -> tuple[float, str]:
    started = time.perf_counter()
    with pytest.raises(InvalidCredentialsError) as caught:
        services.accounts.authenticate(email, OTHER_PASSWORD)
    return time.perf_counter() - started, str(caught.value)


@pytest.mark.slow
def test_unknown_email_and_wrong_password_take_the_same_time(make_services) -> None:
    # A hash costly enough (~50 ms) that it, not noise, decides the timing; lockout out of the way.
    services = make_services(hash_method="pbkdf2:sha256:150000", lockout_threshold=1_000_000)
    services.accounts.register("known@example.com", STRONG_PASSWORD)
    # One failure each first: the dummy hash is computed once, and both addresses get their failure
    # counter row, so what is compared below is "account or not", not "first failure or not".
    _timed_failure(services, "known@example.com")
    _timed_failure(services, "nobody@example.com")
    known, unknown, messages = [], [], set()
    for _ in range(15):  # interleaved, so drift in machine load hits both alike
        elapsed, message = _timed_failure(services, "known@example.com")
        known.append(elapsed)
        messages.add(message)
        elapsed, message = _timed_failure(services, "nobody@example.com")
        unknown.append(elapsed)
        messages.add(message)
    assert len(messages) == 1
    known_median, unknown_median = statistics.median(known), statistics.median(unknown)
    difference = abs(known_median - unknown_median) / max(known_median, unknown_median)
    print(f"known {known_median * 1000:.1f} ms, unknown {unknown_median * 1000:.1f} ms")
    assert difference < 0.15, f"known {known_median * 1000:.1f} ms vs unknown {unknown_median * 1000:.1f} ms"
