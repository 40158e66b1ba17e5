"""zxcvbn's English feedback, translatable: every warning and suggestion its ``feedback.py`` (4.5.0) can
return, each as a ``Message`` of context "PasswordStrength".

zxcvbn says these through ``gettext`` with no catalog of its own, so they come back in English; the strength
meter shows them through :func:`suggestion` and :func:`guessable`. A text not listed here (a newer zxcvbn)
is shown as it is and logged, so this list can be brought up to date.
"""

from __future__ import annotations

import logging
from functools import cache

from desktop_auth.messages import Message, message, verbatim

log = logging.getLogger(__name__)


@cache
def _suggestions() -> dict[str, Message]:
    """zxcvbn's suggestions and warnings (English) -> their translatable form."""
    return {
        # suggestions
        "Use a few words, avoid common phrases.": message(
            "PasswordStrength", "Use a few words, avoid common phrases."
        ),
        "No need for symbols, digits, or uppercase letters.": message(
            "PasswordStrength", "No need for symbols, digits, or uppercase letters."
        ),
        "Add another word or two. Uncommon words are better.": message(
            "PasswordStrength", "Add another word or two. Uncommon words are better."
        ),
        "Use a longer keyboard pattern with more turns.": message(
            "PasswordStrength", "Use a longer keyboard pattern with more turns."
        ),
        "Avoid repeated words and characters.": message(
            "PasswordStrength", "Avoid repeated words and characters."
        ),
        "Avoid sequences.": message("PasswordStrength", "Avoid sequences."),
        "Avoid recent years.": message("PasswordStrength", "Avoid recent years."),
        "Avoid years that are associated with you.": message(
            "PasswordStrength", "Avoid years that are associated with you."
        ),
        "Avoid dates and years that are associated with you.": message(
            "PasswordStrength", "Avoid dates and years that are associated with you."
        ),
        "Capitalization doesn't help very much.": message(
            "PasswordStrength", "Capitalization doesn't help very much."
        ),
        "All-uppercase is almost as easy to guess as all-lowercase.": message(
            "PasswordStrength", "All-uppercase is almost as easy to guess as all-lowercase."
        ),
        "Reversed words aren't much harder to guess.": message(
            "PasswordStrength", "Reversed words aren't much harder to guess."
        ),
        "Predictable substitutions like '@' instead of 'a' don't help very much.": message(
            "PasswordStrength", "Predictable substitutions like '@' instead of 'a' don't help very much."
        ),
        # warnings
        "Straight rows of keys are easy to guess.": message(
            "PasswordStrength", "Straight rows of keys are easy to guess."
        ),
        "Short keyboard patterns are easy to guess.": message(
            "PasswordStrength", "Short keyboard patterns are easy to guess."
        ),
        'Repeats like "aaa" are easy to guess.': message(
            "PasswordStrength", 'Repeats like "aaa" are easy to guess.'
        ),
        'Repeats like "abcabcabc" are only slightly harder to guess than "abc".': message(
            "PasswordStrength", 'Repeats like "abcabcabc" are only slightly harder to guess than "abc".'
        ),
        'Sequences like "abc" or "6543" are easy to guess.': message(
            "PasswordStrength", 'Sequences like "abc" or "6543" are easy to guess.'
        ),
        "Recent years are easy to guess.": message("PasswordStrength", "Recent years are easy to guess."),
        "Dates are often easy to guess.": message("PasswordStrength", "Dates are often easy to guess."),
        "This is a top-10 common password.": message("PasswordStrength", "This is a top-10 common password."),
        "This is a top-100 common password.": message(
            "PasswordStrength", "This is a top-100 common password."
        ),
        "This is a very common password.": message("PasswordStrength", "This is a very common password."),
        "This is similar to a commonly used password.": message(
            "PasswordStrength", "This is similar to a commonly used password."
        ),
        "A word by itself is easy to guess.": message(
            "PasswordStrength", "A word by itself is easy to guess."
        ),
        "Names and surnames by themselves are easy to guess.": message(
            "PasswordStrength", "Names and surnames by themselves are easy to guess."
        ),
        "Common names and surnames are easy to guess.": message(
            "PasswordStrength", "Common names and surnames are easy to guess."
        ),
    }


@cache
def _guessable() -> dict[str, Message]:
    """A zxcvbn warning (English) -> the policy's refusal built on it: the warning and "add another word or
    two", one whole sentence each. The key "" is the refusal without a warning."""
    return {
        "": message("PasswordStrength", "This password is easy to guess; add another word or two."),
        "Straight rows of keys are easy to guess.": message(
            "PasswordStrength", "Straight rows of keys are easy to guess; add another word or two."
        ),
        "Short keyboard patterns are easy to guess.": message(
            "PasswordStrength", "Short keyboard patterns are easy to guess; add another word or two."
        ),
        'Repeats like "aaa" are easy to guess.': message(
            "PasswordStrength", 'Repeats like "aaa" are easy to guess; add another word or two.'
        ),
        'Repeats like "abcabcabc" are only slightly harder to guess than "abc".': message(
            "PasswordStrength",
            'Repeats like "abcabcabc" are only slightly harder to guess than "abc"; add another word or two.',
        ),
        'Sequences like "abc" or "6543" are easy to guess.': message(
            "PasswordStrength", 'Sequences like "abc" or "6543" are easy to guess; add another word or two.'
        ),
        "Recent years are easy to guess.": message(
            "PasswordStrength", "Recent years are easy to guess; add another word or two."
        ),
        "Dates are often easy to guess.": message(
            "PasswordStrength", "Dates are often easy to guess; add another word or two."
        ),
        "This is a top-10 common password.": message(
            "PasswordStrength", "This is a top-10 common password; add another word or two."
        ),
        "This is a top-100 common password.": message(
            "PasswordStrength", "This is a top-100 common password; add another word or two."
        ),
        "This is a very common password.": message(
            "PasswordStrength", "This is a very common password; add another word or two."
        ),
        "This is similar to a commonly used password.": message(
            "PasswordStrength", "This is similar to a commonly used password; add another word or two."
        ),
        "A word by itself is easy to guess.": message(
            "PasswordStrength", "A word by itself is easy to guess; add another word or two."
        ),
        "Names and surnames by themselves are easy to guess.": message(
            "PasswordStrength", "Names and surnames by themselves are easy to guess; add another word or two."
        ),
        "Common names and surnames are easy to guess.": message(
            "PasswordStrength", "Common names and surnames are easy to guess; add another word or two."
        ),
    }


def suggestion(text: str) -> Message:
    """zxcvbn's suggestion or warning ``text`` as a translatable message (an unknown one as it is)."""
    known = _suggestions().get(text)
    if known is None:
        log.warning("zxcvbn feedback without a translation: %r", text)
        return verbatim(text)
    return known


def guessable(warning: str) -> Message:
    """The refusal of an easily guessed password, built on zxcvbn's ``warning`` (empty: none)."""
    known = _guessable().get(warning)
    if known is None:
        log.warning("zxcvbn warning without a translation: %r", warning)
        return verbatim(warning.rstrip(".") + "; add another word or two.")
    return known
