"""Recording delivery events with in-memory fakes of the ports: the tally, the campaign outcome, opt-outs, parking."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.unit.fakes_campaigns import RecordingTelemetry
from two_way_sms import metric_names
from two_way_sms.adapters.contacts import ConsentRecorded
from two_way_sms.adapters.ledger import MessageApplied, SpendDue
from two_way_sms.delivery import DeliveryEvent
from two_way_sms.delivery_batches import MessageEvents
from two_way_sms.responder import ConsentChange
from two_way_sms.services.record_delivery_events import RECORD_FAILED, DeliveryEventRecorder, StreamRecord
from two_way_sms_local.emulation import MESSAGE_ID, delivery_event, lifecycle_events

CUSTOMER = "+14255550182"  # the sample's destination
SPEND = Decimal("0.00581") + Decimal("0.00266")  # the sample's price and carrier fee


class MemoryLedger:
    """The ledger's answers: the greatest status key wins, the first final status makes its spend due once."""

    def __init__(self) -> None:
        self.best: dict[str, DeliveryEvent] = {}
        self.counted: dict[str, str] = {}  # message id -> month
        self.months: dict[str, Decimal] = {}
        self.fail: dict[str, Exception] = {}  # message id -> error, once
        self.fail_spend: Exception | None = None  # once
        self.writes: list[str] = []  # message ids, one per apply_message
        self.spend_counts: list[list[str]] = []  # the message ids of each count_spend
        self.months_read: list[str] = []

    def apply_message(self, message: MessageEvents) -> MessageApplied:
        self.writes.append(message.message_id)
        if message.message_id in self.fail:
            raise self.fail.pop(message.message_id)
        current, winner = self.best.get(message.message_id), message.winner
        if current is not None and current.status_key >= winner.status_key:
            return MessageApplied(
                advanced=(False,) * len(message.events), became_final=False, spend_due=self._due(current)
            )
        self.best[message.message_id] = winner
        return MessageApplied(
            advanced=message.advanced(current.status_key if current else None),
            became_final=winner.is_final and not (current is not None and current.is_final),
            spend_due=self._due(winner),
        )

    def count_spend(self, dues: Sequence[SpendDue]) -> list[SpendDue]:
        self.spend_counts.append([due.message_id for due in dues])
        if self.fail_spend is not None:
            error, self.fail_spend = self.fail_spend, None
            raise error
        counted = [due for due in dues if due.message_id not in self.counted]
        for due in counted:
            self.counted[due.message_id] = due.month
            self.months[due.month] = self.months.get(due.month, Decimal(0)) + due.spend_usd
        return counted

    def month_to_date(self, month: str) -> Decimal:
        self.months_read.append(month)
        return self.months.get(month, Decimal(0))

    def _due(self, event: DeliveryEvent) -> SpendDue | None:
        if not event.is_final or event.message_id in self.counted:
            return None
        return SpendDue(event.message_id, event.billing_month, event.spend_usd, event.parts)


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
    writes: int = 0

    def add_counts(self, campaign_id: str, run_id: str, counts: Mapping[str, int], chunk: str | None = None) -> bool:
        self.writes += 1
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

    def batch(self, *records: dict[str, Any] | bytes | StreamRecord, campaigns: bool = True) -> list[str]:
        """One invocation of every record; the sequence numbers of the records that failed."""
        return self.recorder(campaigns=campaigns).record_batch(
            [
                record if isinstance(record, StreamRecord) else stream_record(record, n)
                for n, record in enumerate(records)
            ]
        )

    def failure_lines(self) -> list[dict[str, Any]]:
        return [fields for level, message, fields in self.telemetry.lines if message == RECORD_FAILED]


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

    failed = world.batch(
        not_base64,
        stream_record(b"\xff not json", 2),
        stream_record({**good, "source": "aws.ses"}, 3),
        stream_record(good, 4),
    )

    assert failed == []
    reasons = [reason for _, reason, _ in world.dead_letters.parked]
    assert reasons[:2] == ["record data is not base64", "record is not JSON"]
    assert reasons[2].startswith("event is 'aws.ses'")
    body, _, source = world.dead_letters.parked[1]
    assert source == "events-handler" and body["sequenceNumber"] == "49590002" and body["data"]
    assert body["eventSourceARN"] == "arn:aws:kinesis:stream" and body["reason"] == "record is not JSON"
    counts = world.telemetry.counts
    assert counts[metric_names.MALFORMED_DELIVERY_EVENTS] == 3 and counts[metric_names.DELIVERY_EVENTS] == 1
    assert [fields["sequence_number"] for level, _, fields in world.telemetry.lines if level == "ERROR"] == [
        "1",
        "49590002",
        "49590003",
    ]


