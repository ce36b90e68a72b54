"""What to do with an inbound text: the reply, the consent change, the opt-out list.

Who answers a word depends on the number's set-up. With AWS-managed opt-outs (the
default) End User Messaging itself replies to HELP, STOP, its default opt-out words and
the compliance keywords registered on the number, and keeps the opt-out list; the
handler then only records what happened. Everything AWS does not handle, the handler
does: its reply, and the opt-out list. A US toll-free number's STOP is the carrier's.

Opt-outs are read with the FCC's revocation rule (47 CFR 64.1200(a)(10), see
``keywords.find_revocation``), never turned off by configuration. One more case: AWS opts
out any message that *begins with* a word it handles ("End of the day works"), even when
the rule would not read it as a revocation; the handler records that opt-out as it is.

Languages (``two_way_sms.languages``): the Spanish and French words are read beside the English
ones. A message that begins with another language's opt-out word is an opt-out (that word is
its revocation rule, as AWS reads its keywords); another language's help word is answered; its
opt-in words count when the configuration answers in it (``languages``). The answer is in the
word's language when the configuration has that language's replies, else in English, and the
decision names the language (``Decision.language``). Configured languages' words are
registered on the number with their replies, so that End User Messaging answers them itself.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from enum import Enum
from functools import cached_property
from typing import Any

from two_way_sms.keywords import (
    AWS_DEFAULT_OPT_OUT_WORDS,
    DEFAULT_OPT_IN_WORDS,
    EXTRA_OPT_OUT_WORDS,
    HELP_WORDS,
    MANDATORY_KEYWORDS,
    KeywordMatcher,
    RevocationMatcher,
    normalise,
    normalise_keyword,
    revocation_matcher,
)
from two_way_sms.languages import ENGLISH, LANGUAGES, OTHER_LANGUAGES, language_of, other_language_words

TOLL_FREE = "TOLL_FREE"


class KeywordAction(str, Enum):
    """The actions End User Messaging knows for a keyword (same strings as its API)."""

    AUTOMATIC_RESPONSE = "AUTOMATIC_RESPONSE"
    OPT_OUT = "OPT_OUT"
    OPT_IN = "OPT_IN"


class Intent(str, Enum):
    OPT_OUT = "OPT_OUT"
    OPT_IN = "OPT_IN"
    HELP = "HELP"
    KEYWORD = "KEYWORD"
    OTHER = "OTHER"


class ConsentChange(str, Enum):
    OPTED_OUT = "OPTED_OUT"
    OPTED_IN = "OPTED_IN"


@dataclass(frozen=True)
class KeywordRule:
    keyword: str
    reply: str
    action: KeywordAction = KeywordAction.AUTOMATIC_RESPONSE

    def __post_init__(self) -> None:
        object.__setattr__(self, "keyword", normalise_keyword(self.keyword))
        object.__setattr__(self, "action", KeywordAction(self.action))


@dataclass(frozen=True)
class LanguageReplies:
    """The consent and help replies in one more language (``two_way_sms.languages.OTHER_LANGUAGES``)."""

    language: str
    help_reply: str
    stop_reply: str
    opt_in_reply: str | None = None  # for the language's opt-in words; None where it has none (French)

    def __post_init__(self) -> None:
        if self.language not in OTHER_LANGUAGES:
            raise ValueError(
                f"language {self.language!r} is not one of {list(OTHER_LANGUAGES)} (English: the settings' own replies)"
            )
        if LANGUAGES[self.language].opt_in_words and not self.opt_in_reply:
            raise ValueError(
                f"language {self.language!r} needs an opt_in_reply: its opt-in words "
                f"{list(LANGUAGES[self.language].opt_in_words)} are answered with it"
            )


@dataclass(frozen=True)
class Replies:
    """The replies an answer is sent with: one language's, or the English ones."""

    help_reply: str
    stop_reply: str
    opt_in_reply: str


