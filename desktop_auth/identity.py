"""What makes two email addresses one account, and when two accounts would look alike.

Bottom layer (no SQLAlchemy, no Qt): the services, the migrations and the GUI's inline checks all call
these same functions, so an address adopted from an old database is spelled exactly as a new one.

**Identity.** ``normalize_email`` gives the one spelling stored for an address: validated by
email-validator (no network), the domain in its Unicode form (IDNA/UTS #46, so ``xn--bcher-kva`` and
``BÜCHER`` are ``bücher``), Unicode NFC (so a decomposed ``é`` is the composed one), and lower case.
The database compares this spelling byte for byte on every backend (``utf8mb4_bin`` on MariaDB, whose
default collation would make ``straße``, ``strasse`` and fullwidth ``ｓｔｒａｓｓｅ`` one account).

**Look-alikes.** Unicode TR39 defines the *skeleton* of a string: NFD, drop default-ignorable code
points, map each character to its prototype from ``confusables.txt``, NFD again. Two strings that
look alike have the same skeleton (``аdmin`` with a Cyrillic ``а`` and ``admin``). confusables.txt
leaves out most characters that compatibility normalization already folds (fullwidth ``ｄ``, ``ｍ``,
``ｎ``...), expecting NFKC'd identifiers; addresses are only NFC'd, so a character the file does not
list is mapped through the prototypes of its NFKD form (``ａｄｍｉｎ`` → ``adrnin``, like ``admin``).
Characters the file does list keep their TR39 prototype (``ſ`` → ``f``, not NFKC's ``s``). The rule:

- an address with a non-ASCII character is refused when its skeleton equals any other account's;
- an ASCII address is never refused for resembling another: the real ``admin@`` must stay registrable
  after a squatter took a look-alike, and ``bill1@``/``billl@`` are ordinary distinct people.

**The column.** ``user.email_skeleton`` holds ``skeleton_key(email)``, under a unique index:

- non-ASCII address: ``D``, where ``D`` is the SHA-256 hex digest of the skeleton (64 characters);
- ASCII address: ``D + " " + email`` (unique because the address is, so ASCII look-alikes coexist).

"Does any account look like X" is ``email_skeleton >= D and email_skeleton < D + "!"``: exactly the
rows equal to ``D`` or starting with ``D + " "`` (the separator is U+0020 and ``"!"`` is U+0021, and
``D`` is hexadecimal; no normalized address holds a space either, which ``normalize_email`` checks), one
range of the index under a binary collation. Two non-ASCII look-alikes registering at the same moment both write ``D``, so the unique index
lets exactly one in. A non-ASCII and an ASCII look-alike racing may both get in, which is the outcome of
running them one after the other with the non-ASCII one first: ASCII addresses are never refused anyway.

Why a digest rather than the skeleton itself: a prototype can be up to 18 characters (``ﷺ``), so the
skeleton of a 254-character address can far exceed what MariaDB can index (3072 bytes, i.e. 768 utf8mb4
characters). The digest keeps the key at ``SKELETON_KEY_LENGTH`` = 64 + 1 + 254 characters.

**Data.** ``resources/unicode/confusables.txt`` is Unicode's own file, unchanged (version in its header,
``CONFUSABLES_VERSION``; 17.0.0 when shipped). Default-ignorable code points are from
DerivedCoreProperties.txt of the same version (``_DEFAULT_IGNORABLE`` below). Python's ``unicodedata``
supplies NFD; characters newer than it are left as they are, which only matters for unassigned ones.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from collections.abc import Iterable
from functools import cache, lru_cache
from pathlib import Path

from desktop_auth.constants import EMAIL_MAX_LENGTH
from desktop_auth.errors import InvalidInputError
from desktop_auth.messages import Message, message, message_n

log = logging.getLogger(__name__)

SKELETON_DIGEST_LENGTH = 64  # SHA-256, hex
SKELETON_KEY_LENGTH = SKELETON_DIGEST_LENGTH + 1 + EMAIL_MAX_LENGTH
SEPARATOR = " "
_RANGE_END = chr(ord(SEPARATOR) + 1)

# Default_Ignorable_Code_Point, DerivedCoreProperties-17.0.0.txt (inclusive ranges). TR39 removes them
# from a skeleton; email-validator lets some through (e.g. U+034F, U+3164, variation selectors).
_DEFAULT_IGNORABLE: tuple[tuple[int, int], ...] = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)
_DATA_LINE = re.compile(r"^([0-9A-F]{4,6}) ;\t([0-9A-F]{4,6}(?: [0-9A-F]{4,6})*) ;\tMA\b")
_VERSION_LINE = re.compile(r"^# Version: (\S+)")


# -- identity -----------------------------------------------------------------------------------------


# A pure function, cached: email-validator's full validation costs ~0.05-0.13 ms, on every sign-in (issue
# #15's 1.5x target), for the few addresses one desktop types. Refusals are raised, so never cached.
@lru_cache(maxsize=256)
def normalize_email(raw: str) -> str:
    """Validate ``raw`` and return the one spelling stored for it (see the module docstring).

    Lower-casing the local part too makes ``Bob@Example.com`` and ``bob@example.com`` one account on every
    backend; no mail system in practice treats them as different people.
    """
    from email_validator import EmailNotValidError, validate_email  # loaded on first use

    text = raw.strip()
    if not text:
        raise InvalidInputError("email", [message("Identity", "Enter an email address.")])
    if len(text) > EMAIL_MAX_LENGTH:
        raise InvalidInputError("email", [_too_long()])
    try:
        info = validate_email(text, check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidInputError("email", [email_problem(str(error))]) from None
    normalized = unicodedata.normalize("NFC", info.normalized.lower())
    if len(normalized) > EMAIL_MAX_LENGTH:
        raise InvalidInputError("email", [_too_long()])
    if SEPARATOR in normalized:  # email-validator refuses spaces; skeleton keys rely on it, so make sure
        raise InvalidInputError("email", [message("Identity", "An email address cannot contain spaces.")])
    return normalized


def _too_long() -> Message:
    return message_n(
        "Identity",
        "An email address has at most {n} character.",
        "An email address has at most {n} characters.",
        EMAIL_MAX_LENGTH,
    )


# -- email-validator's refusals, in our words -----------------------------------------------------------
#
# email-validator (2.x) explains a refusal in English. The person reads our translatable sentences instead:
# the library's fixed sentences are repeated word for word, so the English stays as it was; a sentence that
# ends with a list of characters keeps the list as a parameter; the ones that quote the IDNA library's own
# words get a sentence of ours without them. Anything else (a newer email-validator) becomes
# ``_NOT_AN_ADDRESS``, and the library's text goes to the log.


@cache
def _fixed_problems() -> dict[str, Message]:
    return {
        "An email address must have an @-sign.": message("Identity", "An email address must have an @-sign."),
        'The email address has the "full-width" at-sign (@) character instead of a regular at-sign.': message(
            "Identity",
            'The email address has the "full-width" at-sign (@) character instead of a regular at-sign.',
        ),
        'The email address has the "small commercial at" character instead of a regular at-sign.': message(
            "Identity",
            'The email address has the "small commercial at" character instead of a regular at-sign.',
        ),
        "There must be something before the @-sign.": message(
            "Identity", "There must be something before the @-sign."
        ),
        "There must be something after the @-sign.": message(
            "Identity", "There must be something after the @-sign."
        ),
        "An email address cannot have two periods in a row.": message(
            "Identity", "An email address cannot have two periods in a row."
        ),
        "An email address cannot have a period and a hyphen next to each other.": message(
            "Identity", "An email address cannot have a period and a hyphen next to each other."
        ),
        "An email address cannot start with a period.": message(
            "Identity", "An email address cannot start with a period."
        ),
        "An email address cannot have a period immediately before the @-sign.": message(
            "Identity", "An email address cannot have a period immediately before the @-sign."
        ),
        "An email address cannot have a period immediately after the @-sign.": message(
            "Identity", "An email address cannot have a period immediately after the @-sign."
        ),
        "An email address cannot have a hyphen immediately after the @-sign.": message(
            "Identity", "An email address cannot have a hyphen immediately after the @-sign."
        ),
        "An email address cannot end with a period.": message(
            "Identity", "An email address cannot end with a period."
        ),
        "An email address cannot end with a hyphen.": message(
            "Identity", "An email address cannot end with a hyphen."
        ),
        "An email address cannot have two letters followed by two dashes immediately after the @-sign or after "
        "a period, except Punycode.": message(
            "Identity",
            "An email address cannot have two letters followed by two dashes immediately after the @-sign or "
            "after a period, except Punycode.",
        ),
        "The part after the @-sign is not valid. It should have a period.": message(
            "Identity", "The part after the @-sign is not valid. It should have a period."
        ),
        "The part after the @-sign is not valid. It is not within a valid top-level domain.": message(
            "Identity", "The part after the @-sign is not valid. It is not within a valid top-level domain."
        ),
        "The part after the @-sign is a special-use or reserved name that cannot be used with email.": message(
            "Identity",
            "The part after the @-sign is a special-use or reserved name that cannot be used with email.",
        ),
        "A bracketed IP address after the @-sign is not allowed here.": message(
            "Identity", "A bracketed IP address after the @-sign is not allowed here."
        ),
        "A display name and angle brackets around the email address are not permitted here.": message(
            "Identity", "A display name and angle brackets around the email address are not permitted here."
        ),
        "Quoting the part before the @-sign is not allowed here.": message(
            "Identity", "Quoting the part before the @-sign is not allowed here."
        ),
        "The email address contains an invalid character.": message(
            "Identity", "The email address contains an invalid character."
        ),
        "The email address contains invalid characters before the @-sign.": message(
            "Identity", "The email address contains invalid characters before the @-sign."
        ),
        "Internationalized characters before the @-sign are not supported.": message(
            "Identity", "Internationalized characters before the @-sign are not supported."
        ),
        "The email address contains invalid characters after the @-sign after IDNA encoding.": message(
            "Identity", "The email address contains invalid characters after the @-sign after IDNA encoding."
        ),
        "There can't be anything after the email address.": message(
            "Identity", "There can't be anything after the email address."
        ),
        "An open angle bracket at the start of the email address has to be followed by a close angle bracket at "
        "the end.": message(
            "Identity",
            "An open angle bracket at the start of the email address has to be followed by a close angle "
            "bracket at the end.",
        ),
        "The email address is not valid ASCII.": message("Identity", "The email address is not valid ASCII."),
    }


def _listed(prefix: str) -> Message | None:
    """The sentences that end with a list of characters: ``prefix`` -> the message, ``{characters}`` the list."""
    return {
        "The email address contains invalid characters before the @-sign: ": message(
            "Identity", "The email address contains invalid characters before the @-sign: {characters}."
        ),
        "The email address contains invalid characters in quotes before the @-sign: ": message(
            "Identity",
            "The email address contains invalid characters in quotes before the @-sign: {characters}.",
        ),
        "Internationalized characters before the @-sign are not supported: ": message(
            "Identity", "Internationalized characters before the @-sign are not supported: {characters}."
        ),
        "The email address contains unsafe characters: ": message(
            "Identity", "The email address contains unsafe characters: {characters}."
        ),
        "The part after the @-sign contains invalid characters after Unicode normalization: ": message(
            "Identity",
            "The part after the @-sign contains invalid characters after Unicode normalization: {characters}.",
        ),
        "The part after the @-sign contains invalid characters in brackets: ": message(
            "Identity", "The part after the @-sign contains invalid characters in brackets: {characters}."
        ),
        "The part after the @-sign contains invalid characters: ": message(
            "Identity", "The part after the @-sign contains invalid characters: {characters}."
        ),
    }.get(prefix)


_LISTED = re.compile(r"^(.*?: )(.+)\.$")
_TOO_LONG = re.compile(
    r"^The email address is too long(?P<where> before the @-sign| after the @-sign|) "
    r"\((?P<n>\d+) (?P<unit>character|byte)s? too many(?P<idna> after IDNA encoding)?\)\.$"
)
_LABEL_TOO_LONG = re.compile(
    r"^After the @-sign, periods cannot be separated by so many characters \((?P<n>\d+) characters? too many\)\.$"
)
_NOT_AN_ADDRESS_DETAIL = re.compile(
    r"^The (part after the @-sign|address in brackets after the @-sign|IPv6 address in brackets after the "
    r"@-sign) (is|contains|became) "
)


def _too_long_problem(where: str, n: int, in_bytes: bool) -> Message:
    if in_bytes:
        return message_n(
            "Identity",
            "The email address is too long after the @-sign ({n} byte too many after IDNA encoding).",
            "The email address is too long after the @-sign ({n} bytes too many after IDNA encoding).",
            n,
        )
    if where == " before the @-sign":
        return message_n(
            "Identity",
            "The email address is too long before the @-sign ({n} character too many).",
            "The email address is too long before the @-sign ({n} characters too many).",
            n,
        )
    if where == " after the @-sign":
        return message_n(
            "Identity",
            "The email address is too long after the @-sign ({n} character too many).",
            "The email address is too long after the @-sign ({n} characters too many).",
            n,
        )
    return message_n(
        "Identity",
        "The email address is too long ({n} character too many).",
        "The email address is too long ({n} characters too many).",
        n,
    )


def email_problem(text: str) -> Message:
    """email-validator's refusal ``text`` as our translatable sentence (see above)."""
    text = text.removeprefix("After Unicode normalization: ")
    fixed = _fixed_problems().get(text)
    if fixed is not None:
        return fixed
    if match := _TOO_LONG.match(text):
        return _too_long_problem(match["where"], int(match["n"]), match["unit"] == "byte")
    if match := _LABEL_TOO_LONG.match(text):
        count = int(match["n"])
        return message_n(
            "Identity",
            "After the @-sign, periods cannot be separated by so many characters ({n} character too many).",
            "After the @-sign, periods cannot be separated by so many characters ({n} characters too many).",
            count,
        )
    if (match := _LISTED.match(text)) and (listed := _listed(match[1])) is not None:
        return listed.format(characters=match[2])
    if text.startswith("The part after the @-sign contains invalid characters ("):
        return message("Identity", "The part after the @-sign contains invalid characters.")
    if _NOT_AN_ADDRESS_DETAIL.match(text):
        return message("Identity", "The part after the @-sign is not a valid domain name or address.")
    log.warning("email-validator refusal without a sentence of ours: %r", text)
    return message("Identity", "This is not a valid email address.")


