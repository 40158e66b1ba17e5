"""One address, one account, on every backend; look-alikes refused; adopted addresses spelled like new ones;
searches literal or refused (issue #13, points 9-11)."""

from __future__ import annotations

import threading
import unicodedata
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from desktop_auth.db import migrate
from desktop_auth.db.engine import Database
from desktop_auth.db.errors import IdentityConflictError
from desktop_auth.db.schema import HEAD, SchemaState, schema_status
from desktop_auth.errors import DesktopAuthError, InvalidInputError
from desktop_auth.identity import (
    confusables_version,
    find_conflicts,
    normalize_email,
    skeleton,
    skeleton_key,
)
from desktop_auth.services import Services, accounts
from desktop_auth.services.errors import (
    EmailAlreadyRegisteredError,
    EmailLooksLikeAnotherError,
    InvalidCredentialsError,
)
from desktop_auth.services.records import Actor, UserQuery
from tests.conftest import OTHER_PASSWORD, STRONG_PASSWORD, make_settings
from tests.tutorial_schema import TUTORIAL_MYSQL_DDL, TUTORIAL_PASSWORD, TUTORIAL_SQLITE_DDL

CYRILLIC_ADMIN = "\u0430dmin@example.com"  # Cyrillic а
FULLWIDTH_ADMIN = "\uff41dmin@example.com"  # fullwidth ａ
LOOKALIKE_MESSAGE = "This address looks too much like an existing account's. Choose another."
THIRD_PASSWORD = "cobalt-meadow-lantern-42-fjord"


# -- the functions themselves ---------------------------------------------------------------------------


def test_shipped_confusables_are_unicodes_17() -> None:
    assert confusables_version() == "17.0.0"


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("admin@example.com", CYRILLIC_ADMIN),
        ("admin@example.com", FULLWIDTH_ADMIN),
        ("admin@example.com", "\uff41\uff44\uff4d\uff49\uff4e@example.com"),  # every letter fullwidth
        ("admin@example.com", "ad\u034fmin@example.com"),  # a default-ignorable joiner inside
        ("paypal@example.com", "p\u0430yp\u0430l@example.com"),
        ("bill1@example.com", "billl@example.com"),
        # Marks with no precomposed letter, drawn as faint overlays, and a blank symbol (an attacker's finds)
        ("admin@example.com", "adm\u0130N@example.com"),  # İ lower-cases to i + combining dot above
        ("admin@example.com", "admin\u0335@example.com"),
        ("admin@example.com", "admin\u2800@example.com"),
        ("paypal@example.com", "paypal\U0001d17b@example.com"),
    ],
)
def test_look_alikes_share_a_skeleton(one: str, other: str) -> None:
    assert skeleton(normalize_email(one)) == skeleton(normalize_email(other))


@pytest.mark.parametrize(
    "raw",
    ["ÉLODIE@Example.COM", unicodedata.normalize("NFD", "élodie@example.com"), "user@xn--bcher-kva.example"],
)
def test_normalization_is_idempotent_and_never_holds_a_space(raw: str) -> None:
    once = normalize_email(raw)
    assert normalize_email(once) == once
    assert " " not in once
    assert unicodedata.is_normalized("NFC", once)


def test_different_letters_keep_different_skeletons() -> None:
    assert (
        len({skeleton(e) for e in ("strasse@example.com", "straße@example.com", "élodie@example.com")}) == 3
    )
    assert skeleton("élodie@example.com") != skeleton("elodie@example.com")  # an accent is not a look-alike


def test_skeleton_keys_fit_the_column_and_hold_ascii_look_alikes_apart() -> None:
    longest = "m" * 64 + "@" + ".".join(["m" * 63] * 3)[:189]
    assert len(skeleton_key(normalize_email(longest))) <= 64 + 1 + 254
    assert skeleton_key("bill1@example.com") != skeleton_key("billl@example.com")
    assert skeleton_key(CYRILLIC_ADMIN) == skeleton_key(FULLWIDTH_ADMIN)  # the unique index refuses a pair


