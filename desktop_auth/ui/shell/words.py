"""Counted words: "1 user", "2 users", "1,000 accounts", never "user(s)".

Being replaced by ``i18n.translate_n`` (a whole translatable sentence about a count): the noun given here is
English, so a sentence built with ``count`` is not translated. Kept for the callers not moved yet; its
number is written as the current language writes it.
"""

from __future__ import annotations

from desktop_auth.ui.shell.i18n import number as shown_number


def count(number: int, singular: str, plural: str | None = None) -> str:
    """``number`` with the noun in the form that agrees with it (``plural`` defaults to ``singular + "s"``);
    thousands are grouped."""
    return f"{shown_number(number)} {singular if number == 1 else plural or singular + 's'}"
