"""The state the page and the terminal show, read from the emulated services only.

- customer texts: the inbound ones the customer sent (as published to the topic), every text
  the SMS emulator accepted (``SendTextMessage``) and the keyword replies the number sent by
  itself; encoding and parts from ``two_way_sms.encoding.analyse``; the price is the ledger's
  once a delivery event reported one, else an estimate by number type
  (``pumps.PRICE_PER_PART_USD`` + ``CARRIER_FEE_PER_PART_USD``: ``price_estimated`` says which);
- consent: the contacts table's PROFILE and ``CONSENT#`` proof items, and the emulator's
  opt-out list;
- conversations: the conversations table; an OPEN one past ``expires_at`` shows as EXPIRED;
- outbound outcomes: the outbound table's ``REQUEST#`` items (the destination from the request
  as it was queued, or the ledger), with the release minute of a held one (``HOLD#`` items);
- ledger, campaign runs: the tables' items as stored (JSON-ready);
- dead letters: every dead-letter queue the monitoring alarms name, peeked in moto (nothing
  received, nothing lost), with the ``reason``/``source`` message attributes, or the reason an
  on-failure record carries.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.conditions import Key

from two_way_sms.adapters.campaign_runs import runs_with_shards_still_reading
from two_way_sms.encoding import analyse
from two_way_sms_local.sandbox.clock import iso
from two_way_sms_local.sandbox.contract import (
    BusEvent,
    CampaignView,
    Consent,
    ConsentProof,
    ConversationView,
    CustomerView,
    DeadLetter,
    OutboundView,
    State,
    TextView,
)
from two_way_sms_local.sandbox.pumps import CARRIER_FEE_PER_PART_USD, PRICE_PER_PART_USD

if TYPE_CHECKING:  # pragma: no cover
    from two_way_sms_local.sandbox.engine import Sandbox

CUSTOMER = "customer"


def plain(value: Any) -> Any:
    """A DynamoDB value as JSON: Decimal -> int or float, sets -> sorted lists."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (set, frozenset)):
        return sorted(plain(v) for v in value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return value


def scan(table: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    arguments: dict[str, Any] = {"ConsistentRead": True}
    while True:
        page = table.scan(**arguments)
        items += page.get("Items", [])
        if not page.get("LastEvaluatedKey"):
            return items
        arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def estimate_usd(parts: int, number_type: str) -> str:
    per_part = Decimal(PRICE_PER_PART_USD.get(number_type, "0.00581")) + Decimal(
        CARRIER_FEE_PER_PART_USD.get(number_type, "0.00302")
    )
    return f"{per_part * parts:.5f}"


def build_state(sandbox: Sandbox, selected: str | None = None) -> State:
    tables = sandbox.tables
    ledger_items = scan(tables["ledger"]) if "ledger" in tables else []
    ledger = {item["message_id"]: item for item in ledger_items}
    numbers = _customers(sandbox, selected)
    return State(
        now=iso(sandbox.clock.now()),
        speed=sandbox.speed,
        customers={number: _customer(sandbox, number, ledger) for number in numbers},
        outbound=_outbound(sandbox, ledger),
        bus_events=[
            BusEvent(
                at=str(event.get("time", "")),
                detail_type=str(event.get("detail-type", "")),
                detail=event.get("detail", {}),
            )
            for event in reversed(sandbox.bus.captured)
        ],
        ledger=[
            plain(item)
            for item in sorted(
                ledger_items, key=lambda i: str(i.get("sent_at") or i.get("requested_at") or ""), reverse=True
            )
        ],
        dead_letters=_dead_letters(sandbox),
        campaigns=_campaigns(sandbox),
    )


def _customers(sandbox: Sandbox, selected: str | None) -> list[str]:
    found = dict.fromkeys([t.customer for t in sandbox.inbound_texts])
    found.update(dict.fromkeys(t.destination for t in sandbox.number.sms.sent))
    found.update(dict.fromkeys(r.customer for r in sandbox.number.replies))
    if selected:
        found[selected] = None
    return list(found)


def _customer(sandbox: Sandbox, number: str, ledger: dict[str, dict[str, Any]]) -> CustomerView:
    number_type = sandbox.number.number.number_type
    texts: list[tuple[float, int, TextView]] = []
    for order, inbound in enumerate(t for t in sandbox.inbound_texts if t.customer == number):
        report = analyse(inbound.body)
        view = TextView(
            direction="in",
            body=inbound.body,
            at=iso(inbound.at),
            message_id=inbound.message_id,
            encoding=report.encoding,
            parts=report.parts,
            price_usd=None,
            price_estimated=False,
            status=None,
            statuses=[],
            sent_by=CUSTOMER,
        )
        texts.append((inbound.at, inbound.sequence, view))
    for sent in sandbox.number.sms.sent_to(number):
        report = analyse(sent.body)
        item = ledger.get(sent.message_id, {})
        reported = "price_usd" in item
        price = (
            f"{Decimal(str(item['price_usd'])) + Decimal(str(item.get('carrier_fee_usd', 0))):.5f}"
            if reported
            else estimate_usd(report.parts, number_type)
        )
        texts.append(
            (
                sent.at,
                sandbox.sequence_of(sent.message_id),
                TextView(
                    direction="out",
                    body=sent.body,
                    at=iso(sent.at),
                    message_id=sent.message_id,
                    encoding=report.encoding,
                    parts=report.parts,
                    price_usd=price,
                    price_estimated=not reported,
                    status=item.get("status"),
                    statuses=_statuses(item.get("history", ())),
                    sent_by=sandbox.number.sent_by.get(sent.message_id, "unknown"),
                ),
            )
        )
    for reply in sandbox.number.replies:
        if reply.customer != number:
            continue
        report = analyse(reply.body)
        texts.append(
            (
                reply.at,
                sandbox.sequence_of(reply.message_id),
                TextView(
                    direction="out",
                    body=reply.body,
                    at=iso(reply.at),
                    message_id=reply.message_id,
                    encoding=report.encoding,
                    parts=report.parts,
                    price_usd=estimate_usd(report.parts, number_type),
                    price_estimated=True,
                    status=None,
                    statuses=[],
                    sent_by=reply.sent_by,
                ),
            )
        )
    texts.sort(key=lambda entry: (entry[0], entry[1]))
    return CustomerView(
        number=number,
        carrier=sandbox.number.carrier_outcome(number),
        texts=[view for _, _, view in texts],
        consent=_consent(sandbox, number),
        conversations=_conversations(sandbox, number),
    )


def _statuses(history: Iterable[str]) -> list[str]:
    """The ledger's history lines (``<ISO time> <event type> <status>``) in time order: their statuses."""
    lines = sorted(str(line) for line in history)
    return [line.split(" ")[2] if line.count(" ") >= 2 else line for line in lines]


def _consent(sandbox: Sandbox, number: str) -> Consent:
    contacts = sandbox.tables.get("contacts")
    opted_out, proofs = False, []
    if contacts is not None:
        items = contacts.query(KeyConditionExpression=Key("phone_number").eq(number), ConsistentRead=True)["Items"]
        for item in items:
            record = str(item.get("record", ""))
            if record == "PROFILE":
                opted_out = bool(item.get("opted_out", False))
            elif record.startswith("CONSENT#"):
                detail = {
                    k: plain(v)
                    for k, v in item.items()
                    if k not in ("phone_number", "record", "change", "at", "source")
                }
                proofs.append(
                    ConsentProof(
                        change=str(item.get("change", "")),
                        at=str(item.get("at", "")),
                        source=str(item.get("source", "")),
                        detail=detail,
                    )
                )
    proofs.sort(key=lambda proof: proof["at"])
    return Consent(opted_out=opted_out, on_opt_out_list=number in sandbox.number.sms.opted_out, proofs=proofs)


def _conversations(sandbox: Sandbox, number: str) -> list[ConversationView]:
    table = sandbox.tables.get("conversations")
    if table is None:
        return []
    items = table.query(KeyConditionExpression=Key("customer_number").eq(number), ConsistentRead=True)["Items"]
    now = sandbox.clock.now()
    views = []
    for item in sorted(items, key=lambda i: float(i.get("opened_at", 0))):
        status = str(item.get("status", ""))
        if status == "OPEN" and float(item.get("expires_at", now + 1)) < now:
            status = "EXPIRED"
        detail = {
            k: plain(v)
            for k, v in item.items()
            if k not in ("customer_number", "conversation_id", "flow", "step", "status")
        }
        views.append(
            ConversationView(
                conversation_id=str(item["conversation_id"]),
                flow=str(item.get("flow", "")),
                step=str(item.get("step", "")),
                status=status,
                detail=detail,
            )
        )
    return views


def _outbound(sandbox: Sandbox, ledger: dict[str, dict[str, Any]]) -> list[OutboundView]:
    table = sandbox.tables.get("outbound")
    if table is None:
        return []
    items = scan(table)
    release = {
        str(item["sk"]): str(item["pk"]).removeprefix("HOLD#")
        for item in items
        if str(item.get("pk", "")).startswith("HOLD#")
    }
    views = []
    for item in items:
        if not (str(item.get("pk", "")).startswith("REQUEST#") and item.get("sk") == "OUTCOME"):
            continue
        key = str(item["pk"]).removeprefix("REQUEST#")
        message = ledger.get(str(item.get("message_id", "")), {})
        minute = release.get(key)
        views.append(
            OutboundView(
                key=key,
                destination=sandbox.destinations.get(key) or str(message.get("destination_number", "")),
                status=str(item.get("status", "")),
                reason=item.get("reason"),
                release_at=(minute + ":00Z" if minute and minute[:4].isdigit() else minute),
                at=str(item.get("at", "")),
            )
        )
    views.sort(key=lambda view: view["at"], reverse=True)
    return views


def _campaigns(sandbox: Sandbox) -> list[CampaignView]:
    table = sandbox.tables.get("outbound")
    if table is None:
        return []
    views = []
    for campaign_id, run_id, merged in runs_with_shards_still_reading(scan(table)):  # a run read in shards too
        counts = {
            k: int(v)
            for k, v in merged.items()
            if isinstance(v, (Decimal, int)) and not isinstance(v, bool) and k not in ("version",)
        }
        views.append(
            CampaignView(
                campaign_id=campaign_id,
                run_id=run_id,
                status=str(merged.get("status", "")),
                counts=counts,
            )
        )
    return views


def _dead_letters(sandbox: Sandbox) -> dict[str, list[DeadLetter]]:
    parked: dict[str, list[DeadLetter]] = {}
    for label, queue_name in sandbox.dead_letter_queues.items():
        parked[label] = [_dead_letter(body, attributes) for body, attributes in sandbox.peek_queue(queue_name)]
    return parked


def _dead_letter(body: str, attributes: dict[str, str]) -> DeadLetter:
    reason, source = attributes.get("reason"), attributes.get("source")
    if reason is None:
        try:
            record = json.loads(body)
        except ValueError:
            record = None
        if isinstance(record, dict) and isinstance(record.get("requestContext"), dict):
            # A Lambda on-failure record: why Lambda gave up, and on which function.
            context = record["requestContext"]
            response = record.get("responsePayload") or {}
            reason = str(context.get("condition"))
            if isinstance(response, dict) and response.get("errorMessage"):
                reason += f": {response.get('errorType')}: {response['errorMessage']}"
            source = str(context.get("functionArn", "")).split(":function:")[-1].split(":")[0] or None
        elif isinstance(record, dict) and "reason" in record:
            reason, source = str(record["reason"]), record.get("source")
    return DeadLetter(reason=reason, source=source, body=body)
