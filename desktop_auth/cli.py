"""The ``desktop-auth`` command: the GUI without a subcommand, operator commands with one.

Exit status: 0 on success, 1 when an operation is refused (one line on stderr, no traceback), 2 for
usage errors (argparse), 130 when interrupted. A hint to run ``desktop-auth db upgrade`` names the
``--database-url`` (password masked) or ``--database-url-file`` given, so it can be copied. This module stays light: the GUI starts without loading the database layer, and
the commands (``desktop_auth.commands``) load it only when they run.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

from desktop_auth.app import add_database_options, database_option
from desktop_auth.errors import DesktopAuthError

log = logging.getLogger(__name__)

PROG = "desktop-auth"
#: The shared settings by their command-line names (``settings set NAME VALUE``; commands_two_factor.py).
SETTING_NAMES = (
    "allow-self-registration",
    "require-2fa-for-admins",
    "lockout-threshold",
    "lockout-base-seconds",
    "lockout-max-seconds",
    "idle-timeout-minutes",
    "temporary-password-hours",
)


class _VersionAction(argparse.Action):
    """--version, reading the package metadata only when asked."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest=dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        from desktop_auth import __version__

        print(f"{PROG} {__version__}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Desktop account manager. Without a command, opens the app.",
    )
    add_database_options(parser)
    parser.add_argument("--version", action=_VersionAction, help="print the version and exit")
    parser.add_argument(
        "--self-test", action="store_true", help="drive the app end to end offscreen on a temporary database"
    )
    commands = parser.add_subparsers(dest="group", metavar="COMMAND")

    db = commands.add_parser("db", help="schema migrations").add_subparsers(dest="action", required=True)
    upgrade = db.add_parser("upgrade", help="upgrade the schema (adopts a tutorial database)")
    upgrade.add_argument(
        "revision", nargs="?", default="head", help="a revision id, head (the default) or a step such as +1"
    )
    db.add_parser(
        "current",
        help="show the schema revision and its state, e.g. '0007 (current)'; when the SQLite file does not "
        "exist it says there is no database there (exit status 1) and creates nothing",
    )
    downgrade = db.add_parser(
        "downgrade", help="downgrade the schema to REVISION ('base' removes every table)"
    )
    downgrade.add_argument("revision", help="a revision id, base, or a step such as -1")

    users = commands.add_parser("users", help="manage accounts").add_subparsers(dest="action", required=True)
    create = users.add_parser(
        "create", help="create an account (asks for its password on a terminal; else use --password-stdin)"
    )
    create.add_argument("email")
    create.add_argument(
        "--role", default="user", help="role name (default: user; 'admin' for an administrator)"
    )
    create_password = create.add_mutually_exclusive_group()
    create_password.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    create_password.add_argument(
        "--temporary-password",
        action="store_true",
        help="give it a random temporary password (printed once) that must be changed at the first sign-in "
        "and expires, as the role editor's Create user does",
    )
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
    rename = users.add_parser(
        "rename",
        help="change an account's email address (same checks as registration; its sign-in lockout follows it)",
    )
    rename.add_argument("old", metavar="OLD")
    rename.add_argument("new", metavar="NEW")
    delete_users = users.add_parser(
        "delete",
        help="delete accounts, all or none (asks first on a terminal; never the last active administrator)",
    )
    delete_users.add_argument("emails", nargs="+", metavar="EMAIL")
    delete_users.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    reset = users.add_parser(
        "reset-password",
        help="give the account a random temporary password (printed once) that must be changed and expires",
    )
    reset.add_argument("email")
    reset.add_argument(
        "--password-stdin",
        action="store_true",
        help="use the temporary password read from standard input instead of a random one",
    )
    import_users = users.add_parser(
        "import",
        help="create accounts from a CSV file (header email,role), all or none, each with a random temporary "
        "password written to --passwords-out; problems are printed as 'line N: reason'",
    )
    import_users.add_argument(
        "file", metavar="FILE.csv", help="UTF-8 CSV, header line email,role (role optional)"
    )
    import_users.add_argument(
        "--passwords-out",
        required=True,
        metavar="FILE",
        help="new CSV file for the temporary passwords, created readable only by you (must not exist yet)",
    )
    users.add_parser(
        "recovery-codes",
        help="print a new batch of recovery codes for the account (the earlier ones stop working)",
    ).add_argument("email")
    reset_two_factor = users.add_parser(
        "reset-2fa",
        help="remove the account's two-factor sign-in (a lost phone): the password alone signs in until it "
        "is set up again (asks first on a terminal)",
    )
    reset_two_factor.add_argument("email")
    reset_two_factor.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    settings = commands.add_parser(
        "settings", help="the shared settings every client of the database follows"
    ).add_subparsers(dest="action", required=True)
    settings.add_parser("show", help="print each shared setting and its value")
    set_setting = settings.add_parser(
        "set", help="change a shared setting, e.g. 'settings set require-2fa-for-admins on'"
    )
    set_setting.add_argument("name", choices=SETTING_NAMES, metavar="NAME", help=", ".join(SETTING_NAMES))
    set_setting.add_argument("value", metavar="VALUE", help="on or off, or a whole number")

    two_factor = commands.add_parser("2fa", help="two-factor sign-in").add_subparsers(
        dest="action", required=True
    )
    two_factor.add_parser(
        "new-key",
        help="print a new key for DESKTOP_AUTH_TOTP_KEY (two-factor secrets encrypted at rest); needs no "
        "database",
    )

    roles = commands.add_parser("roles", help="manage roles").add_subparsers(dest="action", required=True)
    roles.add_parser("list", help="list roles with how many accounts hold each")
    roles.add_parser("add", help="add a role").add_argument("name")
    roles.add_parser("remove", help="remove an unused role").add_argument("name")
    rename_role = roles.add_parser(
        "rename", help="rename a role (not 'admin' or 'user'); its holders keep it"
    )
    rename_role.add_argument("old")
    rename_role.add_argument("new")
    describe_role = roles.add_parser("describe", help="set a role's short description (empty text clears it)")
    describe_role.add_argument("name")
    describe_role.add_argument("text", help="one line, at most 200 characters; '' clears the description")

    audit = commands.add_parser("audit", help="the history of changes").add_subparsers(
        dest="action", required=True
    )
    erase = audit.add_parser(
        "erase",
        help="replace a deleted account's address in the history with 'deleted account #N' (asks first on a "
        "terminal)",
    )
    erase.add_argument("email")
    erase.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    return parser


