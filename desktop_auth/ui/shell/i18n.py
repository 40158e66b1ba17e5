# Over 300 lines: the language in one place: its choice, the catalogs, and words, numbers and times rendered in
# it (with the per-language caches, the one speed trick here).
"""The person's language: which one, its catalogs installed, and our words, numbers and times in it.

Every word the GUI shows goes through Qt's catalogs: ``self.tr("…")`` in a QObject's methods, ``translate(
"Context", "…")`` elsewhere, ``translate_n(context, singular, plural, n)`` for a sentence about a count, and
``render(message)`` for the services' words (``desktop_auth.messages``). ``tools/translations.py`` extracts
them into ``desktop_auth/translations/*.ts`` and compiles the ``.qm`` files loaded here, next to Qt's own
``qtbase_*.qm`` (standard buttons and dialogs).

The language is ``DESKTOP_AUTH_LANGUAGE`` when set, else the one chosen in the account window (remembered per
computer), else the system's first preferred language we speak, else English.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import (
    QCoreApplication,
    QDate,
    QLibraryInfo,
    QLocale,
    QSettings,
    QTime,
    QTranslator,
)
from PySide6.QtGui import QGuiApplication

from desktop_auth.errors import DesktopAuthError, InvalidInputError
from desktop_auth.messages import Message, Numerals, Param

log = logging.getLogger(__name__)

LANGUAGE_ENV = "DESKTOP_AUTH_LANGUAGE"
LANGUAGE_KEY = "language"
ENGLISH = "en"
#: The languages we ship, each named in itself (a person looking for theirs reads it in their own script).
LANGUAGES = {"en": "English", "de": "Deutsch", "ar": "العربية"}
#: Those written right to left: the whole layout mirrors. Known by code, not asked of QLocale: naming the
#: answer (Qt.LayoutDirection) builds PySide's whole Qt enum namespace on the way to the first window
#: (shell/qt_values.py says why that matters).
RIGHT_TO_LEFT = frozenset({"ar"})
CATALOG_DIR = Path(__file__).resolve().parents[2] / "translations"
#: First-strong isolate … pop: an email, a role name or a number keeps its own direction inside a sentence
#: of the other direction ("ada@example.com" is never reordered inside Arabic text).
FIRST_STRONG_ISOLATE, POP_DIRECTIONAL_ISOLATE = "\u2068", "\u2069"


class _State:
    """The language in use, and what is worked out once per language.

    The caches are the speed trick the role editor's first rows need (bench/role_editor.py: within one frame
    of QSqlTableModel): a table asks for the same few words ("yes", a heading) and days thousands of times,
    and each catalog lookup or QLocale call costs 5-10 us. install() empties them."""

    language = ENGLISH
    locale = QLocale(QLocale.Language.English, QLocale.Country.UnitedStates)
    translators: list[QTranslator] = []  # noqa: RUF012 - one list for the process: what install() put in
    date_format = ""
    time_formats: tuple[str, str] = ("", "")  # without and with seconds
    words: dict[Message, str] = {}  # noqa: RUF012 - messages without parameters, as rendered
    dates: dict[tuple[int, int, int], str] = {}  # noqa: RUF012 - days written so far
    clocks: dict[tuple[int, int, int, bool], str] = {}  # noqa: RUF012 - times of day written so far


def supported(code: str | None) -> str | None:
    """``code`` ("de", "de_AT", "ar-EG", "EN") as one of ours, or None."""
    if not code:
        return None
    base = code.replace("-", "_").split("_")[0].strip().lower()
    return base if base in LANGUAGES else None


def saved_language() -> str | None:
    value = QSettings().value(LANGUAGE_KEY, "")
    return supported(value) if isinstance(value, str) else None


def save_language(language: str) -> None:
    QSettings().setValue(LANGUAGE_KEY, language)


def system_language() -> str:
    """The system's first preferred language that we speak (English when none is)."""
    for name in QLocale.system().uiLanguages():
        language = supported(name)
        if language is not None:
            return language
    return ENGLISH


def chosen_language(wanted: str | None = None) -> str:
    """``wanted`` (else ``DESKTOP_AUTH_LANGUAGE`` from the environment: not from ``.env``, as the first window
    is drawn before the settings are read), else the account window's choice here, else the system's."""
    wanted = (os.environ.get(LANGUAGE_ENV, "") if wanted is None else wanted).strip()
    if wanted:
        language = supported(wanted)
        if language is not None:
            return language
        log.warning(
            "%s=%r is not a language we speak (%s): ignored", LANGUAGE_ENV, wanted, ", ".join(LANGUAGES)
        )
    return saved_language() or system_language()


