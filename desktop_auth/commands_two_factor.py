"""The operator commands of two-factor sign-in and the shared settings: ``users reset-2fa EMAIL [--yes]``,
``settings show``, ``settings set NAME VALUE`` and ``2fa new-key``.

``users reset-2fa`` asks on a terminal (``--yes`` skips the question) and refuses, changing nothing, when it
cannot ask. ``2fa new-key`` needs no database and no configuration: it is what an operator runs when the
configured key is missing or not a key. Refusals are ``DesktopAuthError``s: one line, exit status 1
(``desktop_auth.cli``).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict, fields
from typing import Final, TextIO

from desktop_auth.commands_lifecycle import NotConfirmedError
from desktop_auth.commands_lifecycle import _confirm as confirm  # the lifecycle commands' question
from desktop_auth.constants import ADMIN_ROLE
from desktop_auth.errors import DesktopAuthError
from desktop_auth.services import Services
from desktop_auth.services.records import Actor, SharedSettings, UserQuery

_SHORTER: Final = {"require_two_factor_for_admins": "require-2fa-for-admins"}  # as the issue names it
#: The shared settings (``SharedSettings``' fields) by their command-line names, in ``settings show``'s
#: order (``desktop_auth.cli``, which stays light, lists the same names for ``settings set``).
SETTING_NAMES: Final = {
    _SHORTER.get(field.name, field.name.replace("_", "-")): field.name
    for field in sorted(fields(SharedSettings), key=lambda field: field.type not in (bool, "bool"))
}
_SWITCHES: Final = {"on": True, "off": False}
KEY_ADVICE: Final = (
    "desktop-auth: give this key to every client of the database as DESKTOP_AUTH_TOTP_KEY (its environment "
    "or .env) and keep it secret; a client with another key, or none, cannot read the two-factor secrets "
    "stored with this one, and their owners cannot sign in there."
)


class SettingValueError(DesktopAuthError):
    """A value ``settings set`` cannot give its setting; nothing was changed."""


def reset_two_factor(args: argparse.Namespace, services: Services, out: TextIO) -> None:
    """``users reset-2fa EMAIL [--yes]``: remove the account's authenticator (audited)."""
    actor = Actor.operator()
    user = services.admin.get_user(actor, args.email)  # an unknown address is refused before asking
    if not user.two_factor:
        raise NotConfirmedError(f"{user.email} has no two-factor sign-in to reset; nothing was changed.")
    if not args.yes:
        confirm(
            f"Reset the two-factor sign-in of {user.email}? Until they set it up again, the password alone "
            "signs in. Type yes to confirm: ",
            "yes",
        )
    services.two_factor.reset(actor, user.email)
    print(f"Reset the two-factor sign-in of {user.email}; the password alone signs in now.", file=out)


def settings_command(args: argparse.Namespace, services: Services, out: TextIO) -> int:
    """``settings show`` and ``settings set NAME VALUE``."""
    if args.action == "set":
        field = SETTING_NAMES[args.name]  # argparse offers only these names
        value = _value(args.name, field, args.value)
        before = services.app_settings.get()
        shown = _print_settings(services.app_settings.update(Actor.operator(), **{field: value}), None)
        print(f"{args.name} is now {shown[args.name]}.", file=out)
        if field == "require_two_factor_for_admins" and value and not before.require_two_factor_for_admins:
            _say_who_must_enroll(services)
    else:
        _print_settings(services.app_settings.get(), out)
    return 0


def _say_who_must_enroll(services: Services) -> None:
    """On stderr: the active administrators without an authenticator, who must set one up at their next
    sign-in and can do nothing administrative until then."""
    admins = services.admin.list_users(Actor.operator(), UserQuery(role=ADMIN_ROLE), 0, 1000)
    without = [user.email for user in admins if user.active and not user.two_factor]
    if without:
        named = ", ".join(without[:5]) + (f" and {len(without) - 5} more" if len(without) > 5 else "")
        print(
            f"desktop-auth: {len(without)} administrator{'s have' if len(without) != 1 else ' has'} no "
            f"two-factor sign-in yet ({named}): each sets it up at the next sign-in.",
            file=sys.stderr,
        )


def _value(name: str, field: str, typed: str) -> bool | int:
    kind = next(f.type for f in fields(SharedSettings) if f.name == field)
    text = typed.strip().lower()
    if kind in (bool, "bool"):
        if text not in _SWITCHES:
            raise SettingValueError(f"{name} is on or off, not {typed[:40]!r}; nothing was changed.")
        return _SWITCHES[text]
    if not (text.isascii() and text.isdigit()) or len(text) > 9:
        raise SettingValueError(f"{name} is a whole number, not {typed[:40]!r}; nothing was changed.")
    return int(text)  # its range is the services' to check (services.app_settings.validate)


def _print_settings(shared: SharedSettings, out: TextIO | None) -> dict[str, str]:
    values = asdict(shared)
    shown = {
        name: ("on" if values[field] else "off") if isinstance(values[field], bool) else str(values[field])
        for name, field in SETTING_NAMES.items()
    }
    if out is not None:
        width = max(len(name) for name in shown)
        for name, value in shown.items():
            print(f"{name.ljust(width)}  {value}", file=out)
    return shown


def new_key(out: TextIO) -> int:
    """``2fa new-key``: a fresh Fernet key for DESKTOP_AUTH_TOTP_KEY on stdout, how to use it on stderr."""
    from cryptography.fernet import Fernet

    print(Fernet.generate_key().decode("ascii"), file=out)
    print(KEY_ADVICE, file=sys.stderr)
    return 0