def sign_in_key(raw: str) -> str | None:
    """The normalized address for a sign-in attempt, or None when it cannot be anyone's address."""
    try:
        return normalize_email(raw)
    except InvalidInputError:
        return None


def legacy_key(raw: str) -> str:
    """The spelling kept for an adopted address that is not a valid one (it can never sign in, but its row
    and history stay): trimmed and lower-cased, as the first adoption stored every address."""
    return unicodedata.normalize("NFC", raw.strip().lower())


def adopted_key(raw: str) -> str:
    """The spelling an adopted (pre-existing) address gets: the app's own, or ``legacy_key`` if invalid."""
    try:
        return normalize_email(raw)
    except InvalidInputError:
        return legacy_key(raw)


# -- look-alikes --------------------------------------------------------------------------------------


def _confusables_path() -> Path:
    from desktop_auth.paths import bundled_path

    return bundled_path("resources") / "unicode" / "confusables.txt"


@cache
def _prototypes() -> tuple[dict[int, str], str]:
    """confusables.txt as a ``str.translate`` table, and its version. Parsed once, on first use."""
    table: dict[int, str] = {}
    version = "unknown"
    with _confusables_path().open(encoding="utf-8-sig") as lines:
        for line in lines:
            if match := _DATA_LINE.match(line):
                table[int(match[1], 16)] = "".join(chr(int(cp, 16)) for cp in match[2].split())
            elif version == "unknown" and (match := _VERSION_LINE.match(line)):
                version = match[1]
    if not table:
        raise RuntimeError(f"no confusable mappings found in {_confusables_path()}")
    for low, high in _DEFAULT_IGNORABLE:
        for code_point in range(low, high + 1):
            table[code_point] = ""
    return table, version


