"""Keyword matching, the way End User Messaging matches keywords.

A keyword fires when the message *begins with* it as a whole word, ignoring case and
the whitespace and punctuation around it: "Stop." and " stop " and "STOP please" all
begin with STOP; "Stopping by later?" does not.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

KEYWORD_MAX_LENGTH = 30

# AWS's own opt-out keywords for US/CA numbers (sms-voice user guide, "keywords-required").
AWS_DEFAULT_OPT_OUT_WORDS = ("ARRET", "CANCEL", "END", "OPT-OUT", "OPTOUT", "QUIT", "REMOVE", "STOP", "TD", "UNSUBSCRIBE")
# The FCC names REVOKE (47 CFR 64.1200(a)(10)); STOPALL is common carrier practice.
EXTRA_OPT_OUT_WORDS = ("STOPALL", "REVOKE")
DEFAULT_OPT_IN_WORDS = ("START", "UNSTOP")
HELP_WORDS = ("HELP", "INFO")
MANDATORY_KEYWORDS = ("HELP", "STOP")

# The FCC also honours "any reasonable means" of revoking consent: these phrases, found
# anywhere in a message, are treated as an opt-out even though no keyword starts it.
DEFAULT_OPT_OUT_PHRASES = (
    "OPT ME OUT",
    "UNSUBSCRIBE ME",
    "REMOVE ME",
    "TAKE ME OFF",
    "STOP TEXTING",
    "STOP MESSAGING",
    "STOP SENDING",
    "DO NOT TEXT",
    "DONT TEXT",
    "NO MORE TEXTS",
    "NO MORE MESSAGES",
)

_LEADING_NOISE = re.compile(r"^[\W_]+")
_NOT_WORD = re.compile(r"[^A-Z0-9]+")


def normalise(text: str) -> str:
    """Upper case, accents folded (ARRÊT -> ARRET), leading whitespace/punctuation gone."""
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return _LEADING_NOISE.sub("", folded.upper())


def normalise_keyword(keyword: str) -> str:
    return keyword.strip().upper()


def starts_with_keyword(text: str, keyword: str) -> bool:
    """True when ``text`` begins with ``keyword`` as a whole word."""
    return _begins_with(normalise(text), normalise_keyword(keyword))


def first_keyword(text: str, keywords: Iterable[str]) -> str | None:
    """The longest of ``keywords`` that ``text`` begins with (STOPALL beats STOP), or None."""
    body = normalise(text)  # once, not once per keyword
    matches = [word for word in map(normalise_keyword, keywords) if _begins_with(body, word)]
    return max(matches, key=len) if matches else None


def _begins_with(body: str, word: str) -> bool:
    if not word or not body.startswith(word):
        return False
    rest = body[len(word):]
    return not rest or not rest[0].isalnum()


def find_phrase(text: str, phrases: Iterable[str]) -> str | None:
    """The first of ``phrases`` that appears in ``text`` as whole words, or None."""
    words = " " + _NOT_WORD.sub(" ", normalise(text).replace("'", "").replace("’", "")).strip() + " "
    for phrase in phrases:
        wanted = " " + _NOT_WORD.sub(" ", normalise(phrase)).strip() + " "
        if wanted.strip() and wanted in words:
            return phrase
    return None


def keyword_problem(keyword: str) -> str | None:
    """Why ``keyword`` cannot be a keyword, or None when it can."""
    word = keyword.strip() if isinstance(keyword, str) else ""
    if not 1 <= len(word) <= KEYWORD_MAX_LENGTH:
        return f"keyword {keyword!r} must be 1-{KEYWORD_MAX_LENGTH} characters"
    if any(ch.isspace() for ch in word):
        return f"keyword {keyword!r} must be one word"
    return None