def current_language() -> str:
    return _State.language


def italics_read_well() -> bool:
    """Whether the language's script has italics: Arabic has none (slanted Arabic reads as a mistake, and
    the fonts on many systems have no slanted Arabic glyphs at all: a row in italics showed empty boxes)."""
    return _State.language not in RIGHT_TO_LEFT


def locale() -> QLocale:
    return _State.locale


def is_right_to_left() -> bool:
    return _State.language in RIGHT_TO_LEFT


def _locale_for(language: str) -> QLocale:
    # The system's own conventions when it speaks this language (en_GB keeps its day-month order), else the
    # language's usual ones.
    system = QLocale.system()
    if supported(system.name()) == language:
        return system
    return QLocale(language)


def _work_out_formats() -> None:
    _State.words, _State.dates, _State.clocks = {}, {}, {}
    _State.date_format = _State.locale.dateFormat(QLocale.FormatType.ShortFormat)
    if "yyyy" not in _State.date_format:  # a short date's two-digit year reads as a day or month ("12/2/26")
        _State.date_format = _State.date_format.replace("yy", "yyyy")
    time_format = _State.locale.timeFormat(QLocale.FormatType.ShortFormat)
    with_seconds = time_format if "s" in time_format else time_format.replace("mm", "mm:ss")
    _State.time_formats = (time_format, with_seconds)


_work_out_formats()  # English until install() says otherwise


def _qt_catalog_dir() -> Path:
    """Where Qt's own catalogs are: Qt's configured place, else PySide6's folder (the bundle keeps them there)."""
    configured = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath))
    if configured.is_dir():
        return configured
    import PySide6

    return Path(PySide6.__file__).parent / "Qt" / "translations"


def install(app: QCoreApplication, language: str, catalog: Path | None = None) -> None:
    """Speak ``language`` from now on: our catalog and Qt's, number and date formats, layout direction.
    ``catalog`` replaces our compiled catalog (the tests' pseudo-translation)."""
    for translator in _State.translators:
        app.removeTranslator(translator)
    _State.translators = []
    _State.language = language
    _State.locale = _locale_for(language)
    QLocale.setDefault(_State.locale)
    _work_out_formats()
    if language != ENGLISH:
        qt_catalogs = _qt_catalog_dir()
        ours = (catalog.stem, catalog.parent) if catalog else (f"desktop_auth_{language}", CATALOG_DIR)
        for name, directory in ((f"qtbase_{language}", qt_catalogs), ours):
            translator = QTranslator(app)
            if translator.load(name, str(directory)):
                app.installTranslator(translator)
                _State.translators.append(translator)
            else:
                log.warning("No %s catalog in %s", name, directory)
    if isinstance(app, QGuiApplication) and app.isRightToLeft() != is_right_to_left():
        from PySide6.QtCore import Qt

        mirrored = Qt.LayoutDirection.RightToLeft if is_right_to_left() else Qt.LayoutDirection.LeftToRight
        app.setLayoutDirection(mirrored)


# -- our words --------------------------------------------------------------------------------------------


def translate(context: str, source: str) -> str:
    """``source`` in the current language (pyside6-lupdate extracts calls by this name: literals only)."""
    return QCoreApplication.translate(context, source)


def translate_n(context: str, singular: str, plural: str, n: int) -> str:
    """The sentence about ``n`` things in the current language's form for ``n``, with ``{n}`` filled in
    (the English plural is the catalog's comment: translators see both forms)."""
    if _State.language == ENGLISH:
        text = singular if n == 1 else plural
    else:
        text = QCoreApplication.translate(context, singular, plural, n)
    return text.replace("{n}", number(n))


def render(message: Message) -> str:
    """A service's words (``desktop_auth.messages.Message``) in the current language."""
    constant = not message.params and message.n is None
    if constant and message in _State.words:
        return _State.words[message]
    text = _rendered(message)
    if constant:
        _State.words[message] = text
    return text


