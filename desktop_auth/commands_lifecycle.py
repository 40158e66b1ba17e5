"""The operator commands of the account lifecycle (``services.lifecycle``): ``users create
--temporary-password``, ``users delete EMAIL... [--yes]`` and ``audit erase EMAIL [--yes]``.

A destructive command asks on a terminal (``--yes`` skips the question) and refuses, changing nothing,
when it cannot ask (standard input is not a terminal) and ``--yes`` was not given. Refusals are
``DesktopAuthError``s: one line and exit status 1 (``desktop_auth.cli``).
"""

from __future__ import annotations

import argparse
import sys
import unicodedata
from typing import TextIO

from desktop_auth.errors import DesktopAuthError
from desktop_auth.services import Services
from desktop_auth.services.records import Actor
from desktop_auth.services.timestamps import utc_text


class NotConfirmedError(DesktopAuthError):
    """The operator did not confirm (or could not be asked); nothing was changed."""


def create_with_temporary_password(args: argparse.Namespace, services: Services, out: TextIO) -> None:
    """``users create EMAIL --temporary-password``: as the role editor's Create user does."""
    created = services.lifecycle.create_user(Actor.operator(), args.email, args.role)
    record = created.record
    print(f"Created {record.email} with role {record.role}.", file=out)
    print(f"Temporary password for {record.email}: {created.password}", file=out)
    print(
        f"It must be changed at the first sign-in and expires at {utc_text(created.expires_at)}. "
        "It is not shown again.",
        file=out,
    )


def delete_users(args: argparse.Namespace, services: Services, out: TextIO) -> None:
    """``users delete EMAIL... [--yes]``: all of them or none."""
    actor = Actor.operator()
    targets = services.lifecycle.targets_by_email(actor, args.emails)  # unknown addresses: refused here
    if targets.single_email is not None:
        what, answer = targets.single_email, targets.single_email
    else:
        named = ", ".join(targets.emails) + (" and more" if targets.count > len(targets.emails) else "")
        what, answer = f"{targets.count:,} accounts ({named})", str(targets.count)
    if not args.yes:
        _confirm(f"Delete {what}? This cannot be undone. Type {answer} to confirm: ", answer)
    deleted = services.lifecycle.delete_users(actor, targets.user_ids)
    if targets.single_email is not None and deleted == 1:
        print(f"Deleted {targets.single_email}.", file=out)
    else:
        print(f"Deleted {deleted:,} account{'s' if deleted != 1 else ''}.", file=out)


def audit_command(args: argparse.Namespace, services: Services, out: TextIO) -> int:
    """``audit erase EMAIL [--yes]``."""
    if args.action == "erase":
        if not args.yes:
            _confirm(
                f"Erase {args.email.strip()} from the history (it becomes 'deleted account #N')? "
                "This cannot be undone. Type yes to confirm: ",
                "yes",
            )
        changed = services.lifecycle.erase_address(Actor.operator(), args.email)
        print(f"Erased the address from {changed:,} history entr{'ies' if changed != 1 else 'y'}.", file=out)
    return 0


def _confirm(prompt: str, expected: str) -> None:
    if not sys.stdin.isatty():
        raise NotConfirmedError(
            "Standard input is not a terminal, so this cannot be confirmed: add --yes; nothing was changed."
        )
    try:
        typed = input(prompt)
    except EOFError:
        typed = ""
    if _folded(typed) != _folded(expected) and _folded(typed).replace(",", "") != _folded(expected):
        raise NotConfirmedError("Not confirmed; nothing was changed.")


def _folded(text: str) -> str:
    return unicodedata.normalize("NFC", text.strip()).casefold()
