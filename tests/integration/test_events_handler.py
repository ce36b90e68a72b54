"""The events handler against emulated AWS (moto: Kinesis, DynamoDB, SQS), fed from the shared fixture."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from tests.integration.conftest import events_harness_context
from two_way_sms.adapters.campaign_runs import CampaignRuns
from two_way_sms.adapters.ledger import SentText, SpendDue
from two_way_sms.handlers import events as events_function
from two_way_sms.responder import ConsentChange
from two_way_sms.settings import events as events_contract
from two_way_sms.settings.events import EventsSettings
from two_way_sms_local.emulation import (
    MESSAGE_ID,
    REGION,
    FakeLambdaContext,
    delivery_event,
    events_environment,
    lifecycle_events,
)

OTHER_MESSAGE_ID = "0b6b2f5e-8f0e-4d55-9a43-5b1a5b0c2f11"


def emf(capsys) -> list[dict]:
    """The EMF lines the handler printed, each as {metric name: value}."""
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    return [{k: v[0] if isinstance(v, list) else v for k, v in line.items()} for line in lines]


def fail_calls(
    client: Any,
    operation: str,
    code: str,
    *,
    when: Callable[[dict], bool] = lambda params: True,
    times: int | None = None,
) -> None:
    """The function's ``operation`` calls whose parameters ``when`` accepts fail with ``code``, as a
    failure that outlasted botocore's retries would (``times``: only so many; None: every one)."""
    left = [times]

    def fail(params: dict, **_: Any) -> None:
        if left[0] != 0 and when(params):
            if left[0] is not None:
                left[0] -= 1
            raise ClientError({"Error": {"Code": code, "Message": "injected"}}, operation)

    client.meta.events.register(
        f"before-parameter-build.{client.meta.service_model.service_id.hyphenize()}.{operation}", fail
    )


def mentions(text: str) -> Callable[[dict], bool]:
    return lambda params: text in json.dumps(params, default=str)


def ledger_after(batches: list[list]) -> dict:
    """The whole ledger after feeding ``batches`` (one handler invocation each) to a fresh world."""
    with events_harness_context() as harness:
        for batch in batches:
            assert harness.handle(*batch) == {"batchItemFailures": []}
        return harness.ledger_items()


# -- the same events in any order end in the same state -----------------------------------------
def test_in_order_reversed_duplicated_and_interleaved_sequences_end_in_the_same_ledger_state():
    events = lifecycle_events()
    others = lifecycle_events(OTHER_MESSAGE_ID)
    shuffled = events * 3
    random.Random(7).shuffle(shuffled)
    sequences = {
        "in order, one batch": [events],
        "in order, one event per batch": [[e] for e in events],
        "reversed": [events[::-1]],
        "reversed, one event per batch": [[e] for e in events[::-1]],
        "every event three times, shuffled": [shuffled],
        "duplicates in later batches": [events, events[:2], [events[2], events[0]]],
        "interleaved with another message": [[others[0], events[2], others[2], events[0], others[1], events[1]]],
    }
    results = {name: ledger_after(batches) for name, batches in sequences.items()}
    expected = results["in order, one batch"][MESSAGE_ID]
    for name, ledger in results.items():
        assert ledger[MESSAGE_ID] == expected, name
    assert expected["status"] == "DELIVERED" and expected["is_final"] is True
    assert expected["event_type"] == "TEXT_DELIVERED"
    assert len(expected["history"]) == 3


