"""Send requests: what the outbound queue accepts, and the wire format that round-trips."""

import json
from datetime import datetime, timedelta, timezone

import pytest

from two_way_sms.outbound.request import (
    MAX_CALLER_CONTEXT_ENTRIES,
    CampaignRef,
    ConversationRef,
    InvalidSendRequest,
    SendRequest,
    parse_send_request,
)

NUMBER = "+12065550100"


def wire(**overrides):
    data = {
        "destination": NUMBER,
        "messageType": "TRANSACTIONAL",
        "idempotencyKey": "order-42",
        "body": "Your order shipped.",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_a_minimal_request_is_parsed_from_json():
    request = parse_send_request(json.dumps(wire()))
    assert request == SendRequest(NUMBER, "TRANSACTIONAL", "order-42", body="Your order shipped.")
    assert request.variables == {} and request.context == {} and request.send_after is None


def test_the_destination_is_normalised_to_e164():
    assert parse_send_request(wire(destination="(206) 555-0100")).destination == NUMBER
    assert parse_send_request(wire(destination="12065550100")).destination == NUMBER


def test_an_impossible_destination_is_refused_with_the_number_masked():
    with pytest.raises(InvalidSendRequest) as raised:
        parse_send_request(wire(destination="+1206555010099999"))
    assert "destination" in raised.value.reason
    assert "+1206555010099999" not in raised.value.reason and "*" in raised.value.reason


def test_every_field_round_trips_through_the_wire_format():
    request = SendRequest(
        destination=NUMBER,
        message_type="PROMOTIONAL",
        idempotency_key="spring:run-1:+12065550100",
        template_id="spring_sale",
        variables={"first_name": "Ana", "code": "SPRING"},
        send_after=datetime(2026, 3, 8, 10, 0, tzinfo=timezone(timedelta(hours=-8))),
        context={"orderId": "42", "channel": "web"},
        campaign=CampaignRef("spring", "run-1", max_per_recipient=2, mps=0.5),
    )
    text = request.to_json()
    assert parse_send_request(text) == request
    assert parse_send_request(text).to_json() == text
    assert set(json.loads(text)) == {
        "destination",
        "messageType",
        "idempotencyKey",
        "templateId",
        "variables",
        "sendAfter",
        "context",
        "campaign",
    }
    assert json.loads(text)["campaign"] == {"campaignId": "spring", "runId": "run-1", "maxPerRecipient": 2, "mps": 0.5}


def test_a_body_request_round_trips_with_only_the_fields_it_sets():
    request = SendRequest(NUMBER, "TRANSACTIONAL", "k1", body="Caf\u00e9 \u201cr\u00e9serv\u00e9\u201d \U0001f600")
    assert json.loads(request.to_json()) == {
        "destination": NUMBER,
        "messageType": "TRANSACTIONAL",
        "idempotencyKey": "k1",
        "body": request.body,
    }
    assert parse_send_request(request.to_json()) == request


def test_send_after_is_stored_in_utc():
    request = parse_send_request(wire(sendAfter="2026-11-23T22:30:00-05:00"))
    assert request.send_after == datetime(2026, 11, 24, 3, 30, tzinfo=timezone.utc)
    assert request.send_after.tzinfo is timezone.utc
    assert parse_send_request(wire(sendAfter="2026-11-23T22:30:00Z")).send_after.utcoffset() == timedelta(0)


@pytest.mark.parametrize("value", ["2026-11-23T22:30:00", "tomorrow", 1700000000])
def test_send_after_without_an_offset_or_not_a_date_is_refused(value):
    with pytest.raises(InvalidSendRequest, match="sendAfter"):
        parse_send_request(wire(sendAfter=value))


def test_a_naive_send_after_is_refused_by_the_constructor_too():
    with pytest.raises(InvalidSendRequest, match="offset"):
        SendRequest(NUMBER, "TRANSACTIONAL", "k", body="hi", send_after=datetime(2026, 1, 1, 9, 0))


def test_unknown_fields_are_refused_by_name():
    with pytest.raises(InvalidSendRequest, match="unknown fields: sendafter, templateID"):
        parse_send_request(wire(sendafter="2026-11-23T22:30:00Z", templateID="x"))


def test_unknown_campaign_fields_are_refused_by_name():
    with pytest.raises(InvalidSendRequest, match="campaign has unknown fields: maxPerRecipients"):
        parse_send_request(wire(campaign={"campaignId": "c", "runId": "r", "maxPerRecipients": 2}))


@pytest.mark.parametrize("missing", ["destination", "messageType", "idempotencyKey"])
def test_required_fields_are_named_when_missing(missing):
    with pytest.raises(InvalidSendRequest, match=f"missing {missing}"):
        parse_send_request(wire(**{missing: None}))


@pytest.mark.parametrize(
    "body, fragment",
    [
        ("", "0 characters"),
        ("x" * 1601, "1601 characters"),
        (" \n\t ", "only whitespace"),
    ],
)
def test_the_body_follows_the_send_text_message_limits(body, fragment):
    with pytest.raises(InvalidSendRequest, match=fragment):
        parse_send_request(wire(body=body))


def test_a_body_of_exactly_1600_characters_is_accepted():
    assert len(parse_send_request(wire(body="x" * 1600)).body) == 1600


def test_a_secret_body_is_never_echoed_in_the_error():
    with pytest.raises(InvalidSendRequest) as raised:
        parse_send_request(wire(body="secret " * 300))
    assert "secret" not in raised.value.reason


def test_exactly_one_of_body_and_template_is_required():
    with pytest.raises(InvalidSendRequest, match="exactly one"):
        parse_send_request(wire(templateId="welcome"))
    with pytest.raises(InvalidSendRequest, match="exactly one"):
        parse_send_request(wire(body=None))


@pytest.mark.parametrize("template_id", ["with space", "x" * 65, "dots.not.allowed"])
def test_template_ids_are_limited_to_64_safe_characters(template_id):
    with pytest.raises(InvalidSendRequest, match="template id"):
        parse_send_request(wire(body=None, templateId=template_id))


@pytest.mark.parametrize("key", ["", "x" * 129, "has space", "semi;colon"])
def test_idempotency_keys_are_1_to_128_safe_characters(key):
    with pytest.raises(InvalidSendRequest, match="idempotency key"):
        parse_send_request(wire(idempotencyKey=key))


def test_an_unknown_message_type_is_refused():
    with pytest.raises(InvalidSendRequest, match="'MARKETING'"):
        parse_send_request(wire(messageType="MARKETING"))


def test_variables_must_map_strings_to_strings():
    with pytest.raises(InvalidSendRequest, match="variable 'count' must be a string"):
        parse_send_request(wire(body=None, templateId="t", variables={"count": 3}))


def test_context_takes_at_most_three_caller_entries():
    context = {f"k{i}": "v" for i in range(MAX_CALLER_CONTEXT_ENTRIES)}
    assert parse_send_request(wire(context=context)).context == context
    with pytest.raises(InvalidSendRequest, match="4 entries"):
        parse_send_request(wire(context={**context, "k9": "v"}))


@pytest.mark.parametrize("key", ["sendKey", "campaign"])
def test_the_senders_own_context_keys_are_reserved(key):
    with pytest.raises(InvalidSendRequest, match=f"'{key}' is reserved"):
        parse_send_request(wire(context={key: "mine"}))


@pytest.mark.parametrize(
    "context, fragment",
    [
        ({"": "v"}, "context key"),
        ({"two words": "v"}, "context key"),
        ({"k" * 101: "v"}, "context key"),
        ({"k": ""}, "1-800"),
        ({"k": "v" * 801}, "1-800"),
        ({"k": " padded"}, "whitespace"),
        ({"k": "padded\n"}, "whitespace"),
    ],
)
def test_context_keys_and_values_follow_the_send_text_message_model(context, fragment):
    with pytest.raises(InvalidSendRequest, match=fragment):
        parse_send_request(wire(context=context))


def test_context_keys_and_values_at_their_limits_are_accepted():
    context = {"k" * 100: "a b" + "v" * 797}
    assert parse_send_request(wire(context=context)).context == context


@pytest.mark.parametrize(
    "campaign, fragment",
    [
        ({"campaignId": "c", "runId": "r", "mps": 0}, "mps"),
        ({"campaignId": "c", "runId": "r", "mps": -1}, "mps"),
        ({"campaignId": "c", "runId": "r", "maxPerRecipient": 0}, "maxPerRecipient"),
        ({"campaignId": "c", "runId": "r/1"}, "run id"),
        ({"campaignId": "bad id", "runId": "r"}, "campaign id"),
        ({"campaignId": "c"}, "missing runId"),
    ],
)
def test_campaign_refs_are_validated(campaign, fragment):
    with pytest.raises(InvalidSendRequest, match=fragment):
        parse_send_request(wire(campaign=campaign))


def test_a_campaign_ref_defaults_to_one_message_per_recipient_and_no_mps_cap():
    ref = parse_send_request(wire(campaign={"campaignId": "c", "runId": "r"})).campaign
    assert ref == CampaignRef("c", "r", 1, None) and ref.run_key == "c/r"


@pytest.mark.parametrize("raw", ["not json", "[1, 2]", b"\xff"])
def test_a_body_that_is_not_a_json_object_is_refused(raw):
    with pytest.raises(InvalidSendRequest):
        parse_send_request(raw)


def test_with_changes_revalidates_and_keeps_the_rest():
    request = parse_send_request(wire())
    later = request.with_changes(send_after=datetime(2026, 1, 1, 9, tzinfo=timezone.utc))
    assert later.body == request.body and later.send_after.year == 2026
    with pytest.raises(InvalidSendRequest):
        request.with_changes(body="")


def test_requests_are_immutable_even_through_their_mappings():
    request = parse_send_request(wire(body=None, templateId="t", variables={"a": "1"}))
    with pytest.raises(TypeError):
        request.variables["a"] = "2"


# -- conversations ------------------------------------------------------------------------------
def test_a_conversation_request_round_trips_without_a_body():
    raw = wire(
        body=None,
        variables={"first_name": "Ana"},
        conversation={"flow": "appointment", "reference": "appt-77", "slots": [" Tue 10:00", "Wed 14:30"]},
    )

    parsed = parse_send_request(json.dumps(raw))

    assert parsed.conversation == ConversationRef("appointment", "appt-77", ("Tue 10:00", "Wed 14:30"))
    assert parse_send_request(parsed.to_json()) == parsed


def test_a_conversation_request_takes_neither_body_nor_template():
    with pytest.raises(InvalidSendRequest, match="neither body nor templateId"):
        parse_send_request(wire(conversation={"flow": "appointment"}))


@pytest.mark.parametrize(
    "conversation, fragment",
    [
        ({}, "conversation is missing flow"),
        ({"flow": "Appointment"}, "flow 'Appointment' must be 1-40 characters"),
        ({"flow": "appointment", "slots": [f"slot {n}" for n in range(10)]}, "10 slots; at most 9"),
        ({"flow": "appointment", "slots": "Tue 10:00"}, "slots must be a list"),
        ({"flow": "appointment", "slots": [" "]}, "slot ' ' must be a string of 1-60"),
        ({"flow": "appointment", "reference": ""}, "reference '' must be a string of 1-128"),
        ({"flow": "appointment", "step": "rebook"}, "conversation has unknown fields: step"),
    ],
)
def test_a_bad_conversation_is_refused_naming_the_value(conversation, fragment):
    with pytest.raises(InvalidSendRequest, match=fragment):
        parse_send_request(wire(body=None, conversation=conversation))


def test_the_requests_limits_agree_with_the_flows():
    from two_way_sms.conversations import flows
    from two_way_sms.outbound import request

    assert request.MAX_SLOTS == flows.MAX_SLOTS and request.FLOW_NAME_PATTERN.pattern == flows.NAME.pattern