@dataclass(frozen=True)
class ResponderSettings:
    """Everything the handler needs to answer; built by the CDK config, shipped as JSON."""

    help_reply: str
    stop_reply: str
    opt_in_reply: str
    keywords: tuple[KeywordRule, ...] = ()
    extra_opt_out_words: tuple[str, ...] = ()
    extra_opt_in_words: tuple[str, ...] = ()
    opt_out_phrases: tuple[str, ...] = ()  # extra wording found anywhere, on top of the FCC grammar
    default_reply: str | None = None
    self_managed_opt_outs: bool = False
    number_type: str = "SIMULATOR"
    languages: tuple[LanguageReplies, ...] = ()  # replies in more languages than English

    def __post_init__(self) -> None:
        object.__setattr__(self, "keywords", tuple(self.keywords))
        object.__setattr__(self, "languages", tuple(self.languages))
        codes = [replies.language for replies in self.languages]
        if len(set(codes)) != len(codes):
            raise ValueError(f"languages {codes} name a language more than once")
        object.__setattr__(self, "extra_opt_out_words", tuple(map(normalise_keyword, self.extra_opt_out_words)))
        object.__setattr__(self, "extra_opt_in_words", tuple(map(normalise_keyword, self.extra_opt_in_words)))
        object.__setattr__(self, "opt_out_phrases", tuple(self.opt_out_phrases))

    # -- the word lists -------------------------------------------------------------------
    # Derived once per settings object: decide() runs them on every message.
    @cached_property
    def opt_out_words(self) -> tuple[str, ...]:
        """Every language's opt-out words (an opt-out is honoured in any language), then the configured ones."""
        configured = tuple(k.keyword for k in self.keywords if k.action is KeywordAction.OPT_OUT)
        every_language = other_language_words("opt_out_words")
        return _unique(
            AWS_DEFAULT_OPT_OUT_WORDS + EXTRA_OPT_OUT_WORDS + every_language + self.extra_opt_out_words + configured
        )

    @cached_property
    def revocations(self) -> RevocationMatcher:
        """The revocation grammar with this configuration's extra opt-out words and phrases."""
        return revocation_matcher(self.opt_out_words, self.opt_out_phrases)

    @cached_property
    def opt_in_words(self) -> tuple[str, ...]:
        """The English opt-in words, the configured languages' (only theirs), then the configured ones."""
        configured = tuple(k.keyword for k in self.keywords if k.action is KeywordAction.OPT_IN)
        languages = other_language_words("opt_in_words", self.configured_languages)
        return _unique(DEFAULT_OPT_IN_WORDS + languages + self.extra_opt_in_words + configured)

    @cached_property
    def help_words(self) -> tuple[str, ...]:
        """Every language's help words; an unconfigured language's yields to a keyword of the same word."""
        languages = tuple(
            word
            for word in other_language_words("help_words")
            if language_of(word) in self.configured_languages or word not in self.auto_replies
        )
        return _unique(HELP_WORDS + languages)

    # One regex per word list, compiled once: decide() reads all four on every message.
    @cached_property
    def opt_out_matcher(self) -> KeywordMatcher:
        return KeywordMatcher(self.opt_out_words)

    @cached_property
    def opt_in_matcher(self) -> KeywordMatcher:
        return KeywordMatcher(self.opt_in_words)

    @cached_property
    def help_matcher(self) -> KeywordMatcher:
        return KeywordMatcher(self.help_words)

    @cached_property
    def keyword_matcher(self) -> KeywordMatcher:
        return KeywordMatcher(self.auto_replies)

    @cached_property
    def configured_languages(self) -> frozenset[str]:
        return frozenset(replies.language for replies in self.languages)

    def replies_in(self, language: str | None) -> Replies:
        """The replies of ``language`` when configured, else the English ones (and English where it has none)."""
        for replies in self.languages:
            if replies.language == language:
                return Replies(replies.help_reply, replies.stop_reply, replies.opt_in_reply or self.opt_in_reply)
        return Replies(self.help_reply, self.stop_reply, self.opt_in_reply)

    @property
    def replies(self) -> dict[str, str]:
        """Every text this configuration can send, by name (for validation and reports)."""
        texts = {"help_reply": self.help_reply, "stop_reply": self.stop_reply, "opt_in_reply": self.opt_in_reply}
        if self.default_reply:
            texts["default_reply"] = self.default_reply
        texts.update({f"keyword {k.keyword}": k.reply for k in self.keywords})
        for replies in self.languages:
            texts[f"languages.{replies.language}.help_reply"] = replies.help_reply
            texts[f"languages.{replies.language}.stop_reply"] = replies.stop_reply
            if replies.opt_in_reply:
                texts[f"languages.{replies.language}.opt_in_reply"] = replies.opt_in_reply
        return texts

    # -- what End User Messaging handles itself --------------------------------------------
    def mandatory_keywords(self) -> tuple[KeywordRule, KeywordRule]:
        """HELP and STOP (``MANDATORY_KEYWORDS``), which every number answers itself with these replies."""
        help_word, stop_word = MANDATORY_KEYWORDS
        return KeywordRule(help_word, self.help_reply), KeywordRule(stop_word, self.stop_reply, KeywordAction.OPT_OUT)

    def origination_keywords(self) -> tuple[KeywordRule, ...]:
        """Every keyword a number is given: the mandatory two, then ``number_keywords()``."""
        return (*self.mandatory_keywords(), *self.number_keywords())

    def number_keywords(self) -> tuple[KeywordRule, ...]:
        """Optional keywords to register on the number, so that AWS answers them itself.

        With self-managed opt-outs nothing is registered but a toll-free number's opt-in
        words, which the carrier needs to let a customer resubscribe. A toll-free number
        takes no extra opt-out words (the carrier manages STOP, the only opt-out word it takes).

        A configured language's words are registered with its replies (its help words, its
        opt-in words, and its opt-out words, even one of AWS's own such as ARRET, so that the
        confirmation is in French); an unconfigured language's are not (the handler answers
        them, in English), so a configuration without languages registers what it always did.
        """
        opt_in = tuple(
            KeywordRule(w, self.replies_in(language_of(w)).opt_in_reply, KeywordAction.OPT_IN)
            for w in self.opt_in_words
        )
        if self.self_managed_opt_outs:
            return opt_in if self.number_type == TOLL_FREE else ()
        help_words = [w for w in HELP_WORDS if w not in MANDATORY_KEYWORDS]
        help_words += [w for w in self.help_words if language_of(w) in self.configured_languages]
        rules = [KeywordRule(w, self.replies_in(language_of(w)).help_reply) for w in help_words]
        rules += opt_in
        if self.number_type != TOLL_FREE:
            rules += [
                KeywordRule(w, self.replies_in(language_of(w)).stop_reply, KeywordAction.OPT_OUT)
                for w in self.opt_out_words
                if self._registered_opt_out(w)
            ]
        return tuple(rules)

    def _registered_opt_out(self, word: str) -> bool:
        """An opt-out word AWS is told of: English and configured ones beyond its own list, a configured language's."""
        language = language_of(word)
        if language in self.configured_languages:
            return True
        configured = language == ENGLISH or word in self.extra_opt_out_words or word in self._opt_out_keywords
        return configured and word not in AWS_DEFAULT_OPT_OUT_WORDS

    @cached_property
    def _opt_out_keywords(self) -> frozenset[str]:
        return frozenset(k.keyword for k in self.keywords if k.action is KeywordAction.OPT_OUT)

    @cached_property
    def _registered_words(self) -> frozenset[str]:
        return frozenset(rule.keyword for rule in self.number_keywords())

    @cached_property
    def auto_replies(self) -> dict[str, KeywordRule]:
        return {k.keyword: k for k in self.keywords if k.action is KeywordAction.AUTOMATIC_RESPONSE}

    def handled_by_aws(self, word: str) -> bool:
        """True when End User Messaging (or the carrier) replies to ``word`` and keeps the list."""
        if self.number_type == TOLL_FREE and word == "STOP":
            return True
        if word in self._registered_words:
            return True
        return not self.self_managed_opt_outs and (word in MANDATORY_KEYWORDS or word in AWS_DEFAULT_OPT_OUT_WORDS)

    # -- serialisation (the handler reads this from an environment variable) ----------------
    def to_json(self) -> str:
        data = asdict(self)
        data["keywords"] = [{**asdict(k), "action": k.action.value} for k in self.keywords]
        # Left out when empty (the settings of a configuration without languages stay as they were);
        # an absent opt_in_reply too: the environment is small.
        data["languages"] = [{k: v for k, v in asdict(r).items() if v is not None} for r in self.languages]
        if not self.languages:
            del data["languages"]
        return json.dumps(data, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ResponderSettings:
        data: dict[str, Any] = json.loads(text)
        data["keywords"] = tuple(KeywordRule(**k) for k in data.get("keywords", ()))
        data["languages"] = tuple(LanguageReplies(**r) for r in data.get("languages", ()))
        return cls(**data)


@dataclass(frozen=True)
class Decision:
    intent: Intent
    matched: str | None = None  # the keyword, or the canonical opt-out word or phrase ("STOP", "REMOVE ME")
    reply: str | None = None  # what the handler must send, None when nothing
    consent_change: ConsentChange | None = None
    update_opt_out_list: bool = False  # the handler must put on / take off the opt-out list
    language: str | None = None  # of the consent or help word ("en", "es", "fr"); None for anything else


def decide(body: str, *, opted_out: bool, settings: ResponderSettings) -> Decision:
    """Decides the answer to ``body`` from a customer whose current state is ``opted_out``.

    Precedence: opt-out, opt-in, HELP, configured keywords, then anything else. HELP is
    answered even to an opted-out number; the confirmation of an opt-out is sent once,
    on the change, never again. An opt-out is what the revocation grammar reads, a message
    that begins with another language's opt-out word, or what AWS (or the carrier) acted on
    because the message begins with a word it handles. Replies are in the word's language
    (``ResponderSettings.replies_in``).
    """
    text = normalise(body)  # once for the four word lists
    word = settings.opt_out_matcher.first_in(text)
    by_aws = word is not None and settings.handled_by_aws(word)
    in_other_language = word is not None and language_of(word) != ENGLISH
    revocation = settings.revocations.find(body)
    if revocation or by_aws or in_other_language:
        matched = word if in_other_language else revocation or word
        language = language_of(matched)
        return Decision(
            Intent.OPT_OUT,
            matched=matched,
            reply=None if by_aws or opted_out else settings.replies_in(language).stop_reply,
            consent_change=ConsentChange.OPTED_OUT,
            update_opt_out_list=not by_aws,
            language=language,
        )

    word = settings.opt_in_matcher.first_in(text)
    if word:
        by_aws = settings.handled_by_aws(word)
        language = language_of(word)
        return Decision(
            Intent.OPT_IN,
            matched=word,
            reply=None if by_aws else settings.replies_in(language).opt_in_reply,
            consent_change=ConsentChange.OPTED_IN,
            update_opt_out_list=not by_aws,
            language=language,
        )

    word = settings.help_matcher.first_in(text)
    if word:
        language = language_of(word)
        reply = None if settings.handled_by_aws(word) else settings.replies_in(language).help_reply
        return Decision(Intent.HELP, matched=word, reply=reply, language=language)

    word = settings.keyword_matcher.first_in(text)
    if word:
        return Decision(Intent.KEYWORD, matched=word, reply=None if opted_out else settings.auto_replies[word].reply)

    return Decision(Intent.OTHER, reply=None if opted_out else settings.default_reply)


def _unique(words: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(words))
