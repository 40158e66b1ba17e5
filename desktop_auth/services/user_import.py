"""Importing users from a CSV file: every row checked first (a preview), then all of them in one
transaction, or none.

**The file.** UTF-8 (a byte-order mark is allowed), lines ending in LF or CRLF, a header line naming the
columns: ``email`` (required) and ``role`` (optional; an empty cell or no column means ``user``), in either
order. Cells are separated by commas, or by semicolons when the header line says so (``email;role``: the
header's names are known, so the choice is never a guess about the data). Quoting follows RFC 4180. Blank
lines are skipped. At most ``MAX_IMPORT_ROWS`` rows and ``MAX_IMPORT_BYTES`` bytes.

**The preview** (``UserImportService.preview``) lists every row with all of its problems, so one pass
fixes them all: an address the app would refuse (``desktop_auth.identity.normalize_email``, the same
check as every other way in), the same address twice in the file (after normalization: ``Ann@X.org`` and
``ann@x.org`` are one account), a non-ASCII address that looks like another in the file or like an
existing account's (the look-alike rule of ``desktop_auth.identity``), an address that is already an
account's, an unknown role, a cell a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, a
leading tab or carriage return: refused, not rewritten, since an address never needs them here), an
invisible or control character (zero-width space, bidi controls, a NUL), a cell longer than any address. A
file that is not UTF-8, too large, or without the header is refused as a whole, with the line it failed
on. The database is asked in bulk: the existing addresses and the look-alike keys of the file, a chunk of
them per query, never a query per row.

**The import** (``UserImportService.import_users``) takes a preview without problems. Each new account gets
its own random temporary password (``temporary_passwords.generate_distinct``), stored with the fast salted
hash meant for them (``PasswordHasher.hash_temporary``), to be changed at the first sign-in and expiring
after the shared ``temporary_password_hours``. One transaction, under the same guards as creating one
account (an active administrator, or an operator at the CLI; ``require_admin_to_change``): the checks
against existing accounts are made again inside it, and an address registered meanwhile by someone else
(even between the check and the insert: the unique indexes settle it) makes the whole import fail with
``ImportConflictError`` naming it, nothing written. Audit: one ``create`` row per account (so History shows
each account's creation, as for one created by hand) and one ``user_import`` row summing it up.

**Size of one transaction.** The whole import is one transaction, so its size is bounded by the row limit:
``MAX_IMPORT_ROWS`` users write about two rows each (the account, its audit row), some 40,000 rows and at
most ~25 MB of write set, in line with the 30,000-row chunks of a bulk change (``services.bulk``) and far
under a Galera node's limits (``wsrep_max_ws_size``, 2 GB by default; ``wsrep_max_ws_rows``, unlimited by
default). Statements go ``IMPORT_CHUNK`` rows at a time (SQLite's 32,766-parameter limit, MariaDB's packet
size). A larger file is refused up front: split it.
"""

from __future__ import annotations

import csv
import io
import unicodedata
import weakref
from collections.abc import Callable, Container, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, and_, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from desktop_auth.constants import EMAIL_MAX_LENGTH, ROLE_NAME_MAX_LENGTH, USER_ROLE
from desktop_auth.errors import InvalidInputError
from desktop_auth.identity import (
    SKELETON_DIGEST_LENGTH,
    lookalike_range,
    may_look_alike,
    normalize_email,
    skeleton_key,
)
from desktop_auth.messages import Message, message, message_n, numerals, verbatim
from desktop_auth.models import Role, User
from desktop_auth.services import audit
from desktop_auth.services.app_settings import read_shared_settings
from desktop_auth.services.context import ServiceContext, require_admin, require_admin_to_change, retried
from desktop_auth.services.errors import (
    ImportCancelledError,
    ImportConflictError,
    ImportRefusedError,
    NotFoundError,
)
from desktop_auth.services.records import (
    Actor,
    ImportPreview,
    ImportRow,
    TemporaryPassword,
    TemporaryPasswords,
    UserImportResult,
)
from desktop_auth.services.sql import is_missing_parent
from desktop_auth.services.temporary_passwords import generate_distinct

