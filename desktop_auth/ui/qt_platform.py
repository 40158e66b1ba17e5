"""Before the first window on Linux: can Qt's xcb platform plugin load, and is there a display at all?

Without this, a desktop missing one of the plugin's libraries (a clean Debian 12 lacks libxcb-icccm4 and
libxcb-keysyms1, among others) gets Qt's abort: a paragraph about plugins, then SIGABRT. Here the app says in one line
what is missing and how to install it, and exits with status 1.

The check reads the ELF ``NEEDED`` entries of ``libqxcb.so`` and of the Qt libraries it links to (those
PySide6 ships, in its wheel or in the PyInstaller bundle), then asks the dynamic loader for each system
library by its soname (``ctypes.CDLL``): the same search Qt's ``dlopen`` of the plugin makes, with no
``ldd`` needed. About 30 libraries Qt loads anyway a moment later; a few milliseconds. It imports no Qt.
"""

from __future__ import annotations

import importlib.util
import os
import struct
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

# soname -> (Debian/Ubuntu package, Fedora package). Debian's names are checked (dpkg -S on Debian 12);
# Ubuntu 22.04/24.04 use the same names (24.04's GLib is libglib2.0-0t64, which apt picks for
# libglib2.0-0); Fedora's are by package name. README.md, "Troubleshooting", lists them all.
PACKAGES: dict[str, tuple[str, str]] = {
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libgthread-2.0.so.0": ("libglib2.0-0", "glib2"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
    "libz.so.1": ("zlib1g", "zlib"),
    "libzstd.so.1": ("libzstd1", "libzstd"),
    "libstdc++.so.6": ("libstdc++6", "libstdc++"),
    "libgcc_s.so.1": ("libgcc-s1", "libgcc"),
}

_PT_LOAD, _PT_DYNAMIC = 1, 2
_DT_NULL, _DT_NEEDED, _DT_STRTAB = 0, 1, 5


def needed_libraries(path: Path) -> list[str]:
    """The ``NEEDED`` entries of an ELF shared object, from its program headers (what ``readelf -d``
    shows). Raises ValueError for a file that is not ELF."""
    with path.open("rb") as file:
        ident = file.read(16)
        if len(ident) < 16 or ident[:4] != b"\x7fELF" or ident[4] not in (1, 2):
            raise ValueError(f"{path} is not an ELF file")
        order = "<" if ident[5] == 1 else ">"
        if ident[4] == 2:  # ELFCLASS64
            header = struct.unpack(order + "HHIQQQIHHHHHH", file.read(48))
            program_header, dynamic_entry = order + "IIQQQQQQ", order + "qQ"
        else:
            header = struct.unpack(order + "HHIIIIIHHHHHH", file.read(36))
            program_header, dynamic_entry = order + "IIIIIIII", order + "iI"
        table_offset, entry_size, count = header[4], header[8], header[9]
        file.seek(table_offset)
        table = file.read(entry_size * count)
        loads: list[tuple[int, int, int]] = []  # (virtual address, file offset, size in the file)
        dynamic: tuple[int, int] | None = None  # (file offset, size)
        for index in range(count):
            fields = struct.unpack_from(program_header, table, index * entry_size)
            if ident[4] == 2:
                kind, offset, address, size = fields[0], fields[2], fields[3], fields[5]
            else:
                kind, offset, address, size = fields[0], fields[1], fields[2], fields[4]
            if kind == _PT_LOAD:
                loads.append((address, offset, size))
            elif kind == _PT_DYNAMIC:
                dynamic = (offset, size)
        if dynamic is None:
            return []
        file.seek(dynamic[0])
        entries = file.read(dynamic[1])
        width = struct.calcsize(dynamic_entry)
        names: list[int] = []
        strings_address: int | None = None
        for start in range(0, len(entries) - width + 1, width):
            tag, value = struct.unpack_from(dynamic_entry, entries, start)
            if tag == _DT_NULL:
                break
            if tag == _DT_NEEDED:
                names.append(value)
            elif tag == _DT_STRTAB:
                strings_address = value
        # The string table is given by its address once loaded: the segment holding it gives its offset.
        strings = next(
            (
                offset + strings_address - address
                for address, offset, size in loads
                if strings_address is not None and address <= strings_address < address + size
            ),
            None,
        )
        if strings is None:
            return []
        found = []
        for name in names:
            file.seek(strings + name)
            found.append(file.read(256).split(b"\0", 1)[0].decode("utf-8", "replace"))
        return found


