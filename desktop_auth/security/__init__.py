"""Password hashing and the password policy. Pure functions over strings: no database, no Qt."""

from desktop_auth.security.hashing import PasswordHasher, normalize_password
from desktop_auth.security.password_policy import PasswordPolicy, PasswordPolicyError, StrengthReport

__all__ = [
    "PasswordHasher",
    "PasswordPolicy",
    "PasswordPolicyError",
    "StrengthReport",
    "normalize_password",
]
