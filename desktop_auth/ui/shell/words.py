"""Counted words: "1 user", "2 users", "1,000 accounts", never "user(s)"."""

from __future__ import annotations


def count(number: int, singular: str, plural: str | None = None) -> str:
    """``number`` with the noun in the form that agrees with it (``plural`` defaults to ``singular + "s"``);
    thousands are grouped."""
    return f"{number:,} {singular if number == 1 else plural or singular + 's'}"
