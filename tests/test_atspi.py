"""What a screen reader gets, read from the real AT-SPI tree: the real app on X (Xvfb), registered on a
private accessibility bus, driven and read by tests/atspi_probe.py through pyatspi.

The set-up, all private to the test and ended by the pids it started: Xvfb and a D-Bus session
(tests/xvfb.py), ``at-spi-bus-launcher`` (the accessibility bus, with its registry daemon), then the app
(``python -m desktop_auth``) on the xcb platform with ``QT_LINUX_ACCESSIBILITY_ALWAYS_ON=1`` (Qt registers
on the bus without a screen reader asking it to) on a new SQLite database holding one administrator.

Two kinds of test: the sign-in walk reads what a screen reader gets (announcement, values, the role
editor's table) acting through AT-SPI; the keyboard tests (``test_keyboard_*``) complete each flow of
issue #16 with real key presses only (first run, register, change password, role editor edit and save,
lockout) and assert that every message was announced, every focused control had a name, and the focus did
not run through the form while a submission was under way. ``test_keyboard_sign_in_in_the_persons_language``
runs the app in Arabic and in German (``DESKTOP_AUTH_LANGUAGE``) and checks against the catalogs that nothing
a screen reader hears at sign-in is English. Each test has its own display, buses, app and database
(``_run_probe``).

pyatspi exists only for the system's python3 (Debian's python3-pyatspi), so the probe runs there, in a
subprocess, and prints JSON. Outside CI the test skips when a piece is missing (Debian packages: xvfb,
dbus, at-spi2-core, python3-pyatspi, and Qt's xcb libraries libxcb-cursor0, libxcb-icccm4,
libxcb-keysyms1); with CI=true it must run.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from desktop_auth.ui.role_editor.columns import HEADERS
from tests.cli_helpers import seed_with_cli
from tests.conftest import CHEAP_HASH, IN_CI, OTHER_PASSWORD, STRONG_PASSWORD
from tests.xvfb import dbus_session, missing_tools, xvfb

ROOT = Path(__file__).resolve().parent.parent
PROBE = Path(__file__).with_name("atspi_probe.py")
SYSTEM_PYTHON = "/usr/bin/python3"
BUS_LAUNCHER = "/usr/libexec/at-spi-bus-launcher"
EMAIL = "root@example.com"
WRONG_PASSWORD = "not-the-password-at-all"
PROBE_TIMEOUT = 300  # the probe's own steps time out first (45 s each); this only stops a hung probe


def _missing() -> str | None:
    """Why the test cannot run here, or None."""
    tools = missing_tools("Xvfb", "dbus-daemon", "xdotool")
    if tools:
        return f"not installed: {', '.join(tools)}"
    if not Path(BUS_LAUNCHER).exists():
        return f"{BUS_LAUNCHER} is missing (Debian package at-spi2-core)"
    if not Path(SYSTEM_PYTHON).exists():
        return f"{SYSTEM_PYTHON} is missing"
    check = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import pyatspi"], capture_output=True, text=True, timeout=60, check=False
    )
    if check.returncode != 0:
        return f"pyatspi is not importable by {SYSTEM_PYTHON} (Debian package python3-pyatspi)"
    return None


@pytest.fixture(scope="module")
def atspi_ready() -> None:
    problem = _missing()
    if problem is not None:
        if IN_CI:
            pytest.fail(f"the AT-SPI test must run in CI: {problem}")
        pytest.skip(problem)


def _stop_group(process: subprocess.Popen[Any]) -> None:
    """End a process this test started in its own session, with everything it started (the accessibility
    bus launcher's dbus-daemon and registry daemon): its process group, by its pid."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        except ProcessLookupError:
            pass
    else:  # the leader is gone; what it started may not be
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)


