"""What each operator command does (``desktop-auth db|users|roles|settings|2fa ...``); ``desktop_auth.cli``
parses.

Every refusal is a ``DesktopAuthError`` whose message ``desktop_auth.cli`` prints as one line (exit 1);
dates are written in UTC with their offset (``desktop_auth.services.timestamps``).
"""

from __future__ import annotations

import argparse
import getpass
import json
import re
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy.exc import DatabaseError

from desktop_auth import commands_lifecycle, commands_two_factor
from desktop_auth.config import Settings, load_settings
from desktop_auth.db.engine import Database
from desktop_auth.db.schema import REVISIONS, UPGRADE_COMMAND, schema_status
from desktop_auth.db.urls import parse_database_url
from desktop_auth.errors import DesktopAuthError
from desktop_auth.identity import normalize_email
from desktop_auth.logs import configure_logging
from desktop_auth.services import Services
from desktop_auth.services.records import Actor, UserQuery, UserRecord
from desktop_auth.services.startup import open_services
from desktop_auth.services.timestamps import utc_text

#: Revisions every ``db`` command understands besides the scripts' own ids; relative steps (``-1``,
#: ``+2``, ``0003+1``) are Alembic's to resolve.
_NAMED_REVISIONS = ("head", "heads", "base")
_RELATIVE_REVISION = re.compile(r"^[^+-]*[+-][0-9]+$")
_ROLES_NAMED = 20  # roles listed in a refusal; the rest are counted


class CommandError(DesktopAuthError):
    """A CLI-level refusal, e.g. passwords that do not match."""


def _shown(text: str, limit: int = 60) -> str:
    """``text`` (from argv or stdin) quoted for a one-line message: control characters escaped, cut short."""
    return repr(text if len(text) <= limit else text[:limit] + "…")


def _printable(text: str, limit: int = 200) -> str:
    """``text`` (say, a library's message quoting argv) as one line without control characters."""
    return _shown(text, limit)[1:-1]


def run_command(args: argparse.Namespace, out: TextIO) -> int:
    if args.group == "2fa":  # needs no database nor configuration (it makes the key the configuration lacks)
        return commands_two_factor.new_key(out)
    settings = load_settings(database_url=args.database_url, database_url_file=args.database_url_file)
    configure_logging(settings.effective_log_dir)
    return _run(args, settings, out)


def _missing_sqlite_file(settings: Settings) -> Path | None:
    """The file a SQLite URL names when it does not exist (opening it would create it); else None."""
    url = parse_database_url(settings.database_url)
    name = url.database
    if url.get_backend_name() != "sqlite" or not name or name == ":memory:" or name.startswith("file:"):
        return None
    path = Path(name).expanduser()
    return None if path.exists() else path


