"""Drives the running desktop-auth app through AT-SPI, as a screen reader sees it, and prints what it found
as one JSON object on stdout (tests/test_atspi.py asserts on it).

Run by the SYSTEM python (``/usr/bin/python3``): pyatspi is a Debian package (python3-pyatspi) that cannot
be installed in the project's virtualenv. It needs DISPLAY and DBUS_SESSION_BUS_ADDRESS of the session the
app runs in. Standard library and pyatspi only; nothing from the project is imported.

Steps: wait for the sign-in dialog to be ready; sign in with a wrong password typed through the fields'
EditableText interface and the button's Press action, recording the events a screen reader gets (the
announcement, name changes, focus moves); sign in with the right one; read the account window's values and
relations; open the role editor and walk the user table's headers and cells through its Table interface.
Every wait polls with a deadline (a busy 2-core machine is slow, never wrong); a step that times out is
recorded in ``errors`` and the probe stops there, printing what it has.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pyatspi
from gi.repository import GLib

APP_NAME = "desktop-auth"
STEP_TIMEOUT = 45.0
EVENT_TYPES = (
    "object:announcement",
    "object:property-change:accessible-name",
    "object:property-change:accessible-description",
    "object:state-changed:focused",
    "object:state-changed:showing",
)

events: list[dict[str, Any]] = []
result: dict[str, Any] = {"errors": [], "events": events}


class StepTimeoutError(Exception):
    """A step did not finish within its deadline."""


def pump(seconds: float = 0.05) -> None:
    """Let the GLib main loop deliver the AT-SPI events that arrived."""
    context = GLib.MainContext.default()
    deadline = time.monotonic() + seconds
    while True:
        while context.pending():
            context.iteration(False)
        if time.monotonic() >= deadline:
            return
        time.sleep(0.01)


def wait_for(check: Callable[[], Any], what: str, timeout: float = STEP_TIMEOUT) -> Any:
    """Poll ``check`` until it returns something truthy; StepTimeoutError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        pump(0.05)
        try:
            found = check()
        except Exception:  # an object went away between two calls: look again
            found = None
        if found:
            return found
        if time.monotonic() >= deadline:
            raise StepTimeoutError(f"{what}: not within {timeout:.0f} s")
        pump(0.2)


def safe(call: Callable[[], Any], default: Any = None) -> Any:
    try:
        return call()
    except Exception:
        return default


def role(node: Any) -> str:
    return str(safe(node.getRoleName, ""))


def states(node: Any) -> list[str]:
    state_set = safe(node.getState)
    if state_set is None:
        return []
    return sorted(pyatspi.stateToString(state) for state in state_set.getStates())


def children(node: Any) -> list[Any]:
    found = []
    for index in range(safe(lambda: node.childCount, 0)):
        child = safe(lambda index=index: node.getChildAtIndex(index))
        if child is not None:
            found.append(child)
    return found


def walk(node: Any, depth: int = 0) -> list[Any]:
    if depth > 12:
        return []
    found = [node]
    for child in children(node):
        found += walk(child, depth + 1)
    return found


def find(node: Any, match: Callable[[Any], bool]) -> Any:
    for candidate in walk(node):
        if safe(lambda candidate=candidate: match(candidate), False):
            return candidate
    return None


def text_of(node: Any) -> str | None:
    return safe(lambda: node.queryText().getText(0, -1))


def labelled_by(node: Any) -> list[str]:
    names = []
    for relation in safe(node.getRelationSet, []) or []:
        if relation.getRelationType() == pyatspi.RELATION_LABELLED_BY:
            for index in range(relation.getNTargets()):
                names.append(safe(lambda relation=relation, index=index: relation.getTarget(index).name, ""))
    return names


def describe(node: Any) -> dict[str, Any]:
    return {
        "role": role(node),
        "name": safe(lambda: node.name, ""),
        "description": safe(lambda: node.description, ""),
        "text": text_of(node),
        "states": states(node),
        "labelled_by": labelled_by(node),
    }


def press(node: Any) -> None:
    action = node.queryAction()
    names = [action.getName(index) for index in range(action.nActions)]
    action.doAction(names.index("Press") if "Press" in names else 0)


def type_text(node: Any, text: str) -> None:
    node.queryEditableText().setTextContents(text)


def on_event(event: Any) -> None:
    source = event.source
    events.append(
        {
            "type": event.type,
            "role": role(source),
            "name": safe(lambda: source.name, ""),
            "detail1": event.detail1,
            "data": event.any_data if isinstance(event.any_data, str) else None,
            "t": time.monotonic(),
        }
    )


def the_app() -> Any:
    desktop = pyatspi.Registry.getDesktop(0)
    for index in range(desktop.childCount):
        app = safe(lambda index=index: desktop.getChildAtIndex(index))
        if app is not None and safe(lambda app=app: app.name) == APP_NAME:
            return app
    return None


def top_level(app: Any, name: str) -> Any:
    return find(app, lambda node: node.name == name and role(node) in ("dialog", "frame", "filler", "window"))


def sign_in_dialog(app: Any) -> Any:
    """The sign-in dialog once its database is loaded (its Sign in button is enabled)."""
    dialog = top_level(app, "Sign in")
    if dialog is None:
        return None
    button = find(dialog, lambda node: role(node) == "push button" and node.name == "Sign in")
    return dialog if button is not None and "sensitive" in states(button) else None


