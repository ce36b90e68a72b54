"""Revocation of consent by any reasonable means: 47 CFR 64.1200(a)(10), in force since 2025-04-11.

A reply of stop, quit, end, revoke, opt out, cancel or unsubscribe revokes consent, and so
does other wording a reasonable person would read as a request for no more messages. Each
case id names the rule: ``fcc-64.1200(a)(10)-...``. The judgement calls behind the tables
are written down in the docstring of ``two_way_sms.keywords``.
"""

import dataclasses
import re

import pytest

from two_way_sms.keywords import (
    COMMAND_NEEDS,
    COURTESY_WORDS,
    DEFAULT_OPT_OUT_PHRASES,
    OPT_OUT_COMMANDS,
    OPT_OUT_WORDING,
    REQUEST_WORDS,
    TO_COMMAND_END,
    find_revocation,
    revocation_matcher,
    revocation_text,
)
from two_way_sms.responder import ConsentChange, Intent, ResponderSettings, decide

RULE = "fcc-64.1200(a)(10)"

# (message, canonical word or phrase it is read as)
REVOCATIONS = [
    # The seven words the rule names, alone and in the forms people type.
    ("STOP", "STOP"),
    ("stop", "STOP"),
    ("Stop.", "STOP"),
    ("STOP!!!", "STOP"),
    ("Stopp", "STOP"),
    ("quit", "QUIT"),
    ("End", "END"),
    ("REVOKE", "REVOKE"),
    ("opt out", "OPT OUT"),
    ("Opt-Out", "OPT OUT"),
    ("optout", "OPT OUT"),
    ("cancel", "CANCEL"),
    ("Unsubscribe", "UNSUBSCRIBE"),
    ("un subscribe", "UNSUBSCRIBE"),
    ("unsub", "UNSUBSCRIBE"),
    ("STOPALL", "STOPALL"),
    ("stop all", "STOPALL"),
    ("STOP STOP STOP", "STOP"),
    ("Arrêt", "ARRET"),
    ("remove", "REMOVE"),
    # After a courtesy or filler word.
    ("please stop", "STOP"),
    ("pls stop", "STOP"),
    ("plz unsubscribe", "UNSUBSCRIBE"),
    ("kindly remove me", "REMOVE ME"),
    ("ok stop", "STOP"),
    ("Ok, stop", "STOP"),
    ("no stop", "STOP"),
    ("just stop", "STOP"),
    ("Thanks, but please stop", "STOP"),
    ("I said STOP", "STOP"),
    # Run-on sentences: no punctuation before the next one.
    ("STOP who is this", "STOP"),
    ("Stop you're annoying", "STOP"),
    ("Unsubscribe I'm moving away", "UNSUBSCRIBE"),
    ("please cancel", "CANCEL"),
    # Followed by words that only complete the request.
    ("stop texting me", "STOP"),
    ("cancel me", "CANCEL"),
    ("end it", "END"),
    ("unsubscribe me please", "UNSUBSCRIBE"),
    ("stop now!!!", "STOP"),
    ("Stop it", "STOP"),
    ("STOP please", "STOP"),
    ("Quit messaging me", "QUIT"),
    ("Stop the reminders please", "STOP"),
    ("Cancel my subscription", "CANCEL"),
    ("opt me out of these texts", "OPT OUT"),
    # A request around an unambiguous word.
    ("I want to opt out", "OPT OUT"),
    ("How do I unsubscribe?", "UNSUBSCRIBE"),
    ("Can you please stop texting me", "STOP"),
    ("Why won't you stop texting me?", "STOP"),
    ("If you don't stop texting me I will report you", "STOP"),
    # Explicit sentences, anywhere in the message.
    ("remove me from your list", "REMOVE ME"),
    ("take me off this list", "TAKE ME OFF"),
    ("do not text me", "DO NOT TEXT"),
    ("don't message me again", "DO NOT TEXT"),
    ("Never text me again", "DO NOT TEXT"),
    ("leave me alone", "LEAVE ME ALONE"),
    ("I revoke my consent", "REVOKE"),
    ("I withdraw my consent to these messages", "REVOKE"),
    ("I do not consent to these texts", "REVOKE"),
    ("I never signed up for this", "REVOKE"),
    ("no more texts", "NO MORE TEXTS"),
    ("no más", "NO MAS"),  # Spanish: its own canonical, so the decision knows the language
    ("I don't want any more texts", "NO MORE TEXTS"),
    ("I no longer wish to receive these messages", "NO MORE TEXTS"),
    ("stop sending me messages", "STOP"),
    ("STOP F***ING TEXTING ME", "STOP"),
    ("Stop texting me!! 😡", "STOP"),
    ("STOP TEXTING ME YOU IDIOT", "STOP"),
    ("I want to stop receiving these", "STOP"),
    ("How do I stop these texts?", "STOP"),
    ("take me off your texting list", "TAKE ME OFF"),
    ("My consent is revoked", "REVOKE"),
    ("wrong number, stop", "WRONG NUMBER"),
    ("You have the wrong number", "WRONG NUMBER"),
    ("Oops wrong number lol", "WRONG NUMBER"),
    ("I already opted out, why are you still texting", "OPT OUT"),
    ("Hi, please remove my number", "REMOVE ME"),
    ("please opt me out of these", "OPT OUT"),
    ("cease and desist", "STOP"),
    # Reported TCPA cases (Epps v. Earth Fare; Rando v. Edible Arrangements): polite sentences
    # that the rule now requires to be honoured.
    ("I would appreciate if we discontinue any further texts", "STOP"),
    ("Thank you but I would like the text messages to stop can we make this happen", "STOP"),
    ("Take my contact info off please", "TAKE ME OFF"),
    ("I asked to be removed from this service a few times. Stop the messages.", "STOP"),
    ("Thank you. I'd like my contact info to be removed.", "REMOVE ME"),
]

