"""Time-based one-time passwords (RFC 6238) as every authenticator app makes them: HMAC-SHA1, 6 digits,
30-second steps, the secret in base32. ``pyotp`` computes the codes; this module decides which steps count
(one either side of now, for clock skew) and says which step a code matched, so the caller can refuse a
code already used (replay).

Secrets at rest: with an operator's key (``DESKTOP_AUTH_TOTP_KEY``, a Fernet key) a secret is stored
encrypted (``fernet:`` + token), so a copy of the database alone does not reveal it; without a key it is
stored in clear (``plain:`` + base32), as Keycloak stores them. A stored value says which it is, so a key
can be introduced later: clear secrets keep working and are encrypted when next written.
"""

from __future__ import annotations

import hmac
import re
import unicodedata
from datetime import datetime
from typing import Final
from urllib.parse import quote

import pyotp
from cryptography.fernet import Fernet, InvalidToken

from desktop_auth.errors import DesktopAuthError
from desktop_auth.messages import message

ISSUER: Final = "desktop-auth"
DIGITS: Final = 6
STEP_SECONDS: Final = 30
#: Steps either side of now a code is accepted in: a phone clock up to 30-59 s off still works.
SKEW_STEPS: Final = 1
SECRET_BYTES: Final = 20  # 160 bits, RFC 4226's recommended length for HMAC-SHA1
_PLAIN: Final = "plain:"
_FERNET: Final = "fernet:"
_SEPARATORS = re.compile(r"[\s\-\u200b-\u200d\u2060\ufeff]")


class SecretKeyError(DesktopAuthError):
    """A stored secret cannot be read with the configured key (or needs a key that is not configured)."""


def new_secret() -> str:
    """A random base32 secret (32 characters, 160 bits)."""
    return pyotp.random_base32(length=32)


def provisioning_uri(secret: str, account: str) -> str:
    """The ``otpauth://totp/...`` URI an authenticator app reads from the QR code: issuer and account
    (the email), with the defaults spelled out so every app agrees on them."""
    label = quote(f"{ISSUER}:{account}", safe="@:")
    return (
        f"otpauth://totp/{label}?secret={secret}&issuer={quote(ISSUER)}"
        f"&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}"
    )


def step_at(moment: datetime) -> int:
    """The 30-second step a moment falls in (RFC 6238's T)."""
    return int(moment.timestamp()) // STEP_SECONDS


def code_for(secret: str, step: int) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).generate_otp(step)


def normalize_code(typed: str) -> str | None:
    """The digits of a typed code (spaces, hyphens, invisible characters and full-width digits allowed),
    or None when it cannot be a code at all (letters, too long or too short)."""
    text = _SEPARATORS.sub("", unicodedata.normalize("NFKC", typed[:64]))
    if len(text) != DIGITS or not text.isascii() or not text.isdigit():
        return None
    return text


def matching_step(secret: str, typed: str, moment: datetime, after_step: int | None = None) -> int | None:
    """The step within ``SKEW_STEPS`` of ``moment`` whose code is ``typed``, or None. Steps up to
    ``after_step`` (the last one used) never match: a code is good once. Every candidate is compared in
    constant time, whichever matches."""
    code = normalize_code(typed)
    now = step_at(moment)
    found: int | None = None
    for step in range(now - SKEW_STEPS, now + SKEW_STEPS + 1):
        expected = code_for(secret, step)
        candidate = code if code is not None else "x" * DIGITS
        if hmac.compare_digest(expected, candidate) and (after_step is None or step > after_step):
            found = step if found is None else found
    return found


class SecretBox:
    """Seals and opens TOTP secrets for storage, with the operator's key when there is one."""

    def __init__(self, key: str | None) -> None:
        self._fernet = Fernet(key.encode("ascii")) if key else None

    @property
    def encrypting(self) -> bool:
        return self._fernet is not None

    def seal(self, secret: str) -> str:
        if self._fernet is None:
            return _PLAIN + secret
        return _FERNET + self._fernet.encrypt(secret.encode("ascii")).decode("ascii")

    def open(self, stored: str) -> str:
        if stored.startswith(_PLAIN):
            return stored[len(_PLAIN) :]
        if not stored.startswith(_FERNET):
            raise SecretKeyError(message("TwoFactor", "A stored two-factor secret has an unknown format."))
        if self._fernet is None:
            raise SecretKeyError(
                message(
                    "TwoFactor",
                    "Two-factor secrets in this database are encrypted: set DESKTOP_AUTH_TOTP_KEY to the "
                    "organisation's key on this computer.",
                )
            )
        try:
            return self._fernet.decrypt(stored[len(_FERNET) :].encode("ascii")).decode("ascii")
        except InvalidToken as error:
            raise SecretKeyError(
                message(
                    "TwoFactor",
                    "DESKTOP_AUTH_TOTP_KEY on this computer is not the key these two-factor secrets were "
                    "encrypted with.",
                )
            ) from error


def valid_key(key: str) -> bool:
    """True when ``key`` is a Fernet key (32 bytes, url-safe base64): what ``DESKTOP_AUTH_TOTP_KEY`` holds."""
    try:
        Fernet(key.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        return False
    return True