def test_the_ledger_item_holds_status_history_parts_price_country_carrier_timestamps_and_context(events_harness):
    events_harness.handle(
        *[
            {**e, "detail": {**e["detail"], "context": {"inboundMessageId": "in-1", "intent": "HELP"}}}
            for e in lifecycle_events()
        ]
    )
    item = events_harness.ledger_item(MESSAGE_ID)
    assert item["status"] == "DELIVERED" and item["is_final"] is True
    assert item["history"] == {
        "2025-10-01T18:20:41.078+00:00 TEXT_QUEUED QUEUED",
        "2025-10-01T18:20:41.378+00:00 TEXT_SUCCESSFUL SUCCESSFUL",
        "2025-10-01T18:20:43.478+00:00 TEXT_DELIVERED DELIVERED",
    }
    assert item["parts"] == 1
    assert item["price_usd"] == Decimal("0.00581") and item["carrier_fee_usd"] == Decimal("0.00266")
    assert item["iso_country_code"] == "US" and item["carrier_name"] == "Example Carrier"
    assert (item["mcc"], item["mnc"]) == ("310", "800")
    assert item["requested_at"] == "2025-10-01T18:20:40.978+00:00"
    assert item["reported_at"] == "2025-10-01T18:20:43.478+00:00"
    assert item["destination_number"] == "+14255550182" and item["origination_number"] == "+12125550101"
    assert item["context"] == {"inboundMessageId": "in-1", "intent": "HELP"}
    assert item["expires_at"] == 1759342840 + 400 * 86400


def test_a_late_non_final_event_never_overwrites_a_final_status(events_harness):
    queued, successful, delivered = lifecycle_events()
    late_pending = delivery_event("TEXT_PENDING", after_ms=9000, is_final=False)  # reported after the receipt
    events_harness.handle(delivered)
    events_harness.handle(late_pending, queued, successful)
    item = events_harness.ledger_item(MESSAGE_ID)
    assert (item["status"], item["is_final"]) == ("DELIVERED", True)
    assert any("TEXT_PENDING" in line for line in item["history"])


def test_a_final_failure_is_recorded_as_the_fate_and_counted_once(events_harness, capsys):
    unreachable = delivery_event(
        "TEXT_UNREACHABLE",
        after_ms=3000,
        is_final=True,
        status="UNREACHABLE",
        description="The recipient's device is switched off",
    )
    events_harness.handle(lifecycle_events()[0], unreachable, unreachable)
    item = events_harness.ledger_item(MESSAGE_ID)
    assert (item["status"], item["is_final"], item["event_type"]) == ("UNREACHABLE", True, "TEXT_UNREACHABLE")
    metrics = emf(capsys)[-1]
    assert metrics["MessagesFailed"] == 1.0 and "MessagesDelivered" not in metrics
    assert metrics["StaleOrDuplicateEvents"] == 1.0 and metrics["DeliveryEvents"] == 3.0


def test_numbers_without_plus_and_missing_optional_fields_are_accepted(events_harness):
    sparse = delivery_event(
        "TEXT_DELIVERED",
        is_final=None,
        destinationPhoneNumber="14255550182",
        carrierName=None,
        mcc=None,
        mnc=None,
        totalMessagePrice=None,
        totalCarrierFee=None,
        context=None,
    )
    assert events_harness.handle(sparse) == {"batchItemFailures": []}
    item = events_harness.ledger_item(MESSAGE_ID)
    assert item["destination_number"] == "+14255550182"
    assert item["is_final"] is True  # TEXT_DELIVERED is final when the event does not say
    assert "carrier_name" not in item and "price_usd" not in item


# -- replies the inbound handler sent --------------------------------------------------------------
def test_a_reply_recorded_as_sent_ends_the_same_whether_its_events_come_before_or_after():
    def run(sent_first: bool) -> dict:
        with events_harness_context() as harness:

            def record_sent():
                harness.ledger.record_sent(
                    SentText(
                        message_id=MESSAGE_ID,
                        destination="+14255550182",
                        origination="+12125550101",
                        context={"inboundMessageId": "in-1", "intent": "HELP"},
                        sent_at_ms=1759342840990,
                        message_type="TRANSACTIONAL",
                        estimated_parts=1,
                        sent_by="inbound",
                    )
                )

            if sent_first:
                record_sent()
                assert harness.ledger_item(MESSAGE_ID)["status"] == "SENT"
            harness.handle(*lifecycle_events())
            if not sent_first:
                record_sent()
            return harness.ledger_item(MESSAGE_ID)

    before, after = run(sent_first=True), run(sent_first=False)
    assert before == after
    assert before["status"] == "DELIVERED" and before["sent_by"] == "inbound"
    assert "2025-10-01T18:20:40.990+00:00 SENT SENT" in before["history"]