def confusables_version() -> str:
    """The Unicode version of the shipped confusables.txt (e.g. '17.0.0')."""
    return _prototypes()[1]


_MARKS = frozenset({"Mn", "Me"})
_BLANK_SYMBOLS = frozenset("\u2800")  # the blank Braille pattern draws nothing


@cache
def _prototype(char: str) -> str:
    """One character's prototype: confusables.txt's, else (for the compatibility characters the file
    leaves to NFKC, such as most fullwidth letters) the prototypes of its NFKD form, else itself."""
    table = _prototypes()[0]
    mapped = table.get(ord(char))
    if mapped is not None:
        return mapped
    compatible = unicodedata.normalize("NFKD", char)
    return compatible.translate(table) if compatible != char else char


def skeleton(text: str) -> str:
    """The TR39 skeleton of ``text`` (extended to compatibility forms): look-alikes have equal skeletons."""
    decomposed = unicodedata.normalize("NFD", _without_hidden_marks(text))
    if decomposed.isascii():  # the common case: ASCII prototypes come straight from the table
        return unicodedata.normalize("NFD", decomposed.translate(_prototypes()[0]))
    return unicodedata.normalize("NFD", "".join(map(_prototype, decomposed)))


def _without_hidden_marks(text: str) -> str:
    """Beyond TR39: a combining mark that stays separate on an ASCII letter after NFC (``admi\u0307n``,
    ``admin\u0335``: no precomposed letter exists, so it is drawn as a faint overlay) and the blank Braille
    pattern hide in plain sight, so they do not tell addresses apart. Accented letters that compose
    (``é``) and marks in other scripts keep their meaning."""
    kept: list[str] = []
    for ch in unicodedata.normalize("NFC", text):
        if ch in _BLANK_SYMBOLS:
            continue
        if unicodedata.category(ch) in _MARKS and kept and kept[-1].isascii():
            continue  # (the base stays last, so marks stacked on it go too)
        kept.append(ch)
    return "".join(kept)


