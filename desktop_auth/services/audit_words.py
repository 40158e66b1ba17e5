"""The audit log in words a person reads: "Role changed from user to admin", not ``role user admin``.

The log stores what happened as machine values (action, old, new) so it can be searched and exported; this
turns one entry into a sentence, a translatable ``Message``: the GUI renders it in the person's language
(times inside it, a lockout's end or a password's expiry, in local time), ``str()`` of it is the English
(times in UTC).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache

from desktop_auth.messages import Message, message, message_n, verbatim
from desktop_auth.services.app_settings import setting_labels
from desktop_auth.services.records import AuditRecord, change_from_words

_EMAIL_CHANGE = "changed email from "
_BULK_DONE = re.compile(r"changed ([\d,]+), left alone ([\d,]+)")


def describe_event(event: AuditRecord) -> Message:
    """What happened, as a sentence (without who did it or to whom: the history shows those beside it)."""
    old, new = event.old_value, event.new_value
    match event.action:
        case "create":
            if new:
                return message("Audit", "Account created with the role {role}").format(role=new)
            return message("Audit", "Account created")
        case "role":
            return message("Audit", "Role changed from {old} to {new}").format(old=str(old), new=str(new))
        case "activate":
            return message("Audit", "Account activated")
        case "deactivate":
            return message("Audit", "Account deactivated")
        case "password_change":
            return message("Audit", "Password changed")
        case "password_change_failed":
            return message("Audit", "Wrong current password typed while changing the password")
        case "email_change":
            return _email_change(event.detail)
        case "email_change_failed":
            return message("Audit", "Wrong current password typed while changing the email address")
        case "delete_own":
            return _delete_own(event.target, new)
        case "delete_own_failed":
            return message("Audit", "Wrong current password typed while deleting the account")
        case "password_reset":
            expiry = _moment((new or "").rpartition("expires ")[2])  # "temporary, expires <ISO 8601>"
            if expiry is None:
                return message("Audit", "Password reset to a temporary password")
            return message("Audit", "Password reset to a temporary password that expires {moment}").format(
                moment=expiry
            )
        case "lockout":
            until = _moment(new)
            if until is None:
                return message("Audit", "Sign-in locked")
            return message("Audit", "Sign-in locked until {moment}").format(moment=until)
        case "unlock":
            if old == "locked":
                return message("Audit", "Unlocked")
            return message("Audit", "Failed sign-in attempts forgotten")
        case "setting":
            label = setting_labels_by_english().get(event.target)
            return message("Audit", "“{setting}” changed from {old} to {new}").format(
                setting=label or event.target, old=_setting(old), new=_setting(new)
            )
        case "role_add":
            return message("Audit", "Role added")
        case "role_remove":
            return message("Audit", "Role removed")
        case "role_rename":
            return message("Audit", "Role renamed from {old} to {new}").format(old=str(old), new=str(new))
        case "role_describe":
            if not new:
                return message("Audit", "Role description cleared")
            return message("Audit", "Role description set to “{description}”").format(description=new)
        case "bulk_change":
            if not new:
                return message("Audit", "Change of many users started")
            change = change_from_words(new) or verbatim(new)
            return message("Audit", "Change of many users started: {change}").format(change=change)
        case "bulk_change_done":
            return _bulk_done(new)
        case "bulk_change_cancelled":
            return message("Audit", "Change of many users stopped")
        case "user_import":
            if not new:
                return message("Audit", "Imported accounts from a CSV file")
            if not new.isdigit():
                return message("Audit", "Imported {count} accounts from a CSV file").format(count=new)
            count = int(new)
            return message_n(
                "Audit",
                "Imported {n} account from a CSV file",
                "Imported {n} accounts from a CSV file",
                count,
            )
        case "recovery_codes":
            return _recovery_codes(new, replaced=bool(event.detail))
        case "recovery_reset":
            if new is None or not new.isdigit():
                return message("Audit", "Reset own password with a recovery code")
            count = int(new)
            return message_n(
                "Audit",
                "Reset own password with a recovery code ({n} left)",
                "Reset own password with a recovery code ({n} left)",
                count,
            )
        case "delete":
            return _delete(event.target, old, new)
        case "recovery_sign_in":
            if new is None or not new.isdigit():
                return message("Audit", "Signed in with a recovery code instead of the authenticator")
            count = int(new)
            return message_n(
                "Audit",
                "Signed in with a recovery code instead of the authenticator ({n} left)",
                "Signed in with a recovery code instead of the authenticator ({n} left)",
                count,
            )
        case "two_factor_enable":
            return message("Audit", "Two-factor sign-in turned on")
        case "two_factor_enable_failed":
            return message("Audit", "Wrong current password typed while turning on two-factor sign-in")
        case "two_factor_disable":
            return message("Audit", "Two-factor sign-in turned off")
        case "two_factor_disable_failed":
            return message("Audit", "Wrong password or code typed while turning off two-factor sign-in")
        case "two_factor_failed":
            return message("Audit", "Wrong or reused authenticator code at sign-in")
        case "two_factor_reset":
            return message("Audit", "Two-factor sign-in removed by an administrator")
        case "audit_erase":
            if not new or not new.isdigit():
                return message("Audit", "Address of {address} erased from the history entries").format(
                    address=event.target
                )
            count = int(new)
            return message_n(
                "Audit",
                "Address of {address} erased from {n} history entry",
                "Address of {address} erased from {n} history entries",
                count,
            ).format(address=event.target)
    # An action this version does not know (written by a newer client): show what was stored.
    action = event.action.replace("_", " ").capitalize()
    if old or new:
        return message("Audit", "{action}: {old} → {new}").format(action=action, old=str(old), new=str(new))
    return verbatim(action)


def setting_labels_by_english() -> dict[str, Message]:
    """The shared settings' names, by the English the audit log stores as a setting change's target."""
    return {str(label): label for label in setting_labels().values()}


def _setting(value: str | None) -> Message | str:
    if value == "True":
        return message("Audit", "on")
    if value == "False":
        return message("Audit", "off")
    if value is None:
        return message("Audit", "(none)")
    return value


def _email_change(detail: str | None) -> Message:
    # detail: "changed email from OLD to NEW" (services/own_account.py; an erase replaces either with a label
    # "deleted account #42", which holds no " to ")
    if detail and detail.startswith(_EMAIL_CHANGE):
        addresses = detail.removeprefix(_EMAIL_CHANGE)
        if addresses.count(" to ") == 1:
            old, _, new = addresses.partition(" to ")
            return message("Audit", "Changed email from {old} to {new}").format(old=old, new=new)
        return verbatim(detail[0].upper() + detail[1:])
    return message("Audit", "Email address changed")


def _number(value: str | None, prefix: str) -> str | None:
    """The account number of ``value`` ("deleted account #42" with its prefix "deleted account #"), or None."""
    if value and value.startswith(prefix) and value.removeprefix(prefix).isdigit():
        return value.removeprefix(prefix)
    return None


def _delete_own(target: str, new: str | None) -> Message:
    # new: "deleted own account #42"; the target is the address it had (as for "delete")
    number = _number(new, "deleted own account #")
    was = target if target and target != new else None
    if number is None:
        if was is None:
            return message("Audit", "Deleted own account")
        return message("Audit", "Deleted own account, was {address}").format(address=was)
    if was is None:
        return message("Audit", "Deleted own account #{number}").format(number=number)
    return message("Audit", "Deleted own account #{number}, was {address}").format(number=number, address=was)


def _delete(target: str, role: str | None, new: str | None) -> Message:
    # new: "deleted account #42"; the target is the address it had (until erased)
    number = _number(new, "deleted account #")
    was = target if target and target != new else None
    if number is None:
        if role and was:
            return message("Audit", "Deleted account with the role {role}, was {address}").format(
                role=role, address=was
            )
        if role:
            return message("Audit", "Deleted account with the role {role}").format(role=role)
        if was:
            return message("Audit", "Deleted account, was {address}").format(address=was)
        return message("Audit", "Deleted account")
    if role and was:
        return message("Audit", "Deleted account #{number} with the role {role}, was {address}").format(
            number=number, role=role, address=was
        )
    if role:
        return message("Audit", "Deleted account #{number} with the role {role}").format(
            number=number, role=role
        )
    if was:
        return message("Audit", "Deleted account #{number}, was {address}").format(number=number, address=was)
    return message("Audit", "Deleted account #{number}").format(number=number)


def _bulk_done(new: str | None) -> Message:
    if not new:
        return message("Audit", "Change of many users finished")
    counts = _BULK_DONE.fullmatch(new)
    if counts is None:
        return message("Audit", "Change of many users finished: {result}").format(result=new)
    changed, left = (int(count.replace(",", "")) for count in counts.groups())
    return message("Audit", "Change of many users finished: changed {changed}, left alone {left}").format(
        changed=changed, left=left
    )


def _recovery_codes(new: str | None, replaced: bool) -> Message:
    if not new or not new.isdigit():
        if replaced:
            return message("Audit", "New recovery codes made; the earlier ones no longer work")
        return message("Audit", "New recovery codes made")
    if replaced:
        count = int(new)
        return message_n(
            "Audit",
            "{n} new recovery code made; the earlier ones no longer work",
            "{n} new recovery codes made; the earlier ones no longer work",
            count,
        )
    count = int(new)
    return message_n("Audit", "{n} new recovery code made", "{n} new recovery codes made", count)


def _moment(value: str | None) -> datetime | None:
    """A moment stored as text (ISO 8601, naive = UTC, as the services write it), or None if it is not one."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# -- the detail column and the names beside it ------------------------------------------------------------