def _rendered(message: Message) -> str:
    if not message.context:  # verbatim: not ours to translate
        template = message.source
    elif message.plural is not None and message.n is not None:
        if _State.language == ENGLISH:
            template = message.source if message.n == 1 else message.plural
        else:
            template = QCoreApplication.translate(message.context, message.source, message.plural, message.n)
    else:
        template = QCoreApplication.translate(message.context, message.source)
    values = {name: shown(value) for name, value in message.all_params().items()}
    try:
        return template.format(**values)
    except (KeyError, IndexError, ValueError):
        # A translation (or a message) that names a parameter it was not given: say what can be said, with
        # the missing ones left as they are, rather than fail where the person was to read something.
        log.error("%r in %s does not fit its parameters %s", template, message.context, sorted(values))
        return template.format_map(_KeepMissing(values)) if _well_formed(template) else template


class _KeepMissing(dict[str, str]):
    def __missing__(self, name: str) -> str:
        return "{" + name + "}"


def _well_formed(template: str) -> bool:
    try:
        template.format_map(_KeepMissing())
    except (IndexError, ValueError):
        return False
    return True


def describe_error(error: DesktopAuthError) -> str:
    """An expected error's message in the current language (every problem of refused input)."""
    if isinstance(error, InvalidInputError):
        return " ".join(render(problem) for problem in error.problem_texts)
    return render(error.text)


# -- numbers, times, and text of either direction -------------------------------------------------------


def number(value: int | float) -> str:
    """``value`` as the current language writes it (grouped thousands, its own digits)."""
    return _State.locale.toString(value)


def numbering(*values: int) -> str:
    """Numbers that name things (line numbers) as the current language writes them: its digits, no
    thousands separator, listed with its comma."""
    locale = QLocale(_State.locale)
    locale.setNumberOptions(QLocale.NumberOption.OmitGroupSeparator)
    return translate("Lists", ", ").join(locale.toString(value) for value in values)


def date_time(moment: datetime | None, *, seconds: bool = False) -> str:
    """A moment in local time, as the current language writes it, with the zone so "18:30" is never
    ambiguous; an empty string for no moment. Naive moments are UTC (that is how they are stored)."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone()
    day = (local.year, local.month, local.day)
    date = _State.dates.get(day)
    if date is None:
        if len(_State.dates) >= 10_000:  # a long history: never grow without bound
            _State.dates.clear()
        date = _State.dates[day] = _State.locale.toString(QDate(*day), _State.date_format)
    minute = (local.hour, local.minute, local.second if seconds else 0, seconds)
    clock = _State.clocks.get(minute)
    if clock is None:
        if len(_State.clocks) >= 10_000:
            _State.clocks.clear()
        clock = _State.clocks[minute] = _State.locale.toString(
            QTime(*minute[:3]), _State.time_formats[seconds]
        )
    return f"{date} {clock} {local.tzname() or local.strftime('%z')}"


def date_time_formats() -> tuple[QLocale, str, str]:
    """The locale, date format and time format date_time() writes with (to size a column for them)."""
    return _State.locale, _State.date_format, _State.time_formats[0]


def isolate(text: str) -> str:
    """``text`` kept in its own direction inside a sentence: in a right-to-left language an email or a role
    name would otherwise be reordered by the sentence around it. In a left-to-right language only text that
    could reorder the sentence is isolated (right-to-left letters, or direction controls such as U+202E in a
    file name): the isolate ends whatever the text starts."""
    if not is_right_to_left() and not _could_reorder(text):
        return text
    return f"{FIRST_STRONG_ISOLATE}{text}{POP_DIRECTIONAL_ISOLATE}"


#: Bidi classes that change the direction of what follows: right-to-left letters, embeddings, overrides,
#: isolates (unicodedata.bidirectional).
_REORDERING = frozenset({"R", "AL", "RLE", "LRE", "RLO", "LRO", "PDF", "RLI", "LRI", "FSI", "PDI"})


def _could_reorder(text: str) -> bool:
    if text.isascii():
        return False
    from unicodedata import bidirectional

    return any(bidirectional(ch) in _REORDERING for ch in text)


def shown(value: Param) -> str:
    """A message parameter as the GUI shows it: numbers and times per language, text isolated, a message
    rendered."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return number(value)
    if isinstance(value, Numerals):
        return numbering(*value.values)
    if isinstance(value, str):
        return isolate(value)
    if isinstance(value, Message):
        return render(value)
    return date_time(value)
