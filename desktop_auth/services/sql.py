"""SQL helpers for set-based work over many rows: id lists written into the statement, in chunks.

(The helpers that turn a person's search into a LIKE pattern, ``escape_like`` and ``prefix_upper_bound``,
stay in ``desktop_auth.services.search`` with the rest of what a search means.)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Integer, bindparam
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import ColumnElement

MYSQL_NO_REFERENCED_ROW = 1452  # "Cannot add or update a child row: a foreign key constraint fails"
CHUNK = 10_000  # ids per IN (...) list: under SQLite's 32,766-parameter limit, few round trips


def chunks(ids: Sequence[int], size: int = CHUNK) -> Iterable[Sequence[int]]:
    """``ids`` in slices of at most ``size``, in order."""
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def ids_in(column: InstrumentedAttribute[int], ids: Sequence[int]) -> ColumnElement[bool]:
    """``column IN (...)`` with the ids written into the SQL as integers. For 10,000 ids this is several
    times cheaper than 10,000 bound parameters (SQLAlchemy names each one), and safe: each is int()-ed."""
    values = [int(i) for i in ids]
    return column.in_(bindparam("ids", values, expanding=True, literal_execute=True, type_=Integer()))


def is_missing_parent(error: IntegrityError) -> bool:
    """Did a row point at a parent that is gone (say, a role removed by another client, which on a Galera
    cluster conflicts in certification and on one server fails the foreign key check)?"""
    orig = error.orig
    code = orig.args[0] if orig is not None and orig.args else None
    return code == MYSQL_NO_REFERENCED_ROW or "FOREIGN KEY constraint failed" in str(orig)