# The services store a short English note in ``detail`` (the CSV export keeps it as stored); these turn each
# note the services write back into a Message whose English is the stored text word for word, so the
# History tab can show it in the person's language. A note this version does not write (an older version's,
# or free text) is shown as stored.

_SYSTEM_ACTOR = "system"  # services/audit.py's SYSTEM_ACTOR (not imported: that module pulls SQLAlchemy in)
_COUNT = r"(\d[\d,]*)"  # a count as the services write it: 12, or 1,234 (f"{n:,}")
_NAME = r"(.+)"  # an address, or the label an erased address left ("deleted account #42")

_DELETED_ACCOUNT = re.compile(r"deleted account #(\d+)")
_DELETED_OWN_ACCOUNT = re.compile(r"deleted own account #(\d+)")
_CREATED_WITH_TEMPORARY = re.compile(rf"created by {_NAME} with a temporary password")
_CREATED_BY = re.compile(rf"created by {_NAME}")
_IMPORTED_BY = re.compile(rf"imported from a CSV file by {_NAME}")
_IMPORTED = re.compile(rf"imported {_COUNT} accounts from a CSV file")
_LOCKOUT = re.compile(rf"{_COUNT} failed attempts; lockout #{_COUNT}")
_RECOVERY_RESET = re.compile(rf"reset own password with a recovery code \({_COUNT} left\)")
_RECOVERY_SIGN_IN = re.compile(
    rf"signed in with a recovery code instead of the authenticator \({_COUNT} left\)"
)
_ERASED_FROM = re.compile(rf"address of {_NAME} erased from {_COUNT} audit entries")
_DELETED_WAS = re.compile(rf"(deleted (?:own )?account #\d+), was {_NAME}")
_DELETED_ERASED = re.compile(r"(deleted (?:own )?account #\d+), address erased")
_RENAME_CARRIED = re.compile(rf"{_COUNT} unfinished changes? of many users follow")