#: Rows (accounts) in one file, and so in one transaction (see the module docstring).
MAX_IMPORT_ROWS = 20_000
#: Bytes in one file: 20,000 rows of the longest address and role fit, with quoting.
MAX_IMPORT_BYTES = 8 * 1024 * 1024
#: Rows per INSERT (and per existence query): 1,000 users of 11 columns stay under SQLite's 32,766
#: parameters and well inside MariaDB's max_allowed_packet.
IMPORT_CHUNK = 1_000
#: Look-alike ranges per query (each is two bound keys, ``lookalike_range``).
_RANGES_PER_QUERY = 200
#: The longest cell looked at: longer ones are refused as too long, not validated.
MAX_CELL_LENGTH = EMAIL_MAX_LENGTH + 64
COLUMNS = ("email", "role")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: Other lines named in one problem ("the same address as lines 4, 9, 12 and 3 more").
_LINES_NAMED = 3
_SHOWN_LENGTH = 80

_USERS = cast(Table, User.__table__)
ShouldStop = Callable[[], bool]

# Characters that draw nothing or steer the text without being letters: control and format characters
# (zero-width space and joiners, bidi controls, the byte-order mark, soft hyphen), line and paragraph
# separators, private use, unassigned, surrogates, and the invisible letters and fillers TR39 ignores.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cn", "Cs", "Zl", "Zp"})
_INVISIBLE_RANGES = (
    (0x034F, 0x034F),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x2800, 0x2800),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFFA0, 0xFFA0),
)
_INVISIBLE_EXTRA = frozenset(chr(code) for low, high in _INVISIBLE_RANGES for code in range(low, high + 1))


def shown(text: str, limit: int = _SHOWN_LENGTH) -> str:
    """A cell as it may be shown in a table or a one-line message: invisible and control characters
    written as ``<U+200B>``, cut to ``limit`` characters."""
    out: list[str] = []
    for ch in text[: limit + 1]:
        out.append(f"<U+{ord(ch):04X}>" if _is_invisible(ch) else ch)
    cut = "".join(out)
    return cut if len(text) <= limit else cut[:limit] + "…"


def _is_invisible(ch: str) -> bool:
    return unicodedata.category(ch) in _INVISIBLE_CATEGORIES or ch in _INVISIBLE_EXTRA


# -- reading the file (no database) ------------------------------------------------------------------------


@dataclass
class _Parsed:
    """A row as read, with what the checks found so far (the database adds its own)."""

    line: int
    email_cell: str
    role_cell: str
    role: str
    problems: list[Message]
    address: str = ""  # normalized; "" when the address was refused
    key: str = ""  # its skeleton key


# A row to insert: one of a preview this service made, or one checked again (``_recheck``).
_Row = ImportRow | _Parsed


def _same_address(lines: Sequence[int]) -> Message:
    named = numerals(*lines[:_LINES_NAMED])
    more = len(lines) - _LINES_NAMED
    if more > 0:
        return message_n(
            "UserImport",
            "the same address as lines {lines} and {n} more",
            "the same address as lines {lines} and {n} more",
            more,
        ).format(lines=named)
    count = len(lines)
    return message_n(
        "UserImport", "the same address as line {lines}", "the same address as lines {lines}", count
    ).format(lines=named)


def _looks_like(address: str, lines: Sequence[int]) -> Message:
    named = numerals(*lines[:_LINES_NAMED])
    more = len(lines) - _LINES_NAMED
    if more > 0:
        return message_n(
            "UserImport",
            "looks like {address} on lines {lines} and {n} more",
            "looks like {address} on lines {lines} and {n} more",
            more,
        ).format(address=address, lines=named)
    count = len(lines)
    return message_n(
        "UserImport",
        "looks like {address} on line {lines}",
        "looks like {address} on lines {lines}",
        count,
    ).format(address=address, lines=named)