def skeleton_digest(email: str) -> str:
    return hashlib.sha256(skeleton(email).encode("utf-8", "surrogatepass")).hexdigest()


def skeleton_key(email: str) -> str:
    """The ``user.email_skeleton`` value for a stored address (see the module docstring)."""
    digest = skeleton_digest(email)
    return f"{digest}{SEPARATOR}{email}" if email.isascii() else digest


def lookalike_range(email: str) -> tuple[str, str]:
    """``(low, high)``: the accounts that look like ``email`` have ``low <= email_skeleton < high``."""
    digest = skeleton_digest(email)
    return digest, digest + _RANGE_END


def may_look_alike(email: str) -> bool:
    """Only addresses with a non-ASCII character are refused for resembling another account."""
    return not email.isascii()


# -- adopting existing addresses ----------------------------------------------------------------------


def find_conflicts(emails: Iterable[str]) -> tuple[list[list[str]], list[list[str]]]:
    """Among stored addresses (as they are spelled now), the groups that cannot all stay.

    Returns ``(same, alike)``: ``same`` are groups that ``adopted_key`` makes one address; ``alike`` are
    groups of distinct addresses with one skeleton where one has a non-ASCII character (the rule new
    registrations follow). Each group lists the addresses as stored, sorted; groups are sorted too.
    """
    by_key: dict[str, list[str]] = {}
    for email in emails:
        by_key.setdefault(adopted_key(email), []).append(email)
    same = sorted(sorted(group) for group in by_key.values() if len(group) > 1)
    by_digest: dict[str, list[str]] = {}
    for key in by_key:
        by_digest.setdefault(skeleton_digest(key), []).append(key)
    alike = sorted(
        sorted(email for key in keys for email in by_key[key])
        for keys in by_digest.values()
        if len(keys) > 1 and any(may_look_alike(key) for key in keys)
    )
    return same, alike
