"""Alembic environment for desktop_auth.

The app and the tests hand in an open connection through ``config.attributes["connection"]``; the
``alembic`` command line gets its URL from the same settings the app reads (DATABASE_URL, .env).
"""

from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection
from sqlalchemy.pool import NullPool

from desktop_auth.config import load_settings
from desktop_auth.db.engine import make_engine, parse_database_url
from desktop_auth.db.migrate import foreign_keys_off
from desktop_auth.models import Base

config = context.config
target_metadata = Base.metadata

if config.config_file_name is not None and not config.attributes.get("skip_logging_config"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _settings_url() -> str | None:
    return config.get_main_option("sqlalchemy.url") or None


def _configure(**kwargs: object) -> None:
    context.configure(
        target_metadata=target_metadata,
        render_as_batch=True,  # only changes SQLite, where ALTER TABLE is limited
        compare_type=True,
        **kwargs,  # type: ignore[arg-type]
    )


def run_migrations_offline() -> None:
    settings = load_settings(database_url=_settings_url())
    _configure(url=parse_database_url(settings.database_url), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def _run_with(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_with(connection)
        return
    engine = make_engine(load_settings(database_url=_settings_url()), poolclass=NullPool)
    try:
        with engine.connect() as connection, foreign_keys_off(connection):
            _run_with(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