def test_a_record_that_cannot_be_parked_fails_alone(world):
    def unreachable(body: str, **_: Any) -> str:
        raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "down"}}, "SendMessage")

    world.dead_letters.park = unreachable  # type: ignore[method-assign]

    failed = world.batch(b"not json", lifecycle_events()[2])

    assert failed == ["49590000"]
    assert world.ledger.best[MESSAGE_ID].event_type == "TEXT_DELIVERED"
    [line] = world.failure_lines()
    assert line["sequence_number"] == "49590000" and line["error_type"] == "ClientError"


# -- one ledger write per message, one spend count per batch ----------------------------------------------------
def test_the_events_of_one_message_in_a_batch_make_one_ledger_write_and_one_spend_count(world):
    first, second = lifecycle_events("m-1"), lifecycle_events("m-2")
    interleaved = [first[0], second[0], first[1], second[2], first[2], second[1]]

    assert world.batch(*interleaved) == []

    assert world.ledger.writes == ["m-1", "m-2"]
    assert world.ledger.spend_counts == [["m-1", "m-2"]]
    assert world.ledger.months_read == ["2025-10"]
    assert world.telemetry.counts[metric_names.MESSAGES_DELIVERED] == 2
    assert world.telemetry.counts[metric_names.STALE_OR_DUPLICATE_EVENTS] == 1  # m-2's successful after delivered
    assert world.telemetry.amounts[metric_names.SPEND_USD] == pytest.approx(float(2 * SPEND))


def test_an_event_older_than_the_stored_status_counts_as_stale_and_writes_nothing_new(world):
    queued, successful, delivered = lifecycle_events()
    world.batch(delivered)
    world.telemetry.counts.clear()

    assert world.batch(successful, queued) == []

    assert world.telemetry.counts[metric_names.STALE_OR_DUPLICATE_EVENTS] == 2
    assert world.ledger.best[MESSAGE_ID].event_type == "TEXT_DELIVERED"
    assert world.ledger.spend_counts == [[MESSAGE_ID]]  # counted with the first batch only


# -- passing failures: every record of the message reported, the retry finishes ------------------------------------
def test_a_ledger_write_that_fails_reports_every_record_of_that_message_and_only_those(world):
    world.ledger.fail["m-2"] = ClientError(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}}, "UpdateItem"
    )
    first, second = lifecycle_events("m-1"), lifecycle_events("m-2")

    failed = world.batch(first[0], second[0], first[2], second[2])

    assert failed == ["49590001", "49590003"]
    warning = next(fields for level, _, fields in world.telemetry.lines if level == "WARNING")
    assert warning == {"message_id": "m-2", "code": "ProvisionedThroughputExceededException"}
    assert [line["sequence_number"] for line in world.failure_lines()] == ["49590001", "49590003"]
    assert world.failure_lines()[0]["reason"].startswith("ClientError: ")
    assert world.telemetry.counts[metric_names.DELIVERY_EVENTS] == 2  # m-2's are counted when they succeed
    assert world.batch(second[0], first[2], second[2]) == []  # the stream retries from the first failed
    assert set(world.ledger.counted) == {"m-1", "m-2"}


