"""Database URLs: parsing ``DATABASE_URL``, and showing a URL or a driver's message without its secrets.

A password can sit in a URL in more ways than SQLAlchemy's own masking knows: an unencoded ``@`` in it
(``user:p@ss@host``), no scheme at all (``user:secret@host/db``), or a ``?password=`` query argument. Text
meant for a person (CLI stderr, the start-up dialog, the log) is built with ``mask_url`` and ``scrub``; a URL
that does not parse is never shown beyond its scheme.

A MySQL URL's query options go to PyMySQL. They are checked here, so that a misspelt option or a value of
the wrong kind is a one-line DatabaseUrlError instead of an error deep inside the driver, and the TLS
options are turned into one ``ssl.SSLContext`` by ``tls_connect_args`` (see there for why).
"""

from __future__ import annotations

import inspect
import re
import ssl
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus, unquote_plus

from sqlalchemy.engine import URL, make_url

from desktop_auth.db.errors import DatabaseUrlError
from desktop_auth.messages import Message, message

MASK = "***"
MYSQL_BACKENDS = ("mysql", "mariadb")
_SECRET_KEY = re.compile(r"pass|pwd|secret|token|auth", re.IGNORECASE)
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")

#: The TLS options of a MySQL URL (the README documents them).
TLS_OPTIONS = (
    "ssl_ca",
    "ssl_capath",
    "ssl_cert",
    "ssl_key",
    "ssl_key_password",
    "ssl_cipher",
    "ssl_verify_cert",
    "ssl_verify_identity",
    "ssl_check_hostname",  # SQLAlchemy's spelling of ssl_verify_identity
    "ssl_disabled",
)
_PATH_OPTIONS = frozenset({"ssl_ca", "ssl_capath", "ssl_cert", "ssl_key"})
_TLS_FLAGS = ("ssl_verify_cert", "ssl_verify_identity", "ssl_check_hostname", "ssl_disabled")
# Options SQLAlchemy or PyMySQL convert from text; a value that does not convert would end as a bare
# ValueError ("unexpected error"). PyMySQL refuses timeouts below one second.
_WHOLE_NUMBERS = {"connect_timeout": 1, "read_timeout": 1, "write_timeout": 1, "client_flag": 0}
_FLAGS = ("compress", "local_infile", "use_unicode", *_TLS_FLAGS)
_TRUE, _FALSE = frozenset({"1", "true", "yes", "on"}), frozenset({"0", "false", "no", "off"})
# PyMySQL arguments a URL cannot carry: objects, or flags PyMySQL would read from text the wrong way
# ('autocommit=false' is a non-empty string, so true). The app sets what it needs itself.
_NOT_IN_URL = frozenset(
    {"ssl", "conv", "cursorclass", "auth_plugin_map", "defer_connect", "autocommit", "binary_prefix"}
)
# Options SQLAlchemy itself takes from a MySQL URL before PyMySQL sees the rest.
_SQLALCHEMY_OPTIONS = frozenset({"plugin", "ssl_capath", "ssl_cipher", "ssl_check_hostname"})


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
            if hiding:
                shown.append(f"{key}={MASK}")
            elif key in _PATH_OPTIONS:  # SQLAlchemy writes '/' as %2F; a person reads a path
                shown.append(f"{key}={unquote_plus(_value)}")
            else:
                shown.append(argument)
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


def malformed_message(raw: str) -> Message:
    """Why ``raw`` was refused, showing no more of it than its scheme."""
    scheme = _SCHEME.match(raw)
    if scheme:
        return message(
            "DatabaseErrors",
            "DATABASE_URL is malformed (it starts '{scheme}'; the rest is not shown, as it may hold a password): "
            "expected e.g. 'mysql+pymysql://user:password@host/dbname' or 'sqlite:///path/to/file.sqlite3', "
            "with special characters in the password percent-encoded ('@' as %40)",
        ).format(scheme=scheme.group(0))
    return message(
        "DatabaseErrors",
        "DATABASE_URL is malformed (it does not start with a scheme such as mysql+pymysql:// or sqlite:///; it "
        "is not shown, as it may hold a password): expected e.g. 'mysql+pymysql://user:password@host/dbname' "
        "or 'sqlite:///path/to/file.sqlite3', with special characters in the password percent-encoded ('@' as "
        "%40)",
    )


