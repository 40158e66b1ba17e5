"""Bringing stored addresses to the app's identity rules, for the migrations (0002 adopts a tutorial
database, 0003 re-spells every address): the checks run before anything is changed."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import sqlalchemy as sa
from sqlalchemy import Connection

from desktop_auth.db.errors import IdentityConflictError
from desktop_auth.identity import find_conflicts

user_table = sa.table("user", sa.column("id", sa.Integer()), sa.column("email", sa.String()))
CHUNK = 1000


def refuse_identity_conflicts(connection: Connection) -> None:
    """Raise IdentityConflictError naming every group of addresses that would become one account, or that
    look alike (see desktop_auth.identity.find_conflicts). Reads only."""
    emails = connection.execute(sa.select(user_table.c.email)).scalars()
    same, alike = find_conflicts(emails)
    if same or alike:
        raise IdentityConflictError(same, alike)


def user_rows(connection: Connection) -> Iterator[Sequence[tuple[int, str]]]:
    """Every (id, email) of the user table, in id order, a chunk at a time (keyset paging)."""
    last = 0
    while True:
        rows = connection.execute(
            sa.select(user_table.c.id, user_table.c.email)
            .where(user_table.c.id > last)
            .order_by(user_table.c.id)
            .limit(CHUNK)
        ).all()
        if not rows:
            return
        yield [(row.id, row.email) for row in rows]
        last = rows[-1].id
