"""Business events reach the bus (moto EventBridge, a rule to an SQS queue), in order, retried when refused."""

from __future__ import annotations

import json

import boto3
import pytest

from two_way_sms.adapters.business_events import BusinessEventBus, EventsNotDelivered
from two_way_sms.conversations.engine import BusinessEvent
from two_way_sms_local.emulation import REGION

NOW = 1_772_654_400.0


@pytest.fixture
def bus(emulated_aws):
    events, sqs = boto3.client("events", region_name=REGION), boto3.client("sqs", region_name=REGION)
    events.create_event_bus(Name="business")
    queue_url = sqs.create_queue(QueueName="desk")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="all", EventBusName="business", EventPattern=json.dumps({"source": ["two-way-sms"]}))
    events.put_targets(Rule="all", EventBusName="business", Targets=[{"Id": "desk", "Arn": arn}])
    yield events, sqs, queue_url


def received(sqs, queue_url):
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(message["Body"]) for message in messages]


def event(detail_type, n):
    return BusinessEvent(detail_type, {"conversationId": f"c-{n}", "reference": "appt-77", "occurredAt": NOW + n})


def test_events_reach_the_bus_with_their_type_and_detail(bus):
    events, sqs, queue_url = bus

    BusinessEventBus(events, "business").put([event("appointment.cancelled", 1), event("appointment.rebooked", 2)])

    got = received(sqs, queue_url)
    assert [e["detail-type"] for e in got] == ["appointment.cancelled", "appointment.rebooked"]
    assert got[0]["source"] == "two-way-sms" and got[0]["detail"]["conversationId"] == "c-1"
    assert got[1]["time"].startswith("2026-03-04T20:00:02")


def test_more_than_ten_events_go_in_requests_of_ten(bus):
    events, sqs, queue_url = bus
    calls = []
    original = events.put_events
    events.put_events = lambda **kwargs: calls.append(len(kwargs["Entries"])) or original(**kwargs)

    BusinessEventBus(events, "business").put([event("reply.received", n) for n in range(23)])

    assert calls == [10, 10, 3]


def test_refused_entries_are_sent_again_and_a_lasting_refusal_is_raised(monkeypatch):
    monkeypatch.setattr("two_way_sms.adapters.business_events.time.sleep", lambda seconds: None)

    class Flaky:
        def __init__(self, refusals):
            self.refusals, self.sent = refusals, []

        def put_events(self, Entries):
            results = []
            for entry in Entries:
                if self.refusals:
                    self.refusals -= 1
                    results.append({"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"})
                else:
                    self.sent.append(entry["DetailType"])
                    results.append({"EventId": "e"})
            return {"FailedEntryCount": sum("ErrorCode" in r for r in results), "Entries": results}

    flaky = Flaky(refusals=1)
    BusinessEventBus(flaky, "business").put([event("appointment.confirmed", 1), event("reply.received", 2)])
    assert sorted(flaky.sent) == ["appointment.confirmed", "reply.received"]

    with pytest.raises(EventsNotDelivered, match="1 business events not delivered to business: ThrottlingException"):
        BusinessEventBus(Flaky(refusals=100), "business").put([event("appointment.confirmed", 1)])
