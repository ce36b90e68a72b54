"""Parsing the inbound payload defensively, and phone numbers."""

import json

import pytest

from two_way_sms.inbound import MalformedInboundMessage, parse_inbound
from two_way_sms.phone import InvalidPhoneNumber, mask, to_e164

PAYLOAD = {
    "originationNumber": "+14255550182",
    "destinationNumber": "12125550101",
    "messageKeyword": "KEYWORD_123456789012",
    "messageBody": "Hi",
    "inboundMessageId": "id-1",
    "previousPublishedMessageId": "prev-1",
}


def test_the_raw_payload_is_parsed_with_numbers_in_e164():
    message = parse_inbound(json.dumps(PAYLOAD))
    assert message.customer_number == "+14255550182" and message.our_number == "+12125550101"
    assert message.registered_keyword == "KEYWORD_123456789012" and message.previous_published_message_id == "prev-1"


def test_an_sns_envelope_is_unwrapped():
    envelope = {"Type": "Notification", "Message": json.dumps(PAYLOAD)}
    assert parse_inbound(json.dumps(envelope)).inbound_message_id == "id-1"


def test_optional_fields_may_be_missing():
    bare = {k: v for k, v in PAYLOAD.items() if k not in ("messageKeyword", "previousPublishedMessageId")}
    message = parse_inbound(bare)
    assert message.registered_keyword is None and message.previous_published_message_id is None


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"inboundMessageId": ""}, "inboundMessageId"),
        ({"originationNumber": "  "}, "originationNumber"),
        ({"destinationNumber": None}, "destinationNumber"),
        ({"messageBody": 5}, "messageBody"),
        ({"messageBody": "x" * 1601}, "1601"),
    ],
)
def test_malformed_payloads_are_rejected_with_a_reason_naming_the_field(change, reason):
    with pytest.raises(MalformedInboundMessage) as error:
        parse_inbound({**PAYLOAD, **change})
    assert reason in error.value.reason


def test_a_reason_never_carries_the_full_number():
    with pytest.raises(MalformedInboundMessage) as error:
        parse_inbound({**PAYLOAD, "destinationNumber": "+1425555018299999"})
    assert "+1425555018299999" not in error.value.reason


@pytest.mark.parametrize("sender", ["12", "262966", "AMAZON", "MyBank", "+1425555018299999", "1-800-FLOWERS"])
def test_a_sender_that_is_not_a_phone_number_is_kept_as_is_and_marked_not_answerable(sender):
    message = parse_inbound({**PAYLOAD, "originationNumber": sender})

    assert (message.customer_number, message.answerable) == (sender, False)


def test_a_phone_number_sender_is_answerable():
    assert parse_inbound(PAYLOAD).answerable is True


def test_the_sns_envelope_gives_the_publish_time_which_redeliveries_keep():
    envelope = {
        "Type": "Notification",
        "MessageId": "m-1",
        "Timestamp": "2026-12-04T10:00:00.123Z",
        "Message": json.dumps(PAYLOAD),
    }

    assert parse_inbound(envelope).published_at_ms == 1_796_378_400_123
    assert parse_inbound(PAYLOAD).published_at_ms is None  # raw delivery has no envelope


def test_numbers_without_plus_and_with_formatting_normalise_to_e164():
    assert to_e164("14255550182") == to_e164("+1 (425) 555-0182") == "+14255550182"


def test_an_impossible_number_is_refused():
    with pytest.raises(InvalidPhoneNumber):
        to_e164("banana")


def test_mask_keeps_country_and_area_code_and_the_last_two_digits():
    assert mask("+14255550182") == "+1425*****82"
    assert mask("+123") == "****"


def test_a_north_american_number_in_e164_is_read_as_phonenumbers_reads_it():
    import random

    import phonenumbers

    generator = random.Random(15)
    numbers = ["+12065550100", "+19999999999", "+12002000000"]
    numbers += [f"+1{generator.randint(2, 9)}{generator.randint(0, 99):02}{generator.randint(2000000, 9999999)}"]
    numbers += [f"+1{generator.randint(2000000000, 9999999999)}" for _ in range(200)]
    for number in numbers:
        parsed = phonenumbers.parse(number, "US")
        assert phonenumbers.is_possible_number(parsed)
        assert to_e164(number) == phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164) == number


def _as_phonenumbers_reads_it(raw):
    import phonenumbers

    try:
        parsed = phonenumbers.parse(raw.strip(), "US")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


@pytest.mark.parametrize(
    "raw",
    ["+442071838750", "+11234567890", "+1206555010", " +12065550100 ", "+1 206 555 0100", "+33612345678"],
)
def test_any_other_number_is_read_by_phonenumbers(raw):
    expected = _as_phonenumbers_reads_it(raw)
    if expected is None:
        with pytest.raises(InvalidPhoneNumber):
            to_e164(raw)
    else:
        assert to_e164(raw) == expected
