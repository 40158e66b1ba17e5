"""Database access: engines and transactions (``engine``), errors (``errors``), schema checks (``schema``)
and migrations (``migrate``). Import the submodule you need; this package itself imports nothing, so the
GUI can use ``desktop_auth.db.errors`` without loading SQLAlchemy at start-up."""