def _decode(data: bytes) -> tuple[str | None, Message | None]:
    """The file's text, or a problem saying where it stopped being UTF-8."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        return (
            None,
            message(
                "UserImport", "line {line}: the file is not UTF-8 text (byte {byte}); save it as UTF-8"
            ).format(line=numerals(line), byte=f"0x{data[error.start]:02X}"),
        )
    return text.removeprefix("\ufeff"), None


def _delimiter(header_line: str) -> str | None:
    """The separator the header line uses (its names are known, so this is certain), or None."""
    for delimiter in (",", ";"):
        names = [cell.strip().strip('"').strip().lower() for cell in header_line.split(delimiter)]
        if "email" in names and set(names) <= set(COLUMNS) and len(set(names)) == len(names):
            return delimiter
    return None


def _cell_problems(column: str, cell: str) -> list[Message]:
    """What makes a cell unusable whatever it says: its length, a formula start, hidden characters
    (``column``: "email" or "role")."""
    address = column == "email"
    if len(cell) > MAX_CELL_LENGTH:
        too_long = (
            message("UserImport", "the address is {length} characters long (at most {limit})")
            if address
            else message("UserImport", "the role is {length} characters long (at most {limit})")
        )
        return [too_long.format(length=len(cell), limit=MAX_CELL_LENGTH)]
    problems: list[Message] = []
    # ``strip()``, not ``strip(" ")``: ``normalize_email`` drops any leading whitespace (a no-break space...),
    # which must not hide a formula that would then be the stored address.
    for start in dict.fromkeys((cell[:1], cell.strip()[:1])):
        if start in FORMULA_STARTS:
            formula = (
                message(
                    "UserImport",
                    "the address starts with '{start}', which a spreadsheet would run as a formula",
                )
                if address
                else message(
                    "UserImport", "the role starts with '{start}', which a spreadsheet would run as a formula"
                )
            )
            problems.append(formula.format(start=shown(start)))
            break
    hidden = sorted({ch for ch in cell if _is_invisible(ch)})
    if hidden:
        names = ", ".join(f"U+{ord(ch):04X}" for ch in hidden[:3])
        invisible = (
            message("UserImport", "the address contains an invisible or control character ({characters})")
            if address
            else message("UserImport", "the role contains an invisible or control character ({characters})")
        )
        problems.append(invisible.format(characters=names))
    return problems


def _parse(text: str, roles: set[str], should_stop: ShouldStop) -> tuple[list[_Parsed], list[Message]]:
    """Every row with the problems found without the database, and the problems of the file itself."""
    header_line = text.split("\n", 1)[0].removesuffix("\r")
    delimiter = _delimiter(header_line)
    if delimiter is None:
        return [], [
            message(
                "UserImport",
                "line 1: the first line must name the columns: email,role (or email;role, or email); "
                "found '{found}'",
            ).format(found=shown(header_line))
        ]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[_Parsed] = []
    columns: list[str] | None = None
    line = 1
    try:
        for record in reader:
            first_line, line = line, reader.line_num + 1
            if columns is None:
                columns = [cell.strip().lower() for cell in record]
                continue
            if not any(cell.strip() for cell in record):
                continue  # a blank line
            if len(rows) == MAX_IMPORT_ROWS:
                return rows, [
                    message(
                        "UserImport",
                        "line {line}: the file has more than {limit} rows; import at most {limit} at once "
                        "(split the file)",
                    ).format(line=numerals(first_line), limit=MAX_IMPORT_ROWS)
                ]
            if len(rows) % IMPORT_CHUNK == 0 and should_stop():
                raise ImportCancelledError()
            rows.append(_read_row(first_line, record, columns, roles))
    except csv.Error as error:
        return rows, [
            message("UserImport", "line {line}: the file is not valid CSV ({detail})").format(
                line=numerals(reader.line_num), detail=str(error)
            )
        ]
    return rows, []


def _read_row(line: int, record: list[str], columns: list[str], roles: set[str]) -> _Parsed:
    cells = dict(zip(columns, record, strict=False))
    email_cell, role_cell = cells.get("email", ""), cells.get("role", "")
    row = _Parsed(line, email_cell, role_cell, role_cell.strip() or USER_ROLE, [])
    if len(record) != len(columns):
        count = len(columns)
        row.problems.append(
            message_n(
                "UserImport",
                "expected {n} cell ({columns}), found {found}",
                "expected {n} cells ({columns}), found {found}",
                count,
            ).format(columns=",".join(columns), found=len(record))
        )
    _check_cells(row, roles)
    return row


def _check_cells(row: _Parsed, roles: Container[str] | None) -> None:
    """A row's address and role, as read: its problems, and (a usable address) the normalized address and
    its key. ``roles`` None: whether the role exists is left to the caller (the import's transaction)."""
    email_cell, role_cell = row.email_cell, row.role_cell
    email_problems = _cell_problems("email", email_cell)
    row.problems.extend(email_problems)
    if not email_cell.strip():
        row.problems.append(message("UserImport", "no address"))
    elif not email_problems:
        try:
            row.address = normalize_email(email_cell)
        except InvalidInputError as error:
            reasons = error.problem_texts
            reason = reasons[0] if len(reasons) == 1 else verbatim(" ".join(error.problems))
            row.problems.append(message("UserImport", "invalid address: {reason}").format(reason=reason))
        else:
            row.key = skeleton_key(row.address)
    if len(role_cell) > ROLE_NAME_MAX_LENGTH:
        role_problems = [
            message("UserImport", "the role is {length} characters long (at most {limit})").format(
                length=len(role_cell), limit=ROLE_NAME_MAX_LENGTH
            )
        ]
    else:
        role_problems = _cell_problems("role", role_cell)
    row.problems.extend(role_problems)
    if roles is not None and not role_problems and row.role not in roles:
        row.problems.append(message("UserImport", "unknown role '{role}'").format(role=shown(row.role)))


def _check_within_file(rows: Sequence[_Parsed]) -> None:
    """The same address twice, and non-ASCII look-alikes of another address of the file."""
    by_address: dict[str, list[_Parsed]] = {}
    by_digest: dict[str, list[_Parsed]] = {}
    for row in rows:
        if row.address:
            by_address.setdefault(row.address, []).append(row)
            by_digest.setdefault(row.key[:SKELETON_DIGEST_LENGTH], []).append(row)
    for group in by_address.values():
        if len(group) > 1:
            for row in group:
                others = [other.line for other in group if other is not row]
                row.problems.append(_same_address(others))
    for group in by_digest.values():
        if len({row.address for row in group}) < 2:
            continue
        for row in group:
            if may_look_alike(row.address):
                alike = [other for other in group if other.address != row.address]
                row.problems.append(_looks_like(alike[0].address, [other.line for other in alike]))


def _recheck(rows: Sequence[ImportRow]) -> list[_Parsed]:
    """The rows an import is handed, checked again by the preview's own rules (an ``ImportPreview`` is a plain
    record: anyone can build one). Each stored address is read as the cell of a row: ``_check_cells``
    must find no problem and give back the same address (so it is normalized), its key is recomputed
    (never taken from the record), its role must be one a file could name; then ``_check_within_file``
    (the same address twice, look-alikes within the rows). Whether the roles exist, and the existing
    accounts, are checked in the import's transaction. Raises ImportRefusedError counting the rows
    ``preview`` would not have let through; returns the rows to insert."""
    parsed: list[_Parsed] = []
    altered: list[bool] = []  # not what the preview would have made of its own address
    for record in rows:
        row = _Parsed(record.line, record.address, record.role, record.role.strip() or USER_ROLE, [])
        _check_cells(row, None)
        parsed.append(row)
        altered.append(row.address != record.address or row.role != record.role or row.key != record.key)
    _check_within_file(parsed)
    refused = sum(1 for row, changed in zip(parsed, altered, strict=True) if changed or row.problems)
    if refused:
        raise ImportRefusedError(refused)
    return parsed


def _taken(session: Session, addresses: Sequence[str], locking: bool = False) -> dict[str, Message]:
    """Which of ``addresses`` (normalized) are an account's already, or (non-ASCII ones) look like one's:
    address -> the problem. In bulk: a chunk of addresses per query, a chunk of look-alike ranges per query."""
    found: dict[str, Message] = {}
    unique = list(dict.fromkeys(addresses))
    for start in range(0, len(unique), IMPORT_CHUNK):
        chunk = unique[start : start + IMPORT_CHUNK]
        same = select(User.email).where(User.email.in_(chunk))
        for email in session.scalars(same.with_for_update(read=True) if locking else same):
            found[email] = message("UserImport", "an account with this address already exists")
    exotic = [address for address in unique if may_look_alike(address) and address not in found]
    for start in range(0, len(exotic), _RANGES_PER_QUERY):
        chunk = exotic[start : start + _RANGES_PER_QUERY]
        ranges = {address: lookalike_range(address) for address in chunk}
        alike_query = select(User.email, User.email_skeleton).where(
            or_(
                *(
                    and_(User.email_skeleton >= low, User.email_skeleton < high)
                    for low, high in ranges.values()
                )
            )
        )
        if locking:
            alike_query = alike_query.with_for_update(read=True)
        existing = session.execute(alike_query).all()
        for address, (low, _high) in ranges.items():
            alike = next(
                (
                    email
                    for email, key in existing
                    if key[:SKELETON_DIGEST_LENGTH] == low and email != address
                ),
                None,
            )
            if alike is not None:
                found[address] = message(
                    "UserImport", "looks too much like the existing account {address}"
                ).format(address=alike)
    return found


def _to_record(row: _Parsed) -> ImportRow:
    return ImportRow(
        line=row.line,
        email=shown(row.email_cell),
        role=shown(row.role),
        problems=tuple(row.problems),
        address=row.address,
        key=row.key,
    )


class UserImportService:
    def __init__(self, context: ServiceContext) -> None:
        self._context = context
        # The previews ``preview`` made, held weakly: ``import_users`` takes their rows as checked (they are
        # frozen). Any other ImportPreview, a plain record anyone can build, is checked again row by row, which
        # costs about as much as the preview itself: bench/import_users.py's 3x target needs that not done twice.
        self._made: weakref.WeakValueDictionary[int, ImportPreview] = weakref.WeakValueDictionary()

    # -- the preview ---------------------------------------------------------------------------------

    def preview_file(
        self, actor: Actor, path: str | Path, should_stop: ShouldStop = lambda: False
    ) -> ImportPreview:
        """``preview`` of the file at ``path`` (no more than ``MAX_IMPORT_BYTES`` of it is read)."""
        target = Path(path)
        try:
            with target.open("rb") as source:
                data = source.read(MAX_IMPORT_BYTES + 1)
        except OSError as error:
            raise InvalidInputError(
                "file",
                [
                    message("UserImport", "Could not read {path}: {reason}.").format(
                        path=str(target), reason=str(error.strerror or error)
                    )
                ],
            ) from None
        return self.preview(actor, data, should_stop)

    def preview(self, actor: Actor, data: bytes, should_stop: ShouldStop = lambda: False) -> ImportPreview:
        """Check every row of a CSV file (bytes, as read) and say what is wrong with each; nothing is
        written. Raises PermissionDeniedError unless the actor may administer, ImportCancelledError when
        ``should_stop()`` said so."""
        roles = self._roles(actor)  # first: a caller who may not import learns nothing about the file
        if len(data) > MAX_IMPORT_BYTES:
            megabytes = MAX_IMPORT_BYTES // (1024 * 1024)
            return ImportPreview(
                (),
                (
                    message(
                        "UserImport",
                        "line 1: the file is larger than {megabytes} MB; import at most {limit} rows at once "
                        "(split the file)",
                    ).format(megabytes=megabytes, limit=MAX_IMPORT_ROWS),
                ),
            )
        text, problem = _decode(data)
        if text is None:
            return ImportPreview((), (problem,) if problem is not None else ())
        rows, file_problems = _parse(text, roles, should_stop)
        if not rows and not file_problems:
            file_problems = [
                message("UserImport", "line {line}: the file has no rows to import").format(line=numerals(2))
            ]
        _check_within_file(rows)
        if should_stop():
            raise ImportCancelledError()
        candidates = [row.address for row in rows if row.address]
        taken = self._existing(actor, candidates)
        for row in rows:
            if row.address in taken:
                row.problems.append(taken[row.address])
        made = ImportPreview(tuple(_to_record(row) for row in rows), tuple(file_problems))
        self._made[id(made)] = made
        return made

    @retried
    def _roles(self, actor: Actor) -> set[str]:
        with self._context.database.transaction() as session:
            require_admin(session, actor)
            return set(session.scalars(select(Role.name)))

    @retried
    def _existing(self, actor: Actor, addresses: Sequence[str]) -> dict[str, Message]:
        with self._context.database.transaction() as session:
            require_admin(session, actor)
            return _taken(session, addresses)

    # -- the import ----------------------------------------------------------------------------------

    def import_users(
        self, actor: Actor, preview: ImportPreview, should_stop: ShouldStop = lambda: False
    ) -> UserImportResult:
        """Create every account of a clean preview in one transaction (all or nothing); returns each one's
        temporary password, for the administrator to hand out (``temporary_passwords.write_csv``).

        A preview this service's ``preview`` made is taken as it is (frozen); any other is checked again by
        the preview's own rules (``_recheck``), with the keys stored recomputed from the addresses.

        Raises ImportRefusedError when the preview has problems, or rows ``preview`` would have refused or
        made differently; ImportConflictError naming the addresses someone registered (or a look-alike of)
        since the preview, NotFoundError for a role removed meanwhile (or never there),
        PermissionDeniedError, ImportCancelledError when ``should_stop()`` said so between chunks (nothing
        written).
        """
        if not preview.ok:
            raise ImportRefusedError(preview.rows_with_problems, whole_file=bool(preview.file_problems))
        if not preview.rows:
            raise InvalidInputError("file", [message("UserImport", "The file has no rows to import.")])
        if len(preview.rows) > MAX_IMPORT_ROWS:  # more than preview() lets through: one transaction's limit
            raise ImportRefusedError(0, whole_file=True)
        # The actor first: a refused caller must not cause the work of checking rows and making passwords.
        with self._context.database.transaction() as session:
            actor = require_admin(session, actor)
        rows: Sequence[_Row] = (
            preview.rows if self._made.get(id(preview)) is preview else _recheck(preview.rows)
        )
        policy, hasher = self._context.policy, self._context.hasher
        passwords = generate_distinct(len(rows), policy.min_length, policy.max_length)
        hashes = [hasher.hash_temporary(password) for password in passwords]
        try:
            expires_at, ids = self._insert(actor, rows, hashes, should_stop)
        except _CollisionError:
            taken = self._existing(actor, [row.address for row in rows])
            raise ImportConflictError(sorted(taken)) from None
        entries = tuple(
            TemporaryPassword(ids[row.address], row.address, password)
            for row, password in zip(rows, passwords, strict=True)
        )
        return UserImportResult(len(entries), TemporaryPasswords(expires_at, entries))

    @retried
    def _insert(
        self, actor: Actor, rows: Sequence[_Row], hashes: Sequence[str], should_stop: ShouldStop
    ) -> tuple[datetime, dict[str, int]]:
        now = self._context.clock()
        with self._context.database.transaction(write=True) as session:
            actor = require_admin_to_change(session, actor)
            role_ids = self._role_ids(session, {row.role for row in rows})
            taken = _taken(session, [row.address for row in rows], locking=True)
            if taken:
                raise ImportConflictError(sorted(taken))
            hours = read_shared_settings(session, self._context.settings).temporary_password_hours
            expires_at = now + timedelta(hours=hours)
            connection = session.connection()
            ids: dict[str, int] = {}
            detail = f"imported from a CSV file by {actor.label}"
            try:
                for start in range(0, len(rows), IMPORT_CHUNK):
                    if should_stop():
                        raise ImportCancelledError()
                    chunk = rows[start : start + IMPORT_CHUNK]
                    connection.execute(
                        insert(_USERS),
                        [
                            _user_values(row, password_hash, role_ids[row.role], now)
                            for row, password_hash in zip(
                                chunk, hashes[start : start + IMPORT_CHUNK], strict=True
                            )
                        ],
                    )
                    found = dict(
                        connection.execute(
                            select(User.email, User.id).where(User.email.in_([row.address for row in chunk]))
                        ).all()
                    )
                    ids.update(found)
                    audit.record_many(
                        session,
                        now,
                        actor,
                        "create",
                        ((found[row.address], row.address, None, row.role) for row in chunk),
                        detail=detail,
                    )
            except IntegrityError as error:
                if is_missing_parent(error):
                    raise NotFoundError(
                        message(
                            "UserImport", "A role of the file was removed meanwhile; nothing was imported."
                        )
                    ) from None
                raise _CollisionError() from None  # registered by someone else since the check: named below
            audit.record(
                session,
                now,
                actor,
                "user_import",
                actor.label,
                actor.user_id,
                new_value=str(len(rows)),
                detail=f"imported {len(rows):,} accounts from a CSV file",
            )
        return expires_at, ids

    @staticmethod
    def _role_ids(session: Session, names: Iterable[str]) -> dict[str, int]:
        wanted = sorted(set(names))
        found = dict(session.execute(select(Role.name, Role.id).where(Role.name.in_(wanted))).all())
        missing = [name for name in wanted if name not in found]
        if missing:
            raise NotFoundError(
                message(
                    "UserImport", "There is no role named '{role}' (removed meanwhile); nothing was imported."
                ).format(role=shown(missing[0]))
            )
        return found


class _CollisionError(Exception):
    """A unique index refused an address inside the import's transaction (a registration won the race)."""


def _user_values(row: _Row, password_hash: str, role_id: int, now: datetime) -> dict[str, Any]:
    return {
        "email": row.address,
        "email_skeleton": row.key,
        "password_hash": password_hash,
        "role_id": role_id,
        "active": True,
        "must_change_password": True,
        "login_count": 0,
        "password_changed_at": now,
        "create_date": now,
        "update_date": now,
        "version": 1,
    }
