"""Keyword matching mirrors End User Messaging: the message begins with the word."""

import pytest

from two_way_sms.keywords import (
    KeywordMatcher,
    find_phrase,
    first_keyword,
    keyword_problem,
    normalise,
    starts_with_keyword,
)


@pytest.mark.parametrize(
    "body", ["STOP", "Stop.", " stop ", "STOP please", "stop!!!", "...stop", "Stop\n", "sToP, thanks"]
)
def test_a_message_beginning_with_the_keyword_matches_it(body):
    assert starts_with_keyword(body, "STOP")


@pytest.mark.parametrize("body", ["Stopping by later?", "Please stop", "STOPALL", "", "   "])
def test_a_message_not_beginning_with_the_whole_keyword_does_not_match(body):
    assert not starts_with_keyword(body, "STOP")


def test_accents_are_folded_so_arret_matches_with_or_without_its_circumflex():
    assert starts_with_keyword("Arrêt", "ARRET") and starts_with_keyword("arret", "ARRET")


@pytest.mark.parametrize(
    "body, expected",
    [
        ("Ñandú", "NANDU"),  # accents of any Latin letter
        ("\u00a0 ¡Stop!", "STOP!"),  # leading space of any kind and punctuation
        ("\uff33\uff34\uff2f\uff30", "STOP"),  # full-width letters
    ],
)
def test_normalise_folds_accents_and_drops_leading_noise(body, expected):
    assert normalise(body) == expected


def test_hyphenated_keywords_match_as_one_word():
    assert first_keyword("opt-out now", ["OPT-OUT", "OPTOUT"]) == "OPT-OUT"


def test_the_longest_matching_keyword_wins():
    assert first_keyword("STOPALL", ["STOP", "STOPALL"]) == "STOPALL"


@pytest.mark.parametrize(
    "body, phrase",
    [
        ("please opt me out", "OPT ME OUT"),
        ("Don't text me anymore", "DONT TEXT"),
        ("can you remove me from this list", "REMOVE ME"),
    ],
)
def test_reasonable_opt_out_wording_is_found_anywhere_in_the_message(body, phrase):
    assert find_phrase(body, ["OPT ME OUT", "DONT TEXT", "REMOVE ME"]) == phrase


def test_a_phrase_must_match_whole_words():
    assert find_phrase("I'll remove mention of it", ["REMOVE ME"]) is None


@pytest.mark.parametrize("keyword, problem", [("", "1-30"), ("X" * 31, "1-30"), ("TWO WORDS", "one word")])
def test_keyword_problems_name_the_keyword(keyword, problem):
    assert problem in keyword_problem(keyword)


def test_a_good_keyword_has_no_problem():
    assert keyword_problem("HOURS") is None


# -- other languages (two_way_sms.languages) ---------------------------------------------------------
def test_every_other_language_word_is_one_keyword_as_end_user_messaging_takes_it():
    from two_way_sms.languages import LANGUAGES

    for language in LANGUAGES.values():
        for word in language.words:
            assert keyword_problem(word) is None and word == normalise(word)
            # OptionalKeyword.Keyword: the CloudFormation docs say ^(?!.*(?i)(stop|help))[ \S]+ (none inside),
            # the registry schema cfn-lint ships ^(?!(?i)(stop|help)$)[ \S]+: these words pass the stricter one
            assert language.code == "en" or not {"STOP", "HELP"} & {word[i : i + 4] for i in range(len(word))}


@pytest.mark.parametrize(
    "body, word",
    [("ALTO", "ALTO"), ("alto.", "ALTO"), ("Parar por favor", "PARAR"), ("CANCELAR", "CANCELAR"), ("ayuda", "AYUDA")],
)
def test_spanish_words_match_in_any_case(body, word):
    assert first_keyword(body, ["ALTO", "PARAR", "CANCELAR", "AYUDA"]) == word


@pytest.mark.parametrize("body", ["ARRÊT", "Arrêt", "arrêt!", "ARRET"])
def test_french_words_match_with_or_without_their_accent(body):
    assert first_keyword(body, ["ARRET", "AIDE"]) == "ARRET"


@pytest.mark.parametrize(
    "body, canonical",
    [
        ("Alto", "ALTO"),
        ("por favor, alto", "ALTO"),
        ("PARAR", "PARAR"),
        ("Detener por favor", "DETENER"),
        ("cancelar", "CANCELAR"),
        ("Darme de baja", "BAJA"),
        ("no más", "NO MAS"),
        ("Arrêtez", "ARRET"),
    ],
)
def test_the_revocation_grammar_names_spanish_and_french_words_as_themselves(body, canonical):
    from two_way_sms.keywords import find_revocation

    assert find_revocation(body) == canonical


def test_the_grammar_reads_every_other_language_opt_out_word():
    from two_way_sms.keywords import find_revocation
    from two_way_sms.languages import LANGUAGES, OTHER_LANGUAGES, language_of

    for code in OTHER_LANGUAGES:
        for word in LANGUAGES[code].opt_out_words:
            assert language_of(find_revocation(word)) == code, word


KEYWORDS = ("STOP", "STOPALL", "OPT-OUT", "OPT", "ARRET", "HOURS", "", " info ")
BODIES = [
    "stop",
    "STOPALL now",
    "stopallx",
    "Stop.",
    "opt-out",
    "OPT-OUTS",
    "opt out",
    "optx",
    "  Info?",
    "informed",
    "Arrêt",
    "STOP_",
    "STOPé",
    "STOP²",
    "hours!",
    "",
    "Hi, this is Maria",
]


@pytest.mark.parametrize("body", BODIES)
def test_a_compiled_keyword_list_finds_what_first_keyword_finds(body):
    matcher = KeywordMatcher(KEYWORDS)
    assert matcher.first_in(normalise(body)) == first_keyword(body, KEYWORDS)


def test_an_empty_keyword_list_matches_nothing():
    assert KeywordMatcher(()).first_in("STOP") is None