def _with_database_option(message: str, args: argparse.Namespace) -> str:
    """``message`` with its "run: desktop-auth db upgrade" hint naming the database given on the command
    line (--database-url with its password masked, or --database-url-file), so the hint can be copied."""
    from desktop_auth.db.schema import UPGRADE_COMMAND

    option = database_option(args)
    if UPGRADE_COMMAND not in message or not option:
        return message
    return message.replace(UPGRADE_COMMAND, UPGRADE_COMMAND.replace(" db ", f" {option} db ", 1))


def _tolerant_output() -> None:
    """On a terminal that is not UTF-8 (say, a Latin-1 locale), write what it cannot show as \\uXXXX
    escapes instead of failing with UnicodeEncodeError after the command did its work."""
    for stream in (sys.stdout, sys.stderr):
        if "utf" not in (getattr(stream, "encoding", None) or "utf").lower() and hasattr(
            stream, "reconfigure"
        ):
            stream.reconfigure(errors="backslashreplace")


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
    _tolerant_output()
    try:
        from desktop_auth.commands import run_command

        return run_command(args, sys.stdout)
    except DesktopAuthError as error:
        said = _with_database_option(error.message, args)
        # A refusal quotes what was typed, which may hold a lone surrogate (not text): escaped, as repr does.
        print(f"{PROG}: error: {said.encode('utf-8', 'backslashreplace').decode('utf-8')}", file=sys.stderr)
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