# -- spend -------------------------------------------------------------------------------------------
def test_spend_is_counted_once_per_message_in_its_month_however_often_final_events_arrive(events_harness, capsys):
    events = lifecycle_events() + lifecycle_events(OTHER_MESSAGE_ID)
    events_harness.handle(*events)
    events_harness.handle(*events)  # redelivered
    summary = events_harness.ledger_item("SPEND#2025-10")
    assert summary["messages"] == 2 and summary["parts"] == 2
    assert summary["spend_usd"] == 2 * (Decimal("0.00581") + Decimal("0.00266"))
    first, second = emf(capsys)[-2:]
    assert first["SpendUSD"] == pytest.approx(0.01694) and first["MonthToDateSpendUSD"] == pytest.approx(0.01694)
    assert "SpendUSD" not in second and second["StaleOrDuplicateEvents"] == 6.0


def test_a_retry_after_the_status_was_written_still_counts_the_spend(events_harness):
    delivered = lifecycle_events()[2]
    # The status is written, then the spend's transaction fails, and once more when tried again at once.
    fail_calls(events_harness.clients.dynamodb.meta.client, "TransactWriteItems", "InternalServerError", times=2)
    response = events_harness.handle(delivered)
    assert len(response["batchItemFailures"]) == 1
    assert events_harness.ledger_item(MESSAGE_ID)["status"] == "DELIVERED"
    events_harness.stream.put(delivered)  # the mapping retries the record
    assert events_harness.invoke() == {"batchItemFailures": []}
    assert events_harness.ledger_item("SPEND#2025-10")["messages"] == 1


def requests_of(client: Any) -> Counter:
    """The client's requests from now on, by operation (counted as they are made)."""
    made: Counter = Counter()
    client.meta.events.register("before-call.dynamodb", lambda model, **_: made.update([model.name]))
    return made


def test_a_batch_makes_one_ledger_write_per_message_one_spend_transaction_and_one_month_read(events_harness):
    made = requests_of(events_harness.clients.dynamodb.meta.client)
    events = [e for n in range(4) for e in lifecycle_events(f"m-{n}")]
    random.Random(3).shuffle(events)

    assert events_harness.handle(*events) == {"batchItemFailures": []}

    assert made == {"UpdateItem": 4, "TransactWriteItems": 1, "GetItem": 1}
    summary = events_harness.ledger_item("SPEND#2025-10")
    assert summary["messages"] == 4 and summary["spend_usd"] == 4 * (Decimal("0.00581") + Decimal("0.00266"))
    assert all(events_harness.ledger_item(f"m-{n}")["status"] == "DELIVERED" for n in range(4))


def test_events_older_than_the_stored_status_add_only_their_missing_history_lines(events_harness):
    queued, successful, delivered = lifecycle_events()
    events_harness.handle(delivered)
    made = requests_of(events_harness.clients.dynamodb.meta.client)

    events_harness.handle(successful, queued, delivered)

    assert made == {"UpdateItem": 2}  # the refused conditional write, then the two lines
    assert len(events_harness.ledger_item(MESSAGE_ID)["history"]) == 3
    events_harness.handle(successful)  # an exact duplicate: nothing more
    assert made == {"UpdateItem": 3}


def test_a_spend_transaction_that_fails_reports_every_final_messages_records_and_the_retry_counts_each_once(
    events_harness,
):
    fail_calls(events_harness.clients.dynamodb.meta.client, "TransactWriteItems", "InternalServerError", times=2)
    events = lifecycle_events() + lifecycle_events(OTHER_MESSAGE_ID)
    events_harness.stream.put(*events)
    batch = events_harness.stream.lambda_event()

    response = events_harness.invoke_with(batch)

    assert [failure["itemIdentifier"] for failure in response["batchItemFailures"]] == [
        record["kinesis"]["sequenceNumber"] for record in batch["Records"]
    ]
    assert "SPEND#2025-10" not in events_harness.ledger_items()
    assert events_harness.invoke_with(batch) == {"batchItemFailures": []}  # the mapping retries them
    assert events_harness.invoke_with(batch) == {"batchItemFailures": []}  # and once more, redelivered
    assert events_harness.ledger_item("SPEND#2025-10")["messages"] == 2