@pytest.fixture
def session(atspi_ready: None, tmp_path: Path) -> Iterator[dict[str, str]]:
    """An X display, a D-Bus session and an accessibility bus; yields the environment to run clients in."""
    home = tmp_path / "home"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "XDG_RUNTIME_DIR": str(tmp_path / "runtime"),
        **{
            variable: str(home / variable.lower())
            for variable in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME")
        },
    }
    (tmp_path / "runtime").mkdir(mode=0o700)
    with xvfb() as display:
        env["DISPLAY"] = display
        with dbus_session() as address:
            env["DBUS_SESSION_BUS_ADDRESS"] = address
            log = (tmp_path / "bus.log").open("w")
            launcher = subprocess.Popen(
                [BUS_LAUNCHER, "--launch-immediately"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                # Tell toolkits accessibility is on (Qt registers anyway with ALWAYS_ON; others ask this).
                subprocess.run(
                    [
                        "dbus-send",
                        "--session",
                        "--print-reply",
                        "--dest=org.a11y.Bus",
                        "/org/a11y/bus",
                        "org.freedesktop.DBus.Properties.Set",
                        "string:org.a11y.Status",
                        "string:IsEnabled",
                        "variant:boolean:true",
                    ],
                    env=env,
                    capture_output=True,
                    timeout=60,
                    check=False,
                )
                yield env
            finally:
                _stop_group(launcher)
                log.close()


def _stacks_if_stuck(app: subprocess.Popen[Any], probe: subprocess.CompletedProcess[str] | None) -> str:
    """When a probe step failed with the app still running: where the app's threads are (gdb's native
    stacks when gdb is installed), then its Python stacks in its log (PYTHONFAULTHANDLER: SIGABRT)."""
    if probe is not None and probe.returncode == 0 and '"errors": []' in probe.stdout:
        return ""
    stacks = ""
    if shutil.which("gdb"):
        done = subprocess.run(
            ["gdb", "-p", str(app.pid), "-batch", "-ex", "thread apply all bt 25"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        stacks = (
            "\nthe app's native stacks:\n"
            + "\n".join(line for line in done.stdout.splitlines() if line.startswith(("#", "Thread")))[-8000:]
        )
    with contextlib.suppress(ProcessLookupError):
        os.kill(app.pid, signal.SIGABRT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            app.wait(timeout=10)
    return stacks


def _run_probe(
    session: dict[str, str],
    tmp_path: Path,
    scenario: str,
    params: dict[str, Any],
    users: tuple[tuple[str, str, str], ...] = ((EMAIL, "admin", STRONG_PASSWORD),),
    extra_env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Seed a new database with ``users``, run the app on it and the probe's ``scenario`` against it; the
    probe's findings (with the end of the app's log under ``app_log``). The app is stopped either way."""
    url = f"sqlite:///{tmp_path / 'atspi.sqlite3'}"
    app_env = {
        **session,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": url,
        "DESKTOP_AUTH_HASH_METHOD": CHEAP_HASH,
        "DESKTOP_AUTH_ALLOW_WEAK_HASH_FOR_TESTS": "1",
        "DESKTOP_AUTH_LOG_DIR": str(tmp_path / "logs"),
        "QT_QPA_PLATFORM": "xcb",
        "QT_LINUX_ACCESSIBILITY_ALWAYS_ON": "1",
        "QT_ACCESSIBILITY": "1",
        "PYTHONFAULTHANDLER": "1",  # a crash leaves the Python stack of every thread in the app's log
        **(extra_env or {}),
    }
    seed_with_cli(
        app_env, url, users
    )  # with the same settings: a database keeps the lockout rules it is made with
    app_log = (tmp_path / "app.log").open("w")
    app = subprocess.Popen(
        [sys.executable, "-m", "desktop_auth"],
        env=app_env,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=app_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    probe: subprocess.CompletedProcess[str] | None = None
    try:
        probe = subprocess.run(
            [SYSTEM_PYTHON, str(PROBE), scenario, json.dumps(params)],
            env=session,  # not the venv's: the system python with its own packages
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT,
            check=False,
        )
    finally:
        exited = app.poll()  # None while the app runs: a flow that loses its window may have ended the app
        stacks = _stacks_if_stuck(app, probe) if exited is None else ""
        _stop_group(app)
        app_log.close()
    log_text = (tmp_path / "app.log").read_text(errors="replace")[-6000:]
    log_text += f"\napp exit status when the probe ended: {'still running' if exited is None else exited}"
    log_text += stacks
    log_text += "".join(
        f"\n{log.name}:\n{log.read_text(errors='replace')[-2000:]}"
        for log in (tmp_path / "logs").glob("*.log")
    )
    assert probe is not None
    assert probe.returncode == 0, f"probe failed:\n{probe.stderr[-3000:]}\n{log_text}"
    assert probe.stdout.strip(), f"the probe printed nothing:\n{probe.stderr[-3000:]}\n{log_text}"
    found: dict[str, Any] = json.loads(probe.stdout.strip().splitlines()[-1])
    found["app_log"] = log_text
    print(json.dumps({key: value for key, value in found.items() if key != "events"}, indent=1))
    return found


@pytest.fixture
def probed(session: dict[str, str], tmp_path: Path) -> dict[str, Any]:
    """Run the app and the probe's sign-in walk (AT-SPI actions, not keys); the probe's findings."""
    params = {"email": EMAIL, "password": STRONG_PASSWORD, "wrong": WRONG_PASSWORD}
    return _run_probe(session, tmp_path, "sign_in", params)


def test_a_screen_reader_hears_the_message_reads_values_and_walks_the_table(probed: dict[str, Any]) -> None:
    found = probed
    steps = f"probe steps that timed out: {found['errors']}\n{found['app_log']}"

    # Signing in wrongly: the message is announced, and the label that shows it is named by its text.
    assert any("email address or password is incorrect" in text for text in found["announcements"]), (
        f"announcements: {found['announcements']}; labels: {found['error_label_names']}"
    )
    assert found["error_label"] is not None, steps
    assert "incorrect" in found["error_label"]["name"], found["error_label"]
    assert "Error" not in found["error_label_names"], found["error_label_names"]
    # While it checked the password the focus stayed put: no burst through the disabled inputs.
    assert found["focus_taken"], "the password field could not be given the focus"
    moves = found["focus_after_submit"]
    assert all(name == "Password" for _role, name in moves), moves
    # The fields say they are required (Qt has no AT-SPI "required" state: the description says it).
    email_field, password_field = found["login_fields"]
    assert email_field["description"].startswith("Required"), email_field
    assert password_field["description"].startswith("Required"), password_field
    # The tree follows the form: each caption, then its field; the fields before the buttons.
    order = [child["name"] for child in found["login_children"]]
    assert order.index("Email:") < order.index("Email address") < order.index("Password:"), order
    assert order.index("Password:") < order.index("Password") < order.index("Show password"), order
    panel = next(i for i, child in enumerate(found["login_children"]) if child["role"] == "panel")
    assert order.index("Show password") < panel, order

    # The account window: each value label reads as its value, labelled by its caption.
    assert "account_labels" in found, steps
    labels = {label["name"]: label for label in found["account_labels"]}
    assert not {"Email address", "Role", "Last sign-in"} & set(labels), sorted(labels)
    assert labels[EMAIL]["labelled_by"] == ["Email:"], labels[EMAIL]
    assert labels["admin"]["labelled_by"] == ["Role:"], labels.get("admin")
    assert labels["This is your first sign-in"]["labelled_by"] == ["Last sign-in:"]

    # The role editor's table: its headers and cells, through the Table interface.
    assert "table_size" in found, steps
    assert found["table_size"] == [1, len(HEADERS)], found["table_size"]
    assert found["table_headers"][:3] == ["Email", "Role", "Active"], found["table_headers"]
    assert found["table_cells"][0][:2] == [EMAIL, "admin"], found["table_cells"]
    clear_buttons = [child for child in found["filter_children"] if child["role"] == "push button"]
    assert clear_buttons, found["filter_children"]
    assert all(button["name"] == "Clear the filter" for button in clear_buttons), clear_buttons
    # The users status reads as what it says ("1 user"), not as "Users status".
    assert "Users status" not in found["editor_labels"], found["editor_labels"]
    assert "1 user" in found["editor_labels"], found["editor_labels"]
    assert "1 user" in found.get("all_announcements", []), (found.get("all_announcements"), steps)
    assert not found["errors"], steps


# -- every flow with the keyboard only -------------------------------------------------------------------
#
# The probe types real X key events (xdotool, XTEST) and only listens to and reads AT-SPI: no click, no
# AT-SPI action, no text written through AT-SPI. The one non-key step is a window manager's (Xvfb has none):
# a window that opens gets the X input focus. What a screen reader would say is in the findings: the
# announcements, the role and name of each focused object, the windows that appeared.

NEW_EMAIL = "newcomer@example.com"
OTHER_EMAIL = "bob@example.com"  # sorts before EMAIL: the administrator is the table's second row
WEAK_PASSWORD = "password"


def _steps(found: dict[str, Any]) -> str:
    return (
        f"probe steps that failed: {found['errors']} {found.get('errors_soft')}\n"
        f"focus: {found.get('focus')}\nannouncements: {found.get('all_announcements')}\n"
        f"windows: {found.get('windows_seen')}\nkeys: {found.get('keys')}\n"
        f"on screen at the failure: {found.get('top_levels')} {found.get('labels_at_failure')}\n{found['app_log']}"
    )


def _assert_heard_and_steady(found: dict[str, Any]) -> None:
    """What every keyboard flow must give: it finished; each focused control had a name; no focus burst
    while a submission was under way (at most one focus move, e.g. to the field at fault)."""
    steps = _steps(found)
    assert not found["errors"], steps
    assert found["focus"], steps
    unnamed = [focus for focus in found["focus"] if not focus[1].strip()]
    assert not unnamed, f"focused controls without a name: {unnamed}\n{steps}"
    bursts = [busy for busy in found["busy_focus"] if len(busy["focus_gains"]) > 1]
    assert not bursts, f"focus bursts while busy: {bursts}\n{steps}"


def test_keyboard_first_run(session: dict[str, str], tmp_path: Path) -> None:
    found = _run_probe(
        session, tmp_path, "first_run", {"email": EMAIL, "password": STRONG_PASSWORD}, users=()
    )
    _assert_heard_and_steady(found)
    activated = set(found["windows_activated"])
    assert {"Create the administrator account", "Recovery codes", "Your account"} <= activated, _steps(found)
    assert found["codes_copy_keys"], _steps(found)  # the codes put away by keyboard alone
    assert f"Signed in as {EMAIL}" in found["all_announcements"], _steps(found)
    visited = [name for _role, name in found["tab_cycle"]]
    assert {"Password", "Confirm password", "Create administrator"} <= set(visited), found["tab_cycle"]
    labels = {label["name"]: label for label in found["account_labels"]}
    assert labels[EMAIL]["labelled_by"] == ["Email:"], labels.get(EMAIL)
    assert labels["admin"]["labelled_by"] == ["Role:"], labels.get("admin")


def test_keyboard_register(session: dict[str, str], tmp_path: Path) -> None:
    params = {"email": NEW_EMAIL, "weak": WEAK_PASSWORD, "good": OTHER_PASSWORD}
    found = _run_probe(session, tmp_path, "register", params)
    _assert_heard_and_steady(found)
    assert "Create an account" in found["windows_activated"], _steps(found)
    assert found["weak_heard"], (found["weak_labels"], found["weak_descriptions"], _steps(found))
    assert "Your account is ready" in found["registered_heard"], _steps(found)


def test_keyboard_change_password(session: dict[str, str], tmp_path: Path) -> None:
    params = {"email": EMAIL, "password": STRONG_PASSWORD, "wrong": WRONG_PASSWORD, "new": OTHER_PASSWORD}
    found = _run_probe(session, tmp_path, "change_password", params)
    _assert_heard_and_steady(found)
    assert "Change password" in found["windows_activated"], _steps(found)
    said = found["wrong_current_heard"]
    assert any("current password is incorrect" in text for text in said), _steps(found)
    assert "password was changed" in found["changed_heard"], _steps(found)


def test_keyboard_role_editor(session: dict[str, str], tmp_path: Path) -> None:
    users = ((EMAIL, "admin", STRONG_PASSWORD), (OTHER_EMAIL, "user", OTHER_PASSWORD))
    params = {"email": EMAIL, "other": OTHER_EMAIL, "password": STRONG_PASSWORD}
    found = _run_probe(session, tmp_path, "role_editor", params, users=users)
    _assert_heard_and_steady(found)
    assert "Role editor" in found["windows_activated"], _steps(found)
    # Demoting oneself asks first (an alert, its name heard); Yes by its key, then the refusal is heard.
    assert any(name.startswith("Remove your own administrator role?") for name in found["windows_activated"])
    assert found["refusal_heard"], (found["refusal_labels"], _steps(found))
    assert "leave no active administrator" in found["refusal_heard"], _steps(found)
    assert "Saved changes to 1 user" in found["saved_heard"], _steps(found)


def test_keyboard_lockout(session: dict[str, str], tmp_path: Path) -> None:
    found = _run_probe(
        session,
        tmp_path,
        "lockout",
        {"email": EMAIL, "wrong": WRONG_PASSWORD},
        extra_env={"DESKTOP_AUTH_LOCKOUT_THRESHOLD": "2"},
    )
    _assert_heard_and_steady(found)
    assert "Sign in" in found["windows_activated"], _steps(found)
    assert "Too many failed sign-ins" in found.get("lockout_heard", ""), _steps(found)
    assert found["lockout_labels"], _steps(found)


# -- the sign-in dialog in the person's language ---------------------------------------------------------
#
# The app in Arabic, then German (DESKTOP_AUTH_LANGUAGE): the probe walks the sign-in dialog once round
# with Tab and signs in with a wrong password, knowing no control's name (it finds them by role). What a
# screen reader heard is checked against the catalog: nothing English (no focused name, window title,
# announcement or field description is a source text of the catalog; in Arabic each has Arabic letters and
# no Latin letter outside the typed address and an isolated example address), and the refusal is the
# catalog's translation of the service's words.

CATALOGS = ROOT / "desktop_auth" / "translations"
WRONG_SIGN_IN = "The email address or password is incorrect."  # services/errors.py InvalidCredentialsError
ISOLATES = str.maketrans("", "", "\u2066\u2067\u2068\u2069\u200e\u200f")  # bidi marks, not words


def _plain(text: str) -> str:
    """A catalog text as a screen reader gets it: without the mnemonic's ``&`` (``&&`` is an ``&``)."""
    return re.sub(r"&(.)", r"\1", text).strip()


def _catalog(language: str) -> list[tuple[str, list[str]]]:
    """(English source, its translations: one, or a plural's forms) of every message in the catalog."""
    root = ElementTree.parse(CATALOGS / f"desktop_auth_{language}.ts").getroot()
    entries = []
    for entry in root.iter("message"):
        translation = entry.find("translation")
        forms = [] if translation is None else [form.text or "" for form in translation.iter("numerusform")]
        if translation is not None and not forms:
            forms = [translation.text or ""]
        entries.append((entry.findtext("source") or "", forms))
    return entries


def _english_patterns(catalog: list[tuple[str, list[str]]]) -> dict[str, re.Pattern[str]]:
    """Each English source the catalog translates differently (a word the same in both is no slip), with
    the pattern a text read out matches whole when it is that source: a ``{placeholder}`` stands for
    anything."""
    return {
        source: re.compile(
            ".*".join(re.escape(part) for part in re.split(r"\{\w+\}", _plain(source))), re.DOTALL
        )
        for source, forms in catalog
        if any(_plain(form) != _plain(source) for form in forms)
        and re.search("[A-Za-z]", re.sub(r"\{\w+\}", "", source))
    }


def _assert_in_language(found: dict[str, Any], language: str, email: str) -> None:
    """What a screen reader heard is in ``language`` (see above); the refusal is the catalog's."""
    _assert_heard_and_steady(found)  # every focused control named, no focus burst while checking
    steps = _steps(found)
    assert found["tab_cycle_closed"], f"the Tab walk did not come round: {found['tab_cycle']}\n{steps}"
    focused = found["tab_cycle"] + found["focus"]

    catalog = _catalog(language)
    english = _english_patterns(catalog)
    heard = {
        "focused name": [name for _role, name in focused],
        "window title": [found["dialog"]["name"], *found["windows_activated"]],
        "announcement": found["all_announcements"],
        "description": [description for _role, _name, description in found["descriptions"]],
    }
    assert all(heard.values()), f"nothing heard of some kind: {heard}\n{steps}"
    for kind, texts in heard.items():
        for text in texts:
            said = text.translate(ISOLATES).strip()
            source = next((source for source, pattern in english.items() if pattern.fullmatch(said)), None)
            assert source is None, f"{kind} {text!r} is English (the catalog's source {source!r})\n{steps}"
            if language == "ar":
                # Not words: the typed address, and a value the text isolates (an example address).
                rest = re.sub("\u2068[^\u2069]*\u2069", "", text).translate(ISOLATES).replace(email, "")
                assert not re.search(r"[A-Za-z]", rest), f"{kind} {text!r} has Latin letters\n{steps}"
                assert re.search(r"[\u0600-\u06ff]", rest), f"{kind} {text!r} has no Arabic letter\n{steps}"

    refusal = [form for source, forms in catalog if source == WRONG_SIGN_IN for form in forms]
    assert refusal, f"{WRONG_SIGN_IN!r} is not in the {language} catalog"
    assert all(refusal), f"{WRONG_SIGN_IN!r} is not translated in the {language} catalog"
    said = [text.translate(ISOLATES) for text in found["refusal_heard"]]
    assert any(form in text for form in refusal for text in said), (
        f"the refusal heard: {found['refusal_heard']}, the catalog's: {refusal}\n{steps}"
    )


@pytest.mark.parametrize("language", ["ar", "de"])
def test_keyboard_sign_in_in_the_persons_language(
    session: dict[str, str], tmp_path: Path, language: str
) -> None:
    found = _run_probe(
        session,
        tmp_path,
        "sign_in_translated",
        {"email": EMAIL, "wrong": WRONG_PASSWORD},
        extra_env={"DESKTOP_AUTH_LANGUAGE": language},
    )
    _assert_in_language(found, language, EMAIL)
