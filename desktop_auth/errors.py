"""The root of every error the application raises on purpose.

Each carries a message written for the person using the app or the CLI; anything else that escapes is a
bug and is logged with its traceback.
"""

from collections.abc import Sequence

from desktop_auth.messages import Message, as_message


class DesktopAuthError(Exception):
    """An expected failure whose message can be shown as it is.

    ``text`` is the translatable form (the GUI renders it in the person's language); ``message`` is its
    English, for the CLI and the log. A plain ``str`` is shown as it is in every language: services pass a
    ``Message`` (a test fails on a literal that is not one)."""

    def __init__(self, message: str | Message) -> None:
        self.text = as_message(message)
        self.message = self.text.english()
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class ConfigError(DesktopAuthError):
    """A setting is missing or malformed."""


class InvalidInputError(DesktopAuthError):
    """Input refused before anything was changed; ``field`` names the input, ``problems`` lists every reason
    (``problem_texts`` translatable, ``problems`` their English)."""

    def __init__(self, field: str, problems: Sequence[str | Message]) -> None:
        self.field = field
        self.problem_texts = tuple(as_message(problem) for problem in problems)
        self.problems = tuple(problem.english() for problem in self.problem_texts)
        super().__init__(" ".join(self.problems))