def _run(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    creates = args.group == "db" and args.action == "upgrade"
    if not creates and not (settings.embedded and args.group != "db"):  # the app creates its own file
        missing = _missing_sqlite_file(settings)
        if missing is not None:
            raise CommandError(
                f"There is no database at {str(missing)!r} (no such file; nothing was created). "
                f"To create one, run: {UPGRADE_COMMAND}"
            )
    if (
        args.group == "users"
        and args.action == "create"
        and not (args.password_stdin or args.temporary_password)
    ):
        _require_terminal()  # before the database is opened: nothing to wait for
    database = Database(settings)
    try:
        if args.group == "db":
            return _db_command(args, database, out)
        services = open_services(settings, Services(settings, database)).services  # the start-up policy
        handler = {
            "users": _users_command,
            "roles": _roles_command,
            "audit": commands_lifecycle.audit_command,
            "settings": commands_two_factor.settings_command,
        }[args.group]
        return handler(args, services, out)
    except DatabaseError as error:
        if database.dialect_name == "sqlite" and isinstance(error.orig, sqlite3.DatabaseError):
            # "file is not a database", "database disk image is malformed": not the app's bug
            path = parse_database_url(settings.database_url).database or ""
            raise CommandError(
                f"{path!r} is not a usable SQLite database ({_printable(str(error.orig))}); nothing was changed."
            ) from error
        raise
    finally:
        database.dispose()


def _db_command(args: argparse.Namespace, database: Database, out: TextIO) -> int:
    from desktop_auth.db import migrate  # Alembic is imported only for migration commands

    if args.action in ("upgrade", "downgrade"):
        from alembic.util import CommandError as AlembicCommandError

        target = _known_revision(args.revision)
        try:
            if args.action == "upgrade":
                revision = migrate.upgrade(database, target)
            else:
                revision = migrate.downgrade(database, target)
        except AlembicCommandError as error:  # e.g. a step past head, or a downgrade "up" to a newer revision
            detail = _printable(str(error) or type(error).__name__)
            raise CommandError(f"Cannot {args.action} to revision {_shown(target)}: {detail}") from None
        print(f"Database schema is at revision {revision or 'base (no tables)'}.", file=out)
    else:
        status = schema_status(database)
        print(f"{status.revision or 'none'} ({status.state.value})", file=out)
    return 0


def _known_revision(revision: str) -> str:
    """``revision`` when this version can migrate to it; a one-line refusal, before anything is touched
    (a tutorial database would be adopted first), when no script has that id."""
    if revision in REVISIONS or revision in _NAMED_REVISIONS or _RELATIVE_REVISION.match(revision):
        return revision
    raise CommandError(
        f"Unknown revision {_shown(revision)}: this version knows {', '.join(REVISIONS)}, head, base "
        "and relative steps such as -1; nothing was changed."
    )


def _require_terminal() -> None:
    if not sys.stdin.isatty():
        raise CommandError(
            "Standard input is not a terminal, so the password cannot be asked for: "
            "give it on standard input with --password-stdin; nothing was changed."
        )


def _ask(prompt: str) -> str:
    try:
        return getpass.getpass(prompt)
    except EOFError:  # Ctrl-D, or a terminal that went away
        raise CommandError("No password was entered; nothing was changed.") from None


def _prompt_new_password(check: Callable[[str], None]) -> str:
    """Ask twice without echo; ``check`` (the password policy) refuses a weak one before the second ask."""
    _require_terminal()
    first = _ask("Password: ")
    check(first)
    if _ask("Repeat password: ") != first:
        raise CommandError("The passwords do not match; nothing was changed.")
    return first


def _read_stdin_password(max_length: int) -> str:
    """The first line of standard input, without its line ending (``--password-stdin``)."""
    limit = 4 * max_length + 2  # NFKC may shorten what was typed; the policy counts after it
    try:
        line = sys.stdin.readline(limit)
    except UnicodeDecodeError:
        raise CommandError("The password on standard input is not UTF-8 text; nothing was changed.") from None
    if len(line) >= limit and not line.endswith("\n"):
        raise CommandError(
            f"The password on standard input is longer than {max_length} characters; nothing was changed."
        )
    password = line[:-1] if line.endswith("\n") else line
    return password[:-1] if password.endswith("\r") else password


def _require_role(services: Services, name: str) -> None:
    """A one-line refusal naming ``name`` and the roles there are, unless a role has that name."""
    names = [role.name for role in services.roles.list_roles()]
    if name in names:
        return
    listed = ", ".join(names[:_ROLES_NAMED])
    more = len(names) - _ROLES_NAMED
    listed += f" and {more} more" if more > 0 else ""
    raise CommandError(f"There is no role named {_shown(name)}; the roles are: {listed}.")


def _users_command(args: argparse.Namespace, services: Services, out: TextIO) -> int:
    actor = Actor.operator()
    action: str = args.action
    if action == "create" and args.temporary_password:
        commands_lifecycle.create_with_temporary_password(args, services, out)
    elif action == "delete":
        commands_lifecycle.delete_users(args, services, out)
    elif action == "create":
        email = normalize_email(args.email)  # a bad address or role is refused before any prompt
        _require_role(services, args.role)
        policy = services.policy
        if args.password_stdin:
            password = _read_stdin_password(policy.max_length)
        else:
            password = _prompt_new_password(lambda typed: policy.validate(typed, email))
        record = services.admin.create_user(actor, email, password, args.role)
        print(f"Created {record.email} with role {record.role}.", file=out)
    elif action == "list":
        if args.role is not None:
            _require_role(services, args.role)
        _print_users(
            _all_users(services, actor, UserQuery(search=args.search, role=args.role)), args.json, out
        )
    elif action == "rename":
        record = services.own_account.rename(actor, args.old, args.new)
        print(f"{normalize_email(args.old)} is now {record.email}.", file=out)
    elif action == "set-role":
        record = services.admin.set_role(actor, args.email, args.role)
        print(f"{record.email} now has role {record.role}.", file=out)
    elif action in ("activate", "deactivate"):
        record = services.admin.set_active(actor, args.email, action == "activate")
        print(f"{record.email} is now {'active' if record.active else 'inactive'}.", file=out)
    elif action == "unlock":
        count = services.admin.unlock(actor, [args.email])
        print(f"{normalize_email(args.email)}: {'unlocked' if count else 'was not locked'}.", file=out)
    elif action == "reset-2fa":
        commands_two_factor.reset_two_factor(args, services, out)
    elif action == "import":
        from desktop_auth.commands_import import import_users

        return import_users(args, services, out)
    elif action == "reset-password":
        _reset_password(services, actor, args.email, args.password_stdin, out)
    elif action == "recovery-codes":
        issued = services.recovery.issue_for(actor, args.email)
        print(f"Recovery codes for {issued.email} (each works once; not shown again):", file=out)
        for code in issued.codes:
            print(f"  {code}", file=out)
        if issued.replaced_earlier:
            print(
                f"desktop-auth: the earlier recovery codes of {issued.email} stop working.", file=sys.stderr
            )
    return 0


def _reset_password(services: Services, actor: Actor, email: str, from_stdin: bool, out: TextIO) -> None:
    """A random temporary password printed once, or (``--password-stdin``) the operator's own choice."""
    chosen = _read_stdin_password(services.policy.max_length) if from_stdin else None
    user = services.admin.get_user(actor, email)
    rule = "must be changed at the next sign-in"
    if chosen is not None:
        expires_at = services.admin.set_temporary_password(actor, user.id, chosen, user.version)
        expires = utc_text(expires_at)
        print(f"{user.email} has the temporary password you chose; it {rule}, expiring {expires}.", file=out)
        return
    result = services.admin.reset_password(actor, [user.id], {user.id: user.version})
    print(f"Temporary password for {user.email}: {result.entries[0].password}", file=out)
    print(f"It {rule} and expires at {utc_text(result.expires_at)}. It is not shown again.", file=out)


def _all_users(services: Services, actor: Actor, query: UserQuery) -> list[UserRecord]:
    users: list[UserRecord] = []
    while True:
        page = services.admin.list_users(actor, query, offset=len(users), limit=1000)
        users.extend(page)
        if len(page) < 1000:
            return users


def _fmt(value: datetime | None) -> str:
    return utc_text(value, none="-")


def _print_users(users: list[UserRecord], as_json: bool, out: TextIO) -> None:
    if as_json:

        def encode(value: Any) -> Any:
            return utc_text(value) if isinstance(value, datetime) else value

        rows = [{key: encode(value) for key, value in asdict(user).items()} for user in users]
        json.dump(rows, out, indent=2, ensure_ascii=False)
        out.write("\n")
        return
    headers = (
        "EMAIL",
        "ROLE",
        "ACTIVE",
        "LOCKED UNTIL",
        "LAST SIGN-IN",
        "SIGN-INS",
        "CREATED",
        "MUST CHANGE",
        "TEMPORARY EXPIRES",
        "CODES LEFT",
        "2FA",
    )
    table = [
        (
            u.email,
            u.role,
            "yes" if u.active else "no",
            _fmt(u.locked_until),
            _fmt(u.last_login_at),
            str(u.login_count),
            _fmt(u.created_at),
            "yes" if u.must_change_password else "no",
            _fmt(u.temporary_password_expires_at),
            str(u.recovery_codes_left),
            "on" if u.two_factor else "off",
        )
        for u in users
    ]
    widths = [max([len(h)] + [len(row[i]) for row in table]) for i, h in enumerate(headers)]
    for row in [headers, *table]:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip(), file=out
        )
    print(f"{len(users)} account{'s' if len(users) != 1 else ''}", file=out)


def _roles_command(args: argparse.Namespace, services: Services, out: TextIO) -> int:
    actor = Actor.operator()
    if args.action == "list":
        for role in services.roles.list_roles():
            line = f"{role.name:<24} {role.user_count:>8}{'  (built in)' if role.protected else ''}"
            print(f"{line}  {role.description}" if role.description else line, file=out)
    elif args.action == "rename":
        renamed = services.roles.rename_role(actor, args.old, args.new)
        print(f"Renamed role {args.old.strip().lower()} to {renamed.name}.", file=out)
    elif args.action == "describe":
        described = services.roles.describe_role(actor, args.name, args.text)
        if described.description is None:
            print(f"Cleared the description of role {described.name}.", file=out)
        else:
            print(f"Role {described.name}: {described.description}", file=out)
    elif args.action == "add":
        print(f"Added role {services.roles.add_role(actor, args.name).name}.", file=out)
    elif args.action == "remove":
        services.roles.remove_role(actor, args.name)
        print(f"Removed role {args.name.strip().lower()}.", file=out)
    return 0
