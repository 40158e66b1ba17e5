"""The ``desktop-auth`` command: the GUI without a subcommand, operator commands with one.

Exit status: 0 on success, 1 when an operation is refused (one line on stderr, no traceback), 2 for
usage errors (argparse).
"""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any, TextIO

from desktop_auth import __version__
from desktop_auth.config import Settings, load_settings
from desktop_auth.db.engine import Database
from desktop_auth.db.schema import SchemaState, schema_status
from desktop_auth.errors import DesktopAuthError
from desktop_auth.logs import configure_logging
from desktop_auth.services import Services
from desktop_auth.services.records import Actor, UserQuery, UserRecord

log = logging.getLogger(__name__)

PROG = "desktop-auth"


class CommandError(DesktopAuthError):
    """A CLI-level refusal, e.g. passwords that do not match."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Desktop account manager. Without a command, opens the app.",
    )
    parser.add_argument(
        "--database-url", metavar="URL", help="database to use (overrides DATABASE_URL and .env)"
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--self-test", action="store_true", help="drive the app end to end offscreen on a temporary database"
    )
    commands = parser.add_subparsers(dest="group", metavar="COMMAND")

    db = commands.add_parser("db", help="schema migrations").add_subparsers(dest="action", required=True)
    upgrade = db.add_parser("upgrade", help="upgrade the schema (adopts a tutorial database)")
    upgrade.add_argument("revision", nargs="?", default="head")
    db.add_parser("current", help="show the schema revision")
    downgrade = db.add_parser(
        "downgrade", help="downgrade the schema to REVISION ('base' removes every table)"
    )
    downgrade.add_argument("revision")

    users = commands.add_parser("users", help="manage accounts").add_subparsers(dest="action", required=True)
    create = users.add_parser("create", help="create an account (prompts for its password)")
    create.add_argument("email")
    create.add_argument(
        "--role", default="user", help="role name (default: user; 'admin' for an administrator)"
    )
    create.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    listing = users.add_parser("list", help="list accounts")
    listing.add_argument("--role", help="only accounts with this role")
    listing.add_argument("--search", default="", help="only addresses containing TEXT", metavar="TEXT")
    listing.add_argument("--json", action="store_true", help="print JSON")
    set_role = users.add_parser("set-role", help="give an account another role")
    set_role.add_argument("email")
    set_role.add_argument("role")
    for name, text in (
        ("activate", "let an account sign in again"),
        ("deactivate", "stop an account from signing in"),
        ("unlock", "lift a sign-in lockout"),
    ):
        users.add_parser(name, help=text).add_argument("email")
    reset = users.add_parser("reset-password", help="set a temporary password the user must change")
    reset.add_argument("email")
    reset.add_argument("--password-stdin", action="store_true", help="read the password from standard input")

    roles = commands.add_parser("roles", help="manage roles").add_subparsers(dest="action", required=True)
    roles.add_parser("list", help="list roles with how many accounts hold each")
    roles.add_parser("add", help="add a role").add_argument("name")
    roles.add_parser("remove", help="remove an unused role").add_argument("name")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args, rest = parser.parse_known_args(args_list)
    if args.self_test:
        from desktop_auth.selftest import run as self_test

        return self_test()
    if args.group is None:
        from desktop_auth.app import main as gui_main  # Qt is imported only when the GUI is wanted

        return gui_main(args_list)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        settings = load_settings(database_url=args.database_url)
        configure_logging(settings.effective_log_dir)
        return _run(args, settings, sys.stdout)
    except DesktopAuthError as error:
        print(f"{PROG}: error: {error.message}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # e.g. `desktop-auth users list | head`: the reader left, which is fine
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the interpreter's flush at exit
        return 0
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # a bug: keep the traceback for the log file, not the terminal
        log.exception("Unexpected error in the CLI")
        print(
            f"{PROG}: unexpected error ({type(error).__name__}); details are in the log file", file=sys.stderr
        )
        return 1


def _run(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    database = Database(settings)
    try:
        if args.group == "db":
            return _db_command(args, database, out)
        _require_current_schema(database)
        services = Services(settings, database)
        handler = {"users": _users_command, "roles": _roles_command}[args.group]
        return handler(args, services, out)
    finally:
        database.dispose()


def _require_current_schema(database: Database) -> None:
    status = schema_status(database)
    if database.settings.embedded and status.state in (SchemaState.EMPTY, SchemaState.OUTDATED):
        from desktop_auth.db import migrate

        migrate.upgrade(database)  # the embedded database is ours alone: keep it current silently
        return
    status.require_current()


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
        password = _read_new_password(args.password_stdin)
        user = services.admin.get_user(actor, args.email)
        services.admin.reset_password(actor, [user.id], password)
        print(f"{user.email} has a temporary password and must change it at the next sign-in.", file=out)
    return 0


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
