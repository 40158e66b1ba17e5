"""Settings, read from the environment, then a ``.env`` file, then built-in defaults.

Precedence, highest first: an explicit override (``--database-url``), process environment variables,
``.env`` in the working directory, ``.env`` in the user's config directory, defaults. The database URL may
also come from a file (``--database-url-file`` / ``DATABASE_URL_FILE``), which keeps its password out of
the command line, where ``ps`` shows it to every user of the machine.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from desktop_auth import paths
from desktop_auth.errors import ConfigError
from desktop_auth.hash_methods import method_strength
from desktop_auth.messages import message

DEFAULT_HASH_METHOD = "scrypt:131072:8:1"
EMBEDDED_DB_FILENAME = "desktop_auth.sqlite3"
#: The longest values the shared settings accept (services/app_settings.py); a client seeds no more.
LONGEST_LOCKOUT_SECONDS = 7 * 86_400
LONGEST_IDLE_MINUTES = 24 * 60
#: The most server connections one client may open (DESKTOP_AUTH_DB_POOL_SIZE), and the longest idle time before
#: it gives them back (DESKTOP_AUTH_DB_IDLE_SECONDS); see Settings.
LARGEST_DB_POOL_SIZE = 5
LONGEST_DB_IDLE_SECONDS = 3600
LONGEST_FAILOVER_SECONDS = 600  # a person waits this long at most before hearing the database is unreachable

_HASH_METHOD_RE = re.compile(r"^(scrypt(:\d+:\d+:\d+)?|pbkdf2(:sha256|:sha512)?(:\d+)?)$")

T = TypeVar("T")


@dataclass(frozen=True)
class Settings:
    database_url: str
    #: True when no URL was configured and the app runs on its own SQLite file.
    embedded: bool = False
    hash_method: str = DEFAULT_HASH_METHOD
    password_min_length: int = 15
    password_max_length: int = 1024
    lockout_threshold: int = 5
    lockout_base_seconds: int = 60
    lockout_max_seconds: int = 3600
    idle_timeout_minutes: int = 15
    #: The most server connections one client holds at once (MySQL/MariaDB; the pool never overflows it):
    #: extra concurrent work waits for one. 2 serves the GUI's few background tasks, so a server's
    #: max_connections / 2 desktops can work at the same moment; at most 5 (the old default, kept so an
    #: existing .env still loads), as one person's work gains nothing from more.
    db_pool_size: int = 2
    #: Seconds without any database work after which a client closes all its server connections (an idle
    #: desktop holds none; the next action reconnects). At most an hour, well under the server's wait_timeout.
    db_idle_seconds: int = 60
    db_pool_recycle_seconds: int = 1800
    #: How long an operation keeps trying after the server is unreachable or the connection dropped (a
    #: cluster node dying: its eviction plus the proxy's health check take a few seconds) before it says so.
    db_failover_seconds: int = 30
    log_dir: Path | None = None
    #: Lets a method below the hashing floor through (the test suite's cheap hash); logged as a warning.
    allow_weak_hash_for_tests: bool = False
    #: The organisation's key for two-factor secrets at rest (a Fernet key: 32 bytes, url-safe base64),
    #: the same on every client; None stores them in clear (security/totp.py). Never shown.
    totp_key: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.totp_key is not None and not _is_fernet_key(self.totp_key):
            raise ConfigError(
                message(
                    "Config",
                    "DESKTOP_AUTH_TOTP_KEY is not a key: it must be 32 random bytes in url-safe base64 "
                    "(44 characters), as `desktop-auth 2fa new-key` prints",
                )
            )
        if not _HASH_METHOD_RE.match(self.hash_method):
            raise ConfigError(
                message(
                    "Config",
                    "DESKTOP_AUTH_HASH_METHOD '{method}' is not a werkzeug method "
                    "(expected e.g. 'scrypt:131072:8:1' or 'pbkdf2:sha256:600000')",
                ).format(method=self.hash_method)
            )
        if method_strength(self.hash_method) < 1.0 and not self.allow_weak_hash_for_tests:
            raise ConfigError(
                message(
                    "Config",
                    "DESKTOP_AUTH_HASH_METHOD '{method}' is weaker than the minimum this app accepts "
                    "(scrypt:131072:8:1, or pbkdf2:sha256:600000 which is as strong); choose a stronger method",
                ).format(method=self.hash_method)
            )
        checks = {
            "DESKTOP_AUTH_PASSWORD_MIN_LENGTH": (self.password_min_length, 1),
            "DESKTOP_AUTH_PASSWORD_MAX_LENGTH": (self.password_max_length, self.password_min_length),
            "DESKTOP_AUTH_LOCKOUT_THRESHOLD": (self.lockout_threshold, 1),
            "DESKTOP_AUTH_LOCKOUT_BASE_SECONDS": (self.lockout_base_seconds, 1),
            "DESKTOP_AUTH_LOCKOUT_MAX_SECONDS": (self.lockout_max_seconds, self.lockout_base_seconds),
            "DESKTOP_AUTH_IDLE_TIMEOUT_MINUTES": (self.idle_timeout_minutes, 1),
            "DESKTOP_AUTH_DB_POOL_SIZE": (self.db_pool_size, 1),
            "DESKTOP_AUTH_DB_IDLE_SECONDS": (self.db_idle_seconds, 1),
            "DESKTOP_AUTH_DB_FAILOVER_SECONDS": (self.db_failover_seconds, 0),
        }
        for name, (value, minimum) in checks.items():
            if value < minimum:
                raise ConfigError(
                    message("Config", "{name} must be at least {minimum}, got {value}").format(
                        name=name, minimum=str(minimum), value=str(value)
                    )
                )
        longest = {
            "DESKTOP_AUTH_LOCKOUT_BASE_SECONDS": (self.lockout_base_seconds, LONGEST_LOCKOUT_SECONDS),
            "DESKTOP_AUTH_LOCKOUT_MAX_SECONDS": (self.lockout_max_seconds, LONGEST_LOCKOUT_SECONDS),
            "DESKTOP_AUTH_IDLE_TIMEOUT_MINUTES": (self.idle_timeout_minutes, LONGEST_IDLE_MINUTES),
            "DESKTOP_AUTH_DB_FAILOVER_SECONDS": (self.db_failover_seconds, LONGEST_FAILOVER_SECONDS),
            "DESKTOP_AUTH_DB_POOL_SIZE": (self.db_pool_size, LARGEST_DB_POOL_SIZE),
            "DESKTOP_AUTH_DB_IDLE_SECONDS": (self.db_idle_seconds, LONGEST_DB_IDLE_SECONDS),
        }
        for name, (value, maximum) in longest.items():
            if value > maximum:
                raise ConfigError(
                    message("Config", "{name} must be at most {maximum}, got {value}").format(
                        name=name, maximum=str(maximum), value=str(value)
                    )
                )
        if self.hash_method.startswith("scrypt:"):
            n = int(self.hash_method.split(":")[1])
            if n < 2 or n & (n - 1):
                raise ConfigError(
                    message(
                        "Config", "DESKTOP_AUTH_HASH_METHOD '{method}': scrypt's N must be a power of two"
                    ).format(method=self.hash_method)
                )

    @property
    def effective_log_dir(self) -> Path:
        return self.log_dir or paths.user_log_dir()


def _is_fernet_key(key: str) -> bool:
    try:
        return len(base64.urlsafe_b64decode(key.encode("ascii"))) == 32 and len(key) == 44
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return False


def _parse_flag(raw: str) -> bool:
    if raw.lower() in ("1", "true", "yes"):
        return True
    if raw.lower() in ("0", "false", "no"):
        return False
    raise ValueError(raw)


# Environment variable -> (field name, parser)
_ENV_FIELDS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "DESKTOP_AUTH_HASH_METHOD": ("hash_method", str),
    "DESKTOP_AUTH_PASSWORD_MIN_LENGTH": ("password_min_length", int),
    "DESKTOP_AUTH_PASSWORD_MAX_LENGTH": ("password_max_length", int),
    "DESKTOP_AUTH_LOCKOUT_THRESHOLD": ("lockout_threshold", int),
    "DESKTOP_AUTH_LOCKOUT_BASE_SECONDS": ("lockout_base_seconds", int),
    "DESKTOP_AUTH_LOCKOUT_MAX_SECONDS": ("lockout_max_seconds", int),
    "DESKTOP_AUTH_IDLE_TIMEOUT_MINUTES": ("idle_timeout_minutes", int),
    "DESKTOP_AUTH_DB_POOL_SIZE": ("db_pool_size", int),
    "DESKTOP_AUTH_DB_IDLE_SECONDS": ("db_idle_seconds", int),
    "DESKTOP_AUTH_DB_POOL_RECYCLE_SECONDS": ("db_pool_recycle_seconds", int),
    "DESKTOP_AUTH_DB_FAILOVER_SECONDS": ("db_failover_seconds", int),
    "DESKTOP_AUTH_LOG_DIR": ("log_dir", Path),
    "DESKTOP_AUTH_ALLOW_WEAK_HASH_FOR_TESTS": ("allow_weak_hash_for_tests", _parse_flag),
    "DESKTOP_AUTH_TOTP_KEY": ("totp_key", str),
}


def embedded_database_url() -> str:
    return f"sqlite:///{paths.user_data_dir() / EMBEDDED_DB_FILENAME}"


def read_environment(
    environ: Mapping[str, str] | None = None,
    dotenv_files: list[Path] | None = None,
) -> dict[str, str]:
    """Merge ``.env`` files under the process environment (the environment wins)."""
    if dotenv_files is None:
        dotenv_files = [paths.user_config_dir() / ".env", Path.cwd() / ".env"]
    merged: dict[str, str] = {}
    for dotenv_file in dotenv_files:  # later files override earlier ones
        if dotenv_file.is_file():
            from dotenv import dotenv_values  # only when there is a file to read: start-up stays quick

            merged.update({k: v for k, v in dotenv_values(dotenv_file).items() if v is not None})
    merged.update(os.environ if environ is None else environ)
    return merged


def read_url_file(path: str | Path, source: str) -> str:
    """The URL held on the first line of ``path`` (``source`` names the setting, for the message).

    A missing, unreadable or empty file is a ConfigError naming the file, never showing what is in it.
    """
    path = Path(path).expanduser()
    try:
        with path.open(encoding="utf-8") as handle:
            url = handle.readline().strip()
    except FileNotFoundError:
        raise ConfigError(
            message("Config", "{source} names '{path}', which does not exist").format(
                source=source, path=str(path)
            )
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(
            message("Config", "{source} names '{path}', which is not UTF-8 text").format(
                source=source, path=str(path)
            )
        ) from None
    except OSError as error:
        raise ConfigError(
            message("Config", "{source} names '{path}', which cannot be read ({reason})").format(
                source=source, path=str(path), reason=error.strerror or type(error).__name__
            )
        ) from None
    if not url:
        raise ConfigError(
            message(
                "Config",
                "{source} names '{path}', whose first line is empty; it should hold the database URL",
            ).format(source=source, path=str(path))
        )
    return url


def _database_url(
    values: Mapping[str, str], database_url: str | None, database_url_file: str | Path | None
) -> str:
    """The URL by precedence: --database-url, --database-url-file, DATABASE_URL, DATABASE_URL_FILE;
    empty for the embedded database."""
    if database_url and database_url.strip():
        return database_url.strip()
    if database_url_file:
        return read_url_file(database_url_file, "--database-url-file")
    if values.get("DATABASE_URL", "").strip():
        return values["DATABASE_URL"].strip()
    if values.get("DATABASE_URL_FILE", "").strip():
        return read_url_file(values["DATABASE_URL_FILE"].strip(), "DATABASE_URL_FILE")
    return ""


def load_settings(
    database_url: str | None = None,
    environ: Mapping[str, str] | None = None,
    dotenv_files: list[Path] | None = None,
    database_url_file: str | Path | None = None,
    **overrides: Any,
) -> Settings:
    """Build the settings; ``database_url`` (from ``--database-url``), then ``database_url_file`` (from
    ``--database-url-file``), beat every other source."""
    values = read_environment(environ, dotenv_files)
    kwargs: dict[str, Any] = {}
    for env_name, (field_name, parse) in _ENV_FIELDS.items():
        raw = values.get(env_name, "").strip()
        if raw:
            try:
                kwargs[field_name] = parse(raw)
            except ValueError:
                if parse is _parse_flag:
                    text = message("Config", "{name} must be 1 or 0, got '{value}'")
                else:
                    text = message("Config", "{name} must be a whole number, got '{value}'")
                raise ConfigError(text.format(name=env_name, value=raw)) from None
    url = _database_url(values, database_url, database_url_file)
    kwargs["embedded"] = not url
    kwargs["database_url"] = url or embedded_database_url()
    known = {f.name for f in fields(Settings)}
    unknown = set(overrides) - known
    if unknown:
        raise TypeError(f"unknown settings: {sorted(unknown)}")
    kwargs.update(overrides)
    return Settings(**kwargs)
