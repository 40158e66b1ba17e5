"""Pure tests of hashing and the password policy: no database, no Qt."""

import pytest
from werkzeug.security import generate_password_hash

from desktop_auth.security import PasswordHasher, PasswordPolicy, PasswordPolicyError
from desktop_auth.security.hashing import canonical_method
from tests.conftest import CHEAP_HASH, STRONG_PASSWORD


def test_hash_names_its_method_and_verifies() -> None:
    hasher = PasswordHasher(CHEAP_HASH)
    stored = hasher.hash(STRONG_PASSWORD)
    assert stored.startswith("pbkdf2:sha256:1000$")
    assert STRONG_PASSWORD not in stored
    assert hasher.verify(stored, STRONG_PASSWORD)
    assert not hasher.verify(stored, STRONG_PASSWORD + "x")


@pytest.mark.parametrize("stored", [None, "", "garbage", "md5$a$b", "scrypt:3:1:1$x$y", "pbkdf2:nope:1$a$b"])
def test_malformed_hash_is_a_failed_match_not_an_error(stored: str | None) -> None:
    assert PasswordHasher(CHEAP_HASH).verify(stored, STRONG_PASSWORD) is False


def test_unicode_is_normalized_before_hashing() -> None:
    hasher = PasswordHasher(CHEAP_HASH)
    composed = "caf\u00e9-mountain-river-42-orchid"
    decomposed = "cafe\u0301-mountain-river-42-orchid"
    assert hasher.verify(hasher.hash(composed), decomposed)


def test_tutorial_hash_of_unnormalized_password_still_verifies() -> None:
    raw = "cafe\u0301-mountain-river-42-orchid"  # stored by the tutorial exactly as typed
    # The tutorial's own method (never this app's configured one: the app always normalized), cheaper
    # than the configured one as real tutorial hashes are (tens of ms against a scrypt's hundreds).
    stored = generate_password_hash(raw, method="pbkdf2:sha256:100")
    assert PasswordHasher(CHEAP_HASH).verify(stored, raw)


def test_needs_rehash_compares_full_parameters() -> None:
    assert canonical_method("scrypt") == "scrypt:32768:8:1"
    hasher = PasswordHasher("scrypt:131072:8:1")
    assert hasher.needs_rehash("pbkdf2:sha256:260000$salt$hash")
    assert hasher.needs_rehash("scrypt:32768:8:1$salt$hash")
    assert not hasher.needs_rehash("scrypt:131072:8:1$salt$hash")


@pytest.mark.slow
def test_real_default_scrypt_hash_round_trip() -> None:
    hasher = PasswordHasher("scrypt:131072:8:1")
    stored = hasher.hash(STRONG_PASSWORD)
    assert stored.startswith("scrypt:131072:8:1$")
    assert len(stored) <= 255
    assert hasher.verify(stored, STRONG_PASSWORD)
    assert not hasher.needs_rehash(stored)


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("", "required"),
        ("short-one", "too_short"),
        ("passwordpassword", "guessable"),
        ("aaaaaaaaaaaaaaaaaaaa", "guessable"),
        ("1234567890123456", "guessable"),
        ("bob.smith1234567", "like_email"),
        ("x" * 1025, "too_long"),
        ("tab\tseparated-words-are-long", "control_character"),
    ],
)
def test_policy_refuses_with_a_stable_code(password: str, code: str) -> None:
    policy = PasswordPolicy(min_length=15, max_length=1024)
    with pytest.raises(PasswordPolicyError) as caught:
        policy.validate(password, "bob.smith@example.com")
    assert code in caught.value.codes
    assert all(message.endswith(".") for message in caught.value.problems)


def test_common_password_is_refused_whatever_the_minimum() -> None:
    with pytest.raises(PasswordPolicyError) as caught:
        PasswordPolicy(min_length=4).validate("password")
    assert "common" in caught.value.codes


@pytest.mark.parametrize(
    "password",
    [
        STRONG_PASSWORD,
        "correct horse battery staple",  # spaces are fine, no composition rules
        "ÄÖÜäöüßéèêëîïôœùûüÿ",
        "月が綺麗ですね、ずっと一緒にいたい",
        "🦊🌲🏔️🌊🦉🍄🌙⭐🔥💧🪨🌾🐝🌻🦋🐢",
        "y" * 10 + " a sentence that is really quite long " * 20,  # long passphrases are accepted
    ],
)
def test_policy_accepts_long_passwords_in_any_script(password: str) -> None:
    PasswordPolicy(min_length=15, max_length=1024).validate(password, "bob@example.com")


def test_all_problems_are_reported_together() -> None:
    report = PasswordPolicy(min_length=15).evaluate("pass\x00word")
    codes = {problem.code for problem in report.problems}
    assert {"too_short", "control_character"} <= codes
    assert report.score <= 2
    assert not report.acceptable


@pytest.mark.parametrize(
    "password",
    [
        # Mixed so that no repeat makes zxcvbn call them guessable: only "invisible" refuses them.
        "\u200b\u200c\u200d\u2060\ufeff\u180e\u200e\u200f\u2061\u2062\u2063\u2064\u206a\u206b\u206c\u206d\u206e",
        "\u3164\u115f\u1160\uffa0\u2800\u034f\u3164\u2800\u115f\u1160\uffa0\u034f\u2800\u3164\u1160\u115f",
        " \u00a0\u2002\u2003\u2009\u200a\u202f\u205f\u3000 \u2002\u2003\u2009\u200a\u202f\u205f\u3000\u00a0",
    ],
)
def test_a_password_of_invisible_characters_is_refused(password: str) -> None:
    with pytest.raises(PasswordPolicyError) as refused:
        PasswordPolicy().validate(password, "ann@example.com")
    assert "invisible" in refused.value.codes


def test_invisible_characters_do_not_count_towards_the_length() -> None:
    padded = "Kx9!" + "\u200b" * 30
    with pytest.raises(PasswordPolicyError) as refused:
        PasswordPolicy().validate(padded)
    assert "too_short" in refused.value.codes
    assert "not counting 30 invisible" in str(refused.value)
    # Spaces between words are part of a passphrase and count.
    PasswordPolicy().validate("velvet harbor quartz comet 19")


def test_the_unnormalized_retry_never_makes_an_attempt_slower() -> None:
    """A hash as costly as the configured method was made by a client (which normalized): checking it a
    second time with the password as typed would double the attempt's time, so it is not done."""
    raw = "cafe\u0301-mountain-river-42-orchid"
    stored = generate_password_hash(raw, method="pbkdf2:sha256:20000")  # far costlier than the configured
    assert not PasswordHasher(CHEAP_HASH).verify(stored, raw)