def test_a_spend_transaction_that_fails_once_is_tried_again_at_once(events_harness):
    fail_calls(events_harness.clients.dynamodb.meta.client, "TransactWriteItems", "TransactionConflict", times=1)
    assert events_harness.handle(*lifecycle_events()) == {"batchItemFailures": []}
    assert events_harness.ledger_item("SPEND#2025-10")["messages"] == 1


def test_a_ledger_write_that_fails_once_is_tried_again_at_once(events_harness):
    fail_calls(events_harness.clients.dynamodb.meta.client, "UpdateItem", "InternalServerError", times=1)
    assert events_harness.handle(*lifecycle_events()) == {"batchItemFailures": []}
    assert events_harness.ledger_item(MESSAGE_ID)["status"] == "DELIVERED"


def test_a_ledger_write_whose_answer_was_lost_is_found_done_and_its_spend_counted_once(events_harness):
    lost = [1]

    def lose_answer(model: Any, **_: Any) -> None:
        if model.name == "UpdateItem" and lost[0]:
            lost[0] -= 1
            raise ReadTimeoutError(endpoint_url="https://dynamodb.example")

    events_harness.clients.dynamodb.meta.client.meta.events.register("after-call.dynamodb", lose_answer)
    assert events_harness.handle(*lifecycle_events()) == {"batchItemFailures": []}
    assert events_harness.ledger_item("SPEND#2025-10")["messages"] == 1
    assert len(events_harness.ledger_item(MESSAGE_ID)["history"]) == 3


def test_spend_already_counted_is_left_out_of_the_transaction_and_the_rest_is_counted_once(events_harness):
    ledger = events_harness.ledger
    first = SpendDue("m-1", "2025-10", Decimal("0.01"), 1)
    second = SpendDue("m-2", "2025-10", Decimal("0.02"), 2)
    assert ledger.count_spend([first]) == [first]

    assert ledger.count_spend([first, second]) == [second]  # m-1's mark is there: counted before

    summary = events_harness.ledger_item("SPEND#2025-10")
    assert (summary["messages"], summary["parts"], summary["spend_usd"]) == (2, 3, Decimal("0.03"))


def test_more_spend_than_one_transaction_holds_is_counted_in_several_by_month(events_harness):
    made = requests_of(events_harness.ledger_table.meta.client)
    dues = [SpendDue(f"m-{n}", "2025-10" if n % 2 else "2025-11", Decimal("0.01"), 1) for n in range(150)]

    assert events_harness.ledger.count_spend(dues) == dues

    assert made["TransactWriteItems"] == 2  # 100 items at most each: the marks and their months
    for month in ("2025-10", "2025-11"):
        summary = events_harness.ledger_item(f"SPEND#{month}")
        assert summary["messages"] == 75 and summary["spend_usd"] == Decimal("0.75")


# -- opt-out sync ------------------------------------------------------------------------------------
def test_a_destination_blocked_as_opted_out_is_marked_opted_out_in_contacts(events_harness):
    blocked = delivery_event(
        "TEXT_BLOCKED", after_ms=500, is_final=True, status="BLOCKED", description="Destination phone number opted out"
    )
    events_harness.handle(blocked, blocked)
    profile = events_harness.contacts.get_item(Key={"phone_number": "+14255550182", "record": "PROFILE"})["Item"]
    assert profile["opted_out"] is True and profile["consent_message_id"] == MESSAGE_ID
    proofs = events_harness.contacts.query(
        KeyConditionExpression="phone_number = :n AND begins_with(#r, :p)",
        ExpressionAttributeNames={"#r": "record"},
        ExpressionAttributeValues={":n": "+14255550182", ":p": "CONSENT#"},
    )["Items"]
    assert [(p["source"], p["keyword"], p["message_id"]) for p in proofs] == [
        ("DELIVERY_EVENT", "TEXT_BLOCKED", MESSAGE_ID)
    ]


