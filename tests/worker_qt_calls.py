"""The Qt calls work run by a TaskRunner makes on its worker: there must be none (shell/tasks.py). PySide makes
a Qt class's Python type when it is first needed, and doing that on a worker beside the GUI thread crashed the
app; a signal of a window closed meanwhile raises in the middle of the work. conftest's autouse
``no_qt_calls_on_workers`` holds every test to it.

What is seen: calls of PySide or shiboken functions and methods (those of our subclasses of Qt classes too,
``self.tr``), static ones (``QCoreApplication.translate``), signals emitted; and imports, off the GUI thread,
of PySide modules or of project modules that import PySide when loaded. What a profile cannot see: making a
Qt object (``QLocale()``), operators, attribute and enum lookups, and a job's calls after its test ended (an
abandoned job still running). Python 3.12's ``sys.monitoring`` would see constructors; this runs on 3.11.
"""

from __future__ import annotations

import ast
import sys
import threading
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from desktop_auth.ui.shell.tasks import TaskRunner

QT_PACKAGES = ("PySide6", "shiboken6")
ROOT = Path(__file__).resolve().parent.parent


def imports_qt_when_loaded(module: str) -> bool:
    """Does this project module's source import PySide6 or shiboken6 at module level?"""
    if module.split(".")[0] != "desktop_auth":
        return False
    base = ROOT.joinpath(*module.split("."))
    source = base.with_suffix(".py") if base.with_suffix(".py").is_file() else base / "__init__.py"
    if not source.is_file():
        return False
    for statement in ast.parse(source.read_bytes()).body:
        if isinstance(statement, ast.Import):
            names = [alias.name for alias in statement.names]
        elif isinstance(statement, ast.ImportFrom):
            names = [statement.module or ""]
        else:
            continue
        if any(name.split(".")[0] in QT_PACKAGES for name in names):
            return True
    return False


def _qt_module_of(function: Any) -> str | None:
    owner = getattr(function, "__self__", None)
    if owner is None:  # a static method (QCoreApplication.translate): found by its class's name
        head = getattr(function, "__qualname__", "").split(".")[0]
        loaded = [name for name in list(sys.modules) if name.split(".")[0] in QT_PACKAGES]
        # vars(), not getattr: looking a name up could make a PySide type, here on the worker
        return next((name for name in loaded if head in vars(sys.modules[name])), None)
    if isinstance(owner, types.ModuleType):
        modules = [owner.__name__]
    else:  # a method: of a Qt class, or of ours derived from one (self.tr)
        modules = [cls.__module__ for cls in (owner if isinstance(owner, type) else type(owner)).__mro__]
    return next((module for module in modules if module.split(".")[0] in QT_PACKAGES), None)


class _OffMainImports:
    """A meta path finder that finds nothing: it notes imports of Qt, off the GUI thread."""

    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if threading.current_thread() is threading.main_thread():
            return
        if name.split(".")[0] in QT_PACKAGES or imports_qt_when_loaded(name):
            self.calls.append(f"import {name} on {threading.current_thread().name}")


@contextmanager
def qt_calls_on_workers(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """While in the block, every TaskRunner job's work runs watched: each call into PySide or shiboken it
    makes (directly or through what it calls) is listed, with where it was made, as is each import of Qt off
    the GUI thread. The runner's own hand-off of the result (after the work) is not the work's."""
    calls: list[str] = []

    def profile(frame: types.FrameType, event: str, function: Any) -> None:
        if event == "c_call" and (module := _qt_module_of(function)) is not None:
            name = getattr(function, "__qualname__", repr(function))
            calls.append(f"{module}.{name} from {frame.f_code.co_filename}:{frame.f_lineno}")

    real_run = TaskRunner.run

    def run(self: TaskRunner, work: Callable[[], Any], *args: Any, **kwargs: Any) -> None:
        def watched() -> Any:
            previous = sys.getprofile()
            sys.setprofile(profile)  # this thread only
            try:
                return work()
            finally:
                sys.setprofile(previous)

        real_run(self, watched, *args, **kwargs)

    monkeypatch.setattr(TaskRunner, "run", run)
    finder = _OffMainImports(calls)
    monkeypatch.setattr(sys, "meta_path", [finder, *sys.meta_path])
    yield calls
