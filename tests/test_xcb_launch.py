"""The app on a real Linux desktop (issue #16): the README's launch command under a real X server (Xvfb)
on Qt's xcb platform shows its window; when the platform plugin's libraries are missing, or there is no
display, ``desktop-auth`` says so in one line instead of Qt's abort.

The X test needs Xvfb and xdotool (Debian: xvfb xdotool, installed by .ci/run): it skips without them
locally and fails without them in CI.
"""

from __future__ import annotations

import importlib.util
import os
import re
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop_auth.ui import qt_platform
from desktop_auth.ui.qt_platform import missing_libraries, needed_libraries, window_problem, xcb_plugin
from tests.conftest import IN_CI
from tests.xvfb import close_window, missing_tools, wait_for_window, window_titles, xvfb

ROOT = Path(__file__).resolve().parent.parent
# The README's launch command ends with `.venv/bin/desktop-auth`; elsewhere, the one beside this Python.
COMMAND = next(
    (
        path
        for path in (ROOT / ".venv" / "bin" / "desktop-auth", Path(sys.executable).parent / "desktop-auth")
        if path.exists()
    ),
    ROOT / ".venv" / "bin" / "desktop-auth",
)
LINUX = sys.platform.startswith("linux")
MISSING_ICCCM_KEYSYMS = (
    "Qt cannot open a window: missing libxcb-icccm.so.4, libxcb-keysyms.so.1 "
    "(Debian/Ubuntu: sudo apt install libxcb-icccm4 libxcb-keysyms1; "
    "Fedora: sudo dnf install xcb-util-wm xcb-util-keysyms)"
)


def fake_library(path: Path, needed: list[str]) -> Path:
    """A minimal ELF64 shared object whose dynamic section names ``needed``: enough for the check, which
    reads NEEDED entries and never loads the file. Its segment sits at 0x400000 so the address-to-offset
    arithmetic is exercised."""
    base, header_size, program_header_size = 0x400000, 64, 56
    dynamic_offset = header_size + 2 * program_header_size
    strings = b"\0"
    offsets = []
    for name in needed:
        offsets.append(len(strings))
        strings += name.encode() + b"\0"
    entries = [(1, offset) for offset in offsets]  # DT_NEEDED
    dynamic_size = (len(entries) + 3) * 16
    strings_offset = dynamic_offset + dynamic_size
    entries += [(5, base + strings_offset), (10, len(strings)), (0, 0)]  # DT_STRTAB, DT_STRSZ, DT_NULL
    total = strings_offset + len(strings)
    elf = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
    elf += struct.pack(
        "<HHIQQQIHHHHHH", 3, 62, 1, 0, header_size, 0, 0, header_size, program_header_size, 2, 64, 0, 0
    )
    elf += struct.pack("<IIQQQQQQ", 1, 5, 0, base, base, total, total, 0x1000)  # PT_LOAD, the whole file
    elf += struct.pack(
        "<IIQQQQQQ", 2, 6, dynamic_offset, base + dynamic_offset, 0, dynamic_size, dynamic_size, 8
    )
    elf += b"".join(struct.pack("<qQ", tag, value) for tag, value in entries) + strings
    assert len(elf) == total
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(elf)
    return path


def fake_pyside(root: Path, plugin_needs: list[str]) -> Path:
    """A PySide6 package laid out as the wheel is (Qt/plugins/platforms, Qt/lib) whose xcb plugin needs a
    shipped Qt library and ``plugin_needs``; the shipped library needs libc only. Returns the plugin."""
    package = root / "PySide6"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("raise ImportError('the fake PySide6 of test_xcb_launch')\n")
    fake_library(package / "Qt" / "lib" / "libQt6FakeXcbQpa.so.6", ["libc.so.6"])
    return fake_library(
        package / "Qt" / "plugins" / "platforms" / "libqxcb.so", ["libQt6FakeXcbQpa.so.6", *plugin_needs]
    )