def test_a_spend_count_that_fails_reports_its_messages_and_their_retry_counts_it_once(world):
    world.ledger.fail_spend = ClientError({"Error": {"Code": "TransactionCanceledException"}}, "TransactWriteItems")
    events = lifecycle_events("m-1") + lifecycle_events("m-2")

    failed = world.batch(*events)

    assert failed == [f"4959{n:04d}" for n in range(6)]
    assert world.ledger.counted == {}
    assert world.telemetry.counts[metric_names.MESSAGES_DELIVERED] == 2  # the ledger writes made them final
    assert metric_names.SPEND_USD not in world.telemetry.amounts
    world.telemetry.counts.clear()

    assert world.batch(*events) == []

    assert set(world.ledger.counted) == {"m-1", "m-2"} and world.ledger.months["2025-10"] == 2 * SPEND
    assert metric_names.MESSAGES_DELIVERED not in world.telemetry.counts
    assert world.telemetry.amounts[metric_names.SPEND_USD] == pytest.approx(float(2 * SPEND))


def test_a_month_total_that_cannot_be_read_fails_nothing(world):
    def unreadable(month: str) -> Decimal:
        raise ClientError({"Error": {"Code": "InternalServerError", "Message": "oops"}}, "GetItem")

    world.ledger.month_to_date = unreadable  # type: ignore[method-assign]

    assert world.batch(*lifecycle_events()) == []
    assert world.telemetry.amounts == {metric_names.SPEND_USD: pytest.approx(float(SPEND))}
    assert ("WARNING", "month-to-date spend not read") in [
        (level, message) for level, message, _ in world.telemetry.lines
    ]


# -- campaign outcomes: once per message, one write per run -------------------------------------------------------
def test_a_campaign_message_adds_its_fate_to_its_run_once(world):
    events = [with_campaign(event) for event in lifecycle_events()]
    world.batch(*events)
    world.batch(*events)
    failed = delivery_event("TEXT_UNREACHABLE", after_ms=3000, is_final=True, status="UNREACHABLE", message_id="m-2")
    world.batch(with_campaign(failed), lifecycle_events("m-3")[2])  # a reply: no campaign

    assert world.runs.counts == {("spring-sale", "r1"): {"delivered": 1, "failed": 1}}


def test_a_batchs_outcomes_are_summed_into_one_write_per_run(world):
    delivered = [with_campaign(lifecycle_events(f"m-{n}")[2]) for n in range(3)]
    failed = delivery_event("TEXT_UNREACHABLE", after_ms=3000, is_final=True, status="UNREACHABLE", message_id="m-9")
    other_run = with_campaign(lifecycle_events("m-7")[2], "spring-sale/r2")

    world.batch(*delivered, with_campaign(failed), other_run)

    assert world.runs.writes == 2
    assert world.runs.counts == {
        ("spring-sale", "r1"): {"delivered": 3, "failed": 1},
        ("spring-sale", "r2"): {"delivered": 1},
    }


def test_a_campaign_counter_that_cannot_be_written_is_logged_and_the_record_succeeds(world):
    world.runs.fail = True
    assert world.batch(with_campaign(lifecycle_events()[2])) == []
    [(level, message, fields)] = world.telemetry.lines
    assert (level, message) == ("WARNING", "campaign run counter not updated")
    assert (fields["campaign"], fields["run_id"], fields["delivered"], fields["failed"]) == ("spring-sale", "r1", 1, 0)


def test_without_the_outbound_feature_no_run_is_counted(world):
    assert world.batch(with_campaign(lifecycle_events()[2]), campaigns=False) == []
    assert world.runs.counts == {}


# -- opt-outs carriers report ------------------------------------------------------------------------------------
def test_a_block_for_an_opt_out_records_the_contacts_opt_out_with_its_proof(world):
    blocked = delivery_event(
        "TEXT_BLOCKED", is_final=True, status="BLOCKED", description="Destination phone number opted out"
    )
    world.batch(blocked, blocked)  # once per message in a batch
    world.batch(blocked)  # redelivered later: asked again, no new proof

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


def test_a_contact_opt_out_that_fails_reports_the_messages_records(world):
    def unavailable(**_: Any) -> ConsentRecorded:
        raise ClientError({"Error": {"Code": "InternalServerError", "Message": "oops"}}, "PutItem")

    world.consent.record_consent = unavailable  # type: ignore[method-assign]
    blocked = delivery_event("TEXT_BLOCKED", status="OPTED_OUT", is_final=True)

    assert world.batch(lifecycle_events("m-1")[2], blocked) == ["49590001"]
    assert world.ledger.best[MESSAGE_ID].event_type == "TEXT_BLOCKED"  # the retry finds it written
