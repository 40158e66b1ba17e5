"""Database URLs: parsing ``DATABASE_URL``, and showing a URL or a driver's message without its secrets.

A password can sit in a URL in more ways than SQLAlchemy's own masking knows: an unencoded ``@`` in it
(``user:p@ss@host``), no scheme at all (``user:secret@host/db``), or a ``?password=`` query argument. Text
meant for a person (CLI stderr, the start-up dialog, the log) is built with ``mask_url`` and ``scrub``; a URL
that does not parse is never shown beyond its scheme.
"""

from __future__ import annotations

import re
from urllib.parse import quote, quote_plus

from sqlalchemy.engine import URL, make_url

from desktop_auth.db.errors import DatabaseUrlError

MASK = "***"
MYSQL_BACKENDS = ("mysql", "mariadb")
_SECRET_KEY = re.compile(r"pass|pwd|secret|token|auth", re.IGNORECASE)
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_EXAMPLES = "expected e.g. 'mysql+pymysql://user:password@host/dbname' or 'sqlite:///path/to/file.sqlite3'"


def mask_url(url: str | URL) -> str:
    """``url`` with its password and secret query values replaced by ***, however malformed it is.

    Works on the text alone. The user information runs up to the *last* ``@``, so an unencoded ``@`` in the
    password never leaves a piece of it showing; at worst, more than the password is masked.
    """
    text = url.render_as_string(hide_password=True) if isinstance(url, URL) else url
    scheme, separator, rest = text.partition("://")
    if not separator:
        scheme, rest = "", text
    # A SQLite URL (sqlite:///path) has no authority, only a path, which may contain '@'. Anything else,
    # including a near miss such as sqlite3://user:secret@host, is masked.
    if not (scheme.lower().split("+")[0] == "sqlite" and rest.startswith("/")):
        rest = _mask_authority(rest)
    path, question, query = rest.partition("?")
    if question:
        path = f"{path}?{_mask_query(query)}"
    return f"{scheme}{separator}{path}"


def _mask_authority(rest: str) -> str:
    if "@" in rest:
        user_info, _, after = rest.rpartition("@")
        user, colon, _password = user_info.partition(":")
        return f"{user}{':' + MASK if colon else ''}@{after}"
    # No '@': 'user:secret/db' parses as a host and a "port"; show a port only when it is a number.
    authority, slash, after = rest.partition("/")
    host, colon, port = authority.partition(":")
    if colon and not port.isdigit():
        return f"{host}:{MASK}{slash}{after}"
    return rest


def _mask_query(query: str) -> str:
    shown: list[str] = []
    hiding = False
    for argument in re.split(r"([&;])", query):
        if argument in ("&", ";"):
            shown.append(argument)
            continue
        key, equals, _value = argument.partition("=")
        if equals:
            hiding = bool(_SECRET_KEY.search(key))
            shown.append(f"{key}={MASK}" if hiding else argument)
        else:  # no '=': when it follows a secret, it is probably the rest of that secret ('password=a&b')
            shown.append(MASK if hiding else argument)
    return "".join(shown)


def url_secrets(url: URL) -> list[str]:
    """Every secret ``url`` holds, as a driver might echo it: the password (plain and percent-encoded) and
    the values of query arguments such as ``password``."""
    plain: list[str] = [str(url.password)] if url.password else []
    for key, value in url.query.items():
        if _SECRET_KEY.search(key):
            plain += [value] if isinstance(value, str) else list(value)
    forms = {
        form for secret in plain for form in (secret, quote(secret, safe=""), quote_plus(secret)) if form
    }
    return sorted(forms, key=len, reverse=True)


def scrub(text: str, secrets: list[str]) -> str:
    """``text`` (say, a driver's error message) with every one of ``secrets`` replaced by ***."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def malformed_message(raw: str) -> str:
    """Why ``raw`` was refused, showing no more of it than its scheme."""
    scheme = _SCHEME.match(raw)
    shown = (
        f"it starts {scheme.group(0)!r}; the rest is not shown, as it may hold a password"
        if scheme
        else "it does not start with a scheme such as mysql+pymysql:// or sqlite:///; it is not shown, "
        "as it may hold a password"
    )
    return (
        f"DATABASE_URL is malformed ({shown}): {_EXAMPLES}, with special characters in the password "
        "percent-encoded ('@' as %40)"
    )


def parse_database_url(raw: str) -> URL:
    """The URL to connect to; DatabaseUrlError (with nothing secret in it) when it cannot be used."""
    try:
        url = make_url(raw)
    except Exception:
        raise DatabaseUrlError(malformed_message(raw)) from None
    if url.host and "@" in url.host:  # 'user:p@ss@host': SQLAlchemy takes 'ss@host' for the host
        raise DatabaseUrlError(
            f"DATABASE_URL has an unencoded '@' in its user name or password: write it as %40 ({mask_url(raw)!r})"
        )
    backend = url.get_backend_name()
    if backend in MYSQL_BACKENDS:
        # A bare mysql:// would ask for mysqlclient, which we do not ship.
        if "+" not in url.drivername:
            url = url.set(drivername=f"{backend}+pymysql")
        elif url.get_driver_name() != "pymysql":
            raise DatabaseUrlError(
                f"DATABASE_URL asks for the driver {url.get_driver_name()!r}, but desktop-auth ships PyMySQL: "
                f"use {backend}+pymysql:// in {mask_url(raw)!r}"
            )
        if not url.database:
            raise DatabaseUrlError(f"DATABASE_URL names no database: {mask_url(raw)!r}")
    elif backend == "sqlite":
        if url.username or url.password or url.host:
            raise DatabaseUrlError(
                f"DATABASE_URL {mask_url(raw)!r} gives SQLite a user, password or host; a SQLite URL names a "
                "file only: 'sqlite:///path/to/file.sqlite3'"
            )
    else:
        raise DatabaseUrlError(
            f"DATABASE_URL uses an unsupported database {backend!r}: {mask_url(raw)!r} "
            "(use mysql+pymysql:// or sqlite://)"
        )
    return url