def test_a_block_for_another_reason_leaves_the_contact_alone(events_harness):
    blocked = delivery_event(
        "TEXT_CARRIER_BLOCKED",
        after_ms=500,
        is_final=True,
        status="CARRIER_BLOCKED",
        description="The carrier flagged the message as suspected phishing",
    )
    events_harness.handle(blocked)
    assert "Item" not in events_harness.contacts.get_item(Key={"phone_number": "+14255550182", "record": "PROFILE"})


def test_an_opt_out_reported_by_a_carrier_does_not_undo_a_later_opt_in(events_harness):
    events_harness.contacts_adapter.record_consent(
        number="+14255550182",
        change=ConsentChange.OPTED_IN,
        at_ms=1759342900000,
        message_id="in-9",
        keyword="START",
        our_number="+12125550101",
    )
    events_harness.handle(delivery_event("TEXT_BLOCKED", status="OPTED_OUT", is_final=True))
    profile = events_harness.contacts.get_item(Key={"phone_number": "+14255550182", "record": "PROFILE"})["Item"]
    assert profile["opted_out"] is False


# -- failures ------------------------------------------------------------------------------------------
def test_a_malformed_record_fails_alone_and_is_parked_with_its_reason(events_harness):
    good, other = lifecycle_events()[2], lifecycle_events(OTHER_MESSAGE_ID)[2]
    not_an_sms_event = {**good, "source": "aws.ses"}
    no_message_id = delivery_event(messageId=None)
    response = events_harness.handle(good, b"\xff not json", not_an_sms_event, no_message_id, other)
    assert response == {"batchItemFailures": []}  # retrying them cannot help: they are kept instead
    assert set(events_harness.ledger_items()) == {MESSAGE_ID, OTHER_MESSAGE_ID, "SPEND#2025-10"}
    parked = sorted(events_harness.parked(), key=lambda body: body["sequenceNumber"])
    assert [body["reason"] for body in parked] == [
        "record is not JSON",
        "event is 'aws.ses'/'Text Message Delivery Status Updated', not "
        "'aws.sms-voice'/'Text Message Delivery Status Updated'",
        "event has no messageId or no eventType",
    ]
    assert all(body["eventSourceARN"] == events_harness.stream.arn and body["data"] for body in parked)


def test_a_record_that_fails_for_a_passing_reason_is_reported_by_its_sequence_number(events_harness):
    fail_calls(
        events_harness.clients.dynamodb.meta.client,
        "UpdateItem",
        "ProvisionedThroughputExceededException",
        when=mentions(OTHER_MESSAGE_ID),
    )
    events_harness.stream.put(lifecycle_events()[2], lifecycle_events(OTHER_MESSAGE_ID)[2])
    event = events_harness.stream.lambda_event()
    response = events_harness.invoke_with(event)
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][1]["kinesis"]["sequenceNumber"]}]}
    assert events_harness.ledger_item(MESSAGE_ID)["status"] == "DELIVERED"
    assert events_harness.parked() == []


def test_logs_never_show_a_full_phone_number(events_harness):
    blocked = delivery_event("TEXT_BLOCKED", status="OPTED_OUT", is_final=True)
    events_harness.handle(blocked, b"garbage")
    output = events_harness.logs()
    assert "+1425*****82" in output
    assert "+14255550182" not in output and "14255550182" not in output


# -- volume ---------------------------------------------------------------------------------------------
def test_a_batch_of_1000_records_is_processed(events_harness, capsys):
    message_ids = [f"message-{n:04d}" for n in range(400)]
    records = [event for message_id in message_ids for event in lifecycle_events(message_id)][:1000]
    response = events_harness.handle(*records)
    assert response == {"batchItemFailures": []}
    items = events_harness.ledger_items()
    assert len(items) == 334 + 1  # 333 whole lifecycles, a 334th cut after its first event, the month's spend
    assert sum(1 for item in items.values() if item.get("status") == "DELIVERED") == 333
    assert items["SPEND#2025-10"]["messages"] == 333
    metrics = emf(capsys)[-1]
    assert metrics["DeliveryEvents"] == 1000.0 and metrics["MessagesDelivered"] == 333.0


