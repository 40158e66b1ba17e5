"""Extract, check and compile the app's translations: the one way to do it (README, "Translations").

    python tools/translations.py update   # new and changed words into every .ts, translations kept; .qm compiled
    python tools/translations.py check    # fails when a catalog is stale, a word is untranslated or a .qm is old
    python tools/translations.py pseudo DIR   # a pseudo-translated catalog for the layout tests

Words are found by Qt's ``pyside6-lupdate`` (``self.tr``, ``translate``, ``translate_n`` in ``desktop_auth/ui``;
``message``, ``message_n`` in the layers without Qt) and compiled by ``pyside6-lrelease``. Two things are done
here on top, so that a catalog does not change with every edit of the code around a word:

- locations are left out (``-locations none``): the catalog changes only when the words do;
- lupdate's Python reader marks a message plural only when its count is a literal number, so every message
  with an English plural (the comment ``translate_n``/``message_n`` give) is marked plural here, and its
  translations kept form by form.

A translator edits ``desktop_auth/translations/desktop_auth_<language>.ts`` (Qt Linguist, ``pyside6-linguist``,
or any editor), then runs ``update``. ``{name}`` placeholders must stay as they are; ``&`` marks the Alt key.
"""

from __future__ import annotations

import argparse
import difflib
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "desktop_auth"
CATALOGS = SOURCES / "translations"
#: The languages we ship, and how many plural forms each has (Qt's rules: German one/other, Arabic six).
LANGUAGES = {"de": 2, "ar": 6}
#: Our markers, read by lupdate as its own ``translate(context, source, comment, n)``.
ALIASES = "translate+=translate_n,translate+=message,translate+=message_n"
PLACEHOLDER = re.compile(r"\{[a-z_][a-z0-9_]*\}")

Key = tuple[str, str, str]  # context, source, comment


@dataclass
class Entry:
    context: str
    source: str
    comment: str
    forms: list[str]  # one translation, or one per plural form; empty strings are untranslated

    @property
    def key(self) -> Key:
        return self.context, self.source, self.comment

    @property
    def plural(self) -> bool:
        """Said about a count: translate_n/message_n give the English plural as the comment (and nothing else
        in the code gives one)."""
        return bool(self.comment)


def _tool(name: str) -> str:
    beside_python = Path(sys.executable).with_name(name)
    found = str(beside_python) if beside_python.exists() else shutil.which(name)
    if found is None:
        raise SystemExit(f"{name} not found: install PySide6 (pip install -e .) and run with its Python")
    return found


def _python_sources() -> list[str]:
    return sorted(str(path) for path in SOURCES.rglob("*.py"))


def extract(language: str) -> list[Entry]:
    """Every word in the sources, in lupdate's order, untranslated."""
    with tempfile.TemporaryDirectory() as scratch:
        catalog = Path(scratch) / f"extracted_{language}.ts"
        subprocess.run(
            [
                _tool("pyside6-lupdate"),
                "-silent",
                "-locations",
                "none",
                "-no-obsolete",
                "-target-language",
                language,
                "-tr-function-alias",
                ALIASES,
                *_python_sources(),
                "-ts",
                str(catalog),
            ],
            check=True,
        )
        return read(catalog)


def read(catalog: Path) -> list[Entry]:
    entries: list[Entry] = []
    for context in ElementTree.parse(catalog).getroot().iter("context"):
        name = context.findtext("name") or ""
        for message in context.iter("message"):
            translation = message.find("translation")
            forms: list[str] = []
            if translation is not None:
                numerus = translation.findall("numerusform")
                forms = [form.text or "" for form in numerus] if numerus else [translation.text or ""]
                if translation.get("type") in ("unfinished", "vanished", "obsolete"):
                    forms = [""] * len(forms)
            entries.append(
                Entry(name, message.findtext("source") or "", message.findtext("comment") or "", forms)
            )
    return entries


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def write(catalog: Path, language: str, entries: list[Entry]) -> None:
    """The catalog in lupdate's own layout (so Qt Linguist and lupdate read it as theirs)."""
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        "<!DOCTYPE TS>",
        f'<TS version="2.1" language="{language}">',
    ]
    by_context: dict[str, list[Entry]] = {}
    for entry in entries:
        by_context.setdefault(entry.context, []).append(entry)
    for context, messages in by_context.items():
        lines += ["<context>", f"    <name>{_escape(context)}</name>"]
        for entry in messages:
            lines.append('    <message numerus="yes">' if entry.plural else "    <message>")
            lines.append(f"        <source>{_escape(entry.source)}</source>")
            if entry.comment:
                lines.append(f"        <comment>{_escape(entry.comment)}</comment>")
            unfinished = ' type="unfinished"' if not all(entry.forms) else ""
            if entry.plural:
                lines.append(f"        <translation{unfinished}>")
                lines += [f"            <numerusform>{_escape(form)}</numerusform>" for form in entry.forms]
                lines.append("        </translation>")
            else:
                lines.append(f"        <translation{unfinished}>{_escape(entry.forms[0])}</translation>")
            lines.append("    </message>")
        lines.append("</context>")
    lines.append("</TS>")
    catalog.write_text("\n".join(lines) + "\n", encoding="utf-8")


def merged(language: str, extracted: list[Entry], existing: list[Entry]) -> list[Entry]:
    """The extracted words with the translations the catalog already has (words gone from the code go)."""
    known = {entry.key: entry.forms for entry in existing}
    forms_wanted = LANGUAGES[language]
    result = []
    for entry in extracted:
        count = forms_wanted if entry.plural else 1
        forms = (known.get(entry.key) or [])[:count]
        result.append(Entry(*entry.key, forms + [""] * (count - len(forms))))
    return result


