"""Windows imported ahead of time, so that opening them stalls nothing: on the GUI thread, one module per
turn of the event loop.

Not on the worker: PySide makes a Qt class's Python type the first time a module names it, and a worker
doing that while the GUI thread made or used another crashed the app (SIGSEGV right after the first run's
setup, 1 start in 15 without a bytecode cache; tests/test_atspi.py, tests/test_preload.py). One module per
turn keeps each step to a few ms against the 50 ms stall budget (bench/responsiveness.py). The order that
makes it one module, each after the project modules it imports, is read from the sources with ``ast`` by
``import_order``, which is plain Python and runs on the worker. The bundle ships the sources for it
(build.spec); without them each window would be imported whole in one turn (46 ms for the role editor).
"""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer

PACKAGE = "desktop_auth"


def import_order(modules: Iterable[str]) -> list[str]:
    """``modules`` and the project modules they import when loaded (at module level: not inside functions,
    nor under ``if TYPE_CHECKING``), each after its package and the modules it imports; those already
    imported are left out. Reads files only (no import, no Qt): safe on the worker."""
    root = _root()
    order: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen or name in sys.modules:
            return
        seen.add(name)
        package = name.rpartition(".")[0]
        if package:
            visit(package)
        for imported in _imports_of(root, name):
            visit(imported)
        order.append(name)

    for module in modules:
        visit(module)
    return order


def sources_found() -> bool:
    """Whether the project's sources are there to be read (from source, and in the bundle, which ships them)."""
    return _source(_root(), "desktop_auth.ui.account_window") is not None


def _root() -> Path:
    return Path(sys.modules[PACKAGE].__file__ or "-").parent


def _source(root: Path, name: str) -> Path | None:
    """The source file of project module ``name`` (a package's ``__init__.py``), or None (not ours, not a
    module, or no sources: a frozen bundle)."""
    parts = name.split(".")
    if parts[0] != PACKAGE:
        return None
    base = root.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports_of(root: Path, name: str) -> list[str]:
    source = _source(root, name)
    if source is None:
        return []
    found: list[str] = []
    for statement in ast.parse(source.read_bytes(), str(source)).body:
        if isinstance(statement, ast.Import):
            found += [alias.name for alias in statement.names]
        elif isinstance(statement, ast.ImportFrom) and statement.level == 0 and statement.module:
            found.append(statement.module)
            # ``from package import module`` imports the module too
            found += [
                f"{statement.module}.{alias.name}"
                for alias in statement.names
                if _source(root, f"{statement.module}.{alias.name}") is not None
            ]
    return [imported for imported in found if _source(root, imported) is not None]


def import_in_turns(
    modules: list[str], context: QObject, done: Callable[[], None], failed: Callable[[Exception], None]
) -> None:
    """Import ``modules`` in order on the GUI thread, one per turn of the event loop (what the person does
    meanwhile is handled between them), then call ``done``. A module that fails to import is reported to
    ``failed`` and the others are imported still (a window imports it again when it opens, and fails there
    if it must)."""
    remaining = iter(modules)

    def step() -> None:
        module = next(remaining, None)
        if module is None:
            done()
            return
        try:
            importlib.import_module(module)
        except Exception as error:
            failed(error)
        QTimer.singleShot(0, context, step)

    QTimer.singleShot(0, context, step)
