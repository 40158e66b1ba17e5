"""Importing users from CSV (services.user_import): every hostile row refused with its line and reason and
nothing written; a clean file imported all-or-nothing with a distinct temporary password each, audited,
exported to a private file; a registration racing the import. SQLite and MariaDB."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from desktop_auth.db.engine import Database
from desktop_auth.hash_methods import TEMPORARY_HASH_METHOD, canonical_method, method_of
from desktop_auth.models import AuditEvent, User
from desktop_auth.services import Services, temporary_passwords
from desktop_auth.services.errors import (
    EmailAlreadyRegisteredError,
    ImportCancelledError,
    ImportConflictError,
    ImportRefusedError,
    NotFoundError,
    PermissionDeniedError,
)
from desktop_auth.services.records import Actor, ImportPreview
from desktop_auth.services.user_import import IMPORT_CHUNK, MAX_IMPORT_BYTES, MAX_IMPORT_ROWS
from desktop_auth.services.user_import import shown as shown_cell
from tests.conftest import STRONG_PASSWORD, FakeClock, register_accounts


def _counts(database: Database) -> tuple[int, int]:
    with database.transaction() as session:
        users = session.scalar(select(func.count(User.id))) or 0
        events = session.scalar(select(func.count(AuditEvent.id))) or 0
        return users, events


def _problems(preview: ImportPreview) -> dict[int, list[str]]:
    return {row.line: [str(problem) for problem in row.problems] for row in preview.rows if row.problems}


def _refused_and_nothing_written(services: Services, admin: Actor, preview: ImportPreview) -> None:
    before = _counts(services.database)
    with pytest.raises(ImportRefusedError):
        services.user_import.import_users(admin, preview)
    assert _counts(services.database) == before


# -- the preview ---------------------------------------------------------------------------------------


def test_hostile_rows_are_each_refused_with_their_line_and_reason(services: Services, admin: Actor) -> None:
    register_accounts(services, "taken@example.com", "admin@example.com")
    services.roles.add_role(admin, "auditor")
    lines = [
        "email,role",
        "ok@example.com,auditor",  # 2: fine
        "=cmd|' /C calc'!A0@example.com,user",  # 3: formula
        "+1@example.com,",  # 4: formula
        "-x@example.com,user",  # 5: formula
        "@sum@example.com,user",  # 6: formula
        '"\tpad@example.com",user',  # 7: leading tab
        "not-an-address,user",  # 8: invalid
        "Dup@Example.com,user",  # 9: duplicate of 10 (after normalization)
        "dup@example.com,user",  # 10
        "TAKEN@example.com,user",  # 11: exists
        "аdmin@example.com,user",  # 12: Cyrillic а: looks like the existing admin@
        "pаul@example.com,user",  # 13: Cyrillic а: looks like line 14 of the file
        "paul@example.com,user",  # 14: ASCII: never refused for resembling another
        "zero\u200bwidth@example.com,user",  # 15: zero-width space
        "ok2@example.com,superuser",  # 16: unknown role
        "ok3@example.com,=HYPERLINK()",  # 17: formula in the role
        "x" * 5000 + "@example.com,user",  # 18: huge
        "ok4@example.com,user,extra",  # 19: a cell too many
        ",user",  # 20: no address
        "bidi\u202e@example.com,user",  # 21: bidi override
    ]
    data = ("\r\n".join(lines) + "\r\n").encode()
    preview = services.user_import.preview(admin, data)
    problems = _problems(preview)
    assert set(problems) == set(range(3, 22)) - {14}
    assert 2 not in problems
    assert 14 not in problems
    for line in (3, 4, 5, 6, 7):
        assert any("formula" in reason for reason in problems[line]), line
    assert any("formula" in reason and "role" in reason for reason in problems[17])
    assert any(reason.startswith("invalid address") for reason in problems[8])
    assert problems[9] == ["the same address as line 10"]
    assert problems[10] == ["the same address as line 9"]
    assert problems[11] == ["an account with this address already exists"]
    assert problems[12] == ["looks too much like the existing account admin@example.com"]
    assert problems[13] == ["looks like paul@example.com on line 14"]
    assert any("U+200B" in reason for reason in problems[15])
    assert problems[16] == ["unknown role 'superuser'"]
    assert any("characters long" in reason for reason in problems[18])
    assert any("expected 2 cells" in reason for reason in problems[19])
    assert problems[20] == ["no address"]
    assert any("U+202E" in reason for reason in problems[21])
    assert preview.rows_with_problems == 18
    assert not preview.ok
    # What is shown of a cell has no invisible character left and is cut short.
    by_line = {row.line: row for row in preview.rows}
    assert by_line[15].email == "zero<U+200B>width@example.com"
    assert len(by_line[18].email) <= 81
    assert "line 13: looks like paul@example.com on line 14" in preview.problem_lines()
    _refused_and_nothing_written(services, admin, preview)


def test_line_numbers_are_labels_not_amounts(services: Services, admin: Actor, qapp: object) -> None:
    """Line numbers are written without a thousands separator ("line 1004", never "line 1,004"), in the
    CLI's English and in the GUI, where they take the person's digits and list comma."""
    from desktop_auth.ui.shell import i18n

    rows = [f"person{index}@example.com,user" for index in range(1, 1002)] + ["twin@example.com,user"] * 2
    preview = services.user_import.preview(admin, ("email,role\n" + "\n".join(rows) + "\n").encode())
    problems = {row.line: row.problems for row in preview.rows if row.problems}
    assert set(problems) == {1003, 1004}
    twin = problems[1003][0]
    assert str(twin) == "the same address as line 1004"
    assert i18n.render(twin) == "the same address as line 1004"
    try:
        i18n.install(qapp, "de")
        assert "1004" in i18n.render(twin)
        assert "1.004" not in i18n.render(twin)
        i18n.install(qapp, "ar")
        assert "\u0661\u0660\u0660\u0664" in i18n.render(twin)  # 1004 in Arabic-Indic digits, not grouped
        assert i18n.numbering(3, 1004) == "\u0663\u060c \u0661\u0660\u0660\u0664"  # the Arabic comma
    finally:
        i18n.install(qapp, i18n.ENGLISH)


def test_a_bom_crlf_and_a_missing_role_column_are_fine(services: Services, admin: Actor) -> None:
    data = "\ufeffemail\r\nann@example.com\r\n\r\nBen@Example.COM\r\n".encode()
    preview = services.user_import.preview(admin, data)
    assert preview.ok, preview.problem_lines()
    assert [(row.line, row.address, row.role) for row in preview.rows] == [
        (2, "ann@example.com", "user"),
        (4, "ben@example.com", "user"),
    ]


def test_semicolons_only_when_the_header_says_so(services: Services, admin: Actor) -> None:
    preview = services.user_import.preview(admin, b"role;email\nadmin;ann@example.com\n;ben@example.com\n")
    assert preview.ok, preview.problem_lines()
    assert [(row.address, row.role) for row in preview.rows] == [
        ("ann@example.com", "admin"),
        ("ben@example.com", "user"),
    ]
    refused = services.user_import.preview(admin, b"mail|role\nann@example.com|user\n")
    assert refused.file_problems
    assert str(refused.file_problems[0]).startswith("line 1: the first line must name")
    assert not refused.ok


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"email,role\nann@example.com,user\nb\xe9a@example.com,user\n", "line 3: the file is not UTF-8"),
        (b"email,role\n", "line 2: the file has no rows"),
        (b"", "line 1: the first line must name"),
        (b'email,role\n"ann@example.com,user\n', "line 2: the file is not valid CSV"),
    ],
)
def test_whole_file_problems_name_their_line(
    services: Services, admin: Actor, data: bytes, expected: str
) -> None:
    preview = services.user_import.preview(admin, data)
    assert preview.file_problems, expected
    assert str(preview.file_problems[0]).startswith(expected), preview.problem_lines()
    _refused_and_nothing_written(services, admin, preview)


def test_too_many_rows_and_too_large_a_file_are_refused(services: Services, admin: Actor) -> None:
    rows = "".join(f"u{n}@example.com,user\n" for n in range(MAX_IMPORT_ROWS + 1))
    preview = services.user_import.preview(admin, ("email,role\n" + rows).encode())
    assert preview.problem_lines() == [
        f"line {MAX_IMPORT_ROWS + 2}: the file has more than {MAX_IMPORT_ROWS:,} rows; import at most "
        f"{MAX_IMPORT_ROWS:,} at once (split the file)",
    ]
    _refused_and_nothing_written(services, admin, preview)
    huge = b"email,role\n" + b"a" * MAX_IMPORT_BYTES
    preview = services.user_import.preview(admin, huge)
    assert preview.file_problems
    assert "larger than" in str(preview.file_problems[0])
    assert preview.rows == ()
    _refused_and_nothing_written(services, admin, preview)


def test_existing_lookalikes_are_found_in_bulk_not_one_query_per_row(
    services: Services, admin: Actor
) -> None:
    # Cyrillic а in the first, Cyrillic х in the second's domain (a look-alike of line 9's address)
    register_accounts(services, "pаypal@example.com", "ünï7@ехample.com")
    rows = [f"ünï{n}@example.com,user" for n in range(450)] + [
        "paypal@example.com,user",
        "pаypal@example.com,user",
    ]
    data = ("email,role\n" + "\n".join(rows)).encode()
    statements: list[str] = []
    from sqlalchemy import event

    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(services.database.engine, "before_cursor_execute", count)
    try:
        preview = services.user_import.preview(admin, data)
    finally:
        event.remove(services.database.engine, "before_cursor_execute", count)
    user_queries = [s for s in statements if "FROM user" in s or "FROM `user`" in s]
    assert len(user_queries) <= 8, len(user_queries)  # 452 rows: a few chunked queries
    problems = _problems(preview)
    assert problems == {
        9: ["looks too much like the existing account ünï7@ехample.com"],
        453: ["looks like paypal@example.com on line 452", "an account with this address already exists"],
    }, problems


def test_only_an_active_admin_may_preview_or_import(services: Services, admin: Actor) -> None:
    (uid,) = register_accounts(services, "eve@example.com")
    eve = Actor(uid, "eve@example.com")
    with pytest.raises(PermissionDeniedError):
        services.user_import.preview(eve, b"email\nx@example.com\n")
    preview = services.user_import.preview(admin, b"email\nx@example.com\n")
    before = _counts(services.database)
    with pytest.raises(PermissionDeniedError):
        services.user_import.import_users(eve, preview)
    assert _counts(services.database) == before


# -- the import ----------------------------------------------------------------------------------------


def test_a_clean_file_imports_with_distinct_passwords_that_work_for_a_first_sign_in(
    services: Services, admin: Actor, tmp_path: Path, clock: FakeClock
) -> None:
    services.app_settings.update(admin, temporary_password_hours=5)
    data = b"email,role\nann@example.com,user\nBEN@example.com,admin\ncl\xc3\xa9o@example.com,\n"
    preview = services.user_import.preview(admin, data)
    assert preview.ok, preview.problem_lines()
    result = services.user_import.import_users(admin, preview)
    assert result.count == 3
    entries = {entry.email: entry for entry in result.passwords.entries}
    assert set(entries) == {"ann@example.com", "ben@example.com", "cléo@example.com"}
    assert len({entry.password for entry in entries.values()}) == 3
    assert all(entry.password not in repr(result) for entry in entries.values())
    assert abs((result.passwords.expires_at - clock.now).total_seconds() - 5 * 3600) < 2

    with services.database.transaction() as session:
        rows = session.execute(
            select(User.id, User.email, User.password_hash, User.must_change_password)
        ).all()
    by_email = {row.email: row for row in rows}
    for email, entry in entries.items():
        assert by_email[email].id == entry.user_id
        assert method_of(by_email[email].password_hash) == canonical_method(TEMPORARY_HASH_METHOD)
        assert by_email[email].must_change_password
    assert services.admin.get_user(admin, "ben@example.com").role == "admin"

    # Each password opens its own account only, must be changed at once, then the new one works.
    signed_in = services.accounts.authenticate("ann@example.com", entries["ann@example.com"].password)
    assert signed_in.must_change_password
    with pytest.raises(Exception, match="incorrect"):
        services.accounts.authenticate("ann@example.com", entries["ben@example.com"].password)
    services.accounts.change_password(signed_in.id, entries["ann@example.com"].password, STRONG_PASSWORD)
    assert not services.accounts.authenticate("ann@example.com", STRONG_PASSWORD).must_change_password
    # ...and it expires with the shared lifetime.
    clock.advance(hours=5, minutes=1)
    with pytest.raises(Exception, match="expired"):
        services.accounts.authenticate("ben@example.com", entries["ben@example.com"].password)

    # One audit row per account (History shows each creation) and one summing up; no secret in any.
    events = services.admin.audit_log(admin, limit=50)
    created = sorted(e.target for e in events if e.action == "create" and e.detail and "CSV" in e.detail)
    assert created == sorted(entries)
    (summary,) = [e for e in events if e.action == "user_import"]
    assert summary.new_value == "3"
    for event in events:
        for entry in entries.values():
            assert entry.password not in " ".join(
                str(v) for v in (event.old_value, event.new_value, event.detail)
            )

    # The passwords file: readable by its owner only.
    path = tmp_path / "passwords.csv"
    assert temporary_passwords.write_csv(path, result.passwords) == 3
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text(encoding="utf-8")
    assert all(entry.password in text for entry in entries.values())


def test_an_address_registered_after_the_preview_fails_the_whole_import(
    services: Services, admin: Actor
) -> None:
    data = b"email\nann@example.com\nben@example.com\n"
    preview = services.user_import.preview(admin, data)
    assert preview.ok
    register_accounts(services, "ben@example.com")
    before = _counts(services.database)
    with pytest.raises(ImportConflictError, match=r"ben@example\.com") as refused:
        services.user_import.import_users(admin, preview)
    assert refused.value.emails == ("ben@example.com",)
    assert _counts(services.database) == before


def test_a_registration_racing_the_import_leaves_exactly_one_owner(
    services: Services, admin: Actor, backend: str
) -> None:
    """A registration of an address of the file's second chunk starts while the import is between chunks.
    The import's locking reads (MariaDB) or its write lock (SQLite) make the registration wait for it and
    then be refused; either way the address ends with exactly one owner and nothing is half-written."""
    count = IMPORT_CHUNK + 5
    racer = f"u{count - 1:05d}@example.com"  # in the second chunk
    data = ("email\n" + "".join(f"u{n:05d}@example.com\n" for n in range(count))).encode()
    preview = services.user_import.preview(admin, data)
    assert preview.ok
    outcome: dict[str, BaseException | None] = {}
    started = threading.Event()

    def register() -> None:
        try:
            services.accounts.register(racer, STRONG_PASSWORD)
            outcome["register"] = None
        except BaseException as error:
            outcome["register"] = error

    racing = threading.Thread(target=register)
    calls = {"n": 0}

    def between_chunks() -> bool:
        calls["n"] += 1
        if calls["n"] == 2 and not started.is_set():  # after the first chunk was inserted
            started.set()
            racing.start()
            racing.join(timeout=5 if backend == "mariadb" else 0.5)
        return False

    before_users, _ = _counts(services.database)
    try:
        services.user_import.import_users(admin, preview, should_stop=between_chunks)
        outcome["import"] = None
    except ImportConflictError as error:
        outcome["import"] = error
    racing.join(timeout=30)
    assert not racing.is_alive()
    users, _ = _counts(services.database)
    if outcome["import"] is None:
        assert isinstance(outcome["register"], EmailAlreadyRegisteredError)
        assert users == before_users + count
    else:
        assert outcome["register"] is None
        assert racer in str(outcome["import"])
        assert users == before_users + 1, "nothing of the import was written"


def test_when_the_check_misses_a_registration_the_unique_index_fails_the_whole_import(
    services: Services, admin: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The case of a registration committed between the import's check and its insert (through another
    Galera node, say): the unique index refuses the insert and the import fails naming the address."""
    from desktop_auth.services import user_import

    data = ("email\n" + "".join(f"r{n}@example.com\n" for n in range(IMPORT_CHUNK + 3))).encode()
    preview = services.user_import.preview(admin, data)
    assert preview.ok
    register_accounts(services, f"r{IMPORT_CHUNK + 1}@example.com")
    real_taken = user_import._taken

    def blind_in_the_transaction(session, addresses, locking=False):  # type: ignore[no-untyped-def]
        return {} if locking else real_taken(session, addresses, locking)

    monkeypatch.setattr(user_import, "_taken", blind_in_the_transaction)
    before = _counts(services.database)
    with pytest.raises(ImportConflictError, match=f"r{IMPORT_CHUNK + 1}@example.com"):
        services.user_import.import_users(admin, preview)
    assert _counts(services.database) == before


