"""No account enumeration through "Forgot password": an unknown address, an account without codes, an
inactive account, a wrong code and a spent code all get the same answer in the same time — with the real
default hash, on SQLite and MariaDB.

Built like tests/test_enumeration.py, to hold on a busy 2-core machine: the kinds are interleaved in a new
random order each round, each attempt is compared with the median attempt of its own round (load that
drifts between rounds cancels out), and the median of those ratios must lie within 15% of 1. A reset that
skipped the new password's hash for an unknown address (answering at once) is off by far more: this test
was seen failing with such a cheat in place.
"""

from __future__ import annotations

import os
import random
import statistics
import time

import pytest
from sqlalchemy import update

from desktop_auth.config import DEFAULT_HASH_METHOD
from desktop_auth.models import User
from desktop_auth.services.errors import InvalidRecoveryCodeError
from tests.conftest import STRONG_PASSWORD

ROUNDS = int(os.environ.get("DESKTOP_AUTH_TIMING_ROUNDS", "9"))
TOLERANCE = 0.15
NEW_PASSWORD = "marble-heron-satchel-42-quiver"
NOT_VALID = "That code is not valid for that address. If you have no recovery codes, ask an administrator."


@pytest.mark.slow
def test_every_refused_reset_costs_the_same(make_services, database) -> None:
    services = make_services(hash_method=DEFAULT_HASH_METHOD, lockout_threshold=1000)
    ada = services.accounts.register("ada@example.com", STRONG_PASSWORD)
    codes = services.recovery.generate(ada.id, STRONG_PASSWORD).codes
    services.recovery.reset_with_code("ada@example.com", codes[0], NEW_PASSWORD)  # codes[0] is spent
    services.accounts.register("nocodes@example.com", STRONG_PASSWORD)
    inactive = services.accounts.register("inactive@example.com", STRONG_PASSWORD)
    inactive_codes = services.recovery.generate(inactive.id, STRONG_PASSWORD).codes
    with database.transaction(write=True) as session:
        session.execute(update(User).where(User.id == inactive.id).values(active=False))
    attempts = {
        "unknown address": ("nobody@example.com", codes[1]),
        "no codes": ("nocodes@example.com", codes[1]),
        "inactive": ("inactive@example.com", inactive_codes[0]),
        "wrong code": ("ada@example.com", "abcd-efgh-jkmn-pqrs"),
        "spent code": ("ada@example.com", codes[0]),
    }

    def attempt(kind: str) -> float:
        email, code = attempts[kind]
        started = time.perf_counter()
        with pytest.raises(InvalidRecoveryCodeError) as refused:
            services.recovery.reset_with_code(email, code, NEW_PASSWORD)
        elapsed = time.perf_counter() - started
        assert str(refused.value) == NOT_VALID, kind
        return elapsed

    for kind in attempts:  # warm-up: every counter row exists, every code path has run
        attempt(kind)
    ratios: dict[str, list[float]] = {kind: [] for kind in attempts}
    rng = random.Random(17)
    for _ in range(ROUNDS):
        order = list(attempts)
        rng.shuffle(order)
        elapsed = {kind: attempt(kind) for kind in order}
        typical = statistics.median(elapsed.values())
        for kind, seconds in elapsed.items():
            ratios[kind].append(seconds / typical)

    medians = {kind: statistics.median(values) for kind, values in ratios.items()}
    report = ", ".join(f"{kind} {ratio:.2f}" for kind, ratio in medians.items())
    print(f"median time relative to the median attempt of its round: {report}")
    outliers = {kind: round(ratio, 2) for kind, ratio in medians.items() if abs(ratio - 1) > TOLERANCE}
    assert not outliers, f"reset time reveals something: {outliers} (all: {report})"
    # Nothing was changed by any of them.
    services.accounts.authenticate("ada@example.com", NEW_PASSWORD)
    assert services.recovery.codes_left(inactive.id) == len(inactive_codes)