def describe_detail(detail: str | None) -> Message | None:
    """The note of an audit entry (its ``detail``) as a Message whose English is ``detail`` itself; None for
    no note, the text as it is (``verbatim``) for a note this version does not write."""
    if detail is None:
        return None
    fixed = _fixed_details().get(detail)
    if fixed is not None:
        return fixed
    for pattern, describe in _DETAIL_PATTERNS:
        found = pattern.fullmatch(detail)
        if found is not None:
            described = describe(*found.groups())
            # Its English must be what is stored (but for thousands separators: a count the service wrote
            # as 1234 reads 1,234), else the note is shown as it is: "1 unfinished changes" is no
            # note of ours.
            if described is not None and _same_words(str(described), detail):
                return described
    return verbatim(detail)


def describe_actor(actor: str) -> Message:
    """Who did it, as the History tab shows it: the system (a lockout) in words, an address as it is, the
    label an erased address left ("deleted account #42") in words."""
    if actor == _SYSTEM_ACTOR:
        return message("Audit", "system")
    name = describe_name(actor)
    return name if isinstance(name, Message) else verbatim(name)


def describe_name(name: str) -> Message | str:
    """An address as it is (a ``str``: shown left to right), or the label an erased address left in the
    history in words: "deleted account #42", "deleted own account #42" (services/lifecycle.py, own_account.py)
    or "erased address". The account number stays as stored (no thousands separator)."""
    if name == "erased address":
        return message("Audit", "erased address")
    found = _DELETED_ACCOUNT.fullmatch(name)
    if found is not None:
        return message("Audit", "deleted account #{number}").format(number=found[1])
    found = _DELETED_OWN_ACCOUNT.fullmatch(name)
    if found is not None:
        return message("Audit", "deleted own account #{number}").format(number=found[1])
    return name