def xcb_plugin(package_dir: Path | None = None) -> Path | None:
    """``libqxcb.so`` where PySide6 keeps it, in a virtual environment or in the PyInstaller bundle (found
    without importing PySide6), or None when it is elsewhere (a distribution's own Qt build)."""
    if package_dir is None:
        spec = importlib.util.find_spec("PySide6")
        locations = list(spec.submodule_search_locations or []) if spec is not None else []
        frozen = getattr(sys, "_MEIPASS", None)
        if not locations and frozen:
            locations = [os.path.join(frozen, "PySide6")]
        if not locations:
            return None
        package_dir = Path(locations[0])
    plugin = package_dir / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return plugin if plugin.is_file() else None


def _culprit(soname: str, error: OSError) -> str:
    """The library the loader could not find: ``soname`` itself, or one it needs in turn (dlopen's message
    starts with the name of the file that failed)."""
    first = str(error).split(":", 1)[0].strip()
    return first if ".so" in first and "/" not in first and " " not in first else soname


def _load(soname: str) -> object:
    import ctypes  # here: an offscreen start (tests, the start-up benchmark) never pays for it

    return ctypes.CDLL(soname)


def missing_libraries(plugin: Path, load: Callable[[str], object] = _load) -> list[str]:
    """The sonames the dynamic loader cannot find for ``plugin`` and for the Qt libraries it links to
    (those shipped in ``Qt/lib`` beside ``Qt/plugins``: read in turn, never loaded here). ``load`` raises
    OSError for a library it cannot load."""
    shipped = plugin.parent.parent.parent / "lib"
    missing: set[str] = set()
    seen: set[str] = set()
    queue = [plugin]
    while queue:
        for name in needed_libraries(queue.pop()):
            if name in seen:
                continue
            seen.add(name)
            if (shipped / name).is_file():
                queue.append(shipped / name)
                continue
            try:
                load(name)
            except OSError as error:
                missing.add(_culprit(name, error))
    return sorted(missing)


def _unique(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))


def install_hint(missing: Iterable[str]) -> str:
    """How to install ``missing`` (sonames), per distribution."""
    known = [name for name in missing if name in PACKAGES]
    if not known:
        return "install the packages that provide them; README: Troubleshooting"
    debian = " ".join(_unique(PACKAGES[name][0] for name in known))
    fedora = " ".join(_unique(PACKAGES[name][1] for name in known))
    return f"Debian/Ubuntu: sudo apt install {debian}; Fedora: sudo dnf install {fedora}"


def window_problem(
    environ: Mapping[str, str] | None = None,
    platform: str = sys.platform,
    plugin: Path | None = None,
    load: Callable[[str], object] = _load,
) -> str | None:
    """Why Qt could not open a window here, in one line, or None when nothing stands in its way (or the
    check does not apply: another system, another platform plugin, a Wayland session)."""
    if not platform.startswith("linux"):
        return None
    environ = os.environ if environ is None else environ
    requested = environ.get("QT_QPA_PLATFORM", "").strip()
    x11, wayland = bool(environ.get("DISPLAY")), bool(environ.get("WAYLAND_DISPLAY"))
    if requested:
        if ";" in requested or requested.split(":", 1)[0] != "xcb":
            return None  # offscreen, wayland, or a list Qt falls back along: its choice, its messages
        if not x11:
            return "no display to open a window on: DISPLAY is not set (QT_QPA_PLATFORM=xcb)"
    else:
        if not x11 and not wayland:
            return (
                "no display to open a window on: neither DISPLAY nor WAYLAND_DISPLAY is set "
                "(start it from a desktop session, or over SSH with X forwarding: ssh -X)"
            )
        if wayland or environ.get("XDG_SESSION_TYPE") == "wayland":
            return None  # Qt tries its Wayland plugin first
    if environ.get("QT_QPA_PLATFORM_PLUGIN_PATH"):
        return None  # a plugin other than PySide6's
    plugin = plugin or xcb_plugin()
    if plugin is None:
        return None
    try:
        missing = missing_libraries(plugin, load)
    except (OSError, ValueError, struct.error):
        return None  # unreadable: Qt will say what it can
    if not missing:
        return None
    return f"Qt cannot open a window: missing {', '.join(missing)} ({install_hint(missing)})"