def clean_environment(home: Path, **extra: str) -> dict[str, str]:
    """A fresh user's environment: no setting of the app's, every per-user directory in ``home``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(
            ("DESKTOP_AUTH_", "DATABASE_URL", "XDG_", "QT_", "DBUS_", "WAYLAND_", "DISPLAY")
        )
    }
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_DATA_HOME=str(home / "data"),
        XDG_STATE_HOME=str(home / "state"),
        XDG_CACHE_HOME=str(home / "cache"),
    )
    env.update(extra)
    return env


# -- the check ----------------------------------------------------------------------------------------


@pytest.mark.skipif(not LINUX, reason="the xcb plugin is Linux's")
def test_reads_the_plugins_needed_libraries_as_readelf_does() -> None:
    plugin = xcb_plugin()
    assert plugin is not None, "PySide6's wheel has Qt/plugins/platforms/libqxcb.so"
    needed = needed_libraries(plugin)
    # The two a clean Debian 12 lacks, and the Qt library that carries most of the plugin.
    assert {"libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libQt6XcbQpa.so.6"} <= set(needed)
    assert all(name.startswith(("lib", "ld-")) and ".so" in name for name in needed), needed


def test_a_missing_library_is_one_line_naming_it(tmp_path: Path) -> None:
    plugin = fake_pyside(tmp_path, ["libc.so.6", "libdesktop-auth-absent.so.7"])
    assert needed_libraries(plugin) == ["libQt6FakeXcbQpa.so.6", "libc.so.6", "libdesktop-auth-absent.so.7"]
    environ = {"DISPLAY": ":99", "QT_QPA_PLATFORM": "xcb"}
    # The real loader (ctypes.CDLL): libc loads, the made-up library does not.
    assert window_problem(environ, platform="linux", plugin=plugin) == (
        "Qt cannot open a window: missing libdesktop-auth-absent.so.7 "
        "(install the packages that provide them; README: Troubleshooting)"
    )


@pytest.mark.skipif(not LINUX, reason="the xcb plugin is Linux's")
def test_the_line_names_the_packages_per_distribution() -> None:
    """The real plugin on a machine where the loader finds neither of the libraries Debian 12 lacks."""
    plugin = xcb_plugin()
    assert plugin is not None
    asked: list[str] = []

    def load(soname: str) -> None:
        asked.append(soname)
        if soname in ("libxcb-keysyms.so.1", "libxcb-icccm.so.4"):
            raise OSError(f"{soname}: cannot open shared object file: No such file or directory")

    assert (
        window_problem({"DISPLAY": ":0"}, platform="linux", plugin=plugin, load=load) == MISSING_ICCCM_KEYSYMS
    )
    assert "libQt6XcbQpa.so.6" not in asked, "the Qt libraries shipped beside the plugin are read, not loaded"
    assert {"libxcb-cursor.so.0", "libEGL.so.1", "libdbus-1.so.3"} <= set(asked), (
        "the shipped ones' needs too"
    )


def test_a_library_that_needs_a_missing_one_names_the_missing_one(tmp_path: Path) -> None:
    plugin = fake_pyside(tmp_path, ["libxcb-icccm.so.4"])

    def load(soname: str) -> None:
        raise OSError("libxcb.so.1: cannot open shared object file: No such file or directory")

    assert missing_libraries(plugin, load) == ["libxcb.so.1"]


@pytest.mark.parametrize(
    ("environ", "platform", "expected"),
    [
        pytest.param(
            {},
            "linux",
            "no display to open a window on: neither DISPLAY nor WAYLAND_DISPLAY is set (start it from a desktop session, or over SSH with X forwarding: ssh -X)",
            id="no-display",
        ),
        pytest.param(
            {"QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": "wayland-0"},
            "linux",
            "no display to open a window on: DISPLAY is not set (QT_QPA_PLATFORM=xcb)",
            id="xcb-without-DISPLAY",
        ),
        pytest.param({"DISPLAY": ":0"}, "linux", MISSING_ICCCM_KEYSYMS, id="x11-session"),
        pytest.param(
            {"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb:nograb"},
            "linux",
            MISSING_ICCCM_KEYSYMS,
            id="xcb-with-options",
        ),
        pytest.param({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, "linux", None, id="wayland-session"),
        pytest.param(
            {"DISPLAY": ":0", "XDG_SESSION_TYPE": "wayland"}, "linux", None, id="wayland-session-type"
        ),
        pytest.param({"QT_QPA_PLATFORM": "offscreen"}, "linux", None, id="offscreen"),
        pytest.param({"QT_QPA_PLATFORM": "wayland"}, "linux", None, id="wayland"),
        pytest.param({"QT_QPA_PLATFORM": "xcb;offscreen"}, "linux", None, id="fallback-list"),
        pytest.param(
            {"DISPLAY": ":0", "QT_QPA_PLATFORM_PLUGIN_PATH": "/opt/qt"}, "linux", None, id="other-plugins"
        ),
        pytest.param({}, "win32", None, id="windows"),
        pytest.param({}, "darwin", None, id="macos"),
    ],
)
def test_when_the_check_applies(
    tmp_path: Path, environ: dict[str, str], platform: str, expected: str | None
) -> None:
    plugin = fake_pyside(tmp_path, ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"])

    def load(soname: str) -> None:
        if soname.startswith("libxcb"):
            raise OSError(f"{soname}: cannot open shared object file: No such file or directory")

    assert window_problem(environ, platform=platform, plugin=plugin, load=load) == expected


def test_an_unreadable_plugin_leaves_it_to_qt(tmp_path: Path) -> None:
    plugin = tmp_path / "libqxcb.so"
    plugin.write_bytes(b"not an ELF file")
    assert window_problem({"DISPLAY": ":0"}, platform="linux", plugin=plugin) is None


def test_finds_the_plugin_in_a_pyinstaller_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In the bundle PySide6 lives in sys._MEIPASS (the frozen importer may give no search location)."""
    plugin = fake_pyside(tmp_path, [])
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert xcb_plugin() == plugin