def catalog_path(language: str, directory: Path = CATALOGS) -> Path:
    return directory / f"desktop_auth_{language}.ts"


def compile_catalog(catalog: Path, compiled: Path) -> None:
    subprocess.run(
        [_tool("pyside6-lrelease"), "-silent", "-removeidentical", str(catalog), "-qm", str(compiled)],
        check=True,
    )


def update(directory: Path = CATALOGS) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for language in LANGUAGES:
        catalog = catalog_path(language, directory)
        existing = read(catalog_path(language)) if catalog_path(language).exists() else []
        entries = merged(language, extract(language), existing)
        write(catalog, language, entries)
        compile_catalog(catalog, catalog.with_suffix(".qm"))
        missing = sum(1 for entry in entries if not all(entry.forms))
        print(
            f"{catalog.relative_to(ROOT) if catalog.is_relative_to(ROOT) else catalog}: "
            f"{len(entries)} messages, {missing} untranslated"
        )


def problems(language: str, entries: list[Entry]) -> list[str]:
    """What is wrong with the translations themselves: untranslated words, lost placeholders or Alt keys."""
    found = []
    for entry in entries:
        where = f"{language} {entry.context}: {entry.source!r}"
        if not all(entry.forms):
            found.append(f"{where}: not translated")
            continue
        wanted = set(PLACEHOLDER.findall(entry.source)) | set(PLACEHOLDER.findall(entry.comment))
        for form in entry.forms:
            have = set(PLACEHOLDER.findall(form))
            # A plural form may leave the count out ("one row" in Arabic's dual and singular forms).
            if have - wanted or (wanted - {"{n}"}) - have:
                found.append(f"{where}: placeholders {sorted(have)} in {form!r}, expected {sorted(wanted)}")
            if ("&" in entry.source.replace("&&", "")) != ("&" in form.replace("&&", "")):
                found.append(f"{where}: the Alt-key & is lost or added in {form!r}")
    return found


def check() -> int:
    """Non-zero when ``update`` would change a catalog, a word is untranslated, or a .qm is stale."""
    failures: list[str] = []
    with tempfile.TemporaryDirectory() as scratch:
        fresh = Path(scratch)
        for language in LANGUAGES:
            committed = catalog_path(language)
            if not committed.exists():
                failures.append(f"{committed.relative_to(ROOT)} is missing: run tools/translations.py update")
                continue
            entries = merged(language, extract(language), read(committed))
            write(catalog_path(language, fresh), language, entries)
            expected = catalog_path(language, fresh).read_text(encoding="utf-8")
            actual = committed.read_text(encoding="utf-8")
            if expected != actual:
                diff = difflib.unified_diff(
                    actual.splitlines(), expected.splitlines(), "committed", "sources", n=1
                )
                failures.append(
                    f"{committed.relative_to(ROOT)} is stale (the code's words changed): run "
                    "tools/translations.py update and translate what is new\n" + "\n".join(list(diff)[:60])
                )
            failures += problems(language, read(committed))
            compiled = committed.with_suffix(".qm")
            compile_catalog(committed, fresh / compiled.name)
            if not compiled.exists() or compiled.read_bytes() != (fresh / compiled.name).read_bytes():
                failures.append(f"{compiled.relative_to(ROOT)} is not compiled from its .ts: run update")
    for failure in failures:
        print(failure, file=sys.stderr)
    return 1 if failures else 0


# -- pseudo-translation: every word longer, accented and bracketed, to find clipped and untranslated text --

_ACCENTED = str.maketrans("AEIOUYCNaeiouycnsz", "ÀÉÎÖÛÝÇÑàéîöûýçñšž")


def pseudo_word(text: str) -> str:
    """``[Ŝàvé ~~~]``: accented, about 40% longer, bracketed; placeholders and the Alt-key & kept."""
    pieces = re.split(r"(\{[a-z_][a-z0-9_]*\}|&&|&(?=\S)|<[^>]*>|\n)", text)
    out = "".join(piece if i % 2 else piece.translate(_ACCENTED) for i, piece in enumerate(pieces))
    visible = len(PLACEHOLDER.sub("", re.sub(r"<[^>]*>", "", text)))
    return f"[{out}{'~' * max(1, round(visible * 0.4))}]"


def pseudo(directory: Path) -> Path:
    """A compiled pseudo-translated catalog of every word (German's plural rules), in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    entries = [
        Entry(
            *entry.key,
            [pseudo_word(entry.source), pseudo_word(entry.comment or entry.source)][
                : 2 if entry.plural else 1
            ],
        )
        for entry in extract("de")
    ]
    catalog = directory / "desktop_auth_pseudo.ts"
    write(catalog, "de", entries)
    compile_catalog(catalog, catalog.with_suffix(".qm"))
    return catalog.with_suffix(".qm")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("update", help="extract new words into the catalogs and compile them")
    commands.add_parser("check", help="fail when a catalog is stale, untranslated or not compiled")
    pseudo_command = commands.add_parser("pseudo", help="write a pseudo-translated catalog into DIR")
    pseudo_command.add_argument("directory", type=Path)
    args = parser.parse_args()
    if args.command == "update":
        update()
        return 0
    if args.command == "check":
        return check()
    print(pseudo(args.directory))
    return 0


if __name__ == "__main__":
    sys.exit(main())
