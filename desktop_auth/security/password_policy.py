"""Password policy after NIST SP 800-63B rev. 4.

Length is what counts: a configurable minimum (15 by default), a generous maximum only to avoid abuse, any
Unicode accepted (NFKC-normalized first) and no composition rules. A password is refused when it is on the
common/breached list that ships with zxcvbn, when zxcvbn rates it easy to guess, or when it is built from
the account's email. Every problem is collected, each with a stable code, so a dialog can show them all.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from desktop_auth.errors import InvalidInputError
from desktop_auth.messages import Message, message, message_n
from desktop_auth.security.strength_words import guessable, suggestion
from desktop_auth.text import has_lone_surrogate

# Characters that draw nothing: format characters (zero-width spaces, joiners, direction marks...), controls,
# separators, lone combining marks, and the few letters and symbols that render blank (Hangul fillers,
# the blank Braille pattern, the combining grapheme joiner, the Mongolian vowel separator).
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "Me", "Cn"})
_BLANK_CHARACTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u034f\u180e")
# Of those, these add no length a person could see or type on purpose (spaces do: passphrases have them).
_IGNORED_FOR_LENGTH = frozenset({"Cf", "Cn"})

MIN_ACCEPTABLE_SCORE = 3  # zxcvbn: 3 = "safely unguessable: moderate protection from offline attacks"
_ESTIMATOR_MAX_LENGTH = 100  # zxcvbn is quadratic; the head of a long password says enough about it


@dataclass(frozen=True)
class PasswordProblem:
    """One reason a password is refused: a stable ``code``, and ``message`` for the person (translatable;
    ``str(problem.message)`` is its English)."""

    code: str
    message: Message


@dataclass(frozen=True)
class StrengthReport:
    """What the strength meter shows. ``score`` is 0..4; ``problems`` is empty when the policy is met;
    ``suggestions`` are zxcvbn's, translatable (``desktop_auth.security.strength_words``)."""

    score: int
    problems: tuple[PasswordProblem, ...] = ()
    suggestions: tuple[Message, ...] = field(default_factory=tuple)

    @property
    def acceptable(self) -> bool:
        return not self.problems


class PasswordPolicyError(InvalidInputError):
    def __init__(self, problems: tuple[PasswordProblem, ...], field_name: str = "password") -> None:
        self.codes = tuple(problem.code for problem in problems)
        super().__init__(field_name, [problem.message for problem in problems])


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    return frozenset(FREQUENCY_LISTS["passwords"])


def _is_invisible(ch: str) -> bool:
    return ch in _BLANK_CHARACTERS or unicodedata.category(ch) in _INVISIBLE_CATEGORIES


def _visible_length(password: str) -> int:
    """The length a person sees: format and blank characters do not count."""
    return sum(
        1
        for ch in password
        if ch not in _BLANK_CHARACTERS and unicodedata.category(ch) not in _IGNORED_FOR_LENGTH
    )


def _letters(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalpha())


def _email_inputs(email: str | None) -> list[str]:
    if not email:
        return []
    local = email.split("@", 1)[0]
    pieces = [piece for piece in re.split(r"[._+\-]+", local) if len(piece) >= 3]
    return [email, local, *pieces]


def _is_derived_from_email(password: str, email: str | None) -> bool:
    if not email:
        return False
    lowered = password.casefold()
    if email.casefold() in lowered:
        return True
    local_letters = _letters(email.split("@", 1)[0])
    password_letters = _letters(password)
    # The mailbox name with a little decoration around it ("bob.smith!2024") is no secret.
    return (
        len(local_letters) >= 3
        and local_letters in password_letters
        and len(password_letters) - len(local_letters) < 6
    )


