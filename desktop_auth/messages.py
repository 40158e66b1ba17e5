"""Words the layers below the GUI say to a person, kept translatable without Qt.

A service refusal (or a password-policy reason, a history line, an import problem) is a :class:`Message`: an
English template with ``{name}`` placeholders, the context it was written in, and its parameters. The CLI
prints ``str(message)``, the English (operators script it and search its messages); the GUI renders the same
message in the person's language through Qt's catalog (``desktop_auth.ui.shell.i18n.render``), where numbers,
dates and times are formatted for that language.

``message()`` and ``message_n()`` are the markers ``pyside6-lupdate`` extracts (``tools/translations.py``
registers them as aliases of Qt's ``translate``), so every argument before the parameters must be a literal:
``message("Errors", "An account with {email} exists.").format(email=address)``. A message that depends on a
count is ``message_n(context, singular, plural, n)``: the English plural rides along as the catalog's comment,
and each language gives as many forms as it has (Arabic has six); ``{n}`` in either form is the count.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:  # the GUI imports the errors (and so this) at start-up: keep datetime out of that path
    from datetime import datetime

#: Parameter values a message may carry: text, numbers (formatted per language), numbers that name things
#: (line numbers), times (shown local) and other messages (a reason inside a sentence, a setting's name:
#: rendered in the same language).
Param: TypeAlias = "str | int | float | Numerals | datetime | Message"


@dataclass(frozen=True)
class Numerals:
    """Numbers that name things rather than count them, such as line numbers: written without a thousands
    separator ("line 20002", not "line 20,002"), in the language's digits, listed with its comma."""

    values: tuple[int, ...]

    def english(self) -> str:
        return ", ".join(str(value) for value in self.values)


def numerals(*values: int) -> Numerals:
    return Numerals(values)


@dataclass(frozen=True)
class Message:
    """One translatable sentence with its parameters. Immutable; ``format`` returns a new one."""

    context: str
    source: str
    plural: str | None = None
    n: int | None = None
    params: tuple[tuple[str, Param], ...] = ()

    def format(self, **params: Param) -> Message:
        """This message with ``params`` filled in (added to any it had)."""
        return replace(self, params=tuple({**dict(self.params), **params}.items()))

    @property
    def is_plural(self) -> bool:
        return self.plural is not None

    def all_params(self) -> dict[str, Param]:
        """The parameters, with ``n`` (the count) among them for a plural message."""
        return {**dict(self.params), "n": self.n} if self.n is not None else dict(self.params)

    def english(self) -> str:
        template = self.source if self.n is None or self.n == 1 or self.plural is None else self.plural
        return template.format(**{name: english_value(value) for name, value in self.all_params().items()})

    def __str__(self) -> str:
        return self.english()


def english_value(value: Param) -> str:
    """A parameter as the English (CLI) text shows it: thousands separated, times as ISO in UTC."""
    if isinstance(value, str | bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,g}"
    if isinstance(value, Message | Numerals):
        return value.english()
    return value.strftime("%Y-%m-%d %H:%M %Z").strip()


def message(context: str, source: str) -> Message:
    """A translatable sentence (extracted by pyside6-lupdate: both arguments must be literals)."""
    return Message(context, source)


def message_n(context: str, singular: str, plural: str, n: int) -> Message:
    """A translatable sentence about ``n`` things (``{n}`` in it is the count); the plural is English's other
    form, and the catalog's comment for translators."""
    return Message(context, singular, plural, n)


def verbatim(text: str) -> Message:
    """Text that is not ours to translate (a driver's detail, a file name): shown as it is in every language."""
    return Message("", "{text}", params=(("text", text),))


def as_message(text: str | Message) -> Message:
    return text if isinstance(text, Message) else verbatim(text)
