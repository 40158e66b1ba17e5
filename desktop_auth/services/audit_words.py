"""The audit log in words a person reads: "Role changed from user to admin", not ``role user admin``.

The log stores what happened as machine values (action, old, new) so it can be searched and exported; this
turns one entry into a sentence. Times inside a sentence (a lockout's end, a password's expiry) are shown
with the caller's formatter: local time in the GUI, UTC in the CLI.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from desktop_auth.services.records import AuditRecord

TimeFormat = Callable[[datetime], str]


def describe_event(event: AuditRecord, show_time: TimeFormat) -> str:
    """What happened, as a sentence (without who did it or to whom: the history shows those beside it)."""
    old, new = event.old_value, event.new_value
    match event.action:
        case "create":
            return f"Account created with the role {new}" if new else "Account created"
        case "role":
            return f"Role changed from {old} to {new}"
        case "activate":
            return "Account activated"
        case "deactivate":
            return "Account deactivated"
        case "password_change":
            return "Password changed"
        case "password_change_failed":
            return "Wrong current password typed while changing the password"
        case "email_change":
            # detail: "changed email from OLD to NEW" (services/own_account.py; an erase replaces either)
            if event.detail and event.detail.startswith("changed email from "):
                return event.detail[0].upper() + event.detail[1:]
            return "Email address changed"
        case "email_change_failed":
            return "Wrong current password typed while changing the email address"
        case "delete_own":
            # new: "deleted own account #42"; the target is the address it had (as for "delete")
            account = (new or "deleted own account").removeprefix("deleted ")
            if event.target and event.target != new:
                return f"Deleted {account}, was {event.target}"
            return f"Deleted {account}"
        case "delete_own_failed":
            return "Wrong current password typed while deleting the account"
        case "password_reset":
            expiry = _moment((new or "").rpartition("expires ")[2])  # "temporary, expires <ISO 8601>"
            if expiry is None:
                return "Password reset to a temporary password"
            return f"Password reset to a temporary password that expires {show_time(expiry)}"
        case "lockout":
            until = _moment(new)
            return f"Sign-in locked until {show_time(until)}" if until else "Sign-in locked"
        case "unlock":
            return "Unlocked" if old == "locked" else "Failed sign-in attempts forgotten"
        case "setting":
            return f"“{event.target}” changed from {_setting(old)} to {_setting(new)}"
        case "role_add":
            return "Role added"
        case "role_remove":
            return "Role removed"
        case "role_rename":
            return f"Role renamed from {old} to {new}"
        case "role_describe":
            if not new:
                return "Role description cleared"
            return f"Role description set to “{new}”"
        case "bulk_change":
            return f"Change of many users started: {new}" if new else "Change of many users started"
        case "bulk_change_done":
            return f"Change of many users finished: {new}" if new else "Change of many users finished"
        case "bulk_change_cancelled":
            return "Change of many users stopped"
        case "user_import":
            return f"Imported {new} accounts from a CSV file" if new else "Imported accounts from a CSV file"
        case "recovery_codes":
            made = f"{new} new recovery codes made" if new else "New recovery codes made"
            return f"{made}; the earlier ones no longer work" if event.detail else made
        case "recovery_reset":
            left = f" ({new} left)" if new is not None else ""
            return f"Reset own password with a recovery code{left}"
        case "delete":
            # new: "deleted account #42"; the target is the address it had (until erased)
            account = (new or "").removeprefix("deleted ") or "account"
            had = f" with the role {old}" if old else ""
            if event.target and event.target != new:
                return f"Deleted {account}{had}, was {event.target}"
            return f"Deleted {account}{had}"
        case "recovery_sign_in":
            left = f" ({new} left)" if new is not None else ""
            return f"Signed in with a recovery code instead of the authenticator{left}"
        case "two_factor_enable":
            return "Two-factor sign-in turned on"
        case "two_factor_enable_failed":
            return "Wrong current password typed while turning on two-factor sign-in"
        case "two_factor_disable":
            return "Two-factor sign-in turned off"
        case "two_factor_disable_failed":
            return "Wrong password or code typed while turning off two-factor sign-in"
        case "two_factor_failed":
            return "Wrong or reused authenticator code at sign-in"
        case "two_factor_reset":
            return "Two-factor sign-in removed by an administrator"
        case "audit_erase":
            return f"Address of {event.target} erased from {new or 'the'} history entries"
    # An action this version does not know (written by a newer client): show what was stored.
    change = f": {old} → {new}" if old or new else ""
    return f"{event.action.replace('_', ' ').capitalize()}{change}"


def _setting(value: str | None) -> str:
    return {"True": "on", "False": "off", None: "(none)"}.get(value, value or "")


def _moment(value: str | None) -> datetime | None:
    """A moment stored as text (ISO 8601, naive = UTC, as the services write it), or None if it is not one."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