# -- campaign runs ---------------------------------------------------------------------------------------
@pytest.fixture
def campaign_world():
    """The events harness with ``OUTBOUND_TABLE`` set, and the runs of a started run ``spring-sale/r1``."""
    from datetime import datetime, timezone

    with events_harness_context(outbound_table=True) as harness:
        runs = CampaignRuns(boto3.resource("dynamodb", region_name=REGION).Table("outbound"))
        runs.start("spring-sale", "r1", datetime(2025, 10, 1, 18, 0, tzinfo=timezone.utc))
        yield harness, runs


def _with_campaign(event: dict, campaign: str = "spring-sale/r1") -> dict:
    return {
        **event,
        "detail": {**event["detail"], "context": {"sendKey": "spring-sale:r1:+14255550182", "campaign": campaign}},
    }


def test_a_campaign_message_adds_delivered_to_its_run_once_however_often_its_events_arrive(campaign_world):
    harness, runs = campaign_world
    events = [_with_campaign(e) for e in lifecycle_events()]
    harness.handle(*events)
    harness.handle(*events, events[2])  # redelivered
    report = runs.read("spring-sale", "r1")
    assert (report.delivered, report.failed) == (1, 0)


def test_a_campaign_message_that_fails_adds_failed_and_other_messages_add_nothing(campaign_world):
    harness, runs = campaign_world
    unreachable = delivery_event("TEXT_UNREACHABLE", after_ms=3000, is_final=True, status="UNREACHABLE")
    reply = lifecycle_events(OTHER_MESSAGE_ID)[2]  # a reply: no campaign in its context
    harness.handle(_with_campaign(unreachable), reply)
    report = runs.read("spring-sale", "r1")
    assert (report.delivered, report.failed) == (0, 1)


def test_a_failed_campaign_counter_write_does_not_fail_the_record(campaign_world):
    harness, runs = campaign_world
    fail_calls(
        harness.clients.dynamodb.meta.client,
        "UpdateItem",
        "ProvisionedThroughputExceededException",
        when=lambda params: params.get("TableName") == "outbound",
    )
    assert harness.handle(_with_campaign(lifecycle_events()[2])) == {"batchItemFailures": []}
    assert harness.ledger_item(MESSAGE_ID)["status"] == "DELIVERED"
    assert "campaign run counter not updated" in harness.logs()


# -- settings -------------------------------------------------------------------------------------------
def test_the_lambda_entry_point_reads_its_settings_when_first_invoked_and_refuses_without_them(monkeypatch):
    for name in (*events_contract.REQUIRED, *events_contract.OPTIONAL):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CONTACTS_TABLE", "contacts")
    with pytest.raises(RuntimeError, match=r"missing environment variables \['LEDGER_TABLE', "):
        events_function.handler({"Records": []}, FakeLambdaContext(function_name="events"))


@pytest.mark.parametrize("days", ["0", "1.5", "a year"])
def test_a_ledger_retention_that_is_not_a_whole_number_of_days_is_refused(days):
    with pytest.raises(RuntimeError, match=f"LEDGER_RETENTION_DAYS '{days}' must be a whole number of days"):
        EventsSettings.from_environment(
            events_environment("https://sqs.example/dead-letters", LEDGER_RETENTION_DAYS=days)
        )


def test_the_settings_are_the_environment_they_were_read_from():
    environment = {
        "LEDGER_TABLE": "ledger",
        "CONTACTS_TABLE": "contacts",
        "DEAD_LETTER_QUEUE_URL": "https://q",
        "LEDGER_RETENTION_DAYS": "30",
        "OUTBOUND_TABLE": "outbound",
    }
    assert EventsSettings.from_environment(environment).to_environment() == environment