_BULK_TARGET = re.compile(rf"{_COUNT} users \(change #(\d+)\)")
_BULK_ACTIONS = frozenset({"bulk_change", "bulk_change_done", "bulk_change_cancelled"})
_ROLE_ACTIONS = frozenset({"role_add", "role_remove", "role_rename", "role_describe"})


def describe_target(event: AuditRecord) -> Message:
    """Whom or what an entry is about (its ``target``, the History tab's "Account / item") as a Message whose
    English is the stored target: a setting's name and a change of many users ("12 users (change #3)") in
    words, the label an erased address left in words (``describe_name``); an address, an operator and a
    role name (data) as they are, and so is a target this version does not write."""
    target = event.target
    if event.action == "setting":
        return setting_labels_by_english().get(target) or verbatim(target)
    if event.action in _BULK_ACTIONS:
        return _bulk_target(target) or verbatim(target)
    if event.action in _ROLE_ACTIONS:
        return verbatim(target)
    name = describe_name(target)
    return name if isinstance(name, Message) else verbatim(name)


def _bulk_target(target: str) -> Message | None:
    # "1,234 users (change #7)" (services/bulk.py): the count a parameter, the change's number as stored
    found = _BULK_TARGET.fullmatch(target)
    if found is None:
        return None
    users = _count(found[1])
    # The English says "users" for one too (as stored): both forms alike, the languages decide.
    described = message_n(
        "Audit",
        "{n} users (change #{change})",
        "{n} users (change #{change})",
        users,
    ).format(change=found[2])
    return described if _same_words(str(described), target) else None


@cache
def _fixed_details() -> dict[str, Message]:
    return {
        "first administrator": message("Audit", "first administrator"),
        "self-registration": message("Audit", "self-registration"),
        "wrong current password": message("Audit", "wrong current password"),
        "wrong password or code": message("Audit", "wrong password or code"),
        "wrong or reused code": message("Audit", "wrong or reused code"),
        "wrong recovery code": message("Audit", "wrong recovery code"),
        "replaced the earlier codes": message("Audit", "replaced the earlier codes"),
    }


