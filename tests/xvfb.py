"""A real X server for tests: Xvfb on a display number it picks itself, a private D-Bus session beside it,
and the few X requests the tests make (find a window by its title, close it as a window manager would).

    with xvfb() as display:                    # ":N"; Xvfb stopped (by its own pid) on the way out
        with dbus_session() as bus_address:    # for DBUS_SESSION_BUS_ADDRESS (AT-SPI needs a session bus)
            ...

Each server is started with ``-displayfd`` / ``--print-address`` so that two test runs on one machine never
race for a display number or a bus, and each is ended by the pid this module started, never by name.
Debian packages: xvfb, x11-utils, xdotool, dbus (dbus-x11 for dbus-launch); .ci/run installs them.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator

DEFAULT_SCREEN = "1280x800x24"


def missing_tools(*tools: str) -> list[str]:
    """Those of ``tools`` (commands) not on PATH."""
    return [tool for tool in tools if shutil.which(tool) is None]


def _read_line(fd: int, process: subprocess.Popen[bytes], timeout: float, what: str) -> str:
    """One line the child writes to ``fd`` (its display number, its address), or RuntimeError when it exits
    or stays silent for ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    data = b""
    while b"\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0:
            raise RuntimeError(f"{what} did not start within {timeout:.0f} s")
        ready, _, _ = select.select([fd], [], [], min(left, 0.2))
        if ready:
            chunk = os.read(fd, 4096)
            if not chunk:  # the child closed its end: it exited
                break
            data += chunk
        elif process.poll() is not None:
            break
    if b"\n" not in data:
        raise RuntimeError(f"{what} exited with status {process.wait()} before it was ready")
    return data.split(b"\n", 1)[0].decode().strip()


def _stop(process: subprocess.Popen[bytes]) -> None:
    """End the child this module started (by its pid), politely first."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def _started(command: list[str], what: str, timeout: float) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """Start ``command`` with ``{fd}`` in its arguments replaced by a pipe it writes its first line to;
    yield the process and that line; stop it on the way out. Its stderr goes to a file shown on failure."""
    read_fd, write_fd = os.pipe()
    try:
        with tempfile.TemporaryFile() as log:
            try:
                process = subprocess.Popen(
                    [part.replace("{fd}", str(write_fd)) for part in command],
                    pass_fds=(write_fd,),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                )
            finally:
                os.close(write_fd)  # the child's copy stays open: EOF here means it exited
            try:
                try:
                    line = _read_line(read_fd, process, timeout, what)
                except RuntimeError as error:
                    log.seek(0)
                    raise RuntimeError(f"{error}: {log.read().decode(errors='replace')[-2000:]}") from None
                yield process, line
            finally:
                _stop(process)
    finally:
        os.close(read_fd)


@contextlib.contextmanager
def xvfb(screen: str = DEFAULT_SCREEN, timeout: float = 20.0) -> Iterator[str]:
    """A running Xvfb with one screen of ``screen`` (WIDTHxHEIGHTxDEPTH); yields its DISPLAY (":N").
    Local connections only (no TCP), no authorization file, as xvfb-run does without -a."""
    command = ["Xvfb", "-displayfd", "{fd}", "-screen", "0", screen, "-nolisten", "tcp", "-noreset"]
    with _started(command, "Xvfb", timeout) as (_process, number):
        yield f":{number}"


@contextlib.contextmanager
def dbus_session(timeout: float = 20.0) -> Iterator[str]:
    """A private D-Bus session bus (dbus-daemon --session); yields its address, for
    DBUS_SESSION_BUS_ADDRESS. Set DISPLAY in the tests' environment first if X clients must find it."""
    command = ["dbus-daemon", "--session", "--nofork", "--nopidfile", "--print-address={fd}"]
    with _started(command, "dbus-daemon", timeout) as (_process, address):
        yield address


def visible_windows(display: str, title: str) -> list[int]:
    """Ids of the mapped windows whose title matches ``title`` (a regular expression), by xdotool."""
    result = subprocess.run(
        ["xdotool", "search", "--onlyvisible", "--name", title],
        env={**os.environ, "DISPLAY": display},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return [int(line) for line in result.stdout.split()]


def wait_for_window(
    display: str, title: str, timeout: float = 60.0, alive: subprocess.Popen[str] | None = None
) -> int:
    """The id of the first mapped window titled ``title``; TimeoutError after ``timeout`` seconds, or
    RuntimeError as soon as the ``alive`` process (the app) exits without showing it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = visible_windows(display, title)
        if found:
            return found[0]
        if alive is not None and alive.poll() is not None:
            raise RuntimeError(
                f"the process exited with status {alive.returncode} before a window titled {title!r} appeared"
            )
        time.sleep(0.2)
    raise TimeoutError(f"no window titled {title!r} on {display} within {timeout:.0f} s")


def window_titles(display: str) -> list[str]:
    """The titles of the mapped windows on ``display`` (for failure messages)."""
    titles = []
    for window in visible_windows(display, "."):
        result = subprocess.run(
            ["xdotool", "getwindowname", str(window)],
            env={**os.environ, "DISPLAY": display},
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        titles.append(result.stdout.strip())
    return titles


class _ClientMessage(ctypes.Structure):
    _fields_ = (
        ("type", ctypes.c_int),
        ("serial", ctypes.c_ulong),
        ("send_event", ctypes.c_int),
        ("display", ctypes.c_void_p),
        ("window", ctypes.c_ulong),
        ("message_type", ctypes.c_ulong),
        ("format", ctypes.c_int),
        ("data", ctypes.c_long * 5),
    )


class _Event(ctypes.Union):
    _fields_ = (("client", _ClientMessage), ("pad", ctypes.c_long * 24))  # Xlib's XEvent is 24 longs


def close_window(display: str, window: int) -> None:
    """Ask ``window`` to close as a window manager's close button does: a WM_DELETE_WINDOW client message
    (ICCCM), sent through libX11. xdotool's windowclose would destroy the window under the app instead."""
    name = ctypes.util.find_library("X11")
    if name is None:
        raise RuntimeError("libX11 is not installed")
    xlib = ctypes.CDLL(name)
    xlib.XOpenDisplay.restype = ctypes.c_void_p
    xlib.XOpenDisplay.argtypes = (ctypes.c_char_p,)
    xlib.XInternAtom.restype = ctypes.c_ulong
    xlib.XInternAtom.argtypes = (ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int)
    xlib.XSendEvent.argtypes = (ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long, ctypes.c_void_p)
    xlib.XFlush.argtypes = (ctypes.c_void_p,)
    xlib.XCloseDisplay.argtypes = (ctypes.c_void_p,)
    connection = xlib.XOpenDisplay(display.encode())
    if not connection:
        raise RuntimeError(f"cannot open display {display}")
    try:
        event = _Event()
        event.client.type = 33  # ClientMessage
        event.client.window = window
        event.client.message_type = xlib.XInternAtom(connection, b"WM_PROTOCOLS", 0)
        event.client.format = 32
        event.client.data[0] = xlib.XInternAtom(connection, b"WM_DELETE_WINDOW", 0)
        event.client.data[1] = 0  # CurrentTime
        if not xlib.XSendEvent(connection, window, 0, 0, ctypes.byref(event)):
            raise RuntimeError(f"could not send WM_DELETE_WINDOW to window {window}")
        xlib.XFlush(connection)
    finally:
        xlib.XCloseDisplay(connection)
