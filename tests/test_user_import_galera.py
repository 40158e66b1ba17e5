"""A CSV import through one Galera node racing a registration of one of its addresses through another.

Gap locks do not cross nodes: the registration commits on its node whatever the import holds. Whoever
certifies first wins: the other is refused by the unique index (the registration, "already registered") or
fails certification and is retried (the import, which then finds the address taken and fails whole, naming
it). Over many trials: the address has exactly one owner, the import is all or nothing, nobody sees "busy".

``DESKTOP_AUTH_RACE_TRIALS`` sets the trials (default 50, as the other race tests).
"""

from __future__ import annotations

import os

import pytest
from sqlalchemy import func, select

from desktop_auth.models import User
from desktop_auth.services.errors import (
    DatabaseBusyError,
    EmailAlreadyRegisteredError,
    ImportConflictError,
)
from desktop_auth.services.records import Actor
from tests import galera_fixtures
from tests.conftest import STRONG_PASSWORD
from tests.galera_fixtures import ClusterClients as Cluster
from tests.galera_fixtures import galera, galera_database  # noqa: F401 - fixtures
from tests.races import Tally, race

pytestmark = pytest.mark.galera

TRIALS = int(os.environ.get("DESKTOP_AUTH_RACE_TRIALS", "50"))
ROWS = 40
cluster = galera_fixtures.cluster  # a fixture (a migrated database on the cluster, and its clients)


def test_an_import_and_a_registration_of_one_address_through_two_nodes(
    cluster: Cluster, pytestconfig: pytest.Config
) -> None:
    importer = cluster.client(1)
    registrar = cluster.client(2)
    first = importer.accounts.create_first_admin("ada@example.com", STRONG_PASSWORD)
    admin = Actor(first.id, first.email)
    importer.app_settings.update(admin, allow_self_registration=True)
    tally = Tally("an import and a registration of one of its addresses")
    for trial in range(TRIALS):
        addresses = [f"t{trial}-p{n}@example.com" for n in range(ROWS)]
        racer = addresses[trial % ROWS]
        preview = importer.user_import.preview(admin, ("email\n" + "\n".join(addresses) + "\n").encode())
        assert preview.ok, preview.problem_lines()
        outcomes = race(
            lambda p=preview: importer.user_import.import_users(admin, p),
            lambda r=racer: registrar.accounts.register(r, STRONG_PASSWORD),
        )
        tally.add(outcomes)
        imported, registered = outcomes
        if any(isinstance(outcome, DatabaseBusyError) for outcome in outcomes):
            tally.violation(f"trial {trial}: 'busy' shown: {outcomes}")
            continue
        with cluster.direct.transaction() as session:
            present = session.scalar(select(func.count(User.id)).where(User.email.in_(addresses)))
            owners = session.scalar(select(func.count(User.id)).where(User.email == racer))
        if owners != 1:
            tally.violation(f"trial {trial}: {owners} owners of {racer}")
        if isinstance(imported, ImportConflictError):
            if racer not in imported.emails or present != 1 or isinstance(registered, Exception):
                tally.violation(f"trial {trial}: a refused import left {present} rows, {registered!r}")
        elif isinstance(imported, Exception):
            tally.violation(f"trial {trial}: the import failed otherwise: {imported!r}")
        elif present != ROWS or not isinstance(registered, EmailAlreadyRegisteredError):
            tally.violation(f"trial {trial}: the import won with {present} rows, registration {registered!r}")
    tally.finish(pytestconfig)
