"""Werkzeug hashing methods as names: their full spelling and how strong each is. Pure string work.

Lives at the bottom of the layers so that configuration can refuse a weak method before anything starts.
"""

from __future__ import annotations

from werkzeug.security import DEFAULT_PBKDF2_ITERATIONS

#: werkzeug's scrypt parameters when a method leaves them out.
_SCRYPT_DEFAULTS = ("32768", "8", "1")

#: OWASP's password storage minimums, which count as equally strong: strength 1.0 on the scale below.
FLOOR_SCRYPT_WORK = 2**17 * 8 * 1  # N * r * p
FLOOR_SCRYPT_MEMORY = 2**17 * 8  # N * r: 128 MiB
FLOOR_PBKDF2_ITERATIONS = {"sha256": 600_000, "sha512": 210_000, "sha1": 1_300_000}

#: Temporary passwords are random (at least 80 bits) and expire within days, so a fast salted hash is
#: enough for them, and resetting 100,000 accounts takes seconds instead of days.
TEMPORARY_HASH_METHOD = "pbkdf2:sha256:1"


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


def method_strength(method: str) -> float:
    """How hard a method makes guessing, as a multiple of OWASP's minimum (1.0); 0.0 when unknown.

    scrypt counts the lesser of its work (N * r * p) and its memory (N * r) against OWASP's (2^17, 8, 1);
    pbkdf2 its iterations against OWASP's figure for the digest.
    """
    name, *params = canonical_method(method).split(":")
    try:
        if name == "scrypt" and len(params) == 3:
            n, r, p = (int(value) for value in params)
            if n < 2 or n & (n - 1) or r < 1 or p < 1:  # werkzeug refuses these at every hash
                return 0.0
            # Memory-hard only with enough memory: weigh the work and the memory (N * r) both.
            return min(n * r * p / FLOOR_SCRYPT_WORK, n * r / FLOOR_SCRYPT_MEMORY)
        if name == "pbkdf2" and len(params) == 2 and params[0] in FLOOR_PBKDF2_ITERATIONS:
            return int(params[1]) / FLOOR_PBKDF2_ITERATIONS[params[0]]
    except ValueError:
        pass
    return 0.0


def method_of(stored_hash: str) -> str:
    """The method a stored hash names (the part before its first ``$``), fully spelled."""
    return canonical_method(stored_hash.split("$", 1)[0])