# Ordinary sentences that use the same words and revoke nothing.
NOT_REVOCATIONS = [
    "I will stop by tomorrow",
    "Ending soon?",
    "Can I cancel my appointment?",
    "Cancel my appointment for Friday please",
    "I need to cancel and reschedule",
    "Cancel that, I meant Thursday",
    "Don't stop the reminders",
    "Please don't stop sending me reminders, they help",
    "end of the day works",
    "The link at the end of the text is broken",
    "quit smoking program info",
    "Stopping by later?",
    "the end",
    "weekend",
    "I don't want to opt out, just change the time",
    "I don't want to unsubscribe",
    "Please don't remove me from the list",
    "Never stop sending deals!",
    "Can you remove me from the waitlist?",
    "Take me off the waitlist for Tuesday",
    "The bus stop is on Main St",
    "Can you stop by the office?",
    "I quit my job so I can come anytime",
    "Cancel culture lol",
    "Non-stop fun this weekend!",
    "Stop & Shop has it cheaper",
    "I'll end up late, sorry",
    "Remove the 2pm slot and book 4pm",
    "Don't text me before 9am please",
    "stop texting me at night",
    "I'll stop texting you now, bye",
    "Stop sending the wrong size",
    "I never opted out",
    "This is not the wrong number",
    "Do not disturb was on, sorry I missed it",
    "I'd like the late fee to be removed",
    "I gave you the wrong number earlier, use my new one",
    "Not interested",
    "Who is this?",
    "UNSTOP",
    "Opt in",
    "My license was revoked, can I still book?",
    "",
]

# The same STOP behind every kind of white space, invisible character and symbol people send.
WHITESPACE_AND_UNICODE = [
    ("tab-and-newline", "\tSTOP\n"),
    ("no-break-space", "\u00a0stop\u00a0"),
    ("figure-space", "\u2007STOP\u2007"),
    ("narrow-no-break-space", "\u202fStop\u202f"),
    ("ideographic-space", "\u3000STOP\u3000"),
    ("zero-width-space", "\u200bstop\u200b"),
    ("byte-order-mark", "\ufeffSTOP"),
    ("word-joiner", "\u2060stop\u2060"),
    ("line-separator", "stop\u2028"),
    ("emoji-around", "🛑 STOP 🛑"),
    ("emoji-zwj-sequence", "stop 🤦\u200d♀️"),
    ("guillemets", "«stop»"),
    ("smart-quotes", "\u201cStop\u201d"),
    ("full-width-letters", "\uff33\uff34\uff2f\uff30"),
    ("accented-letter", "stóp"),
    ("non-breaking-hyphen", "opt\u2011out"),
    ("en-dash-as-hyphen", "opt\u2013out"),
]


def case_id(message: str) -> str:
    """A readable pytest id: the rule, then the message's words."""
    words = re.sub(r"[^a-z0-9]+", "-", message.lower()).strip("-")[:40] or "empty"
    return f"{RULE}-{words}"


SELF_MANAGED = ResponderSettings(
    help_reply="help",
    stop_reply="stopped",
    opt_in_reply="welcome back",
    default_reply="thanks",
    self_managed_opt_outs=True,
    number_type="LONG_CODE",
)
AWS_MANAGED = dataclasses.replace(SELF_MANAGED, self_managed_opt_outs=False)


def test_the_tables_are_as_large_as_the_issue_asks():
    assert len(REVOCATIONS) >= 40 and len(NOT_REVOCATIONS) >= 25


@pytest.mark.parametrize("message, canonical", REVOCATIONS, ids=[case_id(m) for m, _ in REVOCATIONS])
def test_reasonable_wording_is_read_as_a_revocation_of_consent(message, canonical):
    assert find_revocation(message) == canonical


@pytest.mark.parametrize("message", NOT_REVOCATIONS, ids=[case_id(m) for m in NOT_REVOCATIONS])
def test_an_ordinary_sentence_with_the_same_words_revokes_nothing(message):
    assert find_revocation(message) is None


