"""SMS encoding and part counting, as AWS End User Messaging bills it."""

import pytest

from two_way_sms.encoding import (
    GSM7,
    GSM7_LOOKALIKES,
    GSM7_MULTIPART_SEPTETS,
    GSM7_SINGLE_PART_SEPTETS,
    UCS2,
    UCS2_MULTIPART_UNITS,
    UCS2_SINGLE_PART_UNITS,
    EncodingReport,
    analyse,
    is_gsm7,
    replace_lookalikes,
)

GSM7_BASIC_SAMPLE = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION_SAMPLE = "^{}\\[]~|€\f"
EMOJI = "😀"  # outside the BMP: a surrogate pair in UTF-16


def test_limits_match_a_140_byte_part():
    assert (GSM7_SINGLE_PART_SEPTETS, GSM7_MULTIPART_SEPTETS) == (160, 153)
    assert (UCS2_SINGLE_PART_UNITS, UCS2_MULTIPART_UNITS) == (70, 67)
    assert (GSM7, UCS2) == ("GSM-7", "UCS-2")


def test_empty_text_is_gsm7_with_no_parts():
    report = analyse("")

    assert report == EncodingReport(GSM7, 0, 0, 0, (), ())
    assert not report.is_multipart
    assert not report.ucs2_only_because_of_lookalikes


@pytest.mark.parametrize(
    ("length", "parts"),
    [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)],
)
def test_gsm7_parts_follow_160_then_153_septets(length, parts):
    report = analyse("a" * length)

    assert report.encoding == GSM7
    assert report.characters == length
    assert report.units == length
    assert report.parts == parts
    assert report.is_multipart == (parts > 1)


@pytest.mark.parametrize(("count", "parts"), [(80, 1), (81, 2)])
def test_extension_characters_count_as_two_septets(count, parts):
    report = analyse("€" * count)

    assert report.encoding == GSM7
    assert report.characters == count
    assert report.units == 2 * count
    assert report.parts == parts


@pytest.mark.parametrize("character", sorted(GSM7_EXTENSION_SAMPLE))
def test_every_extension_character_costs_two_septets(character):
    assert analyse("a" + character).units == 3


def test_escape_pair_is_not_split_across_a_part_boundary():
    # 152 + 2 = 154 septets would overflow the first 153-septet part, so '{' moves whole
    # to part 2; 2 + 151 = 153 fills part 2 exactly, and one more septet needs part 3.
    text = "a" * 152 + "{" + "b" * 151 + "c"

    report = analyse(text)

    assert report.units == 306  # would fit in 2 parts if the pair could be split
    assert report.parts == 3


def test_escape_pair_exactly_filling_a_part_needs_no_extra_part():
    report = analyse("a" * 151 + "{" + "b" * 153)

    assert report.units == 306
    assert report.parts == 2


@pytest.mark.parametrize(
    ("length", "parts"),
    [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)],
)
def test_ucs2_parts_follow_70_then_67_units(length, parts):
    text = "Ж" + "a" * (length - 1)

    report = analyse(text)

    assert report.encoding == UCS2
    assert report.characters == length
    assert report.units == length
    assert report.parts == parts


def test_one_non_gsm_character_makes_the_whole_message_ucs2():
    gsm_only = analyse("a" * 100)
    with_cyrillic = analyse("a" * 99 + "Ж")

    assert (gsm_only.encoding, gsm_only.parts) == (GSM7, 1)
    assert (with_cyrillic.encoding, with_cyrillic.parts) == (UCS2, 2)
    assert with_cyrillic.non_gsm_characters == ("Ж",)


def test_extension_characters_count_once_in_ucs2():
    report = analyse("€Ж")

    assert report.encoding == UCS2
    assert report.units == 2


@pytest.mark.parametrize(("count", "parts"), [(35, 1), (36, 2)])
def test_emoji_count_as_two_utf16_units(count, parts):
    report = analyse(EMOJI * count)

    assert report.encoding == UCS2
    assert report.characters == count
    assert report.units == 2 * count
    assert report.parts == parts


def test_emoji_surrogate_pair_is_not_split_across_a_part_boundary():
    # 66 + 2 = 68 units would overflow the first 67-unit part, so the emoji moves whole
    # to part 2; 2 + 65 = 67 fills part 2 exactly, and one more unit needs part 3.
    text = "Ж" * 66 + EMOJI + "Ж" * 65 + "a"

    report = analyse(text)

    assert report.units == 134  # would fit in 2 parts if the pair could be split
    assert report.parts == 3


def test_emoji_forces_ucs2_and_is_not_reported_as_a_lookalike():
    report = analyse(f"Great {EMOJI}")

    assert report.encoding == UCS2
    assert report.non_gsm_characters == (EMOJI,)
    assert report.lookalikes == ()
    assert not report.ucs2_only_because_of_lookalikes


