"""Keyword matching the way End User Messaging does it, and the FCC's rule on revoking consent.

Keywords. A keyword fires when the message *begins with* it as a whole word, ignoring case
and the whitespace and punctuation around it: "Stop." and " stop " and "STOP please" all
begin with STOP; "Stopping by later?" does not (``first_keyword``). This is how AWS reads a
message for the keywords it answers itself.

Revocation. 47 CFR 64.1200(a)(10), in force since 2025-04-11: a reply of stop, quit, end,
revoke, opt out, cancel or unsubscribe revokes consent, and so does any other wording a
reasonable person would read as a request for no more messages. ``find_revocation`` reads
a message that way, with data (the tables below) and one small matcher:

1. The message is folded once (``revocation_text``): upper case, accents folded (ARRÊT),
   apostrophes dropped (DON'T -> DONT), invisible characters dropped (zero-width spaces,
   BOM), every space of any kind, emoji and symbol made one space, hyphens too (OPT-OUT ->
   OPT OUT), and sentence punctuation (. , ! ? ; : / a spaced dash, a line break) made a
   clause break, so "Wrong number, stop" is two clauses.
2. A clause that is a command: courtesy words (please, pls, ok, no, just, I said ...), an
   opt-out word, then only words that complete it (me, it, now, please, all, texting me,
   these texts, from your list ...) up to the clause's end or the start of a run-on sentence
   ("STOP who is this"): "ok stop", "stop texting me", "unsubscribe me please",
   "opt-out", "un subscribe". The unambiguous words (stop, quit, end, revoke, opt out,
   unsubscribe, remove me, take me off) also take a request: "I want to opt out", "can you
   stop", "how do I unsubscribe".
3. Wording found anywhere in the message: "please remove me from your list", "do not text
   me", "no more texts", "I revoke my consent", "leave me alone", "stop sending me messages",
   but not right after a negation ("don't stop the reminders", "I don't want to opt out").

Judgement calls, and why:
- An opt-out word followed by words that are not about messages is not a revocation: "Stop
  by tomorrow", "End of the day works", "Quit smoking program info", "Cancel my appointment",
  "Can I cancel my appointment?". The FCC's words revoke consent as the reply; with an
  object they name what is to stop, end or be cancelled, and an appointment is not the
  texts. Such a message goes on to the conversation or the default reply, where the
  business can act on it. (With AWS-managed opt-outs, AWS itself opts out any message that
  *begins with* one of its words; ``responder.decide`` records that, since it happened.)
- "cancel" after a request ("I want to cancel", "can I cancel?", "how do I cancel") is not
  one: in a reminder programme it is the appointment. "cancel" alone, "please cancel",
  "cancel it", "Cancel, I can't make it", "cancel these texts", "cancel my subscription"
  are: the rule names the word as the reply (a programme must not ask for CANCEL; flows
  reserve it). "Cancel that" is not: it takes back one's own last message.
- A time ("don't text me before 9am", "stop texting me so late") asks for other hours, not
  for no messages.
- "Not interested", "no thanks", "who is this?" refuse an offer or ask; they do not ask for
  no more messages. A programme that wants them adds them to ``opt_out_phrases``.
- "Wrong number" as a clause is a revocation: the texts reach someone who never consented.
  "I gave you the wrong number" is not (it corrects a record).
- "Leave me alone", "I never signed up", "I do not consent" are: nothing else is meant.
- "stop the service", "cancel my membership" are not: the service is the business's, not
  its texts.
When in doubt the rule favours the customer: a missed revocation is a violation, an extra
one costs one confirmation (which may ask about its scope, 64.1200(a)(12)) and a START.
The grammar reads English. Spanish and French revocation is the words of ``two_way_sms.languages``
(ALTO, PARAR, CANCELAR, DETENER, BAJA, NO MAS; ARRET), alone or after courtesy words ("por favor,
alto"); ``responder.decide`` also takes a message that *begins with* one of them as an opt-out, as
AWS does with its keywords. ``extra_opt_out_words`` and ``opt_out_phrases`` add more.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection, Iterable
from functools import lru_cache
from typing import NamedTuple

KEYWORD_MAX_LENGTH = 30

# AWS's own opt-out keywords for US/CA numbers (sms-voice user guide, "keywords-required").
AWS_DEFAULT_OPT_OUT_WORDS = (
    "ARRET",
    "CANCEL",
    "END",
    "OPT-OUT",
    "OPTOUT",
    "QUIT",
    "REMOVE",
    "STOP",
    "TD",
    "UNSUBSCRIBE",
)
# The FCC names REVOKE (47 CFR 64.1200(a)(10)); STOPALL is common carrier practice.
EXTRA_OPT_OUT_WORDS = ("STOPALL", "REVOKE")
DEFAULT_OPT_IN_WORDS = ("START", "UNSTOP")
HELP_WORDS = ("HELP", "INFO")
MANDATORY_KEYWORDS = ("HELP", "STOP")

# The phrases matched before the revocation grammar below existed. The grammar reads every
# one of them (tests/unit/test_revocation.py); kept for code that extends the list.
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
    if text.isascii():  # the common case: NFKD would change nothing
        return _LEADING_NOISE.sub("", text.upper())
    folded = unicodedata.normalize("NFKD", text).translate(_WITHOUT_COMBINING_MARKS)
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


class KeywordMatcher:
    """``first_keyword`` for one list of keywords, compiled once into one regex.

    For a list read on every message (``responder.decide``): the alternatives go longest
    first, so the first that matches is the longest, and a keyword must not be followed by
    a letter or digit (a word character but ``_``: what ``str.isalnum`` accepts), as in
    ``first_keyword``.
    """

    def __init__(self, keywords: Iterable[str]) -> None:
        words = sorted({word for word in map(normalise_keyword, keywords) if word}, key=len, reverse=True)
        alternatives = "|".join(map(re.escape, words))
        self._pattern = re.compile(rf"(?:{alternatives})(?![^\W_])") if words else None

    def first_in(self, normalised: str) -> str | None:
        """The longest keyword that ``normalised`` (a text through ``normalise``) begins with, or None."""
        if self._pattern is None:
            return None
        found = self._pattern.match(normalised)
        return found.group() if found else None


def _begins_with(body: str, word: str) -> bool:
    if not word or not body.startswith(word):
        return False
    rest = body[len(word) :]
    return not rest or not rest[0].isalnum()


def find_phrase(text: str, phrases: Iterable[str]) -> str | None:
    """The first of ``phrases`` that appears in ``text`` as whole words, or None."""
    words = " " + _NOT_WORD.sub(" ", normalise(text).replace("'", "").replace("\u2019", "")).strip() + " "
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


# == Revocation of consent (47 CFR 64.1200(a)(10)) ===============================================
# The grammar works on the folded text: words of A-Z and 0-9 separated by one space, clauses
# separated by " | ". Fragments are regular expressions over it; a space in one is one space.


def _alternatives(*forms: str) -> str:
    """One group matching any of ``forms``, tried in the order given (put longer forms first)."""
    return "(?:" + "|".join(forms) + ")"


PLEASE = r"PLE+A?[SZ]E*|PL[SZ]+|PLIZ"
# Said before an opt-out word without changing it: "please stop", "ok, stop", "I said STOP".
COURTESY_WORDS = _alternatives(
    PLEASE,
    "KINDLY",
    "OK+(?:AY+)?",
    "K+",
    "NOPE",
    "NAH",
    "NO",
    "OOPS",
    "UM+",
    "JUST",
    "SO",
    "AND",
    "BUT",
    "THEN",
    "NOW",
    "ALREADY",
    "AGAIN",
    "SERIOUSLY",
    "HONESTLY",
    "HEY",
    "HI",
    "HELLO",
    "YO",
    "SORRY",
    "THANK YOU",
    "THANKS",
    "THX",
    "TY",
    "I ALREADY SAID",
    "AS I SAID",
    "LIKE I SAID",
    "I SAID",
    "I TOLD YOU TO",
    "I TOLD YOU",
    "I ASKED YOU TO",
    "POR FAVOR",
)
# A request around an unambiguous opt-out word: "I want to opt out", "can you stop", "how do I unsubscribe".
REQUEST_WORDS = _alternatives(
    "I WOULD LIKE YOU TO",
    "ID LIKE YOU TO",
    "I WOULD LIKE TO",
    "ID LIKE TO",
    "WOULD LIKE TO",
    "I WANT YOU TO",
    "I NEED YOU TO",
    "I WANT TO",
    "I WANNA",
    "WANT TO",
    "I NEED TO",
    "I WISH TO",
    "CAN YOU",
    "CAN U",
    "COULD YOU",
    "WOULD YOU",
    "WILL YOU",
    "CAN I",
    "HOW DO I",
    "HOW CAN I",
    "HOW DO YOU",
    "HOW TO",
    "LET ME",
    "YOU CAN",
    "WHY WONT YOU",
    "WHY DONT YOU",
)
# What the texts are called.
MESSAGE_NOUNS = _alternatives(
    "(?:TEXT|SMS|MESSAGING|TEXTING|MESSAGE|ALERT) (?:SERVICE|PROGRAM|LIST|CLUB|PLAN|SUBSCRIPTION|ALERTS|MESSAGES)",
    "TEXT MESSAGES?",
    "TEXTS?",
    "TXTS?",
    "MESSAGES?",
    "MSGS?",
    "SMS(?:ES|S)?",
    "ALERTS",
    "NOTIFICATIONS",
    "NOTIFS",
    "REMINDERS",
    "UPDATES",
    "PROMOS",
    "PROMOTIONS",
    "OFFERS",
    "DEALS",
    "ADS",
    "MARKETING",
    "SPAM",
    "SUBSCRIPTIONS?",
    "COMMUNICATIONS?",
    "CONTACT",
    "CALLS",
)
PLURAL_MESSAGE_NOUNS = _alternatives(
    "TEXT MESSAGES",
    "TEXTS",
    "TXTS",
    "MESSAGES",
    "MSGS",
    "SMSES",
    "SMSS",
    "ALERTS",
    "NOTIFICATIONS",
    "REMINDERS",
    "UPDATES",
    "PROMOS",
    "PROMOTIONS",
    "OFFERS",
    "DEALS",
    "ADS",
    "CALLS",
)
# Words between a verb and what the texts are called: "stop ALL THESE texts", "no more F***ING texts".
DETERMINERS = _alternatives(
    "THE",
    "THESE",
    "THOSE",
    "THIS",
    "YOUR",
    "UR",
    "ALL OF",
    "ALL",
    "ANYMORE",
    "ANY",
    "MORE",
    "MY",
    "OUR",
    "FURTHER",
    "FUTURE",
    "SUCH",
    "F ING",
    "FUCKING",
    "FREAKING",
    "FRICKING",
    "FRIGGING",
    "EFFING",
    "DAMN",
    "BLOODY",
    "STUPID",
    "ANNOYING",
    "CONSTANT",
    "RANDOM",
    "AUTOMATED",
    "PROMOTIONAL",
)
ABOUT_MESSAGES = rf"(?:{DETERMINERS} ){{0,3}}{MESSAGE_NOUNS}"
# What people are removed from: "remove me from YOUR TEXT LIST".
LISTS = _alternatives(
    r"(?:(?:TEXT|TEXTING|SMS|MESSAGE|MESSAGING|MAILING|CONTACT|CALL|CALLING|MARKETING|PROMO|PROMOTIONAL|DISTRIBUTION"
    r"|SUBSCRIBER|SUBSCRIPTION|BROADCAST|ALERT|ALERTS) )?(?:LISTS?|CONTACTS|DATABASE|SYSTEM|SERVICE|PROGRAM|RECORDS)",
    MESSAGE_NOUNS,
    "THIS NUMBER",
    "THIS",
    "THESE",
    "THAT",
    "IT",
    "ALL",
    "EVERYTHING",
    "HERE",
)
ACTIVITIES = _alternatives(
    "TEXTING",
    "TXTING",
    "TEXTIN",
    "MESSAGING",
    "MSGING",
    "MESSAGIN",
    "CONTACTING",
    "SPAMMING",
    "BOTHERING",
    "HARASSING",
    "PINGING",
    "SENDING",
    "REMINDING",
    "CALLING",
    "EMAILING",
    "RECEIVING",
    "GETTING",
    "HITTING ME UP",
    "BLOWING UP MY PHONE",
)
# Who is to be removed: "remove ME", "take MY CELL NUMBER off".
CUSTOMER = _alternatives(
    r"MY (?:(?:CELL|PHONE|MOBILE|CONTACT|PERSONAL) )?(?:NUMBER|INFO|INFORMATION|DETAILS|NAME|CONTACT|DATA|PHONE|CELL)",
    "THIS NUMBER",
    "ME",
    "US",
)
OPT_OUT_VERBS = r"STOP ?ALL|STO+P+|QUIT+|END|CANCEL+|UN ?SUB?S?C?RIBE|UNSUB|OPT ?OUT|REVOKE|REMOVE"
# Words that complete a command ("stop texting me now please"); a clause is a command only
# when nothing else follows its opt-out word.
COMPLETING_WORDS = _alternatives(
    rf"FROM (?:{DETERMINERS} ){{0,3}}{LISTS}",
    rf"OF (?:{DETERMINERS} ){{0,3}}(?:{PLURAL_MESSAGE_NOUNS}|THIS NUMBER|THIS|THESE|IT|ALL|EVERYTHING)",
    r"(?:ON|TO|AT) (?:THIS|MY) (?:NUMBER|PHONE|CELL)",
    ABOUT_MESSAGES,
    ACTIVITIES,
    CUSTOMER,
    OPT_OUT_VERBS,
    "THIS NUMBER",
    "MY NUMBER",
    "ALL OF IT",
    "IT",
    "THIS",
    "THESE",
    "RIGHT NOW",
    "NOW",
    "RN",
    PLEASE,
    "ALL",
    "EVERYTHING",
    "THANK YOU",
    "THANKS",
    "THX",
    "TY",
    "ASAP",
    "IMMEDIATELY",
    "FOREVER",
    "PERMANENTLY",
    "COMPLETELY",
    "ALREADY",
    "AGAIN",
    "TODAY",
    "ANY ?MORE",
    "FOR GOOD",
    "OKAY",
    "OK",
    "I SAID",
    "I MEAN IT",
    "FOR REAL",
    "SERIOUSLY",
    "DAMN IT",
    "DAMMIT",
    "POR FAVOR",
    "LOL",
    "GOD",
    "MAN",
    "DUDE",
    "BRO",
    "BUDDY",
    "GUYS",
    "SIR",
    "MAAM",
    "TOO",
    "AS WELL",
    "NO MORE",
)
# Complete up to the end of the clause.
TO_CLAUSE_END = rf"(?: {COMPLETING_WORDS}){{0,10}}(?= \||$)"
# Texts often run sentences together: "STOP who is this", "Stop you're annoying". A command
# also ends where a subject or a question word starts the next sentence.
NEW_SENTENCE = r"I|IM|IVE|ID|ILL|YOU|YOURE|YOUVE|U|UR|WE|WHO|WHOS|WHY|WHAT|WHATS|HOW|THIS IS|THATS|ITS"
TO_COMMAND_END = rf"(?: {COMPLETING_WORDS}){{0,10}}(?= \||$| (?:{NEW_SENTENCE})\b)"

# "Wrong number", "you have the wrong number", "this is the wrong person".
WRONG_NUMBER = (
    "(?:(?:THIS IS|ITS|IT IS|THATS|YOU HAVE GOT|YOU HAVE|YOUVE GOT|YOU GOT|U HAVE|U GOT) )?"
    "(?:(?:THE|A) )?WRONG (?:NUMBER|PERSON|NUM)"
)
# (canonical, forms, takes a request): a clause that is one of these, with courtesy words
# before and completing words after, revokes consent. Canonical names are what ``matched`` reports.
OPT_OUT_COMMANDS: tuple[tuple[str, str, bool], ...] = (
    ("STOPALL", "STOP ?ALL", True),
    ("STOP", "STO+P+", True),
    ("QUIT", "QUIT+", True),
    ("END", "END", True),
    ("REVOKE", "REVOKE", True),
    ("OPT OUT", "OPT(?:ED)? ?OUT|OPT (?:ME|US) OUT", True),
    ("UNSUBSCRIBE", "UN ?SUB?S?C?RIBED?|UNSUB", True),
    ("REMOVE ME", f"REMOVE {CUSTOMER}", True),
    ("TAKE ME OFF", f"TAKE {CUSTOMER} OFF", True),
    ("REMOVE", "REMOVE", False),
    ("CANCEL", "CANCEL+", False),  # not after a request: "I want to cancel" is the appointment
    ("ARRET", "ARRET(?:E|EZ)?", False),
    ("TD", "TD", False),
    ("NO MORE TEXTS", "NO MORE", False),
    ("WRONG NUMBER", WRONG_NUMBER, False),
    # Spanish and French: the words of ``two_way_sms.languages`` (its module says where each comes
    # from), each its own canonical so that the decision knows the customer's language.
    ("NO MAS", "NO MAS", False),
    ("BAJA", "DARME DE BAJA|DAR DE BAJA|BAJA", False),
    ("CANCELAR", "CANCELAR", False),
    ("ALTO", "ALTO", False),
    ("PARAR", "PARAR", False),
    ("DETENER", "DETENER", False),
)

# " WORD"s, one of which is in every message (folded, after a space) a command's forms match:
# its word, with nothing before it in the clause but courtesy or request words. With the wording
# rows' ``needs``, one search says that a message holds none of them, and the grammar is skipped.
COMMAND_NEEDS: dict[str, tuple[str, ...]] = {
    "STOPALL": (" STOP",),
    "STOP": (" STO",),
    "QUIT": (" QUIT",),
    "END": (" END",),
    "REVOKE": (" REVOKE",),
    "OPT OUT": (" OPT",),
    "UNSUBSCRIBE": (" UN",),
    "REMOVE ME": (" REMOVE ",),
    "TAKE ME OFF": (" TAKE ",),
    "REMOVE": (" REMOVE",),
    "CANCEL": (" CANCEL",),
    "ARRET": (" ARRET",),
    "TD": (" TD",),
    "NO MORE TEXTS": (" NO MORE",),
    "WRONG NUMBER": (" WRONG ",),
    "NO MAS": (" NO MAS",),
    "BAJA": (" BAJA",),
    "CANCELAR": (" CANCELAR",),
    "ALTO": (" ALTO",),
    "PARAR": (" PARAR",),
    "DETENER": (" DETENER",),
}

# A time after the wording asks for other hours, not for no messages: "don't text me before 9am".
NOT_A_TIME = (
    r"(?! (?:BEFORE|AFTER|SO EARLY|SO LATE|THIS EARLY|THIS LATE|TOO EARLY|TOO LATE|AT NIGHT|ON WEEKENDS|DURING)\b)"
)
# After an activity, the customer or nothing more: "stop texting ME", "stop texting", not "stop texting YOU".
CUSTOMER_OR_END = rf"(?: (?:US|ME|MY|THIS NUMBER)\b|{TO_CLAUSE_END})"
SUBJECT = rf"(?:I|IM|ID|IVE|{CUSTOMER})"


class Wording(NamedTuple):
    """Wording that revokes consent wherever it is in a message."""

    canonical: str  # what ``matched`` reports
    needs: tuple[str, ...]  # " WORD"s, one of which is in every message it matches: a cheap test before the regex
    pattern: str  # from the start of a word of the folded text
    guarded: bool = True  # not right after a negation ("don't stop the reminders")


OPT_OUT_WORDING: tuple[Wording, ...] = (
    Wording("OPT OUT", (" OPT",), rf"OPT(?:ED|ING)? ?(?:{CUSTOMER} )?OUT\b"),
    Wording("UNSUBSCRIBE", (" UNSU", " UN SU"), r"UN ?SUB?S?C?RIB(?:E|ED|ING)\b|UNSUB\b"),
    Wording(
        "REVOKE",
        (" REVOK", " WITHDRAW", " CONSENT"),
        r"REVOK(?:E|ED|ING) (?:(?:MY|ALL|ANY|THE|YOUR) )?(?:CONSENT|PERMISSION|AUTHORI[SZ]ATION|OPT IN)\b"
        rf"|WITHDRAW(?:ING|N)? (?:(?:MY|ALL|ANY) )?(?:CONSENT|PERMISSION)\b|REVOKE{TO_CLAUSE_END}"
        r"|CONSENT (?:IS |HAS BEEN |IS HEREBY )?(?:REVOKED|WITHDRAWN)\b",
    ),
    Wording(
        "REVOKE",
        (" DO NOT", " DONT", " NO LONGER", " NO CONSENT", " NEVER"),
        r"(?:DO NOT|DONT|NO LONGER) (?:GIVE |HAVE )?(?:MY )?CONSENT\b|NO CONSENT\b"
        r"|NEVER (?:CONSENTED|AGREED|SIGNED UP|OPTED IN|SUBSCRIBED)\b",
        guarded=False,
    ),
    Wording(
        "STOP",
        (" STOP", " STOO", " CEASE", " DISCONTINUE", " HALT"),
        rf"(?:STO+P+|CEASE|DISCONTINUE|HALT) {ABOUT_MESSAGES}\b{NOT_A_TIME}"
        rf"|(?:STO+P+|CEASE|HALT) (?:(?:F ING|FUCKING|FREAKING|EFFING) )?{ACTIVITIES}{CUSTOMER_OR_END}{NOT_A_TIME}"
        r"|CEASE AND DESIST\b",
    ),
    Wording("QUIT", (" QUIT",), rf"QUIT+ (?:{ABOUT_MESSAGES}\b|{ACTIVITIES}{CUSTOMER_OR_END}){NOT_A_TIME}"),
    Wording("END", (" END ",), rf"END (?:{ABOUT_MESSAGES}\b|{ACTIVITIES}{CUSTOMER_OR_END}){NOT_A_TIME}"),
    Wording("CANCEL", (" CANCEL",), rf"CANCEL+ {ABOUT_MESSAGES}\b{NOT_A_TIME}"),
    # "I would like the text messages to stop"
    Wording(
        "STOP",
        (" STOP", " END ", " CEASE"),
        rf"(?:LIKE|WANT|NEED|WISH|MAKE|LET|GET) (?:{DETERMINERS} ){{0,3}}(?:[A-Z0-9]+ )?{PLURAL_MESSAGE_NOUNS}"
        r" (?:TO )?(?:STOP|END|CEASE)\b",
    ),
    Wording("STOP", (" DONE WITH ",), rf"DONE WITH {ABOUT_MESSAGES}\b"),
    Wording(
        "REMOVE ME", (" REMOVE ",), rf"REMOVE {CUSTOMER}(?:{TO_CLAUSE_END}| FROM (?:{DETERMINERS} ){{0,3}}{LISTS}\b)"
    ),
    # "I asked to be removed", "my contact info to be removed", but not "I'd like the late fee to be removed"
    Wording(
        "REMOVE ME",
        (" REMOVED",),
        rf"{SUBJECT}(?: (?!NOT\b|DONT\b|NEVER\b|DIDNT\b)[A-Z0-9]+){{0,3}} (?:BE|GET|GOT|BEEN|BEING) REMOVED"
        rf"(?:{TO_CLAUSE_END}| FROM (?:{DETERMINERS} ){{0,3}}{LISTS}\b)|(?:HAVE|GET) {CUSTOMER} REMOVED\b",
    ),
    Wording(
        "TAKE ME OFF",
        (" TAKE ",),
        rf"TAKE {CUSTOMER} OFF(?:{TO_CLAUSE_END}| (?:OF )?(?:{DETERMINERS} ){{0,3}}{LISTS}\b)",
    ),
    Wording(
        "DO NOT TEXT",
        (" DO NOT", " DONT", " DONOT", " DNT", " NEVER"),
        r"(?:DO NOT|DONT|DONOT|DNT|NEVER)(?: EVER)?(?: AGAIN)? (?:TEXT|TXT|MESSAGE|MSG|SMS|CONTACT|BOTHER|SPAM|PING"
        rf"|REMIND)(?: (?:ME|US|THIS NUMBER|MY (?:NUMBER|PHONE|CELL))\b|{TO_CLAUSE_END}){NOT_A_TIME}"
        rf"|(?:DO NOT|DONT|DONOT|NEVER)(?: EVER)? SEND (?:(?:ME|US) )?{ABOUT_MESSAGES}\b{NOT_A_TIME}",
        guarded=False,
    ),
    Wording(
        "NO MORE TEXTS",
        (" DO NOT", " DONT", " NO LONGER"),
        r"(?:DO NOT|DONT|NO LONGER) (?:WANT|NEED|WISH|LIKE|CARE FOR)(?: TO (?:RECEIVE|GET|BE SENT))?"
        rf" (?:{DETERMINERS} ){{0,3}}(?:[A-Z0-9]+ )?{MESSAGE_NOUNS}\b"
        r"|(?:DO NOT|DONT|NO LONGER) (?:WANT|WISH|NEED|LIKE) TO BE (?:TEXTED|MESSAGED|CONTACTED|BOTHERED|SPAMMED"
        r"|SUBSCRIBED|ON (?:THE|THIS|YOUR|ANY) (?:TEXT |MAILING |CONTACT )?LIST)\b",
        guarded=False,
    ),
    Wording(
        "NO MORE TEXTS",
        (" NO MORE",),
        rf"NO MORE (?:(?:{DETERMINERS} ){{0,3}}(?:[A-Z0-9]+ )?{MESSAGE_NOUNS}|TEXTING|MESSAGING)\b",
    ),
    Wording("LEAVE ME ALONE", (" LEAVE ",), r"LEAVE (?:ME|US|MY (?:NUMBER|PHONE)) ALONE\b"),
)

# A negation right before guarded wording: "DON'T stop", "I DON'T WANT TO opt out", "NEVER
# opt me out" (but "IF YOU DON'T stop texting me ..." is a revocation).
_NEGATED = re.compile(
    r"(?<![A-Z0-9])(?<!IF YOU )(?<!IF U )(?:DONT|DO NOT|DONOT|DIDNT|DID NOT|DOESNT|DOES NOT|NEVER|NOT|NO NEED TO)"
    r"(?: EVER)?(?: (?:WANT|NEED|WISH|MEAN|PLAN|TRY|TRYING|LIKE|GOING|GONNA|HAVE|ASK|ASKED)(?: TO)?)?"
    r"(?: (?:BE|GET|THE|A|AN|TO))? $"
)
_NEGATION_REACH = 48  # characters before the wording that the negation check reads

# Folding, with translation tables (one C pass): letters and digits stay, apostrophes go,
# sentence punctuation becomes a clause break "|" and everything else a space.
_CLAUSE_PUNCTUATION = '.!?;:,/\\()[]{}<>"\r\n|'
_ASCII_FOLD = {
    code: (
        chr(code).upper()
        if chr(code).isalnum()
        else None
        if chr(code) in "'`"
        else "|"
        if chr(code) in _CLAUSE_PUNCTUATION
        else " "
    )
    for code in range(128)
}
_NON_ASCII_FOLD = {
    **dict.fromkeys("\u2018\u2019\u02bc\u2032", None),  # apostrophes: DON\u2019T -> DONT
    **dict.fromkeys("\u00ab\u00bb\u201c\u201d\u2028\u2029", "|"),  # quotes and line breaks end a clause
}
_SPACED_DASH = re.compile(r"\s[-\u2010-\u2015\u2212]+(?=\s)")
CLAUSE_BREAK = " | "


class _TranslationMemo(dict[int, "str | None"]):
    """A ``str.translate`` table filled in as characters are met: the Unicode database is read once per character."""

    def __init__(self, rule: Callable[[str], str | None], known: dict[int, str | None]) -> None:
        super().__init__(known)
        self._rule = rule

    def __missing__(self, code: int) -> str | None:
        self[code] = value = self._rule(chr(code))
        return value


def _fold_non_ascii(ch: str) -> str | None:
    # After NFKD: accents, other marks and invisible characters (zero-width spaces, BOM) go.
    if unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return None
    return _NON_ASCII_FOLD.get(ch, " ")


_WITHOUT_COMBINING_MARKS = _TranslationMemo(lambda ch: None if unicodedata.combining(ch) else ch, {})
_REVOCATION_FOLD = _TranslationMemo(_fold_non_ascii, _ASCII_FOLD)


def revocation_text(text: str) -> str:
    """The message as the grammar reads it: "Don't text me!! Thanks" -> "DONT TEXT ME | THANKS"."""
    if not text.isascii():  # NFKD folds accents, full-width letters and odd spaces to ASCII
        text = unicodedata.normalize("NFKD", text.replace("\u00b4", "")).upper()  # an acute accent would become a space
    if "-" in text or not text.isascii():
        text = _SPACED_DASH.sub("|", text)
    text = text.translate(_REVOCATION_FOLD)
    if "|" not in text:
        return " ".join(text.split())
    return CLAUSE_BREAK.join(filter(None, (" ".join(part.split()) for part in text.split("|"))))


class RevocationMatcher:
    """The revocation grammar compiled once: built-in tables plus a configuration's own words and phrases."""

    def __init__(self, extra_words: Iterable[str] = (), extra_phrases: Iterable[str] = ()) -> None:
        self._command_canonical: dict[str, str] = {}
        framed: list[str] = []
        plain: list[str] = []
        needs = {need for canonical, _, _ in OPT_OUT_COMMANDS for need in COMMAND_NEEDS[canonical]}
        for canonical, forms, takes_request in OPT_OUT_COMMANDS:
            (framed if takes_request else plain).append(self._command_group(canonical, forms))
        for word in extra_words:  # configured keywords: courtesy words before them, like CANCEL
            folded = revocation_text(word)
            if folded and CLAUSE_BREAK not in folded:
                plain.append(self._command_group(normalise_keyword(word), re.escape(folded)))
                needs.add(" " + folded)
        self._command = re.compile(
            rf"(?:(?:{COURTESY_WORDS}|{REQUEST_WORDS}) ){{0,4}}(?:{'|'.join(framed)}){TO_COMMAND_END}"
            rf"|(?:{COURTESY_WORDS} ){{0,4}}(?:{'|'.join(plain)}){TO_COMMAND_END}"
        )
        wording = list(OPT_OUT_WORDING)
        for phrase in extra_phrases:  # configured phrases: whole words, anywhere, not negated
            folded = revocation_text(phrase)
            if folded and CLAUSE_BREAK not in folded:
                wording.append(Wording(folded, (" " + folded,), rf"{re.escape(folded)}\b"))
        self._wording = tuple(wording)
        # Most messages hold none of the words a command or a wording row needs: one search says so.
        # Factoring out the space they all start with lets the search skip to word starts.
        needs.update(need for w in wording for need in w.needs)
        self._any_needed = re.compile(" " + _prefix_tree({need.removeprefix(" ") for need in needs}))

    def _command_group(self, canonical: str, forms: str) -> str:
        name = f"c{len(self._command_canonical)}"
        self._command_canonical[name] = canonical
        return f"(?P<{name}>{forms})"

    def find(self, text: str) -> str | None:
        """The canonical word or phrase by which ``text`` revokes consent ("STOP", "OPT OUT", "REMOVE ME"), or None."""
        folded = revocation_text(text)
        spaced = " " + folded
        if not self._any_needed.search(spaced):  # no word any command or wording needs: most messages
            return None
        for clause in folded.split(CLAUSE_BREAK):
            command = self._command.match(clause)  # from the clause's start to its end or a new sentence
            if command:
                return self._command_canonical[str(command.lastgroup)]
        for canonical, needs, pattern, guarded in self._wording:
            for word in needs:
                if word in spaced:
                    break
            else:
                continue
            for found in _wording_regex(pattern).finditer(spaced):
                start = found.start() + 1
                if not (guarded and _NEGATED.search(spaced, max(0, start - _NEGATION_REACH), start)):
                    return canonical
        return None