def test_cancelled_between_chunks_writes_nothing(services: Services, admin: Actor) -> None:
    data = ("email\n" + "".join(f"c{n}@example.com\n" for n in range(IMPORT_CHUNK + 1))).encode()
    preview = services.user_import.preview(admin, data)
    before = _counts(services.database)
    calls = {"n": 0}

    def stop_at_second_chunk() -> bool:
        calls["n"] += 1
        return calls["n"] >= 2

    with pytest.raises(ImportCancelledError):
        services.user_import.import_users(admin, preview, should_stop=stop_at_second_chunk)
    assert _counts(services.database) == before


def test_shown_cells_make_invisible_characters_visible() -> None:
    assert shown_cell("a\u200bb\x00c\u202e") == "a<U+200B>b<U+0000>c<U+202E>"
    assert shown_cell("x" * 500).endswith("…")


def test_history_says_what_an_import_did(services: Services, admin: Actor) -> None:
    from desktop_auth.services.audit_words import describe_event

    preview = services.user_import.preview(admin, b"email\nann@example.com\nben@example.com\n")
    services.user_import.import_users(admin, preview)
    events = services.admin.audit_log(admin, limit=10)
    words = {str(describe_event(event)) for event in events if event.target != admin.label}
    assert words == {"Account created with the role user"}
    (summary,) = [event for event in events if event.action == "user_import"]
    assert str(describe_event(summary)) == "Imported 2 accounts from a CSV file"


def test_a_quoted_header_is_read_too(services: Services, admin: Actor) -> None:
    preview = services.user_import.preview(admin, b'"email","role"\r\n"ann@example.com","user"\r\n')
    assert preview.ok, preview.problem_lines()
    assert [row.address for row in preview.rows] == ["ann@example.com"]


def test_a_role_removed_after_the_preview_fails_the_whole_import(services: Services, admin: Actor) -> None:
    services.roles.add_role(admin, "auditor")
    preview = services.user_import.preview(
        admin, b"email,role\nann@example.com,user\nben@example.com,auditor\n"
    )
    assert preview.ok, preview.problem_lines()
    services.roles.remove_role(admin, "auditor")
    before = _counts(services.database)
    with pytest.raises(NotFoundError, match="auditor"):
        services.user_import.import_users(admin, preview)
    assert _counts(services.database) == before
