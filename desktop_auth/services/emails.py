"""Email address validation and normalization (email-validator; no network look-ups)."""

from email_validator import EmailNotValidError, validate_email

from desktop_auth.errors import InvalidInputError
from desktop_auth.models import EMAIL_MAX_LENGTH


def normalize_email(raw: str) -> str:
    """Validate ``raw`` and return the one spelling stored for it (lower case, IDNA-normalized domain).

    Lower-casing the local part too makes ``Bob@Example.com`` and ``bob@example.com`` one account on every
    backend; no mail system in practice treats them as different people.
    """
    text = raw.strip()
    if not text:
        raise InvalidInputError("email", ["Enter an email address."])
    if len(text) > EMAIL_MAX_LENGTH:
        raise InvalidInputError("email", [f"An email address has at most {EMAIL_MAX_LENGTH} characters."])
    try:
        info = validate_email(text, check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidInputError("email", [str(error)]) from None
    normalized = info.normalized.lower()
    if len(normalized) > EMAIL_MAX_LENGTH:
        raise InvalidInputError("email", [f"An email address has at most {EMAIL_MAX_LENGTH} characters."])
    return normalized


def sign_in_key(raw: str) -> str | None:
    """The normalized address for a sign-in attempt, or None when it cannot be anyone's address."""
    try:
        return normalize_email(raw)
    except InvalidInputError:
        return None
