"""Consent and help words per language, and the language of the word a customer used.

A programme answers its opt-out and help keywords in its own language, and carriers audit
that (the sources below). English is the words of ``keywords`` (AWS's list, STOPALL, REVOKE,
START, UNSTOP, HELP, INFO). Each other language here has a table of the words its speakers
are told to text, each word with where it is documented. A word is listed only with a source;
where none was found (a French opt-in word) the table has none.

Spanish (US programmes):

- ALTO (opt-out) and AYUDA (help): "If your short code will send messages in Spanish, then it
  must return compliant Spanish-language responses for the keywords AYUDA and ALTO" (Twilio,
  "Industry Standards for Spanish-language Short Code campaigns",
  support.twilio.com/hc/en-us/articles/223182348, from the carriers' guidelines).
- INICIO (opt-in) and AUXILIO (help): reserved "as Spanish equivalents" of START and HELP with
  ALTO (Textizen, "Reserved Keywords", support.textizen.com/article/92-reserved-keywords).
- PARAR, CANCELAR, DETENER, BAJA (opt-out): industry practice, not a carrier rule: Aivo's opt-out
  keywords "detener, parar, desuscribir, baja" (helpaivoes.aivohelp.com, "Gestión de opt-out para
  SMS"), and the issue's own list (ALTO, PARAR, CANCELAR). Listed because an opt-out must be
  honoured whatever words it takes (47 CFR 64.1200(a)(10), "any reasonable means"): a Spanish
  speaker who texts PARAR asks for no more texts.

French (Canada):

- ARRET (opt-out) and AIDE (help): with STOP, HELP and INFO the five mandatory keywords of every
  Canadian short code programme, "available in both English and French, regardless of the
  intended audience", the ARRET reply "must be in French" (CWTA, Canadian Common Short Code
  Application Guidelines 3.9, as Infobip's "Canadian mandatory keyword responses" quotes them;
  Twilio, "French-language requirements for Canadian Short Codes": "must return compliant
  French-language responses for the keywords AIDE and ARRET"). ARRET is also in AWS's own
  opt-out list (sms-voice user guide, "keywords-required"). ARRÊT is ARRET: matching folds accents.
- No opt-in word: none is documented. START and UNSTOP (English) resubscribe in any language.

What the words do, whichever languages a configuration answers in (``responder.ResponderSettings``):

- Opt-out words of every language are always opt-outs: an opt-out must be honoured whatever its
  language. The confirmation is in the word's language when the configuration has that
  language's replies, else in English.
- Help words of every language are always answered: in their language when configured, else
  with the English help reply.
- Opt-in words of a language count only when the configuration answers in that language: an
  opt-in must be the customer's clear request, confirmed in words they read.

The FCC's "reasonable means" grammar (``keywords.find_revocation``) reads English sentences
("please stop texting me"); in Spanish and French a revocation is one of the words, alone, after
courtesy words ("por favor, alto") or leading the message ("Baja, gracias").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from two_way_sms.keywords import AWS_DEFAULT_OPT_OUT_WORDS, DEFAULT_OPT_IN_WORDS, EXTRA_OPT_OUT_WORDS, HELP_WORDS

ENGLISH = "en"
SPANISH = "es"
FRENCH = "fr"


@dataclass(frozen=True)
class Language:
    """One language's consent and help words, upper case with accents folded (as ``keywords.normalise`` reads)."""

    code: str  # ISO 639-1
    name: str
    opt_out_words: tuple[str, ...]
    help_words: tuple[str, ...]
    opt_in_words: tuple[str, ...]

    @property
    def words(self) -> tuple[str, ...]:
        return self.opt_out_words + self.help_words + self.opt_in_words


# ARRET is in AWS's list, and French: it is the French table's.
_FRENCH_OPT_OUT = ("ARRET",)
LANGUAGES: Mapping[str, Language] = MappingProxyType(
    {
        ENGLISH: Language(
            ENGLISH,
            "English",
            opt_out_words=tuple(w for w in AWS_DEFAULT_OPT_OUT_WORDS + EXTRA_OPT_OUT_WORDS if w not in _FRENCH_OPT_OUT),
            help_words=HELP_WORDS,
            opt_in_words=DEFAULT_OPT_IN_WORDS,
        ),
        SPANISH: Language(
            SPANISH,
            "Spanish",
            opt_out_words=("ALTO", "PARAR", "CANCELAR", "DETENER", "BAJA"),
            help_words=("AYUDA", "AUXILIO"),
            opt_in_words=("INICIO",),
        ),
        FRENCH: Language(FRENCH, "French", opt_out_words=_FRENCH_OPT_OUT, help_words=("AIDE",), opt_in_words=()),
    }
)
# The languages a configuration can add replies for (English is its top-level replies).
OTHER_LANGUAGES: tuple[str, ...] = tuple(code for code in LANGUAGES if code != ENGLISH)
# The revocation grammar's other canonical names (keywords.OPT_OUT_COMMANDS) that are not table words.
_GRAMMAR_WORDS = {"NO MAS": SPANISH}
_LANGUAGE_OF: Mapping[str, str] = MappingProxyType(
    {
        **_GRAMMAR_WORDS,
        **{word: code for code in OTHER_LANGUAGES for word in LANGUAGES[code].words},
    }
)
# Every word of another language than English: never a flow's answer or start word.
OTHER_LANGUAGE_WORDS: frozenset[str] = frozenset(_LANGUAGE_OF)


def language_of(word: str | None) -> str:
    """The language of a matched word or canonical opt-out ("ALTO" -> "es", "ARRET" -> "fr"); English otherwise."""
    return _LANGUAGE_OF.get(word or "", ENGLISH)


WordKind = Literal["opt_out_words", "help_words", "opt_in_words"]


def other_language_words(kind: WordKind, languages: frozenset[str] | None = None) -> tuple[str, ...]:
    """``kind`` ("opt_out_words", "help_words", "opt_in_words") of the other languages, or of ``languages`` only."""
    return tuple(
        word
        for code in OTHER_LANGUAGES
        if languages is None or code in languages
        for word in _words(LANGUAGES[code], kind)
    )


def _words(language: Language, kind: WordKind) -> tuple[str, ...]:
    if kind == "opt_out_words":
        return language.opt_out_words
    return language.help_words if kind == "help_words" else language.opt_in_words