def test_one_smart_quote_makes_the_message_ucs2_and_is_reported_as_a_lookalike():
    report = analyse("We’ll call you back")

    assert report.encoding == UCS2
    assert report.non_gsm_characters == ("’",)
    assert report.lookalikes == ("’",)
    assert report.ucs2_only_because_of_lookalikes


def test_smart_quote_can_triple_the_parts_of_a_long_message():
    text = "a" * 150 + "’"

    assert analyse(text.replace("’", "'")).parts == 1
    assert analyse(text).parts == 3


def test_non_gsm_characters_are_distinct_and_in_order_of_first_appearance():
    report = analyse(f"“Hi” Ж {EMOJI} – ok “again” Ж")

    assert report.non_gsm_characters == ("“", "”", "Ж", EMOJI, "–")
    assert report.lookalikes == ("“", "”", "–")
    assert not report.ucs2_only_because_of_lookalikes


def test_gsm7_report_has_no_forcing_characters():
    report = analyse("Plain 'text' - with \"ASCII\" quotes {}")

    assert report.encoding == GSM7
    assert report.non_gsm_characters == ()
    assert report.lookalikes == ()
    assert not report.ucs2_only_because_of_lookalikes


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("‘single’ ‚low‛ ′", "'single' 'low' '"),
        ("“double” „low‟ ″", '"double" "low" "'),
        ("a–b—c―d−e‐f‑g", "a-b-c-d-e-f-g"),
        ("wait…", "wait..."),
        ("no\u00a0break\u2009thin\u202fnarrow\u3000wide", "no break thin narrow wide"),
        ("• item", "- item"),
    ],
)
def test_replace_lookalikes_swaps_in_gsm7_replacements(text, expected):
    assert replace_lookalikes(text) == expected


def test_replace_lookalikes_makes_a_smart_quote_message_gsm7_again():
    text = "“We’re open” – see you…"

    replaced = replace_lookalikes(text)

    assert replaced == '"We\'re open" - see you...'
    assert analyse(text).encoding == UCS2
    assert analyse(replaced).encoding == GSM7
    assert is_gsm7(replaced)


def test_replace_lookalikes_leaves_other_characters_alone():
    text = f"Жена {EMOJI} € café {{}}"

    assert replace_lookalikes(text) == text


def test_every_lookalike_is_non_gsm_and_every_replacement_is_gsm7():
    for character, replacement in GSM7_LOOKALIKES.items():
        assert len(character) == 1
        assert not is_gsm7(character), repr(character)
        assert is_gsm7(replacement), repr(replacement)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", True),
        (GSM7_BASIC_SAMPLE, True),
        (GSM7_EXTENSION_SAMPLE, True),
        ("Reply STOP to opt out. Price: 5€ [approx.]", True),
        ("It’s", False),
        ("“quoted”", False),
        ("em—dash", False),
        ("Жена", False),
        (EMOJI, False),
        ("tab\there", False),
        ("ç", False),  # only the capital Ç is in the basic table
        ("`", False),
    ],
)
def test_is_gsm7(text, expected):
    assert is_gsm7(text) is expected


def test_whole_basic_and_extension_tables_stay_gsm7():
    report = analyse(GSM7_BASIC_SAMPLE + GSM7_EXTENSION_SAMPLE)

    assert report.encoding == GSM7
    assert report.units == len(GSM7_BASIC_SAMPLE) + 2 * len(GSM7_EXTENSION_SAMPLE)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a" * 42, "GSM-7, 42 characters, 1 part"),
        ("a" * 161, "GSM-7, 161 characters, 2 parts"),
        ("a", "GSM-7, 1 character, 1 part"),
        ("", "GSM-7, 0 characters, 0 parts"),
        ("’" + "a" * 74, "UCS-2 (because of '’'), 75 characters, 2 parts"),
        ("Жé" + EMOJI, f"UCS-2 (because of 'Ж', '{EMOJI}'), 3 characters, 1 part"),
    ],
)
def test_describe_mentions_encoding_characters_and_parts(text, expected):
    assert analyse(text).describe() == expected


def test_describe_shows_invisible_characters_by_code_point():
    description = analyse("no\u00a0break").describe()

    assert description.startswith("UCS-2 (because of U+00A0)")


def test_describe_stays_short_with_many_forcing_characters():
    description = analyse("ЖИЗНЬ").describe()

    assert description == "UCS-2 (because of 'Ж', 'И', 'З' and 2 more), 5 characters, 1 part"


def test_report_is_immutable():
    report = analyse("hello")

    with pytest.raises(AttributeError):
        report.parts = 5  # type: ignore[misc]
