"""Recording delivery events with in-memory fakes of the ports: the tally, the campaign outcome, opt-outs, parking."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.unit.fakes_campaigns import RecordingTelemetry
from two_way_sms import metric_names
from two_way_sms.adapters.contacts import ConsentRecorded
from two_way_sms.adapters.ledger import Applied
from two_way_sms.delivery import DeliveryEvent
from two_way_sms.responder import ConsentChange
from two_way_sms.services.record_delivery_events import BatchTally, DeliveryEventRecorder, StreamRecord
from two_way_sms_local.emulation import MESSAGE_ID, delivery_event, lifecycle_events

CUSTOMER = "+14255550182"  # the sample's destination
SPEND = Decimal("0.00581") + Decimal("0.00266")  # the sample's price and carrier fee


class MemoryLedger:
    """The ledger's answers: the greatest status key wins, the first final status counts the spend once."""

    def __init__(self) -> None:
        self.best: dict[str, DeliveryEvent] = {}
        self.month_usd = Decimal(0)
        self.fail: dict[str, Exception] = {}  # message id -> error, once

    def apply(self, event: DeliveryEvent) -> Applied:
        if event.message_id in self.fail:
            raise self.fail.pop(event.message_id)
        current = self.best.get(event.message_id)
        if current is not None and current.status_key >= event.status_key:
            return Applied(advanced=False, became_final=False)
        self.best[event.message_id] = event
        if not event.is_final or (current is not None and current.is_final):
            return Applied(advanced=True, became_final=False)
        self.month_usd += event.spend_usd
        return Applied(
            advanced=True,
            became_final=True,
            counted_spend=event.spend_usd,
            counted_parts=event.parts,
            month_to_date_usd=self.month_usd,
        )


@dataclass
class MemoryConsent:
    """Every consent change asked for; a proof is new once per (number, message id)."""

    opt_outs: list[dict[str, Any]] = field(default_factory=list)

    def record_consent(
        self,
        *,
        number: str,
        change: ConsentChange,
        at_ms: int,
        message_id: str,
        keyword: str,
        our_number: str,
        source: str = "KEYWORD",
    ) -> ConsentRecorded:
        new = all((o["number"], o["message_id"]) != (number, message_id) for o in self.opt_outs)
        self.opt_outs.append(
            {"number": number, "change": change, "message_id": message_id, "keyword": keyword, "source": source}
        )
        return ConsentRecorded(new_proof=new, current=True)


@dataclass
class MemoryCampaignRuns:
    counts: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    fail: bool = False

    def add_counts(self, campaign_id: str, run_id: str, counts: Mapping[str, int], chunk: str | None = None) -> bool:
        if self.fail:
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}}, "UpdateItem"
            )
        run = self.counts.setdefault((campaign_id, run_id), {})
        for name, value in counts.items():
            run[name] = run.get(name, 0) + value
        return True


@dataclass
class MemoryDeadLetters:
    parked: list[tuple[dict[str, Any], str, str]] = field(default_factory=list)

    def park(self, body: str, *, reason: str, source: str, attributes: Mapping[str, str] | None = None) -> str:
        self.parked.append((json.loads(body), reason, source))
        return "dead-letter-1"


@dataclass
class World:
    ledger: MemoryLedger = field(default_factory=MemoryLedger)
    consent: MemoryConsent = field(default_factory=MemoryConsent)
    runs: MemoryCampaignRuns = field(default_factory=MemoryCampaignRuns)
    dead_letters: MemoryDeadLetters = field(default_factory=MemoryDeadLetters)
    telemetry: RecordingTelemetry = field(default_factory=RecordingTelemetry)

    def recorder(self, *, campaigns: bool = True) -> DeliveryEventRecorder:
        return DeliveryEventRecorder(
            ledger=self.ledger,
            contacts=self.consent,
            dead_letters=self.dead_letters,
            telemetry=self.telemetry,
            campaign_runs=self.runs if campaigns else None,
        )

    def batch(self, *records: dict[str, Any] | bytes, campaigns: bool = True) -> list[Exception]:
        """One invocation: every record, then the metrics; the errors records raised, in order."""
        recorder, tally, errors = self.recorder(campaigns=campaigns), BatchTally(), []
        for sequence, record in enumerate(records):
            try:
                recorder.record(stream_record(record, sequence), tally)
            except Exception as error:
                errors.append(error)
        recorder.write_metrics(tally)
        return errors


def stream_record(record: dict[str, Any] | bytes, sequence: int = 0) -> StreamRecord:
    data = record if isinstance(record, bytes) else json.dumps(record).encode()
    return StreamRecord(
        sequence_number=f"4959{sequence:04d}",
        partition_key="p",
        data=base64.b64encode(data).decode(),
        event_source_arn="arn:aws:kinesis:stream",
    )


def with_campaign(event: dict[str, Any], campaign: str = "spring-sale/r1") -> dict[str, Any]:
    return {**event, "detail": {**event["detail"], "context": {"campaign": campaign}}}


@pytest.fixture
def world() -> World:
    return World()


# -- the tally: written once per invocation -------------------------------------------------------------------
def test_a_batchs_metrics_are_tallied_and_written_once(world):
    queued, successful, delivered = lifecycle_events()
    assert world.batch(queued, successful, delivered, delivered) == []

    assert world.telemetry.counts == {
        metric_names.DELIVERY_EVENTS: 4,
        metric_names.event_type_metric("TEXT_QUEUED"): 1,
        metric_names.event_type_metric("TEXT_SUCCESSFUL"): 1,
        metric_names.event_type_metric("TEXT_DELIVERED"): 2,
        metric_names.STALE_OR_DUPLICATE_EVENTS: 1,
        metric_names.MESSAGES_DELIVERED: 1,
        metric_names.MESSAGE_PARTS_BILLED: 1,
    }
    assert world.telemetry.amounts == {
        metric_names.SPEND_USD: pytest.approx(float(SPEND)),
        metric_names.MONTH_TO_DATE_SPEND_USD: pytest.approx(float(SPEND)),
    }