def test_find_conflicts_names_same_accounts_and_look_alikes() -> None:
    same, alike = find_conflicts(
        [
            "Bob@Example.com",
            "bob@example.com",
            "admin@example.com",
            CYRILLIC_ADMIN,
            "bill1@x.org",
            "billl@x.org",
        ]
    )
    assert same == [["Bob@Example.com", "bob@example.com"]]
    assert alike == [["admin@example.com", CYRILLIC_ADMIN]]


# -- one account per address, on both backends ------------------------------------------------------------


def test_sharp_s_double_s_and_fullwidth_are_three_accounts(services: Services) -> None:
    """MariaDB's utf8mb4_unicode_ci made these one account; SQLite kept them apart. Now both keep them apart."""
    fullwidth = "\uff53\uff54\uff52\uff41\uff53\uff53\uff45@example.com"
    services.accounts.register(fullwidth, STRONG_PASSWORD)
    services.accounts.register("strasse@example.com", OTHER_PASSWORD)  # ASCII: never refused as a look-alike
    services.accounts.register("straße@example.com", THIRD_PASSWORD)
    assert services.accounts.authenticate(fullwidth, STRONG_PASSWORD).email == fullwidth
    assert (
        services.accounts.authenticate("strasse@example.com", OTHER_PASSWORD).email == "strasse@example.com"
    )
    assert services.accounts.authenticate("straße@example.com", THIRD_PASSWORD).email == "straße@example.com"
    with pytest.raises(InvalidCredentialsError):
        services.accounts.authenticate(fullwidth, OTHER_PASSWORD)
    with pytest.raises(InvalidCredentialsError):
        services.accounts.authenticate("strasse@example.com", THIRD_PASSWORD)


def test_email_columns_compare_byte_for_byte(services: Services) -> None:
    database = services.database
    if database.dialect_name == "sqlite":
        pytest.skip("SQLite compares text byte for byte unless told otherwise")
    with database.engine.connect() as connection:
        collations = dict(
            connection.execute(
                text(
                    "SELECT CONCAT(table_name, '.', column_name), collation_name FROM information_schema.columns "
                    "WHERE table_schema = DATABASE() AND column_name IN ('email', 'email_skeleton') "
                    "AND table_name IN ('user', 'login_throttle')"
                )
            ).all()
        )
    assert collations == {
        "user.email": "utf8mb4_bin",
        "user.email_skeleton": "utf8mb4_bin",
        "login_throttle.email": "utf8mb4_bin",
    }


# -- look-alikes ----------------------------------------------------------------------------------------------


@pytest.fixture
def admin(services: Services) -> Actor:
    record = services.accounts.create_first_admin("admin@example.com", STRONG_PASSWORD)
    return Actor(record.id, record.email)


def test_non_ascii_look_alike_is_refused_everywhere_an_account_is_made(
    services: Services, admin: Actor
) -> None:
    with pytest.raises(EmailLooksLikeAnotherError) as refused:
        services.accounts.register(CYRILLIC_ADMIN, OTHER_PASSWORD)
    assert isinstance(refused.value, InvalidInputError)
    assert refused.value.field == "email"
    assert refused.value.message == LOOKALIKE_MESSAGE
    with pytest.raises(EmailLooksLikeAnotherError):
        services.admin.create_user(admin, FULLWIDTH_ADMIN, OTHER_PASSWORD)
    with pytest.raises(EmailLooksLikeAnotherError):
        services.admin.create_user(Actor.operator(), "ad\u034fmin@example.com", OTHER_PASSWORD, "admin")
    assert services.admin.count_users(admin) == 1


def test_first_admin_refuses_a_look_alike_of_an_existing_account(services: Services) -> None:
    services.accounts.register("root@example.com", OTHER_PASSWORD)  # no administrator yet
    with pytest.raises(EmailLooksLikeAnotherError):
        services.accounts.create_first_admin("r\u043e\u043et@example.com", STRONG_PASSWORD)  # Cyrillic о


