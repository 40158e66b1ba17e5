"""Searches typed by a person (the role editor's user search, the audit log's, ``users list --search``),
turned into SQL that means the same on SQLite and MariaDB.

Every search either matches literally or is refused with a readable message:

- wildcards (``%``, ``_``, ``\\``) are escaped, so they match themselves;
- a NUL can be in no stored address or audit field, so a search holding one matches nothing (SQLite's
  LIKE stops reading its pattern at a NUL, which made it match everything);
- lone surrogates (not text) are replaced by U+FFFD (``desktop_auth.text.scrub``);
- a search longer than the longest address is refused (no field searched is longer; SQLite refuses
  LIKE patterns over 50,000 bytes, which surfaced as "database unavailable").
"""

from __future__ import annotations

from desktop_auth.constants import EMAIL_MAX_LENGTH
from desktop_auth.errors import InvalidInputError
from desktop_auth.messages import message
from desktop_auth.text import scrub

MAX_SEARCH_LENGTH = EMAIL_MAX_LENGTH  # the longest address; audit actors and targets are no longer
_NOTHING = "\x00"


def clean_search(raw: str) -> str:
    """``raw`` as text the database can compare; raises InvalidInputError (field "search") when too long."""
    text = scrub(raw)
    if len(text) > MAX_SEARCH_LENGTH:
        raise InvalidInputError(
            "search",
            [
                message(
                    "Search",
                    "A search has at most {limit} characters (no address is longer); this one has {n}.",
                ).format(limit=MAX_SEARCH_LENGTH, n=len(text))
            ],
        )
    return text


def matches_nothing(text: str) -> bool:
    """True when no stored value can contain ``text`` (it holds a NUL): the caller answers without LIKE."""
    return _NOTHING in text


def escape_like(text: str) -> str:
    """``text`` for a LIKE pattern with ``escape="\\\\"``: its wildcards match themselves."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def prefix_upper_bound(text: str) -> str | None:
    """The smallest string above every string starting with ``text``, in code point order (``text`` with
    its last character bumped), or None when there is none (it ends in U+10FFFF). The bump skips the
    surrogates, which no stored text holds: after U+D7FF comes U+E000."""
    if not text:
        return None
    following = ord(text[-1]) + 1
    if 0xD800 <= following <= 0xDFFF:
        following = 0xE000
    if following > 0x10FFFF:
        return None
    return text[:-1] + chr(following)
