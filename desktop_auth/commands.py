"""What each operator command does (``desktop-auth db|users|roles ...``); ``desktop_auth.cli`` parses."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from dataclasses import asdict
from datetime import datetime
from typing import Any, TextIO

from desktop_auth.config import Settings, load_settings
from desktop_auth.db.engine import Database
from desktop_auth.db.schema import schema_status
from desktop_auth.errors import DesktopAuthError
from desktop_auth.logs import configure_logging
from desktop_auth.services import Services
from desktop_auth.services.records import Actor, UserQuery, UserRecord
from desktop_auth.services.startup import open_services


class CommandError(DesktopAuthError):
    """A CLI-level refusal, e.g. passwords that do not match."""


def run_command(args: argparse.Namespace, out: TextIO) -> int:
    settings = load_settings(database_url=args.database_url, database_url_file=args.database_url_file)
    configure_logging(settings.effective_log_dir)
    return _run(args, settings, out)


def _run(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    database = Database(settings)
    try:
        if args.group == "db":
            return _db_command(args, database, out)
        services = open_services(settings, Services(settings, database)).services  # the start-up policy
        handler = {"users": _users_command, "roles": _roles_command}[args.group]
        return handler(args, services, out)
    finally:
        database.dispose()


def _db_command(args: argparse.Namespace, database: Database, out: TextIO) -> int:
    from desktop_auth.db import migrate  # Alembic is imported only for migration commands

    if args.action == "upgrade":
        revision = migrate.upgrade(database, args.revision)
        print(f"Database schema is at revision {revision}.", file=out)
    elif args.action == "downgrade":
        revision = migrate.downgrade(database, args.revision)
        print(f"Database schema is at revision {revision or 'base (no tables)'}.", file=out)
    else:
        status = schema_status(database)
        print(f"{status.revision or 'none'} ({status.state.value})", file=out)
    return 0


def _read_new_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
        if password.endswith("\r"):
            password = password[:-1]
        return password
    first = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != first:
        raise CommandError("The passwords do not match; nothing was changed.")
    return first


def _users_command(args: argparse.Namespace, services: Services, out: TextIO) -> int:
    actor = Actor.operator()
    action: str = args.action
    if action == "create":
        password = _read_new_password(args.password_stdin)
        record = services.admin.create_user(actor, args.email, password, args.role)
        print(f"Created {record.email} with role {record.role}.", file=out)
    elif action == "list":
        _print_users(
            _all_users(services, actor, UserQuery(search=args.search, role=args.role)), args.json, out
        )
    elif action == "set-role":
        record = services.admin.set_role(actor, args.email, args.role)
        print(f"{record.email} now has role {record.role}.", file=out)
    elif action in ("activate", "deactivate"):
        record = services.admin.set_active(actor, args.email, action == "activate")
        print(f"{record.email} is now {'active' if record.active else 'inactive'}.", file=out)
    elif action == "unlock":
        count = services.admin.unlock(actor, [args.email])
        print(f"{args.email.strip().lower()}: {'unlocked' if count else 'was not locked'}.", file=out)
    elif action == "reset-password":
        _reset_password(services, actor, args.email, args.password_stdin, out)
    return 0


def _reset_password(services: Services, actor: Actor, email: str, from_stdin: bool, out: TextIO) -> None:
    """A random temporary password printed once, or (``--password-stdin``) the operator's own choice."""
    chosen = _read_new_password(True) if from_stdin else None
    user = services.admin.get_user(actor, email)
    rule = "must be changed at the next sign-in"
    if chosen is not None:
        expires_at = services.admin.set_temporary_password(actor, user.id, chosen, user.version)
        expires = _local(expires_at)
        print(f"{user.email} has the temporary password you chose; it {rule}, expiring {expires}.", file=out)
        return
    result = services.admin.reset_password(actor, [user.id], {user.id: user.version})
    print(f"Temporary password for {user.email}: {result.entries[0].password}", file=out)
    print(f"It {rule} and expires at {_local(result.expires_at)}. It is not shown again.", file=out)


def _local(moment: datetime) -> str:
    return moment.astimezone().isoformat(sep=" ", timespec="minutes")


def _all_users(services: Services, actor: Actor, query: UserQuery) -> list[UserRecord]:
    users: list[UserRecord] = []
    while True:
        page = services.admin.list_users(actor, query, offset=len(users), limit=1000)
        users.extend(page)
        if len(page) < 1000:
            return users


def _fmt(value: datetime | None) -> str:
    return value.isoformat(sep=" ", timespec="seconds") if value else "-"


def _print_users(users: list[UserRecord], as_json: bool, out: TextIO) -> None:
    if as_json:

        def encode(value: Any) -> Any:
            return value.isoformat() if isinstance(value, datetime) else value

        rows = [{key: encode(value) for key, value in asdict(user).items()} for user in users]
        json.dump(rows, out, indent=2, ensure_ascii=False)
        out.write("\n")
        return
    headers = ("EMAIL", "ROLE", "ACTIVE", "LOCKED UNTIL", "LAST SIGN-IN", "SIGN-INS", "CREATED")
    table = [
        (
            u.email,
            u.role,
            "yes" if u.active else "no",
            _fmt(u.locked_until),
            _fmt(u.last_login_at),
            str(u.login_count),
            _fmt(u.created_at),
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
            print(f"{role.name:<24} {role.user_count:>8}{'  (built in)' if role.protected else ''}", file=out)
    elif args.action == "add":
        print(f"Added role {services.roles.add_role(actor, args.name).name}.", file=out)
    elif args.action == "remove":
        services.roles.remove_role(actor, args.name)
        print(f"Removed role {args.name.strip().lower()}.", file=out)
    return 0
