"""The root of every error the application raises on purpose.

Each carries a message written for the person using the app or the CLI; anything else that escapes is a
bug and is logged with its traceback.
"""


class DesktopAuthError(Exception):
    """An expected failure whose message can be shown as it is."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(DesktopAuthError):
    """A setting is missing or malformed."""


class InvalidInputError(DesktopAuthError):
    """Input refused before anything was changed; ``field`` names the input, ``problems`` lists every reason."""

    def __init__(self, field: str, problems: list[str] | tuple[str, ...]) -> None:
        self.field = field
        self.problems = tuple(problems)
        super().__init__(" ".join(self.problems))
