"""What a screen reader gets, read from the real AT-SPI tree: the real app on X (Xvfb), registered on a
private accessibility bus, driven and read by tests/atspi_probe.py through pyatspi.

The set-up, all private to the test and ended by the pids it started: Xvfb and a D-Bus session
(tests/xvfb.py), ``at-spi-bus-launcher`` (the accessibility bus, with its registry daemon), then the app
(``python -m desktop_auth``) on the xcb platform with ``QT_LINUX_ACCESSIBILITY_ALWAYS_ON=1`` (Qt registers
on the bus without a screen reader asking it to) on a new SQLite database holding one administrator.

pyatspi exists only for the system's python3 (Debian's python3-pyatspi), so the probe runs there, in a
subprocess, and prints JSON. Outside CI the test skips when a piece is missing (Debian packages: xvfb,
dbus, at-spi2-core, python3-pyatspi, and Qt's xcb libraries libxcb-cursor0, libxcb-icccm4,
libxcb-keysyms1); with CI=true it must run.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CHEAP_HASH, IN_CI, STRONG_PASSWORD
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


def _seed(env: dict[str, str], url: str) -> None:
    """A migrated database with one administrator, through the app's own commands."""
    for args, stdin in (
        (["db", "upgrade"], None),
        (["users", "create", EMAIL, "--role", "admin", "--password-stdin"], STRONG_PASSWORD + "\n"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "desktop_auth", "--database-url", url, *args],
            env=env,
            cwd=ROOT,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr


@pytest.fixture
def probed(session: dict[str, str], tmp_path: Path) -> dict[str, Any]:
    """Run the app and the probe; the probe's findings."""
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
    }
    _seed(app_env, url)
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
    try:
        probe = subprocess.run(
            [SYSTEM_PYTHON, str(PROBE), EMAIL, STRONG_PASSWORD, WRONG_PASSWORD],
            env=session,  # not the venv's: the system python with its own packages
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT,
            check=False,
        )
    finally:
        _stop_group(app)
        app_log.close()
    log_text = (tmp_path / "app.log").read_text(errors="replace")[-3000:]
    assert probe.returncode == 0, f"probe failed:\n{probe.stderr[-3000:]}\n{log_text}"
    assert probe.stdout.strip(), f"the probe printed nothing:\n{probe.stderr[-3000:]}\n{log_text}"
    found: dict[str, Any] = json.loads(probe.stdout.strip().splitlines()[-1])
    found["app_log"] = log_text
    print(json.dumps({key: value for key, value in found.items() if key != "events"}, indent=1))
    return found


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
    assert found["table_size"] == [1, 8], found["table_size"]
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