def test_ascii_addresses_are_never_refused_for_resembling_another(services: Services, admin: Actor) -> None:
    services.accounts.register("adrnin@example.com", OTHER_PASSWORD)  # same skeleton as admin@
    services.accounts.register("bill1@example.com", OTHER_PASSWORD)
    services.accounts.register("billl@example.com", OTHER_PASSWORD)
    assert services.admin.count_users(admin) == 4


def test_the_real_address_can_be_registered_after_a_squatter(services: Services) -> None:
    services.accounts.register(CYRILLIC_ADMIN, OTHER_PASSWORD)
    services.accounts.register("admin@example.com", STRONG_PASSWORD)
    with pytest.raises(EmailLooksLikeAnotherError):
        services.accounts.register(FULLWIDTH_ADMIN, THIRD_PASSWORD)  # two non-ASCII look-alikes
    with pytest.raises(EmailAlreadyRegisteredError):
        services.accounts.register(CYRILLIC_ADMIN, THIRD_PASSWORD)  # the same address is "already exists"


def test_the_unique_look_alike_key_refuses_what_a_check_missed(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The index is the guarantee; the check only gives the answer early. Its violation maps to the
    look-alike message, a duplicate address to 'already exists'."""
    services.accounts.register(CYRILLIC_ADMIN, OTHER_PASSWORD)
    monkeypatch.setattr(accounts, "require_new_identity", lambda session, email: None)
    with pytest.raises(EmailLooksLikeAnotherError):
        services.accounts.register(FULLWIDTH_ADMIN, STRONG_PASSWORD)
    with pytest.raises(EmailAlreadyRegisteredError):
        services.accounts.register(CYRILLIC_ADMIN, STRONG_PASSWORD)


def test_two_look_alikes_registering_at_once_let_exactly_one_in(services: Services) -> None:
    """Both pass the early check, then both insert: the unique index lets one in, the other is told why."""
    barrier = threading.Barrier(2, timeout=30)
    hasher = services.accounts._context.hasher
    real_hash = hasher.hash

    def hash_together(password: str) -> str:
        result = real_hash(password)
        barrier.wait()  # both registrations have passed their early check
        return result

    hasher.hash = hash_together  # type: ignore[method-assign]
    outcomes: dict[str, object] = {}

    def register(email: str) -> None:
        try:
            outcomes[email] = services.accounts.register(email, STRONG_PASSWORD)
        except Exception as error:
            outcomes[email] = error

    threads = [
        threading.Thread(target=register, args=(email,)) for email in (CYRILLIC_ADMIN, FULLWIDTH_ADMIN)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    errors = [value for value in outcomes.values() if isinstance(value, BaseException)]
    assert len(outcomes) == 2
    assert len(errors) == 1, outcomes
    assert isinstance(errors[0], EmailLooksLikeAnotherError), errors[0]
    with services.database.engine.connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM user")).scalar_one() == 1


def test_cli_users_create_refuses_a_look_alike(
    services: Services, admin: Actor, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    from desktop_auth.cli import main

    url = services.database.engine.url.render_as_string(hide_password=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(OTHER_PASSWORD + "\n"))
    assert main(["--database-url", url, "users", "create", CYRILLIC_ADMIN, "--password-stdin"]) == 1
    assert capsys.readouterr().err.strip() == f"desktop-auth: error: {LOOKALIKE_MESSAGE}"
    monkeypatch.setattr("sys.stdin", io.StringIO(OTHER_PASSWORD + "\n"))
    assert main(["--database-url", url, "users", "create", "adrnin@example.com", "--password-stdin"]) == 0


# -- adopting a tutorial database --------------------------------------------------------------------------

NFD_ZOE = unicodedata.normalize("NFD", "zoë@example.com")
ADOPTED = {
    "ÉLODIE@Example.COM": "élodie@example.com",
    NFD_ZOE: "zoë@example.com",
    "user@xn--bcher-kva.example": "user@bücher.example",
    "plain@example.com": "plain@example.com",
}


def _tutorial(database: Database, emails: list[str]) -> None:
    from werkzeug.security import generate_password_hash

    ddl = TUTORIAL_SQLITE_DDL if database.dialect_name == "sqlite" else TUTORIAL_MYSQL_DDL
    with database.engine.begin() as connection:
        for statement in ddl:
            connection.execute(text(statement))
        connection.execute(text("INSERT INTO role (id, name) VALUES (1, 'admin'), (2, 'user')"))
        for email in emails:
            connection.execute(
                text(
                    "INSERT INTO user (email, password_hash, role_id, update_date, create_date) "
                    "VALUES (:email, :hash, 2, '2023-05-01 10:00:00', '2023-05-01 09:00:00')"
                ),
                {
                    "email": email,
                    "hash": generate_password_hash(TUTORIAL_PASSWORD, "pbkdf2:sha256:1000", salt_length=8),
                },
            )


def _emails(database: Database) -> list[str]:
    with database.engine.connect() as connection:
        return list(connection.execute(text("SELECT email FROM user ORDER BY id")).scalars())


def test_adopted_addresses_are_spelled_like_the_apps_and_sign_in(fresh_url: str) -> None:
    from desktop_auth.cli import main

    database = Database(make_settings(fresh_url))
    _tutorial(database, list(ADOPTED))
    assert main(["--database-url", fresh_url, "db", "upgrade"]) == 0
    assert _emails(database) == list(ADOPTED.values())
    services = Services(make_settings(fresh_url), database)
    for typed in (
        "élodie@example.com",
        "Élodie@EXAMPLE.com",
        "zoë@example.com",
        NFD_ZOE,
        "USER@BÜCHER.example",
    ):
        assert services.accounts.authenticate(typed, TUTORIAL_PASSWORD).email == normalize_email(typed)
    for typed in ("ÉLODIE@Example.COM", NFD_ZOE, "user@xn--bcher-kva.example", "user@bücher.example"):
        with pytest.raises(EmailAlreadyRegisteredError):
            services.accounts.register(typed, STRONG_PASSWORD)
    database.dispose()


def test_databases_adopted_by_the_old_revision_are_respelled(fresh_url: str) -> None:
    """0002 used to lower-case in SQL only; 0003 re-spells what it left, and drops stale lockout counters."""
    database = Database(make_settings(fresh_url))
    _tutorial(database, ["plain@example.com"])
    migrate.upgrade(database, "0002")
    with database.engine.begin() as connection:
        for email in ("user@xn--bcher-kva.example", NFD_ZOE.lower()):
            connection.execute(
                text(
                    "INSERT INTO user (email, role_id, update_date, create_date, active, must_change_password, "
                    "login_count, version) VALUES (:email, 2, '2023-05-01', '2023-05-01', 1, 0, 0, 1)"
                ),
                {"email": email},
            )
        connection.execute(
            text(
                "INSERT INTO login_throttle (email, failed_count, lockout_count) VALUES (:a, 3, 0), (:b, 2, 0)"
            ),
            {"a": "user@xn--bcher-kva.example", "b": "plain@example.com"},
        )
    assert migrate.upgrade(database) == HEAD
    assert _emails(database) == ["plain@example.com", "user@bücher.example", "zoë@example.com"]
    with database.engine.connect() as connection:
        counters = list(connection.execute(text("SELECT email FROM login_throttle")).scalars())
        keys = list(connection.execute(text("SELECT email_skeleton FROM user ORDER BY id")).scalars())
    assert counters == ["plain@example.com"]
    assert keys == [skeleton_key(email) for email in _emails(database)]
    assert migrate.downgrade(database, "0002") == "0002"
    assert migrate.upgrade(database) == HEAD
    database.dispose()


def test_adoption_conflicts_stop_the_cli_with_the_addresses_named(
    fresh_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from desktop_auth.cli import main

    database = Database(make_settings(fresh_url))
    emails = ["admin@example.com", CYRILLIC_ADMIN, "ÉLODIE@Example.COM"]
    if database.dialect_name == "sqlite":  # MySQL's case-insensitive index already refused such pairs
        emails += ["élodie@example.com", "Bob@example.com", "bob@example.com"]
    _tutorial(database, emails)
    capsys.readouterr()
    assert main(["--database-url", fresh_url, "db", "upgrade"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("desktop-auth: error: Cannot upgrade the database:")
    assert "unexpected" not in err
    assert f"admin@example.com ~ {CYRILLIC_ADMIN}" in err
    if database.dialect_name == "sqlite":
        assert "ÉLODIE@Example.COM = élodie@example.com" in err
        assert "Bob@example.com = bob@example.com" in err
    assert _emails(database) == emails, "nothing was changed"
    assert schema_status(database).revision in (None, "0001")
    database.dispose()


def test_a_conflict_found_by_0003_stops_it_before_any_change(
    fresh_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from desktop_auth.cli import main

    database = Database(make_settings(fresh_url))
    _tutorial(database, ["user@bücher.example"])
    migrate.upgrade(database, "0002")
    with database.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO user (email, role_id, update_date, create_date, active, must_change_password, "
                "login_count, version) VALUES ('user@xn--bcher-kva.example', 2, '2023-05-01', '2023-05-01', 1, 0, 0, 1)"
            )
        )
    assert main(["--database-url", fresh_url, "db", "upgrade"]) == 1
    err = capsys.readouterr().err
    assert "user@bücher.example = user@xn--bcher-kva.example" in err
    assert schema_status(database).revision == "0002"
    with database.engine.connect() as connection:
        columns = {column["name"] for column in inspect(connection).get_columns("user")}
    assert "email_skeleton" not in columns
    database.dispose()


def test_the_apps_start_up_shows_the_conflict_readably(tmp_path: Path) -> None:
    """The embedded database is upgraded at start-up; a conflict is a typed error the dialog shows as is."""
    from desktop_auth.ui.shell.messages import describe
    from desktop_auth.ui.startup import open_database

    url = f"sqlite:///{tmp_path / 'embedded.sqlite3'}"
    database = Database(make_settings(url))
    _tutorial(database, ["Bob@example.com", "bob@example.com"])
    with database.engine.begin() as connection:  # an embedded database stamped at the baseline
        connection.execute(
            text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
        )
        connection.execute(text("INSERT INTO alembic_version VALUES ('0001')"))
    assert schema_status(database).state is SchemaState.OUTDATED
    settings = make_settings(url, embedded=True)
    with pytest.raises(IdentityConflictError) as refused:
        open_database(settings, Services(settings, database))
    assert isinstance(refused.value, DesktopAuthError)
    assert "Bob@example.com = bob@example.com" in describe(refused.value)
    database.dispose()


# -- searches ------------------------------------------------------------------------------------------------


def test_searches_match_literally_or_are_refused(services: Services, admin: Actor) -> None:
    services.accounts.register("nul@example.com", OTHER_PASSWORD)
    services.accounts.register("\uac00@example.com", OTHER_PASSWORD)  # 가
    for query in (
        UserQuery(search="\x00"),
        UserQuery(search="nul\x00"),
        UserQuery(search="\x00", prefix=True),
    ):
        assert services.admin.list_users(admin, query) == []
        assert services.admin.count_users(admin, query) == 0
    for query in (UserQuery(search="\ud7ff", prefix=True), UserQuery(search="a\ud7ff", prefix=True)):
        assert services.admin.list_users(admin, query) == []
        assert services.admin.count_users(admin, query) == 0
    found = services.admin.list_users(admin, UserQuery(search="\uac00", prefix=True))
    assert [user.email for user in found] == ["\uac00@example.com"]
    assert services.admin.audit_log(admin, search="\x00") == []
    assert services.admin.audit_log(admin, search="nul@")  # the registration was audited
    for search in ("x" * 100_000, "n" * 255):
        for call in (
            lambda search=search: services.admin.list_users(admin, UserQuery(search=search)),
            lambda search=search: services.admin.count_users(admin, UserQuery(search=search, prefix=True)),
            lambda search=search: services.admin.audit_log(admin, search=search),
        ):
            with pytest.raises(InvalidInputError) as refused:
                call()
            assert refused.value.field == "search"
            assert "at most 254 characters" in refused.value.message
    assert services.admin.count_users(admin, UserQuery(search="n" * 254)) == 0
