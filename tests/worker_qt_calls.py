"""The Qt calls work run by a TaskRunner makes on its worker: there must be none (shell/tasks.py). PySide makes
a Qt class's Python type when it is first needed, and doing that on a worker beside the GUI thread crashed the
app; a signal of a window closed meanwhile raises in the middle of the work. conftest's autouse
``no_qt_calls_on_workers`` holds every test to it."""

from __future__ import annotations

import sys
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from desktop_auth.ui.shell.tasks import TaskRunner

QT_PACKAGES = ("PySide6", "shiboken6")


def _qt_module_of(function: Any) -> str | None:
    owner = getattr(function, "__self__", None)
    if owner is None:  # a static method (QCoreApplication.translate): found by its class's name
        head = getattr(function, "__qualname__", "").split(".")[0]
        loaded = [name for name, module in list(sys.modules.items()) if name.split(".")[0] in QT_PACKAGES]
        # vars(), not getattr: looking a name up could make a PySide type, here on the worker
        return next((name for name in loaded if head in vars(sys.modules[name])), None)
    if isinstance(owner, types.ModuleType):
        module = owner.__name__
    elif isinstance(owner, type):
        module = owner.__module__
    else:
        module = type(owner).__module__
    return module if module.split(".")[0] in QT_PACKAGES else None


@contextmanager
def qt_calls_on_workers(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """While in the block, every TaskRunner job's work runs watched: each call into PySide or shiboken it
    makes (directly or through what it calls) is listed, with where it was made. The runner's own hand-off
    of the result (after the work) is not the work's."""
    calls: list[str] = []

    def profile(frame: types.FrameType, event: str, function: Any) -> None:
        if event == "c_call" and (module := _qt_module_of(function)) is not None:
            name = getattr(function, "__qualname__", repr(function))
            calls.append(f"{module}.{name} from {frame.f_code.co_filename}:{frame.f_lineno}")

    real_run = TaskRunner.run

    def run(self: TaskRunner, work: Callable[[], Any], *args: Any, **kwargs: Any) -> None:
        def watched() -> Any:
            sys.setprofile(profile)  # this thread only
            try:
                return work()
            finally:
                sys.setprofile(None)

        real_run(self, watched, *args, **kwargs)

    monkeypatch.setattr(TaskRunner, "run", run)
    yield calls