def sign_in_part(app: Any, password_wrong: str, email: str) -> Any:
    dialog = wait_for(lambda: sign_in_dialog(app), "the sign-in dialog, ready")
    result["login_children"] = [
        {"role": role(node), "name": node.name, "showing": "showing" in states(node)}
        for node in children(dialog)
    ]
    email_field = find(dialog, lambda node: role(node) == "text" and node.name == "Email address")
    password = find(dialog, lambda node: role(node) == "password text")
    button = find(dialog, lambda node: role(node) == "push button" and node.name == "Sign in")
    result["login_fields"] = [describe(email_field), describe(password)]

    # Focus on the password field, as after typing it; then a wrong password, submitted. Xvfb has no window
    # manager to activate the dialog: xdotool gives its window the X input focus, then AT-SPI the field.
    safe(
        lambda: subprocess.run(
            ["xdotool", "search", "--onlyvisible", "--name", "^Sign in$", "windowfocus"],
            capture_output=True,
            timeout=30,
            check=False,
        )
    )
    safe(lambda: password.queryComponent().grabFocus())
    result["focus_taken"] = bool(
        safe(lambda: wait_for(lambda: "focused" in states(password), "focus", 10), False)
    )
    type_text(email_field, email)
    type_text(password, password_wrong)
    wait_for(lambda: text_of(email_field) == email, "the typed email")
    submitted = time.monotonic()
    result["submitted_at"] = submitted
    press(button)

    def error_shown() -> Any:
        label = find(dialog, lambda node: role(node) == "label" and "incorrect" in node.name)
        announced = any(
            e["type"] == "object:announcement" and "incorrect" in (e["data"] or "") for e in events
        )
        return label if label is not None and announced else None

    try:  # not fatal: the steps after it still say what else a screen reader gets
        result["error_label"] = describe(wait_for(error_shown, "the sign-in error, shown and announced"))
    except StepTimeoutError as error:
        result["errors"].append(str(error))
        result["error_label"] = None
    result["announcements"] = [e["data"] for e in events if e["type"] == "object:announcement"]
    result["error_label_names"] = [
        node.name for node in walk(dialog) if role(node) == "label" and "rror" in node.name
    ]
    # The focus has settled once the error is shown: no focus move after it.
    result["focus_after_submit"] = [
        [e["role"], e["name"]]
        for e in events
        if e["type"] == "object:state-changed:focused" and e["detail1"] == 1 and e["t"] >= submitted
    ]
    result["login_children_after_error"] = [
        {"role": role(node), "name": node.name} for node in children(dialog) if "showing" in states(node)
    ]
    return dialog


def account_part(app: Any, dialog: Any, password: str, email: str) -> Any:
    type_text(find(dialog, lambda node: role(node) == "password text"), password)
    press(find(dialog, lambda node: role(node) == "push button" and node.name == "Sign in"))
    window = wait_for(lambda: top_level(app, "Your account"), "the account window")
    value = wait_for(
        lambda: find(window, lambda node: role(node) == "label" and node.name == email), "the email"
    )
    result["account_labels"] = [describe(node) for node in walk(window) if role(node) == "label"]
    result["account_email"] = describe(value)
    return window


def role_editor_part(app: Any, window: Any) -> None:
    press(find(window, lambda node: role(node) == "push button" and node.name == "Open the role editor"))
    editor = wait_for(lambda: top_level(app, "Role editor"), "the role editor")
    table_node = wait_for(
        lambda: find(editor, lambda node: role(node) == "table" and node.name == "Users"), "table"
    )

    def loaded() -> Any:
        table = table_node.queryTable()
        return table if table.nRows >= 1 and table.getAccessibleAt(0, 0).name else None

    table = wait_for(loaded, "the user table's first rows")
    result["table_size"] = [table.nRows, table.nColumns]
    headers = []
    for column in range(table.nColumns):
        header = safe(lambda column=column: table.getColumnHeader(column))
        headers.append(
            safe(lambda header=header: header.name, None)
            or safe(lambda column=column: table.getColumnDescription(column))
        )
    result["table_headers"] = headers
    result["table_cells"] = [
        [
            safe(lambda row=row, column=column: table.getAccessibleAt(row, column).name, None)
            for column in range(table.nColumns)
        ]
        for row in range(min(table.nRows, 5))
    ]
    filter_edit = find(editor, lambda node: role(node) == "text" and node.name == "Filter by email")
    result["filter_children"] = [describe(node) for node in children(filter_edit)] if filter_edit else None
    result["editor_labels"] = [
        node.name for node in walk(editor) if role(node) == "label" and "showing" in states(node)
    ]
    # The users status is announced once it settles (the role editor watches the label).
    wait_for(
        lambda: any(e["type"] == "object:announcement" and e["data"] == "1 user" for e in events),
        "the users status, announced",
    )
    result["all_announcements"] = [e["data"] for e in events if e["type"] == "object:announcement"]


def main() -> int:
    email, right, wrong = sys.argv[1:4]
    pyatspi.Registry.registerEventListener(on_event, *EVENT_TYPES)
    try:
        app = wait_for(the_app, "the app on the accessibility bus", 90)
        dialog = sign_in_part(app, wrong, email)
        window = account_part(app, dialog, right, email)
        role_editor_part(app, window)
    except StepTimeoutError as error:
        result["errors"].append(str(error))
    except Exception as error:
        result["errors"].append(f"{type(error).__name__}: {error}")
    finally:
        pyatspi.Registry.deregisterEventListener(on_event, *EVENT_TYPES)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
