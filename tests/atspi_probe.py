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

Usage: ``atspi_probe.py SCENARIO PARAMS_JSON``. ``sign_in`` is the walk above (AT-SPI actions and text
writes); the others (``first_run``, ``register``, ``change_password``, ``role_editor``, ``lockout``) do
a whole flow with the KEYBOARD only, real X key events from xdotool, and only listen to and read AT-SPI:
see "the keyboard flows" below. ``sign_in_translated`` does it with the app in another language: it knows
no name, finds the sign-in dialog and its fields by role, walks it once round with Tab and signs in wrongly.
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
STEP_TIMEOUT = 30.0
EVENT_TYPES = (
    "object:announcement",
    "object:property-change:accessible-name",
    "object:property-change:accessible-description",
    "object:state-changed:focused",
    "object:state-changed:showing",
    "focus:",
    "window:activate",
    "window:create",
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
    return find(
        app, lambda node: node.name == name and role(node) in ("dialog", "frame", "filler", "window", "alert")
    )


def top_level_starting(app: Any, prefix: str) -> Any:
    """A window whose name starts with ``prefix`` (a message box's name ends with the app's name)."""
    return find(
        app,
        lambda node: (
            node.name.startswith(prefix)
            and role(node) in ("dialog", "frame", "window", "alert")
            and "showing" in states(node)
        ),
    )


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


# -- the keyboard flows ------------------------------------------------------------------------------
#
# Each flow below is done with the keyboard only: real X key events (xdotool, through the XTEST extension of
# the test's Xvfb) typed into whatever has the focus, as a person would. AT-SPI is only listened to and read
# (events, names, states, text), never used to act: no Action, no EditableText, no grabFocus. The one thing
# done that is not a key press is what a window manager does (Xvfb has none): give a window that appears
# the X input focus (``x_focus``). What a screen reader would say is recorded in ``result``: the
# announcements, each focus change (the focused object's role and name) and the windows that appeared.

KEY_TIMEOUT = 10.0  # for the focus to answer one key press
SETTLE = 1.0  # after an in-place outcome: further focus moves in this time still count as the busy period's


def focus_events(since: float = 0.0) -> list[dict[str, Any]]:
    """The focus gains (``object:state-changed:focused`` with detail1 1) received since ``since``."""
    return [
        e
        for e in events
        if e["type"] == "object:state-changed:focused" and e["detail1"] == 1 and e["t"] >= since
    ]


def announcements(since: float = 0.0) -> list[str]:
    return [e["data"] or "" for e in events if e["type"] == "object:announcement" and e["t"] >= since]


def heard(fragment: str, since: float = 0.0) -> dict[str, Any] | None:
    """The first announcement since ``since`` that contains ``fragment``."""
    for e in events:
        if e["type"] == "object:announcement" and e["t"] >= since and fragment in (e["data"] or ""):
            return e
    return None


def xdotool(*args: str) -> None:
    done = subprocess.run(["xdotool", *args], capture_output=True, text=True, timeout=30, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"xdotool {' '.join(args)}: {done.stderr.strip()}")


def key(*keys: str) -> float:
    """Press ``keys`` (xdotool names: Tab, Return, alt+c, ctrl+s), one after the other; when it started.
    The events already received are taken in first, so that what follows is what the keys caused."""
    pump(0.05)
    started = time.monotonic()
    result["keys"].append(list(keys))
    xdotool("key", "--delay", "40", *keys)
    return started


def type_keys(text: str) -> None:
    result["keys"].append(["type", "*" * len(text)])
    xdotool("type", "--delay", "25", "--", text)


def x_focus(title: str, window: Any = None) -> None:
    """What a window manager does for a window that opens: give it the X input focus (by its title, a
    regular expression). Not an input a person makes; Xvfb has no window manager to do it. With the
    ``window``'s accessible: until the app says it is the active window (keys go to it from then on)."""

    def found() -> bool:
        done = subprocess.run(
            ["xdotool", "search", "--onlyvisible", "--name", title],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        return bool(done.stdout.split())

    wait_for(found, f"an X window titled {title!r}")
    xdotool("search", "--onlyvisible", "--name", title, "windowfocus")
    result["x_focus"].append(title)
    if window is not None:
        wait_for(lambda: "active" in states(window), f"the window {title!r}, active")


def last_focus() -> dict[str, Any] | None:
    gains = focus_events()
    return gains[-1] if gains else None


def focus_is(name: str | None = None, role_name: str | None = None) -> bool:
    now = last_focus()
    return (
        now is not None
        and (name is None or now["name"] == name)
        and (role_name is None or now["role"] == role_name)
    )


def wait_focus(name: str | None, role_name: str | None = None, timeout: float = STEP_TIMEOUT) -> None:
    wait_for(lambda: focus_is(name, role_name), f"the focus on {role_name or 'a control'} {name!r}", timeout)


def press_and_wait_focus(*keys: str, timeout: float = KEY_TIMEOUT) -> dict[str, Any] | None:
    """Press ``keys``; the focus gain that follows, or None when the focus did not move."""
    started = key(*keys)
    try:
        return wait_for(lambda: (focus_events(started) or [None])[-1], f"a focus move after {keys}", timeout)
    except StepTimeoutError:
        return None


def tab_to(name: str | None, role_name: str | None = None, back: bool = False, most: int = 30) -> None:
    """Tab (or Shift+Tab) until the focus is on the control named ``name``, as a screen reader user does,
    hearing each name on the way."""
    for _ in range(most):
        if focus_is(name, role_name):
            return
        press_and_wait_focus("shift+Tab" if back else "Tab")
    if not focus_is(name, role_name):
        raise StepTimeoutError(f"{role_name or 'a control'} {name!r} not reached with {most} Tab presses")


def xdotool_keys(binding: str) -> str | None:
    """An AT-SPI key binding (Qt writes "Alt+C", "Ctrl+Shift+P") as xdotool's keys ("alt+c")."""
    first = binding.split(";")[0].strip()
    if not first:
        return None
    parts = [part for part in first.replace("<", "").replace(">", "+").split("+") if part]
    names = {"alt": "alt", "ctrl": "ctrl", "control": "ctrl", "shift": "shift", "meta": "super"}
    *mods, last = parts
    keys = [names.get(mod.lower(), mod.lower()) for mod in mods]
    keys.append(last.lower() if len(last) == 1 else last)
    return "+".join(keys)


def key_binding(node: Any) -> str:
    """What a screen reader says is the control's shortcut: its AT-SPI Action key binding."""
    action = safe(node.queryAction)
    if action is None:
        return ""
    for index in range(safe(lambda: action.nActions, 0)):
        binding = safe(lambda index=index: action.getKeyBinding(index), "") or ""
        if binding:
            return binding
    return ""


def activate_by_keyboard(window: Any, name: str, role_name: str = "push button") -> str:
    """Press the control named ``name`` with the keyboard: its shortcut (mnemonic), as the screen reader
    tells it, or else Tab to it and Space. Says which keys were used."""
    node = wait_for(
        lambda: find(
            window,
            lambda n: role(n) == role_name and n.name == name and {"showing", "sensitive"} <= set(states(n)),
        ),
        f"the {role_name} {name!r}, showing and enabled",
    )
    binding = key_binding(node)
    keys = xdotool_keys(binding) if binding else None
    if keys:
        key(keys)
        used = f"{binding} (its key binding)"
    else:
        tab_to(name, role_name)
        key("space")
        used = "Tab to it, then Space"
    result["activations"].append({"control": name, "binding": binding, "used": used})
    return used


def wait_top_level(app: Any, name: str, what: str | None = None) -> Any:
    window = wait_for(lambda: top_level(app, name), what or f"the window {name!r}")
    result["windows_seen"].append(name)
    return window


def type_into(name: str, text: str, role_name: str | None = None) -> None:
    """Type ``text`` into the focused field, which must be the one named ``name`` (checked first: a
    screen reader user hears the name before typing). Replaces what the field held (Ctrl+A first)."""
    wait_focus(name, role_name, KEY_TIMEOUT)
    key("ctrl+a")
    type_keys(text)


def field_length(node: Any) -> int:
    return len(text_of(node) or "")


def submit(what: str, outcome: Callable[[], Any], in_place: bool, keys: str = "Return") -> Any:
    """Press ``keys`` (Enter: the default button), then wait for the ``outcome`` (truthy). Records the
    focus gains of the busy period: from the key press until the outcome (and SETTLE seconds after it when
    the form stays, e.g. an error)."""
    started = key(keys)
    found = wait_for(outcome, what)
    ended = time.monotonic()
    if in_place:
        pump(SETTLE)  # not an assertion: the focus moves of this period are counted after it
        ended += SETTLE
    gains = [[e["role"], e["name"]] for e in focus_events(started) if e["t"] <= ended]
    result["busy_focus"].append({"submit": what, "focus_gains": gains})
    return found


def sign_in_by_keyboard(app: Any, email: str, password: str) -> Any:
    """The sign-in dialog, ready; focused by the window manager; email and password typed; Enter."""
    dialog = wait_for(lambda: sign_in_dialog(app), "the sign-in dialog, ready")
    result["windows_seen"].append("Sign in")
    x_focus("^Sign in$", dialog)
    wait_focus(None)
    tab_to("Email address", "text")
    type_into("Email address", email, "text")
    key("Tab")
    type_into("Password", password, "password text")
    return dialog


def put_away_codes(codes: Any) -> None:
    """A new account's first recovery codes, shown once over its form: read first, copied, then Done."""
    x_focus("^Recovery codes$", codes)
    wait_focus("Recovery codes")  # the codes themselves, read first
    result["codes_copy_keys"] = activate_by_keyboard(codes, "Copy the codes")
    result["codes_done_keys"] = activate_by_keyboard(codes, "Close and forget the codes")


def flow_first_run(app: Any, params: dict[str, Any]) -> None:
    email, password = params["email"], params["password"]
    dialog = wait_top_level(app, "Create the administrator account")
    x_focus("^Create the administrator account$", dialog)
    wait_focus(None)
    # The whole form, once round with Tab: every control the focus reaches is named.
    tab_to("Email address", "text")
    visited = []
    for _ in range(12):
        gain = press_and_wait_focus("Tab")
        if gain is None:
            break
        visited.append([gain["role"], gain["name"]])
        if gain["name"] == "Email address":
            break
    result["tab_cycle"] = visited
    type_into("Email address", email, "text")
    key("Tab")
    type_into("Password", password, "password text")
    key("Tab")
    type_into("Confirm password", password, "password text")
    fields = [n for n in walk(dialog) if role(n) == "password text"]
    wait_for(lambda: all(field_length(n) == len(password) for n in fields), "the typed passwords")
    codes = submit(
        "the administrator created, their recovery codes shown",
        lambda: top_level(app, "Recovery codes"),
        in_place=False,
    )
    put_away_codes(codes)
    window = wait_top_level(app, "Your account")
    result["windows_seen"].append("Your account")
    x_focus("^" + email.replace(".", "\\."), window)
    wait_focus(None)
    result["account_first_focus"] = [last_focus()["role"], last_focus()["name"]]
    wait_for(lambda: find(window, lambda n: role(n) == "label" and n.name == email), "the account's email")
    result["account_labels"] = [describe(n) for n in walk(window) if role(n) == "label"]


def flow_register(app: Any, params: dict[str, Any]) -> None:
    email, weak, good = params["email"], params["weak"], params["good"]
    dialog = wait_for(lambda: sign_in_dialog(app), "the sign-in dialog, ready")
    result["windows_seen"].append("Sign in")
    x_focus("^Sign in$", dialog)
    wait_focus(None)
    result["create_account_keys"] = activate_by_keyboard(dialog, "Create account")
    form = wait_top_level(app, "Create an account")
    x_focus("^Create an account$", form)
    wait_focus(None)
    tab_to("Email address", "text")
    type_into("Email address", email, "text")
    key("Tab")
    type_into("Password", weak, "password text")
    key("Tab")
    type_into("Confirm password", weak, "password text")
    since = time.monotonic()

    def advice() -> Any:
        said = [text for text in announcements(since) if "characters" in text or "password" in text.lower()]
        return said or None

    try:
        result["weak_heard"] = submit("the weak password's advice, announced", advice, in_place=True)
    except StepTimeoutError as error:
        result["errors_soft"].append(str(error))
        result["weak_heard"] = []
    result["weak_labels"] = [
        n.name for n in walk(form) if role(n) == "label" and "showing" in states(n) and n.name
    ]
    result["weak_descriptions"] = [
        describe(n)["description"] for n in walk(form) if role(n) == "password text"
    ]
    # Where the focus is now (the form puts it on the field at fault), a good password, and confirmed.
    tab_to("Password", "password text", back=True)
    type_into("Password", good, "password text")
    key("Tab")
    type_into("Confirm password", good, "password text")
    since = time.monotonic()
    result["registered_heard"] = submit(
        "the account ready, announced", lambda: heard("Your account is ready", since), in_place=False
    )["data"]
    put_away_codes(wait_top_level(app, "Recovery codes"))  # the new account's, shown once over the form
    wait_for(lambda: sign_in_dialog(app), "the sign-in dialog again")


def flow_change_password(app: Any, params: dict[str, Any]) -> None:
    email, password, wrong, new = params["email"], params["password"], params["wrong"], params["new"]
    sign_in_by_keyboard(app, email, password)
    window = submit("the account window", lambda: top_level(app, "Your account"), in_place=False)
    result["windows_seen"].append("Your account")
    x_focus("^" + email.replace(".", "\\."), window)
    wait_focus(None)
    result["change_password_keys"] = activate_by_keyboard(window, "Change password")
    dialog = wait_top_level(app, "Change password")
    x_focus("^Change password$", dialog)
    type_into("Current password", wrong, "password text")
    key("Tab")
    type_into("New password", new, "password text")
    key("Tab")
    type_into("Confirm new password", new, "password text")
    fields = [n for n in walk(dialog) if role(n) == "password text"]
    wait_for(
        lambda: [field_length(n) for n in fields] == [len(wrong), len(new), len(new)], "the typed passwords"
    )
    since = time.monotonic()

    def refused() -> Any:
        said = [text for text in announcements(since) if "incorrect" in text or "current password" in text]
        return said or None

    result["wrong_current_heard"] = submit("the wrong current password, announced", refused, in_place=True)
    tab_to("Current password", "password text", back=True)
    type_into("Current password", password, "password text")
    since = time.monotonic()
    result["changed_heard"] = submit(
        "the change, announced", lambda: heard("password was changed", since), in_place=False
    )["data"]
    result["status_bar"] = [
        n.name for n in walk(window) if role(n) in ("status bar", "label") and "changed" in (n.name or "")
    ]


def cell_text(table_node: Any, row: int, column: int) -> str:
    return str(safe(lambda: table_node.queryTable().getAccessibleAt(row, column).name, "") or "")


def flow_role_editor(app: Any, params: dict[str, Any]) -> None:
    admin, other, password = params["email"], params["other"], params["password"]
    sign_in_by_keyboard(app, admin, password)
    window = submit("the account window", lambda: top_level(app, "Your account"), in_place=False)
    result["windows_seen"].append("Your account")
    x_focus("^" + admin.replace(".", "\\."), window)
    wait_focus(None)
    result["role_editor_keys"] = activate_by_keyboard(window, "Open the role editor")
    editor = wait_top_level(app, "Role editor")
    x_focus("^Role editor", editor)
    table_node = wait_for(
        lambda: find(editor, lambda n: role(n) == "table" and n.name == "Users"), "the table"
    )
    wait_for(lambda: cell_text(table_node, 1, 0), "the user table's rows")
    rows = {cell_text(table_node, row, 0): row for row in range(2)}
    wait_focus(None)
    result["editor_first_focus"] = [last_focus()["role"], last_focus()["name"]]

    # Into the table with Tab; then to the administrator's role cell with the arrow keys.
    for _ in range(30):
        now = last_focus()
        if now is not None and now["role"] in ("table cell", "table"):
            break
        press_and_wait_focus("Tab")
    result["table_reached"] = [last_focus()["role"], last_focus()["name"]]

    def to_cell(email: str, value: str) -> None:
        """Arrow keys to ``email``'s role cell (named ``value``): Ctrl+Home (the first cell; no move when
        it is already there), Down to the row, Right to the role column."""
        press_and_wait_focus("ctrl+Home", timeout=3.0)
        for _ in range(rows[email]):
            press_and_wait_focus("Down")
        if rows[email]:
            wait_focus(email, "table cell", KEY_TIMEOUT)
        press_and_wait_focus("Right")
        wait_focus(value, "table cell", KEY_TIMEOUT)

    def edit_role(email: str, old: str, new: str) -> None:
        to_cell(email, old)
        key("F2")  # the view's edit key: the role's combo box opens on the cell
        # On Linux Qt names a combo box by its current text (its label is a relation): "admin" here.
        wait_focus(old, "combo box", KEY_TIMEOUT)
        type_keys(new[0])  # the combo box picks the role that starts with that letter, and commits it
        wait_for(lambda: cell_text(table_node, rows[email], 1).startswith(new), f"{email}'s role, {new}")
        # The editor closes and the focus is back in the table (Qt names the table, not the cell, then).
        wait_for(lambda: last_focus()["role"] in ("table", "table cell"), "the focus back in the table")

    # Demoting the only administrator (oneself): asked first, then refused, with the reason said.
    edit_role(admin, "admin", "user")
    key("ctrl+s")
    question = wait_for(
        lambda: top_level_starting(app, "Remove your own administrator role?"),
        "the question about one's role",
    )
    result["windows_seen"].append(question.name)
    result["question_role"] = role(question)
    x_focus("^Remove your own administrator role", question)
    wait_focus(None)
    result["question_focus"] = [last_focus()["role"], last_focus()["name"]]
    since = time.monotonic()
    result["yes_keys"] = activate_by_keyboard(question, "Yes")
    try:
        found = wait_for(lambda: heard("leave no active administrator", since), "the refusal, announced")
        result["refusal_heard"] = found["data"]
        ended = found["t"] + SETTLE
    except StepTimeoutError as error:
        result["errors_soft"].append(str(error))
        result["refusal_heard"] = None
        ended = time.monotonic() + SETTLE
    pump(SETTLE)  # not an assertion: the focus moves of this period are counted after it
    result["refusal_labels"] = [
        n.name for n in walk(editor) if role(n) == "label" and "administrator" in (n.name or "")
    ]
    # From Yes to the refusal: the focus goes back to the table (one move), and nowhere else.
    gains = [[e["role"], e["name"]] for e in focus_events(since) if e["t"] <= ended]
    result["busy_focus"].append({"submit": "the refused save", "focus_gains": gains})

    # Revert (its shortcut), then back to the table and give the other user the administrator role.
    x_focus("^Role editor", editor)
    result["revert_keys"] = activate_by_keyboard(editor, "Revert unsaved changes")
    wait_for(lambda: cell_text(table_node, rows[admin], 1) == "admin", "the reverted role")
    result["after_revert_focus"] = [last_focus()["role"], last_focus()["name"]]
    for _ in range(30):
        if last_focus()["role"] in ("table", "table cell"):
            break
        press_and_wait_focus("Tab")
    edit_role(other, "user", "admin")
    since = time.monotonic()
    found = submit(
        "the save, announced", lambda: heard("Saved changes", since), in_place=False, keys="ctrl+s"
    )
    result["saved_heard"] = found["data"]
    result["editor_labels"] = [n.name for n in walk(editor) if role(n) == "label" and "showing" in states(n)]


def flow_lockout(app: Any, params: dict[str, Any]) -> None:
    email, wrong = params["email"], params["wrong"]
    sign_in_by_keyboard(app, email, wrong)
    tries = 0
    for tries in range(1, 8):
        since = time.monotonic()

        def outcome(since: float = since) -> Any:
            return heard("Too many failed sign-ins", since) or heard("incorrect", since)

        found = submit(f"the outcome of wrong sign-in {tries}", outcome, in_place=True)
        if "Too many" in found["data"]:
            result["lockout_heard"] = found["data"]
            break
        type_into("Password", wrong, "password text")  # the form put the focus back on the password
    result["wrong_tries"] = tries
    result["lockout_labels"] = [
        n.name
        for n in walk(wait_for(lambda: top_level(app, "Sign in"), "the sign-in dialog"))
        if role(n) == "label" and "Too many" in (n.name or "")
    ]


# -- the sign-in dialog in the person's language -----------------------------------------------------
#
# The app runs with DESKTOP_AUTH_LANGUAGE set (ar, de): this flow knows no name of any control or window.
# It finds the dialog and its fields by their roles, and records what a screen reader says; the test
# decides whether that is the person's language (tests/test_atspi.py, against the catalogs).


def ere(text: str) -> str:
    """``text`` as a POSIX extended regular expression matching itself (for xdotool's ``--name``)."""
    return "".join("\\" + char if char in "\\^$.|?*+()[]{}" else char for char in text)


def ready_dialog(app: Any) -> Any:
    """The one dialog showing, once the database is loaded: every push button it shows is enabled (the
    sign-in dialog's Create account and Forgot password wait for the database). Found without a name."""
    for node in children(app):
        if role(node) != "dialog" or "showing" not in states(node):
            continue
        buttons = [n for n in walk(node) if role(n) == "push button" and "showing" in states(n)]
        if buttons and all("sensitive" in states(b) for b in buttons):
            return node
    return None


def flow_sign_in_translated(app: Any, params: dict[str, Any]) -> None:
    email, wrong = params["email"], params["wrong"]
    dialog = wait_for(lambda: ready_dialog(app), "the sign-in dialog (by its role), ready")
    title = dialog.name
    result["windows_seen"].append(title)
    result["dialog"] = {"name": title, "description": safe(lambda: dialog.description, "")}
    x_focus("^" + ere(title) + "$", dialog)
    wait_focus(None)

    # Once round with Tab, from where the dialog put the focus back to it: each control's role and name.
    first = last_focus()
    cycle = [[first["role"], first["name"]]]
    result["tab_cycle_closed"] = False
    for _ in range(15):
        gain = press_and_wait_focus("Tab")
        if gain is None:
            result["errors_soft"].append(f"Tab did not move the focus from {cycle[-1]}")
            break
        if [gain["role"], gain["name"]] == cycle[0]:
            result["tab_cycle_closed"] = True
            break
        cycle.append([gain["role"], gain["name"]])
    result["tab_cycle"] = cycle
    result["labels"] = [
        n.name for n in walk(dialog) if role(n) == "label" and "showing" in states(n) and n.name
    ]
    # What is read after a control's name: its description (a field's "required", its hint).
    result["descriptions"] = [
        [role(n), n.name, n.description]
        for n in walk(dialog)
        if {"focusable", "showing"} <= set(states(n)) and safe(lambda n=n: n.description, "")
    ]

    # The address and a wrong password, into the fields found by their roles; then Enter.
    tab_to(None, "text")
    key("ctrl+a")
    type_keys(email)
    key("Tab")
    wait_focus(None, "password text", KEY_TIMEOUT)
    key("ctrl+a")
    type_keys(wrong)
    email_field = find(dialog, lambda n: role(n) == "text")
    password_field = find(dialog, lambda n: role(n) == "password text")
    wait_for(
        lambda: text_of(email_field) == email and field_length(password_field) == len(wrong),
        "the typed address and password",
    )
    since = time.monotonic()

    def refused() -> Any:
        """An interrupting (assertive: detail1 2) announcement since Enter: the form's error."""
        said = [
            e["data"]
            for e in events
            if e["type"] == "object:announcement" and e["t"] >= since and e["detail1"] == 2 and e["data"]
        ]
        return said or None

    result["refusal_heard"] = submit("the refusal, announced", refused, in_place=True)
    result["announced_after_enter"] = [
        {"text": e["data"], "politeness": e["detail1"]}
        for e in events
        if e["type"] == "object:announcement" and e["t"] >= since
    ]
    result["labels_after_error"] = [
        n.name for n in walk(dialog) if role(n) == "label" and "showing" in states(n) and n.name
    ]


FLOWS = {
    "first_run": flow_first_run,
    "register": flow_register,
    "change_password": flow_change_password,
    "role_editor": flow_role_editor,
    "lockout": flow_lockout,
    "sign_in_translated": flow_sign_in_translated,
}


def main() -> int:
    scenario = sys.argv[1]
    params = json.loads(sys.argv[2])
    result.update(
        {
            "keys": [],
            "x_focus": [],
            "windows_seen": [],
            "activations": [],
            "busy_focus": [],
            "errors_soft": [],
        }
    )
    pyatspi.Registry.registerEventListener(on_event, *EVENT_TYPES)
    app = None
    try:
        app = wait_for(the_app, "the app on the accessibility bus", 90)
        if scenario == "sign_in":
            dialog = sign_in_part(app, params["wrong"], params["email"])
            window = account_part(app, dialog, params["password"], params["email"])
            role_editor_part(app, window)
        else:
            FLOWS[scenario](app, params)
    except StepTimeoutError as error:
        result["errors"].append(str(error))
    except Exception as error:
        import traceback

        result["errors"].append(f"{type(error).__name__}: {error}: {traceback.format_exc()[-1500:]}")
    finally:
        pump(0.2)
        if result["errors"] and app is not None:  # what was on screen when a step failed
            result["top_levels"] = [
                [role(node), safe(lambda node=node: node.name, ""), states(node)] for node in children(app)
            ]
            result["labels_at_failure"] = [
                node.name for node in walk(app) if role(node) == "label" and "showing" in states(node)
            ]
        pyatspi.Registry.deregisterEventListener(on_event, *EVENT_TYPES)
    result["focus"] = [[e["role"], e["name"]] for e in focus_events()]
    result["all_announcements"] = announcements()
    # The windows a screen reader is told of as they become active (it reads each one's name then).
    result["windows_activated"] = [e["name"] for e in events if e["type"] == "window:activate"]
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
