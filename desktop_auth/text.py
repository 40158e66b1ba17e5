"""Guards for text that came from outside (argv, stdin, the clipboard) and may not be valid Unicode."""


def has_lone_surrogate(text: str) -> bool:
    """True when ``text`` holds a lone surrogate: not text at all, and not storable in any database."""
    return any("\ud800" <= ch <= "\udfff" for ch in text)


def scrub(text: str) -> str:
    """``text`` with lone surrogates replaced by U+FFFD, safe to send to the database (e.g. a search)."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def inert_in_spreadsheets(text: str) -> str:
    """``text`` for a CSV cell: spreadsheets run cells that start like a formula, and a leading quote keeps
    them inert (CSV injection)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
