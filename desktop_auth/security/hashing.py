"""Password hashing with werkzeug.security, in the spirit of Django's hashers.

The stored hash names its own method and parameters, so old hashes keep verifying after the configured
method changes, and ``needs_rehash`` tells the sign-in service to replace them.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import threading
import unicodedata
from typing import ClassVar

from werkzeug.security import DEFAULT_PBKDF2_ITERATIONS, check_password_hash, generate_password_hash

from desktop_auth.text import scrub

log = logging.getLogger(__name__)

_SCRYPT_DEFAULTS = ("32768", "8", "1")


def normalize_password(password: str) -> str:
    """NFKC, so the same password typed on different keyboards or input methods hashes the same.

    Lone surrogates (not text; they cannot be encoded) become U+FFFD first, so hashing never fails on
    them. The policy refuses them in new passwords; here they only ever fail to match.
    """
    return unicodedata.normalize("NFKC", scrub(password))


def canonical_method(method: str) -> str:
    """Spell a werkzeug method with all its parameters, as it appears at the start of a stored hash."""
    name, *params = method.split(":")
    if name == "scrypt":
        return ":".join(["scrypt", *(params or _SCRYPT_DEFAULTS)])
    if name == "pbkdf2":
        digest = params[0] if params else "sha256"
        iterations = params[1] if len(params) > 1 else str(DEFAULT_PBKDF2_ITERATIONS)
        return f"pbkdf2:{digest}:{iterations}"
    return method


class PasswordHasher:
    """Hashes and verifies passwords with one configured werkzeug method."""

    # One dummy hash per method for the whole process: computing it costs as much as a real hash.
    _dummy_lock: ClassVar[threading.Lock] = threading.Lock()
    _dummy_hashes: ClassVar[dict[str, str]] = {}

    def __init__(self, method: str) -> None:
        self.method = canonical_method(method)

    def hash(self, password: str) -> str:
        return generate_password_hash(normalize_password(password), method=self.method, salt_length=16)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        """True when ``password`` matches. A missing or malformed hash is False, never an exception."""
        if not stored_hash:
            self.burn_time(password)
            return False
        normalized = normalize_password(password)
        try:
            if check_password_hash(stored_hash, normalized):
                return True
            # Hashes made before normalization (e.g. by the tutorial) hold the password as typed.
            return normalized != password and check_password_hash(stored_hash, password)
        except Exception:  # werkzeug raises several types for malformed hashes
            log.warning("A stored password hash is malformed; treating it as a failed match")
            self.burn_time(password)
            return False

    def needs_rehash(self, stored_hash: str | None) -> bool:
        if not stored_hash:
            return False
        stored_method = stored_hash.split("$", 1)[0]
        return not hmac.compare_digest(canonical_method(stored_method), self.method)

    def burn_time(self, password: str) -> None:
        """Spend what one verification costs, so an unknown account answers as slowly as a known one."""
        check_password_hash(self._dummy_hash(), normalize_password(password))

    def _dummy_hash(self) -> str:
        with self._dummy_lock:
            dummy = self._dummy_hashes.get(self.method)
            if dummy is None:
                dummy = generate_password_hash(secrets.token_urlsafe(16), method=self.method, salt_length=16)
                self._dummy_hashes[self.method] = dummy
            return dummy
