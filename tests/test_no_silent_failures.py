"""Failures of background work are never silent (issue #15): an error handler given to ``TaskRunner.run`` is
never ``lambda _error: None``; work nobody waits on logs its failure (``ui.shell.messages.log_only``)."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import pytest

from desktop_auth.db.errors import DatabaseUnavailableError
from desktop_auth.messages import message
from desktop_auth.ui.shell.messages import log_only

UI = Path(__file__).resolve().parent.parent / "desktop_auth" / "ui"


def _silent_handlers(source: str) -> list[int]:
    """Lines of ``….run(work, on_done, on_error, …)`` calls whose ``on_error`` is a lambda that does nothing."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not (
            isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "run"
        ):
            continue
        handler = node.args[2] if len(node.args) > 2 else None
        handler = handler or next((k.value for k in node.keywords if k.arg == "on_error"), None)
        if (
            isinstance(handler, ast.Lambda)
            and isinstance(handler.body, ast.Constant)
            and handler.body.value is None
        ):
            lines.append(node.lineno)
    return lines


def test_no_background_failure_is_dropped_silently() -> None:
    found = {
        str(path.relative_to(UI)): lines
        for path in sorted(UI.rglob("*.py"))
        if (lines := _silent_handlers(path.read_text(encoding="utf-8")))
    }
    assert found == {}


def test_the_check_itself_finds_a_silent_handler() -> None:
    assert _silent_handlers("runner.run(lambda: work(), done, lambda _e: None, owner=self)") == [1]
    assert _silent_handlers("runner.run(lambda: work(), done, on_error=lambda _e: None)") == [1]
    assert _silent_handlers("runner.run(lambda: work(), lambda _r: None, log_only)") == []


def test_log_only_writes_a_refusal_by_its_kind_and_an_unexpected_error_with_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO):
        log_only(DatabaseUnavailableError(message("DatabaseErrors", "secret-free words")))
        try:
            raise ValueError("boom")
        except ValueError as error:
            log_only(error)
    refused, unexpected = caplog.records
    assert refused.levelno == logging.WARNING
    assert "DatabaseUnavailableError" in refused.getMessage()
    assert unexpected.levelno == logging.ERROR
    assert unexpected.exc_info is not None
