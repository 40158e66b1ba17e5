"""How the test suite itself is laid out (issue #15): no test module imports another test module. Shared
helpers and fixtures live in helper modules (tests/conftest.py, tests/ui_helpers.py, tests/a11y_helpers.py,
tests/cli_helpers.py, tests/races.py, ...), so running, moving or deleting one test file never runs, breaks
or silently re-registers another's tests and fixtures."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent


def _is_test_module(dotted: str) -> bool:
    """``tests.test_x`` (or ``tests.test_x.anything``): a test module of this suite."""
    parts = dotted.split(".")
    return len(parts) >= 2 and parts[0] == "tests" and parts[1].startswith("test_")


def imports_of_test_modules(source: str, filename: str = "<source>") -> list[tuple[int, str]]:
    """Every (line, module) at which ``source`` (a module of the tests package) imports a test module:
    ``import tests.test_x``, ``from tests.test_x import y``, ``from tests import test_x``, their relative
    forms, and ``importlib.import_module("tests.test_x")`` / ``__import__("tests.test_x")``; at module level
    or inside a function, a class or an ``if``."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names if _is_test_module(alias.name)]
        elif isinstance(node, ast.ImportFrom):
            if node.level > 1:
                continue  # above the tests package
            module = ".".join(part for part in ("tests" if node.level else "", node.module or "") if part)
            if _is_test_module(module):
                found.append((node.lineno, module))
            elif module == "tests":
                found += [(node.lineno, f"tests.{a.name}") for a in node.names if a.name.startswith("test_")]
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = (
                func.attr
                if isinstance(func, ast.Attribute)
                else func.id
                if isinstance(func, ast.Name)
                else ""
            )
            first = node.args[0]
            if (
                name in ("import_module", "__import__")
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
                and _is_test_module(first.value)
            ):
                found.append((node.lineno, first.value))
    return sorted(found)


@pytest.mark.parametrize(
    "source",
    [
        "from tests.test_cli import run",
        "from tests.test_cli import cli_url as cli_url",
        "import tests.test_cli",
        "import tests.test_cli as cli_tests",
        "from tests import test_cli",
        "from tests import conftest, test_cli",
        "from . import test_cli",
        "from .test_cli import run",
        "def helper():\n    from tests.test_cli import run\n    return run",
        "if True:\n    import tests.test_cli.sub",
        "import importlib\nimportlib.import_module('tests.test_cli')",
        "__import__('tests.test_cli')",
    ],
)
def test_the_scan_sees_every_way_of_importing_a_test_module(source: str) -> None:
    assert [module.split(".")[:2] for _, module in imports_of_test_modules(source)] == [["tests", "test_cli"]]


@pytest.mark.parametrize(
    "source",
    [
        "from tests.conftest import STRONG_PASSWORD",
        "from tests.cli_helpers import run",
        "from tests import galera_fixtures",
        "import tests.ui_helpers",
        "from desktop_auth import test_mode",
        "import test_cli_like_but_outside",
        "from .. import test_cli",
        "importlib.import_module('desktop_auth.ui')",
    ],
)
def test_the_scan_leaves_helper_and_other_imports_alone(source: str) -> None:
    assert imports_of_test_modules(source) == []


def test_no_module_of_the_suite_imports_a_test_module() -> None:
    """Issue #15: test modules do not import other test modules (and helper modules do not pass a test
    module's contents on); what they share lives in a helper module."""
    offences = [
        f"tests/{path.name}:{line}: imports {module}"
        for path in sorted(TESTS.glob("*.py"))
        for line, module in imports_of_test_modules(path.read_text(encoding="utf-8"), str(path))
    ]
    assert not offences, "move what is shared into a helper module:\n" + "\n".join(offences)