def _prefix_tree(words: Collection[str]) -> str:
    """A regex that matches where any of ``words`` starts, as a tree of their letters: at each
    position one letter is compared, not every word (three times quicker on a long message).
    A word that another begins with stands for both: the search only asks whether one is there."""
    if "" in words:
        return ""
    branches: dict[str, list[str]] = {}
    for word in words:
        branches.setdefault(word[0], []).append(word[1:])
    parts = [re.escape(letter) + _prefix_tree(rest) for letter, rest in sorted(branches.items())]
    return parts[0] if len(parts) == 1 else "(?:" + "|".join(parts) + ")"


@lru_cache(maxsize=256)  # rows come from the tables and configuration, never from messages
def _wording_regex(pattern: str) -> re.Pattern[str]:
    """A wording row's regex, compiled when a message first needs it (a cold start compiles few of them).

    It starts with a space, not a look-behind, so that the search only tries where a word starts.
    """
    return re.compile(f" (?:{pattern})")


BUILT_IN_OPT_OUT_WORDS = frozenset(AWS_DEFAULT_OPT_OUT_WORDS + EXTRA_OPT_OUT_WORDS)
# The grammar's own commands (ALTO, PARAR, ...): a configuration's word list repeats them.
_COMMAND_WORDS = frozenset(canonical for canonical, _, _ in OPT_OUT_COMMANDS)


@lru_cache(maxsize=32)
def revocation_matcher(extra_words: tuple[str, ...] = (), extra_phrases: tuple[str, ...] = ()) -> RevocationMatcher:
    """The matcher for a configuration's extra opt-out words and phrases, compiled once per configuration."""
    words = tuple(w for w in extra_words if normalise_keyword(w) not in BUILT_IN_OPT_OUT_WORDS | _COMMAND_WORDS)
    return RevocationMatcher(words, extra_phrases)


def find_revocation(text: str, *, extra_words: Iterable[str] = (), extra_phrases: Iterable[str] = ()) -> str | None:
    """How ``text`` revokes consent under 47 CFR 64.1200(a)(10), as a canonical word or phrase, or None."""
    return revocation_matcher(tuple(extra_words), tuple(extra_phrases)).find(text)
