"""The live password strength meter under a new password: a bar, a word and the policy's feedback."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QHBoxLayout, QProgressBar, QVBoxLayout, QWidget

from desktop_auth.ui.shell.i18n import render, translate
from desktop_auth.ui.shell.tasks import TaskRunner
from desktop_auth.ui.shell.widgets import grow_to_fit, styled_label

if TYPE_CHECKING:
    from desktop_auth.security import PasswordPolicy, StrengthReport

log = logging.getLogger(__name__)


def strength_word(score: int) -> str:
    """The word for a strength score, 0 (very weak) to 4 (very strong), in the current language."""
    words = (
        translate("StrengthMeter", "Very weak"),
        translate("StrengthMeter", "Weak"),
        translate("StrengthMeter", "Fair"),
        translate("StrengthMeter", "Strong"),
        translate("StrengthMeter", "Very strong"),
    )
    return words[score]


class StrengthMeter(QWidget):
    """A live meter with the policy's feedback; the estimate runs off the GUI thread, debounced."""

    def __init__(self, runner: TaskRunner, policy_factory: Callable[[], PasswordPolicy]) -> None:
        super().__init__()
        self._runner = runner
        self._policy_factory = policy_factory
        self._pending: tuple[str, str | None] | None = None
        self.bar = QProgressBar()
        self.bar.setObjectName("strengthMeter")
        self.bar.setAccessibleName(self.tr("Password strength"))
        self.bar.setRange(0, 4)
        self.bar.setValue(0)
        self.bar.setTextVisible(False)
        self.bar.setProperty("score", 0)
        self.word = styled_label("", "subtitle", "strengthWord")
        self.feedback = styled_label("", "subtitle", "strengthFeedback")  # unnamed: its name is its advice
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.bar, 1)
        row.addWidget(self.word)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(row)
        layout.addWidget(self.feedback)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(150)
        self._debounce.timeout.connect(self._evaluate)
        self.report: StrengthReport | None = None
        self._feedback_elsewhere = False

    def update_for(self, password: str, email: str | None) -> None:
        self._pending = (password, email)
        self._feedback_elsewhere = False
        self._debounce.start()

    def hide_feedback(self) -> None:
        """The same advice is shown as the field's error (a submission was refused): say it once, there,
        until the password changes."""
        self._feedback_elsewhere = True
        self.feedback.hide()
        grow_to_fit(self)

    def _evaluate(self) -> None:
        if self._pending is None:
            return
        password, email = self._pending
        policy_factory = self._policy_factory
        self._runner.run(
            lambda: policy_factory().evaluate(password, email),
            self._show,
            self._failed,
            owner=self,
            key=f"strength-meter-{id(self)}",  # an older estimate arriving late is dropped
        )

    def _failed(self, error: Exception) -> None:
        # The meter is advice (the policy is checked again on submit), so it stays as it was. Only the
        # error's type is logged: its message could quote the password.
        log.warning("Estimating the password's strength failed (%s)", type(error).__name__)

    def _show(self, report: StrengthReport) -> None:
        self.report = report
        self.bar.setValue(report.score)
        self.bar.setProperty("score", report.score)
        self.bar.style().unpolish(self.bar)
        self.bar.style().polish(self.bar)
        empty = self._pending is not None and not self._pending[0]
        self.word.setText("" if empty else strength_word(report.score))
        self.bar.setAccessibleDescription(self.word.text())
        lines = [render(problem.message) for problem in report.problems if problem.code != "required"]
        if not lines and report.suggestions and report.score < 4:
            lines = [render(report.suggestions[0])]
        self.feedback.setText(" ".join(lines))
        self.feedback.setVisible(bool(lines) and not self._feedback_elsewhere)
        grow_to_fit(self)