def _same_words(english: str, stored: str) -> bool:
    return english == stored or english.replace(",", "") == stored.replace(",", "")


def _count(text: str) -> int:
    return int(text.replace(",", ""))


def _created_with_temporary(who: str) -> Message:
    return message("Audit", "created by {who} with a temporary password").format(who=describe_name(who))


def _created_by(who: str) -> Message:
    return message("Audit", "created by {who}").format(who=describe_name(who))


def _imported_by(who: str) -> Message:
    return message("Audit", "imported from a CSV file by {who}").format(who=describe_name(who))


def _imported(count: str) -> Message:
    accounts = _count(count)
    # The English says "accounts" for one too (as stored): both forms alike, the languages decide.
    return message_n(
        "Audit",
        "imported {n} accounts from a CSV file",
        "imported {n} accounts from a CSV file",
        accounts,
    )


def _lockout(threshold: str, lockout: str) -> Message:
    attempts = _count(threshold)
    return message_n(
        "Audit",
        "{n} failed attempts; lockout #{lockout}",
        "{n} failed attempts; lockout #{lockout}",
        attempts,
    ).format(lockout=_count(lockout))


def _email_changed(old: str, new: str) -> Message | None:
    # "changed email from OLD to NEW": read apart only when " to " separates them once (an address has no
    # spaces, nor has the label an erase leaves)
    if " to " in old or " to " in new:
        return None
    return message("Audit", "changed email from {old} to {new}").format(
        old=describe_name(old), new=describe_name(new)
    )


def _recovery_reset(count: str) -> Message:
    left = _count(count)
    return message_n(
        "Audit",
        "reset own password with a recovery code ({n} left)",
        "reset own password with a recovery code ({n} left)",
        left,
    )


def _recovery_sign_in(count: str) -> Message:
    left = _count(count)
    return message_n(
        "Audit",
        "signed in with a recovery code instead of the authenticator ({n} left)",
        "signed in with a recovery code instead of the authenticator ({n} left)",
        left,
    )


def _erased_from(label: str, count: str) -> Message:
    entries = _count(count)
    # The English says "entries" for one too (as stored).
    return message_n(
        "Audit",
        "address of {label} erased from {n} audit entries",
        "address of {label} erased from {n} audit entries",
        entries,
    ).format(label=describe_name(label))


def _deleted_was(label: str, address: str) -> Message:
    return message("Audit", "{label}, was {address}").format(
        label=describe_name(label), address=describe_name(address)
    )


def _deleted_erased(label: str) -> Message:
    return message("Audit", "{label}, address erased").format(label=describe_name(label))


def _rename_carried(count: str) -> Message:
    changes = _count(count)
    return message_n(
        "Audit",
        "{n} unfinished change of many users follow",
        "{n} unfinished changes of many users follow",
        changes,
    )


#: Each note with parameters the services write, and what reads it (None: not after all, shown as stored).
_DETAIL_PATTERNS: tuple[tuple[re.Pattern[str], Callable[..., Message | None]], ...] = (
    (_CREATED_WITH_TEMPORARY, _created_with_temporary),  # before _CREATED_BY, which would match it too
    (_CREATED_BY, _created_by),
    (_IMPORTED_BY, _imported_by),
    (_IMPORTED, _imported),
    (_LOCKOUT, _lockout),
    (re.compile(rf"changed email from {_NAME} to {_NAME}"), _email_changed),
    (_RECOVERY_RESET, _recovery_reset),
    (_RECOVERY_SIGN_IN, _recovery_sign_in),
    (_ERASED_FROM, _erased_from),
    (_DELETED_ERASED, _deleted_erased),  # before _DELETED_WAS (", was" cannot match it, but say so)
    (_DELETED_WAS, _deleted_was),
    (_RENAME_CARRIED, _rename_carried),
)