# Libraries of every Debian and Fedora base system: the README and .ci/run leave their packages out.
GLIBC = ("libc.so.", "libm.so.", "libpthread.so.", "libdl.so.", "librt.so.", "ld-linux")
IN_EVERY_BASE = {"zlib1g", "libzstd1", "libstdc++6", "libgcc-s1", "zlib", "libzstd", "libstdc++", "libgcc"}


@pytest.mark.skipif(not LINUX, reason="the xcb plugin is Linux's")
def test_the_readme_and_ci_name_every_package_the_plugin_needs() -> None:
    """Every library the plugin and its Qt libraries link to has its packages in the check's table, and
    the README's per-distribution commands and .ci/run's list name exactly those (base system aside)."""
    plugin = xcb_plugin()
    assert plugin is not None
    asked: list[str] = []
    missing_libraries(plugin, asked.append)
    system = [name for name in asked if not name.startswith(GLIBC)]
    assert not [name for name in system if name not in qt_platform.PACKAGES], "a library without packages"
    debian = {qt_platform.PACKAGES[name][0] for name in system} - IN_EVERY_BASE
    fedora = {qt_platform.PACKAGES[name][1] for name in system} - IN_EVERY_BASE

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    row = next(
        line for line in readme.splitlines() if line.startswith("| `desktop-auth: Qt cannot open a window")
    )
    apt = re.search(r"Debian 12, Ubuntu 22\.04: `sudo apt install ([^`]+)`", row)
    dnf = re.search(r"Fedora: `sudo dnf install ([^`]+)`", row)
    assert apt is not None, row
    assert dnf is not None, row
    assert set(apt.group(1).split()) == debian
    assert set(dnf.group(1).split()) == fedora
    ci = re.search(r"qt_x11_packages=\(([^)]*)\)", (ROOT / ".ci" / "run").read_text(encoding="utf-8"))
    assert ci is not None
    assert debian <= set(ci.group(1).split())


# -- the command --------------------------------------------------------------------------------------


@pytest.mark.skipif(not LINUX, reason="the xcb plugin is Linux's")
def test_the_command_prints_one_line_when_the_plugin_cannot_load(tmp_path: Path) -> None:
    """The real console script, with a PySide6 (found first on PYTHONPATH) whose xcb plugin needs a
    library no system has: one line on stderr, status 1, no Qt abort."""
    fake_pyside(tmp_path / "site", ["libdesktop-auth-absent.so.7"])
    env = clean_environment(
        tmp_path / "home", DISPLAY=":99", QT_QPA_PLATFORM="xcb", PYTHONPATH=str(tmp_path / "site")
    )
    result = subprocess.run(
        [str(COMMAND)], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr == (
        "desktop-auth: Qt cannot open a window: missing libdesktop-auth-absent.so.7 "
        "(install the packages that provide them; README: Troubleshooting)\n"
    )
    assert result.stdout == ""


@pytest.mark.skipif(not LINUX, reason="X11's DISPLAY is Linux's")
def test_the_command_says_there_is_no_display(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(COMMAND)],
        env=clean_environment(tmp_path / "home"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr == (
        "desktop-auth: no display to open a window on: neither DISPLAY nor WAYLAND_DISPLAY is set "
        "(start it from a desktop session, or over SSH with X forwarding: ssh -X)\n"
    )


# -- a real X server ------------------------------------------------------------------------------------


@pytest.fixture
def x_display() -> Iterator[str]:
    """A real X server (Xvfb) for the test; skipped locally without Xvfb/xdotool, a failure in CI."""
    missing = missing_tools("Xvfb", "xdotool")
    if missing:
        message = f"{', '.join(missing)} not installed (Debian: apt install xvfb xdotool)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    with xvfb() as display:
        yield display


@pytest.mark.skipif(not LINUX, reason="Xvfb and the xcb plugin are Linux's")
def test_the_readme_launch_command_opens_a_window_on_x11(x_display: str, tmp_path: Path) -> None:
    """`.venv/bin/desktop-auth` as a new user runs it (embedded SQLite in a temporary home), on Qt's real
    xcb platform: the first-run window appears on the X server, and closing it as a window manager would
    ends the app with status 0."""
    home = tmp_path / "home"
    env = clean_environment(home, DISPLAY=x_display, QT_QPA_PLATFORM="xcb")
    app = subprocess.Popen(
        [str(COMMAND)], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        try:
            # A fresh database has no administrator: the sign-in dialog gives way to the first-run one.
            window = wait_for_window(x_display, "^Create the administrator account", timeout=90, alive=app)
        except (RuntimeError, TimeoutError) as error:
            titles = window_titles(x_display)
            app.kill()
            _, stderr = app.communicate(timeout=30)
            pytest.fail(f"{error}; windows: {titles}; stderr: {stderr[-3000:]}")
        close_window(x_display, window)
        _, stderr = app.communicate(timeout=60)
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
    assert app.returncode == 0, stderr
    assert "could not load the Qt platform plugin" not in stderr, stderr
    assert (home / "data" / "desktop-auth" / "desktop_auth.sqlite3").is_file(), "the embedded database"