class PasswordPolicy:
    def __init__(self, min_length: int = 15, max_length: int = 1024) -> None:
        self.min_length = min_length
        self.max_length = max_length

    def help_text(self) -> Message:
        count = self.min_length
        return message_n(
            "PasswordPolicy",
            "Use at least {n} character. A few unrelated words make a password that is long, strong and easy "
            "to remember. Any characters are allowed.",
            "Use at least {n} characters. A few unrelated words make a password that is long, strong and easy "
            "to remember. Any characters are allowed.",
            count,
        )

    def evaluate(self, password: str, email: str | None = None) -> StrengthReport:
        """Assess a password for the live strength meter and for validation (a few ms)."""
        # Lone surrogates are judged before normalization turns them into replacement characters.
        password = unicodedata.normalize("NFKC", password)
        length = len(password)
        problems: list[PasswordProblem] = []
        if length == 0:
            return StrengthReport(
                0, (PasswordProblem("required", message("PasswordPolicy", "Enter a password.")),)
            )
        if length > self.max_length:
            # The limit as the configuration spells it (the CLI's English has always said "at most 1024").
            too_long = message(
                "PasswordPolicy", "Use at most {maximum} characters (this has {length})."
            ).format(maximum=str(self.max_length), length=str(length))
            problems.append(PasswordProblem("too_long", too_long))
            return StrengthReport(0, tuple(problems))
        if has_lone_surrogate(password):
            problems.append(
                PasswordProblem(
                    "invalid_text", message("PasswordPolicy", "Remove characters that are not valid text.")
                )
            )
        if any(unicodedata.category(ch) == "Cc" for ch in password):
            problems.append(
                PasswordProblem(
                    "control_character",
                    message("PasswordPolicy", "Remove control characters such as tabs or line breaks."),
                )
            )
        if all(_is_invisible(ch) for ch in password):
            problems.append(
                PasswordProblem(
                    "invisible",
                    message(
                        "PasswordPolicy",
                        "Use visible characters: this password is only spaces or invisible characters.",
                    ),
                )
            )
        visible = _visible_length(password)
        if visible < self.min_length:
            hidden = length - visible
            if hidden:
                count = self.min_length
                too_short = message_n(
                    "PasswordPolicy",
                    "Use at least {n} character (this has {visible}, not counting {hidden} invisible).",
                    "Use at least {n} characters (this has {visible}, not counting {hidden} invisible).",
                    count,
                ).format(visible=visible, hidden=hidden)
            else:
                count = self.min_length
                too_short = message_n(
                    "PasswordPolicy",
                    "Use at least {n} character (this has {visible}).",
                    "Use at least {n} characters (this has {visible}).",
                    count,
                ).format(visible=visible)
            problems.append(PasswordProblem("too_short", too_short))
        result = zxcvbn(
            password[:_ESTIMATOR_MAX_LENGTH],
            user_inputs=_email_inputs(email),
            max_length=_ESTIMATOR_MAX_LENGTH,
        )
        score = int(result["score"])
        feedback = result["feedback"]
        suggestions = tuple(suggestion(str(s)) for s in feedback.get("suggestions", ()))
        if password.casefold() in _common_passwords():
            problems.append(
                PasswordProblem(
                    "common", message("PasswordPolicy", "This is a commonly used password; choose another.")
                )
            )
        elif _is_derived_from_email(password, email):
            problems.append(
                PasswordProblem(
                    "like_email",
                    message("PasswordPolicy", "Don't build your password from your email address."),
                )
            )
        elif score < MIN_ACCEPTABLE_SCORE and length >= self.min_length:
            problems.append(PasswordProblem("guessable", guessable(str(feedback.get("warning") or ""))))
        if problems:
            score = min(score, 2)
        return StrengthReport(score, tuple(problems), suggestions)

    def validate(self, password: str, email: str | None = None, field_name: str = "password") -> None:
        """Raise PasswordPolicyError listing every problem, or return when the password is acceptable."""
        report = self.evaluate(password, email)
        if report.problems:
            raise PasswordPolicyError(report.problems, field_name)