@pytest.mark.parametrize(
    "message", [m for _, m in WHITESPACE_AND_UNICODE], ids=[f"{RULE}-{name}" for name, _ in WHITESPACE_AND_UNICODE]
)
def test_white_space_and_invisible_characters_of_any_kind_do_not_hide_a_revocation(message):
    assert find_revocation(message) in {"STOP", "OPT OUT"}


@pytest.mark.parametrize("message, canonical", REVOCATIONS, ids=[case_id(m) for m, _ in REVOCATIONS])
def test_decide_honours_every_revocation_whoever_manages_opt_outs(message, canonical):
    for settings in (SELF_MANAGED, AWS_MANAGED):
        decision = decide(message, opted_out=False, settings=settings)
        assert decision.intent is Intent.OPT_OUT and decision.consent_change is ConsentChange.OPTED_OUT
        assert decision.matched == canonical


@pytest.mark.parametrize("message", NOT_REVOCATIONS, ids=[case_id(m) for m in NOT_REVOCATIONS])
def test_decide_answers_an_ordinary_sentence_when_the_handler_manages_opt_outs(message):
    decision = decide(message, opted_out=False, settings=SELF_MANAGED)
    assert decision.intent is not Intent.OPT_OUT and decision.consent_change is not ConsentChange.OPTED_OUT


@pytest.mark.parametrize("phrase", DEFAULT_OPT_OUT_PHRASES)
def test_every_phrase_of_the_old_list_is_still_read_as_a_revocation(phrase):
    assert find_revocation(phrase) is not None


@pytest.mark.parametrize(
    "wording", OPT_OUT_WORDING, ids=[f"{RULE}-{w.canonical}-{i}" for i, w in enumerate(OPT_OUT_WORDING)]
)
def test_a_wording_rows_needs_are_in_every_message_its_pattern_matches(wording):
    # The matcher skips a row whose needs are absent: that must never hide a match.
    pattern = re.compile(f" (?:{wording.pattern})")
    messages = [m for m, _ in REVOCATIONS] + NOT_REVOCATIONS + [m for _, m in WHITESPACE_AND_UNICODE]
    for spaced in (" " + revocation_text(m) for m in messages):
        if pattern.search(spaced):
            assert any(need in spaced for need in wording.needs), spaced


def test_every_command_has_needs():
    assert set(COMMAND_NEEDS) == {canonical for canonical, _, _ in OPT_OUT_COMMANDS}


@pytest.mark.parametrize("command", OPT_OUT_COMMANDS, ids=[f"{RULE}-{c[0]}" for c in OPT_OUT_COMMANDS])
def test_a_commands_needs_are_in_every_message_it_matches(command):
    # The matcher reads no clause of a message without any command's or wording's needs: that must
    # never hide a command. Each form with its courtesy or request words, on every example message.
    canonical, forms, _ = command
    pattern = re.compile(rf"(?:(?:{COURTESY_WORDS}|{REQUEST_WORDS}) ){{0,4}}(?:{forms}){TO_COMMAND_END}")
    messages = [m for m, _ in REVOCATIONS] + NOT_REVOCATIONS + [m for _, m in WHITESPACE_AND_UNICODE]
    messages += [canonical, f"please {canonical}", f"ok, {canonical.lower()} now"]
    matched = 0
    for folded in map(revocation_text, messages):
        if any(pattern.match(clause) for clause in folded.split(" | ")):
            matched += 1
            assert any(need in " " + folded for need in COMMAND_NEEDS[canonical]), folded
    assert matched, f"no example message is a {canonical} command"


def test_a_message_without_any_needed_word_is_no_revocation_whatever_its_clauses():
    message = "Hi, this is Maria. Could we move it to Thursday afternoon? Thanks a lot, see you soon."
    assert find_revocation(message) is None
    assert find_revocation(message + " Stop.") == "STOP"


def test_the_folded_text_keeps_words_and_clauses_only():
    assert revocation_text("  Don\u2019t\u00a0text me!!\u200b Thanks 😀 ") == "DONT TEXT ME | THANKS"
    assert revocation_text("opt-out - now") == "OPT OUT | NOW"


def test_a_configured_word_takes_courtesy_words_like_the_built_in_ones():
    assert find_revocation("please halt", extra_words=("HALT",)) == "HALT"
    assert find_revocation("halt the presses", extra_words=("HALT",)) is None


def test_a_configured_phrase_is_found_anywhere_but_not_after_a_negation():
    phrases = ("delete my number",)
    assert find_revocation("Hi, can you delete my number?", extra_phrases=phrases) == "DELETE MY NUMBER"
    assert find_revocation("Please don't delete my number", extra_phrases=phrases) is None
    assert find_revocation("Hi, can you delete my number?") is None


def test_the_matcher_is_compiled_once_per_configuration():
    assert revocation_matcher(("HALT",), ()) is revocation_matcher(("HALT",), ())


def test_a_long_message_without_a_revocation_is_not_read_as_one():
    # How long it takes, and that it grows with the text and no faster, is measured in
    # ``make bench`` (section 1): the grammar runs on every inbound message.
    message = ("all of it " * 150) + "please stop by"
    assert find_revocation(message) is None