def test_each_invocation_has_its_own_tally(world):
    world.batch(*lifecycle_events())
    world.telemetry.counts.clear()
    world.telemetry.amounts.clear()
    world.batch(*lifecycle_events())  # redelivered: nothing new

    assert world.telemetry.counts[metric_names.STALE_OR_DUPLICATE_EVENTS] == 3
    assert metric_names.MESSAGES_DELIVERED not in world.telemetry.counts and world.telemetry.amounts == {}


# -- what can never be processed: parked, and the batch goes on ---------------------------------------------------
def test_records_that_are_not_delivery_events_are_parked_with_their_reason_and_the_batch_goes_on(world):
    good = lifecycle_events()[2]
    not_base64 = StreamRecord(sequence_number="1", partition_key="p", data="abc")

    recorder, tally = world.recorder(), BatchTally()
    recorder.record(not_base64, tally)
    recorder.record(stream_record(b"\xff not json", 2), tally)
    recorder.record(stream_record({**good, "source": "aws.ses"}, 3), tally)
    recorder.record(stream_record(good, 4), tally)

    reasons = [reason for _, reason, _ in world.dead_letters.parked]
    assert reasons[:2] == ["record data is not base64", "record is not JSON"]
    assert reasons[2].startswith("event is 'aws.ses'")
    body, _, source = world.dead_letters.parked[1]
    assert source == "events-handler" and body["sequenceNumber"] == "49590002" and body["data"]
    assert body["eventSourceARN"] == "arn:aws:kinesis:stream" and body["reason"] == "record is not JSON"
    assert tally.counts[metric_names.MALFORMED_DELIVERY_EVENTS] == 3 and tally.counts[metric_names.DELIVERY_EVENTS] == 1
    assert [fields["sequence_number"] for level, _, fields in world.telemetry.lines if level == "ERROR"] == [
        "1",
        "49590002",
        "49590003",
    ]


def test_a_ledger_write_that_fails_is_logged_with_its_code_and_raised_for_the_streams_retry(world):
    world.ledger.fail[MESSAGE_ID] = ClientError(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}}, "UpdateItem"
    )

    [error] = world.batch(lifecycle_events()[2])

    assert isinstance(error, ClientError)
    [(level, message, fields)] = world.telemetry.lines
    assert (level, message) == ("WARNING", "ledger write failed; the record will be retried")
    assert fields == {"message_id": MESSAGE_ID, "code": "ProvisionedThroughputExceededException"}
    assert metric_names.DELIVERY_EVENTS not in world.telemetry.counts  # counted when it succeeds
    assert world.batch(lifecycle_events()[2]) == []  # the retry


# -- campaign outcomes: once per message ---------------------------------------------------------------------
def test_a_campaign_message_adds_its_fate_to_its_run_once(world):
    events = [with_campaign(event) for event in lifecycle_events()]
    world.batch(*events)
    world.batch(*events)
    failed = delivery_event("TEXT_UNREACHABLE", after_ms=3000, is_final=True, status="UNREACHABLE", message_id="m-2")
    world.batch(with_campaign(failed), lifecycle_events("m-3")[2])  # a reply: no campaign

    assert world.runs.counts == {("spring-sale", "r1"): {"delivered": 1, "failed": 1}}


def test_a_campaign_counter_that_cannot_be_written_is_logged_and_the_record_succeeds(world):
    world.runs.fail = True
    assert world.batch(with_campaign(lifecycle_events()[2])) == []
    [(level, message, fields)] = world.telemetry.lines
    assert (level, message) == ("WARNING", "campaign run counter not updated")
    assert (fields["campaign"], fields["run_id"], fields["outcome"]) == ("spring-sale", "r1", "delivered")


def test_without_the_outbound_feature_no_run_is_counted(world):
    assert world.batch(with_campaign(lifecycle_events()[2]), campaigns=False) == []
    assert world.runs.counts == {}


# -- opt-outs carriers report ------------------------------------------------------------------------------------
def test_a_block_for_an_opt_out_records_the_contacts_opt_out_with_its_proof(world):
    blocked = delivery_event(
        "TEXT_BLOCKED", is_final=True, status="BLOCKED", description="Destination phone number opted out"
    )
    world.batch(blocked, blocked)

    assert [(o["number"], o["change"], o["source"], o["keyword"]) for o in world.consent.opt_outs] == [
        (CUSTOMER, ConsentChange.OPTED_OUT, "DELIVERY_EVENT", "TEXT_BLOCKED")
    ] * 2
    assert world.telemetry.counts[metric_names.OPT_OUTS_FROM_DELIVERY_EVENTS] == 1  # the repeat adds no proof
    [(_, _, fields)] = world.telemetry.lines
    assert fields["customer"] == "+1425*****82"


def test_a_block_for_another_reason_records_nothing(world):
    world.batch(
        delivery_event(
            "TEXT_CARRIER_BLOCKED",
            is_final=True,
            status="CARRIER_BLOCKED",
            description="The carrier flagged the message as suspected phishing",
        )
    )
    assert world.consent.opt_outs == []