def parse_database_url(raw: str) -> URL:
    """The URL to connect to; DatabaseUrlError (with nothing secret in it) when it cannot be used."""
    try:
        url = make_url(raw)
    except Exception:
        raise DatabaseUrlError(malformed_message(raw)) from None
    if url.host and "@" in url.host:  # 'user:p@ss@host': SQLAlchemy takes 'ss@host' for the host
        raise DatabaseUrlError(
            message(
                "DatabaseErrors",
                "DATABASE_URL has an unencoded '@' in its user name or password: write it as %40 ('{url}')",
            ).format(url=mask_url(raw))
        )
    backend = url.get_backend_name()
    if backend in MYSQL_BACKENDS:
        # A bare mysql:// would ask for mysqlclient, which we do not ship.
        if "+" not in url.drivername:
            url = url.set(drivername=f"{backend}+pymysql")
        elif url.get_driver_name() != "pymysql":
            raise DatabaseUrlError(
                message(
                    "DatabaseErrors",
                    "DATABASE_URL asks for the driver '{driver}', but desktop-auth ships PyMySQL: use "
                    "{backend}+pymysql:// in '{url}'",
                ).format(driver=url.get_driver_name(), backend=backend, url=mask_url(raw))
            )
        if not url.database:
            raise DatabaseUrlError(
                message("DatabaseErrors", "DATABASE_URL names no database: '{url}'").format(url=mask_url(raw))
            )
        _check_mysql_options(url.query)
    elif backend == "sqlite":
        if url.username or url.password or url.host:
            raise DatabaseUrlError(
                message(
                    "DatabaseErrors",
                    "DATABASE_URL '{url}' gives SQLite a user, password or host; a SQLite URL names a file only: "
                    "'sqlite:///path/to/file.sqlite3'",
                ).format(url=mask_url(raw))
            )
    else:
        raise DatabaseUrlError(
            message(
                "DatabaseErrors",
                "DATABASE_URL uses an unsupported database '{backend}': '{url}' (use mysql+pymysql:// or sqlite://)",
            ).format(backend=backend, url=mask_url(raw))
        )
    return url


def _pymysql_options() -> frozenset[str]:
    import pymysql.connections  # only MySQL URLs need the driver

    names = set(inspect.signature(pymysql.connections.Connection.__init__).parameters) - {"self"}
    return frozenset((names | _SQLALCHEMY_OPTIONS) - _NOT_IN_URL)


def _flag(query: Mapping[str, str | Sequence[str]], name: str, default: bool = False) -> bool:
    value = query.get(name)
    return default if not isinstance(value, str) else value.strip().lower() in _TRUE


def url_flag(url: URL, name: str, default: bool = False) -> bool:
    """The yes/no query option ``name`` of ``url`` (true, yes, on or 1 is yes)."""
    return _flag(url.query, name, default)


def _check_mysql_options(query: Mapping[str, str | Sequence[str]]) -> None:
    """DatabaseUrlError, naming the option, for a query option PyMySQL would fail on or misread."""
    known = _pymysql_options()
    for name, value in query.items():
        shown = "***" if _SECRET_KEY.search(name) else repr(value)
        if name in _NOT_IN_URL:
            if name == "ssl":
                raise DatabaseUrlError(
                    message(
                        "DatabaseErrors",
                        "DATABASE_URL option '{name}' cannot be given in the URL (for TLS use ssl_ca=/path/to/ca.pem)",
                    ).format(name=name)
                )
            raise DatabaseUrlError(
                message("DatabaseErrors", "DATABASE_URL option '{name}' cannot be given in the URL").format(
                    name=name
                )
            )
        if name not in known:
            if name.startswith(("ssl", "tls")):
                raise DatabaseUrlError(
                    message(
                        "DatabaseErrors",
                        "DATABASE_URL has an option the MySQL driver does not know: '{name}'; TLS options are "
                        "{options}",
                    ).format(name=name, options=", ".join(TLS_OPTIONS))
                )
            raise DatabaseUrlError(
                message(
                    "DatabaseErrors", "DATABASE_URL has an option the MySQL driver does not know: '{name}'"
                ).format(name=name)
            )
        if not isinstance(value, str):
            raise DatabaseUrlError(
                message("DatabaseErrors", "DATABASE_URL gives the option '{name}' more than once").format(
                    name=name
                )
            )
        if name in _WHOLE_NUMBERS and not (value.isdigit() and int(value) >= _WHOLE_NUMBERS[name]):
            raise DatabaseUrlError(
                message(
                    "DatabaseErrors",
                    "DATABASE_URL option {name} must be a whole number of at least {least}, not {value}",
                ).format(name=name, least=_WHOLE_NUMBERS[name], value=shown)
            )
        if name in _FLAGS and value.strip().lower() not in _TRUE | _FALSE:
            raise DatabaseUrlError(
                message(
                    "DatabaseErrors", "DATABASE_URL option {name} must be true or false, not {value}"
                ).format(name=name, value=shown)
            )
    if _flag(query, "ssl_disabled"):
        others = [name for name in TLS_OPTIONS if name in query and name != "ssl_disabled"]
        if others:
            raise DatabaseUrlError(
                message(
                    "DatabaseErrors",
                    "DATABASE_URL sets ssl_disabled=true together with {options}: choose one",
                ).format(options=", ".join(others))
            )
    if _flag(query, "ssl_verify_identity") and not _flag(query, "ssl_verify_cert", default=True):
        raise DatabaseUrlError(
            message(
                "DatabaseErrors",
                "DATABASE_URL sets ssl_verify_identity=true but ssl_verify_cert=false: a host name is only "
                "checked in a verified certificate",
            )
        )
    if ("ssl_key" in query or "ssl_key_password" in query) and "ssl_cert" not in query:
        raise DatabaseUrlError(
            message("DatabaseErrors", "DATABASE_URL gives ssl_key without ssl_cert (the client certificate)")
        )


