"""``UserImportService.import_users`` trusts nothing of the ``ImportPreview`` it is handed: a preview is a
plain record anyone can build, so every row is checked again by the preview's own rules (address
normalized and valid, its look-alike key recomputed, no address twice, no look-alikes within the rows, a
role a file could name) and a preview that ``preview()`` would not have produced is refused whole, with
nothing written: no account, no audit row. An honest preview, even one built by hand, still imports.
SQLite and MariaDB."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from desktop_auth.identity import skeleton_key
from desktop_auth.models import AuditEvent, User
from desktop_auth.services import Services
from desktop_auth.services.errors import ImportRefusedError, NotFoundError
from desktop_auth.services.records import Actor, ImportPreview, ImportRow
from desktop_auth.services.user_import import shown

HONEST = "honest@example.com"


def _row(line: int, address: str, role: str = "user", key: str | None = None) -> ImportRow:
    """A row as a caller could build it: no problems, whatever it holds."""
    return ImportRow(line, shown(address), role, (), address, skeleton_key(address) if key is None else key)


def _state(services: Services) -> tuple[list[tuple[str, str]], int]:
    with services.database.transaction() as session:
        users = [tuple(row) for row in session.execute(select(User.email, User.email_skeleton)).all()]
        events = session.scalar(select(func.count(AuditEvent.id))) or 0
    return sorted(users), events  # type: ignore[arg-type]


FORGED: dict[str, tuple[list[ImportRow], int]] = {
    # (the rows after the honest one on line 2, how many rows preview() would have refused)
    "upper case": ([_row(3, "Ann@Example.COM")], 1),
    "surrounding spaces": ([_row(3, " ann@example.com ")], 1),
    "a decomposed letter (not NFC)": ([_row(3, "cle\u0301o@example.com")], 1),
    "a fullwidth domain": ([_row(3, "ann@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com")], 1),
    "a punycode domain": ([_row(3, "ann@xn--bcher-kva.example")], 1),
    "not an address": ([_row(3, "not-an-address")], 1),
    "no address": ([_row(3, "")], 1),
    "a zero-width space": ([_row(3, "zero\u200bwidth@example.com")], 1),
    "a formula": ([_row(3, "=cmd@example.com")], 1),
    "the same address twice": ([_row(3, "dup@example.com"), _row(4, "dup@example.com")], 2),
    "a look-alike within the rows": ([_row(3, "p\u0430ul@example.com"), _row(4, "paul@example.com")], 1),
    "a key of another address": ([_row(3, "ann@example.com", key=skeleton_key("bob@example.com"))], 1),
    "no key": ([_row(3, "ann@example.com", key="")], 1),
    "a look-alike's key forged unique": (
        [_row(3, "p\u0430ul@example.com", key="0" * 64), _row(4, "paul@example.com")],
        1,
    ),
    "a role with a formula": ([_row(3, "ann@example.com", role="=HYPERLINK()")], 1),
    "a role with spaces around": ([_row(3, "ann@example.com", role=" user ")], 1),
    "an empty role": ([_row(3, "ann@example.com", role="")], 1),
    "a role with an invisible character": ([_row(3, "ann@example.com", role="user\u200b")], 1),
    "a role too long": ([_row(3, "ann@example.com", role="r" * 65)], 1),
}


@pytest.mark.parametrize("case", list(FORGED))
def test_a_hand_built_preview_the_rules_would_refuse_writes_nothing(
    services: Services, admin: Actor, case: str
) -> None:
    forged, refused_rows = FORGED[case]
    preview = ImportPreview((_row(2, HONEST), *forged))
    assert preview.ok  # it claims to be clean
    before = _state(services)
    with pytest.raises(ImportRefusedError) as refused:
        services.user_import.import_users(admin, preview)
    assert refused.value.rows_with_problems == refused_rows
    assert _state(services) == before


def test_a_role_that_does_not_exist_is_refused_in_the_transaction(services: Services, admin: Actor) -> None:
    """(Already so before the rows were checked again: the import's transaction looks each role up.)"""
    preview = ImportPreview((_row(2, HONEST), _row(3, "ann@example.com", role="superuser")))
    before = _state(services)
    with pytest.raises(NotFoundError, match="superuser"):
        services.user_import.import_users(admin, preview)
    assert _state(services) == before


def test_a_formula_behind_a_no_break_space_is_refused_by_the_preview(
    services: Services, admin: Actor
) -> None:
    """The address is stored without the leading whitespace, so the preview looks past all of it."""
    preview = services.user_import.preview(admin, "email\n\u00a0=cmd@example.com\n".encode())
    assert not preview.ok
    assert any("formula" in str(problem) for problem in preview.rows[0].problems)


def test_an_honest_preview_still_imports_even_built_by_hand(services: Services, admin: Actor) -> None:
    data = "email,role\nAnn@Example.com,admin\ncle\u0301o@example.com,\n p\u0430ul@example.com ,user\n"
    from_file = services.user_import.preview(admin, data.encode())
    assert from_file.ok, from_file.problem_lines()
    by_hand = ImportPreview(
        (
            _row(2, "ann@example.com", role="admin"),
            _row(3, "cl\u00e9o@example.com"),
            _row(4, "p\u0430ul@example.com"),
        )
    )

    def stored(preview: ImportPreview) -> list[tuple[int, str, str, str]]:
        return [(row.line, row.address, row.key, row.role) for row in preview.rows]

    assert stored(by_hand) == stored(from_file)  # (what is shown of a cell aside)
    result = services.user_import.import_users(admin, by_hand)
    assert result.count == 3
    users, events = _state(services)
    stored = dict(users)
    for row in by_hand.rows:
        assert stored[row.address] == skeleton_key(row.address)
    assert events >= 4  # a create row per account and the summary
    assert services.admin.get_user(admin, "ann@example.com").role == "admin"


def test_only_the_very_preview_the_service_made_skips_the_second_check(
    services: Services, admin: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service takes its own previews as checked (they are frozen) and checks any other again, one equal
    to its own included: it is the object, not its contents, that says where it came from."""
    from desktop_auth.services import user_import

    checked_again: list[int] = []
    real = user_import._recheck

    def recheck(rows: tuple[ImportRow, ...]) -> object:
        checked_again.append(len(rows))
        return real(rows)

    monkeypatch.setattr(user_import, "_recheck", recheck)
    made = services.user_import.preview(admin, b"email\nann@example.com\n")
    copy = ImportPreview(tuple(made.rows), made.file_problems)
    assert copy == made
    assert copy is not made
    services.user_import.import_users(admin, made)
    assert checked_again == []
    services.lifecycle.delete_users(admin, [services.admin.get_user(admin, "ann@example.com").id])
    services.user_import.import_users(admin, copy)
    assert checked_again == [1]
