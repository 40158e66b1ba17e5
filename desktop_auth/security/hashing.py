"""Password hashing with werkzeug.security, in the spirit of Django's hashers.

The stored hash names its own method and parameters, so old hashes keep verifying after the configured
method changes, and ``needs_rehash`` tells the sign-in service to replace them — never with a weaker one.

Every verification costs the same wall time whatever is stored (the configured method, a legacy or
temporary method, a malformed hash, nothing at all) and whatever the password, so the time a sign-in takes
does not tell whether an account exists or what it holds (see ``PasswordHasher.verify``).
"""

from __future__ import annotations

import hmac
import logging
import secrets
import statistics
import threading
import time
import unicodedata
from collections import deque
from typing import ClassVar

from werkzeug.security import check_password_hash, generate_password_hash

from desktop_auth.hash_methods import TEMPORARY_HASH_METHOD, canonical_method, method_of, method_strength
from desktop_auth.text import scrub

log = logging.getLogger(__name__)


def normalize_password(password: str) -> str:
    """NFKC, so the same password typed on different keyboards or input methods hashes the same.

    Lone surrogates (not text; they cannot be encoded) become U+FFFD first, so hashing never fails on
    them. The policy refuses them in new passwords; here they only ever fail to match.
    """
    return unicodedata.normalize("NFKC", scrub(password))


class _CostMeter:
    """The recent wall time of one verification with the configured method, in this process.

    A median of the last few real verifications follows the machine's load, so padding other attempts up
    to it keeps them level with real ones on a busy machine too.
    """

    def __init__(self, samples: int = 15) -> None:
        self._lock = threading.Lock()
        self._durations: deque[float] = deque(maxlen=samples)

    def add(self, seconds: float) -> None:
        with self._lock:
            self._durations.append(seconds)

    def typical(self) -> float | None:
        with self._lock:
            return statistics.median(self._durations) if self._durations else None


class PasswordHasher:
    """Hashes and verifies passwords with one configured werkzeug method."""

    # One dummy hash and one cost meter per method for the whole process.
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()
    _dummy_hashes: ClassVar[dict[str, str]] = {}
    _meters: ClassVar[dict[str, _CostMeter]] = {}

    def __init__(self, method: str) -> None:
        self.method = canonical_method(method)
        self.strength = method_strength(self.method)
        with self._shared_lock:
            self._meter = self._meters.setdefault(self.method, _CostMeter())

    def hash(self, password: str) -> str:
        return generate_password_hash(normalize_password(password), method=self.method, salt_length=16)

    def hash_temporary(self, password: str) -> str:
        """A fast salted hash, only for random, expiring temporary passwords (never a person's own)."""
        return generate_password_hash(
            normalize_password(password), method=TEMPORARY_HASH_METHOD, salt_length=16
        )

    def verify(self, stored_hash: str | None, password: str) -> bool:
        """True when ``password`` matches. A missing or malformed hash is False, never an exception.

        Costs one verification with the configured method, whatever is stored: a hash of the configured
        method is checked once (with the normalized password: this app always normalized); nothing stored
        checks a dummy hash of the configured method; anything else (a legacy, temporary or malformed hash)
        is checked as it is and the attempt then waits until it has taken as long as a real verification.
        """
        normalized = normalize_password(password)
        started = time.perf_counter()
        if not stored_hash:
            self._check_configured(self._dummy_hash(), normalized)
            return False
        if hmac.compare_digest(method_of(stored_hash), self.method):
            matched = self._check_configured(stored_hash, normalized)
            if matched is not None:
                return matched
            deadline = started + self._typical_cost()  # malformed: nothing was hashed
        else:
            deadline = started + self._typical_cost()
            matched = self._check_other_method(stored_hash, password, normalized, deadline)
        self._wait_until(deadline)
        return bool(matched)

    def burn_time(self, password: str) -> None:
        """Spend what one verification costs (for attempts refused before any account is looked at)."""
        self.verify(None, password)

    def needs_rehash(self, stored_hash: str | None) -> bool:
        """True when the stored hash should be replaced by one of the configured method: it differs, and the
        configured method is at least as strong (a client configured weaker never downgrades a hash)."""
        if not stored_hash:
            return False
        method = method_of(stored_hash)
        if hmac.compare_digest(method, self.method):
            return False
        return self.strength >= method_strength(method)

    # -- helpers -------------------------------------------------------------------------------------

    def _check_configured(self, stored_hash: str, normalized: str) -> bool | None:
        """Check a hash of the configured method and note how long it took; None when it is malformed."""
        if stored_hash.count("$") != 2:  # werkzeug answers False at once, without hashing
            log.warning("A stored password hash is malformed; treating it as a failed match")
            return None
        started = time.perf_counter()
        try:
            matched = check_password_hash(stored_hash, normalized)
        except Exception:  # werkzeug raises several types for malformed hashes
            log.warning("A stored password hash is malformed; treating it as a failed match")
            return None
        self._meter.add(time.perf_counter() - started)
        return matched

    @staticmethod
    def _check_other_method(stored_hash: str, password: str, normalized: str, deadline: float) -> bool | None:
        try:
            started = time.perf_counter()
            if check_password_hash(stored_hash, normalized):
                return True
            if normalized == password:
                return False
            # Hashes from before this app (the tutorial's) may hold the password exactly as typed. Checked
            # only when a second check still ends before the deadline, so it never makes an attempt slower.
            if time.perf_counter() + (time.perf_counter() - started) > deadline:
                return False
            return check_password_hash(stored_hash, scrub(password))
        except Exception:  # werkzeug raises several types for malformed hashes
            log.warning("A stored password hash is malformed; treating it as a failed match")
            return None

    def _typical_cost(self) -> float:
        typical = self._meter.typical()
        if typical is None:  # nothing measured yet in this process: measure once now
            self._check_configured(self._dummy_hash(), secrets.token_urlsafe(16))
            typical = self._meter.typical() or 0.0
        return typical

    @staticmethod
    def _wait_until(deadline: float) -> None:
        remaining = deadline - time.perf_counter()
        if remaining > 0:
            time.sleep(remaining)

    def _dummy_hash(self) -> str:
        with self._shared_lock:
            dummy = self._dummy_hashes.get(self.method)
            if dummy is None:
                dummy = generate_password_hash(secrets.token_urlsafe(16), method=self.method, salt_length=16)
                self._dummy_hashes[self.method] = dummy
            return dummy