def tls_connect_args(url: URL) -> dict[str, Any]:
    """PyMySQL connect arguments for the TLS options of ``url`` (a MySQL URL that passed
    ``parse_database_url``); empty when it has none, leaving PyMySQL's default. DatabaseUrlError when a
    file it names cannot be used.

    desktop-auth builds the TLS context itself because SQLAlchemy and PyMySQL disagree about these
    options: SQLAlchemy moves ssl_ca into an ``ssl`` dict, which PyMySQL throws away as soon as
    ssl_verify_cert or ssl_verify_identity is also given (the CA is lost, and the right CA is refused),
    while PyMySQL's own ssl_ca without them verifies nothing. Here the rule is simple: any TLS option means
    TLS is required, and the certificate and its host name are verified (against ssl_ca, or the system's
    CAs) unless ssl_verify_cert=false or ssl_verify_identity=false say otherwise.
    """
    query = url.query
    if not any(name in query for name in TLS_OPTIONS if name != "ssl_disabled") and not _flag(
        query, "ssl_disabled"
    ):
        return {}
    # Typed values replace the text ones SQLAlchemy would pass on from the URL as they are.
    args: dict[str, Any] = dict.fromkeys(("ssl_verify_cert", "ssl_verify_identity", "ssl_key_password"))
    if _flag(query, "ssl_disabled"):
        return {**args, "ssl": None, "ssl_disabled": True}
    return {**args, "ssl": _tls_context(url), "ssl_disabled": None}


def _tls_context(url: URL) -> ssl.SSLContext:
    query = url.query

    def text(name: str) -> str | None:
        value = query.get(name)
        return value if isinstance(value, str) and value else None

    def load(name: str, action: Callable[[], object]) -> None:
        try:
            action()
        except (OSError, ValueError) as error:  # ssl.SSLError is an OSError
            raise DatabaseUrlError(_file_problem(name, text(name), error, url)) from None

    verify_cert = _flag(query, "ssl_verify_cert", default=True)
    verify_identity = _flag(
        query, "ssl_verify_identity", default=_flag(query, "ssl_check_hostname", default=verify_cert)
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # TLS 1.2 or later; verifies by default
    # As PyMySQL does: the certificates MySQL and MariaDB make for themselves lack extensions that
    # Python 3.13's strict mode demands.
    context.verify_flags &= ~ssl.VERIFY_X509_STRICT
    ca, capath = text("ssl_ca"), text("ssl_capath")
    if ca:
        load("ssl_ca", lambda: context.load_verify_locations(cafile=ca))
    if capath:
        if not Path(capath).is_dir():
            raise DatabaseUrlError(
                message("DatabaseErrors", "DATABASE_URL option ssl_capath: '{path}' is not a folder").format(
                    path=scrub(capath, url_secrets(url))
                )
            )
        load("ssl_capath", lambda: context.load_verify_locations(capath=capath))
    if not (ca or capath) and verify_cert:
        context.load_default_certs()
    context.check_hostname = verify_identity and verify_cert
    if not verify_cert:  # asked for in so many words: encrypted, but anyone may be at the other end
        context.verify_mode = ssl.CERT_NONE
    cert = text("ssl_cert")
    if cert:
        load(
            "ssl_cert",
            lambda: context.load_cert_chain(cert, keyfile=text("ssl_key"), password=text("ssl_key_password")),
        )
    cipher = text("ssl_cipher")
    if cipher:
        load("ssl_cipher", lambda: context.set_ciphers(cipher))
    return context


def _file_problem(name: str, path: str | None, error: Exception, url: URL) -> Message:
    """Why the file (or cipher list) behind option ``name`` was refused, in a line. The path and the
    system's own words are parameters, shown as they are (without the URL's secrets)."""
    secrets = url_secrets(url)
    if name == "ssl_cipher":
        return message(
            "DatabaseErrors", "DATABASE_URL option {name}: '{path}' selects no cipher this system offers"
        ).format(name=name, path=scrub(str(path), secrets))
    if isinstance(error, ssl.SSLError):
        # '[X509: NO_CERTIFICATE_OR_CRL_FOUND] no certificate or crl found (_ssl.c:4149)' -> the words
        reason = re.sub(r"^\[[^\]]*\]\s*|\s*\(_ssl\.c:\d+\)$", "", str(error)) or str(error.reason)
        return message(
            "DatabaseErrors", "DATABASE_URL option {name}: '{path}' is not a usable PEM file ({reason})"
        ).format(name=name, path=scrub(str(path), secrets), reason=scrub(reason, secrets))
    if isinstance(error, OSError):
        return message(
            "DatabaseErrors", "DATABASE_URL option {name}: cannot read '{path}' ({reason})"
        ).format(
            name=name,
            path=scrub(str(path or error.filename), secrets),
            reason=scrub(str(error.strerror or error), secrets),
        )
    return message("DatabaseErrors", "DATABASE_URL option {name}: {detail}").format(
        name=name, detail=scrub(str(error), secrets)
    )
