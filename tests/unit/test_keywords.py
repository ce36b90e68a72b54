"""Keyword matching mirrors End User Messaging: the message begins with the word."""

import pytest

from two_way_sms.keywords import find_phrase, first_keyword, keyword_problem, normalise, starts_with_keyword


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
