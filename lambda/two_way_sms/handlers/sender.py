"""Sender: SQS batches of send requests in; paced, consented texts out through End User Messaging.

Per request: read the contact, let the domain plan it (``plan_send``: refuse, hold or
send), then carry the plan out through the adapters:

- REFUSE: the outcome is stored with its reason (and counted on the campaign run);
- HOLD: a hold of up to 15 minutes goes back to the queue as a delayed message; a longer
  one waits in the outbound table for its minute's release schedule. Either way the
  request is planned again when it comes back (quiet hours are checked again);
- HOLD for the month's budget (``MONTHLY_BUDGET_USD``, ``BUDGET_HARD_STOP``; see
  ``two_way_sms.outbound.budget``): the month's counted spend is read once per batch (and
  cached briefly); a request it holds is parked in the outbound table with its reason until
  the budget allows it again. The campaigns function's recurring check puts one back now
  and then; when the sender finds the budget allows a request it had held (the budget was
  raised, or the month turned), it schedules the release of all of them. A send the
  account's own spend limit stopped waits the same way (ACCOUNT_SPEND_LIMIT), until one of
  them is sent again;
- a request that opens a conversation is texted its flow's start prompt (with a one-use
  code from KMS when the flow takes one); once it is sent, the conversation is stored
  with the prompt's message id, so the customer's reply finds it;
- SEND: once every record of the batch is planned, the batch's sends are booked on the
  number's shared schedule in one write (each capped campaign's own schedule first),
  packed by ``two_way_sms.pacing``; then each waits for its slot and ``SendTextMessage``
  goes at most once per idempotency key. A slot beyond the horizon, a throttle or a low
  time budget put the request back on the queue with a delay: deferred, never dropped and
  never a failed record (which would count towards the dead-letter queue).

A request that cannot be read (not JSON, an unsupported number, an unknown field) can
never succeed: it is parked at once in the dead-letter queue (``DEAD_LETTER_QUEUE_URL``)
with its reason as a message attribute, and its record succeeds. Only an AWS error other
than a throttle fails a record: SQS retries it and its redrive policy parks it in the
dead-letter queue. Every failed record is logged once with its SQS message id and the reason.
"""

from __future__ import annotations

import math
import os
import random
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Iterator

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from two_way_sms import metric_names
from two_way_sms.adapters.batch_failures import LoggedBatchProcessor, failure_reason, mask_numbers
from two_way_sms.adapters.campaign_runs import CampaignRuns, refused
from two_way_sms.adapters.contacts import ContactsTable
from two_way_sms.adapters.conversations import ConversationMoved, ConversationStore
from two_way_sms.adapters.dead_letters import DeadLetterQueue
from two_way_sms.adapters.flow_settings import FlowSettings
from two_way_sms.adapters.held_requests import HeldRequests
from two_way_sms.adapters.ledger import MessageLedger
from two_way_sms.adapters.one_use_codes import OneUseCodes
from two_way_sms.adapters.outbound_queue import MAX_DELAY_SECONDS, OutboundQueue
from two_way_sms.adapters.request_outcomes import HELD, REFUSED, SENT, RequestOutcome, RequestOutcomes
from two_way_sms.adapters.request_outcomes import UNKNOWN as UNKNOWN_OUTCOME
from two_way_sms.adapters.send_claims import DONE, SENDING, SendClaims
from two_way_sms.adapters.sms import PriceAboveMax, RetryableSendError, SendOutcomeUnknown, SendRejected, SmsGateway
from two_way_sms.adapters.spend import MonthSpend
from two_way_sms.adapters.throughput import ThroughputSchedule
from two_way_sms.conversations.engine import Conversation, ConversationError, open_conversation, sent_at
from two_way_sms.outbound.budget import (
    ACCOUNT_SPEND_LIMIT,
    BUDGET_HARD_STOP,
    BUDGET_HOLD_REASONS,
    BUDGET_REACHED,
    SPEND_LIMIT_ERROR,
    BudgetState,
    budget_from_environment,
    month_of,
)
from two_way_sms.outbound.contact_state import ContactState
from two_way_sms.outbound.policy import (
    MISSING_VARIABLES,
    OPTED_OUT,
    PRICE_ABOVE_MAX,
    REJECTED,
    Outcome,
    SenderSettings,
    SendPlan,
    plan_send,
)
from two_way_sms.outbound.request import PROMOTIONAL, InvalidSendRequest, SendRequest, parse_send_request
from two_way_sms.outbound.templates import templates_from_json
from two_way_sms.pacing import Wanted
from two_way_sms.phone import mask
from two_way_sms.responder import ConsentChange
from two_way_sms.settings import conversation_settings

REQUIRED_SETTINGS = (
    "OUTBOUND_QUEUE_URL", "OUTBOUND_TABLE", "CONTACTS_TABLE", "LEDGER_TABLE",
    "LEDGER_RETENTION_DAYS", "CONFIGURATION_SET", "SENDER_SETTINGS", "TEMPLATES", "SCHEDULE_GROUP",
    "RELEASE_TARGET_ARN", "SCHEDULER_ROLE_ARN", "SCHEDULE_DEAD_LETTER_QUEUE_ARN",
)

# How far ahead a batch may book its slots: an invocation waits at most this long for its
# last one. Long enough for two batches of ten at 1 MPS, so the default concurrency of 2
# keeps a 10DLC number busy without deferring; an idle wait costs Lambda time only.
MAX_PACING_HORIZON_SECONDS = 30.0
# What an invocation keeps back from its time budget: once, and for each send's bookkeeping.
SEND_MARGIN_SECONDS = 5.0
SECONDS_PER_SEND = 1.0
# A deferred request comes back this long before its projected slot: within the next horizon.
DEFERRAL_LEAD_SECONDS = MAX_PACING_HORIZON_SECONDS / 2
IN_PROGRESS_RETRY_SECONDS = 10  # another invocation is sending this very request
CLAIM_FINISH_ATTEMPTS = 3
MAX_THROTTLE_BACKOFF_SECONDS = MAX_DELAY_SECONDS
# A duplicate of a request can come from its producer, SQS or a held-request release;
# two weeks covers them all (outcomes are kept 30 days as a second guard).
SOURCE = "sender"  # the dead-letter messages' "source"
# How long one read of the month's spend serves the batches after it.
SPEND_CACHE_SECONDS = 30.0
# One release of the budget holds per execution environment in this long at most (the
# released requests each come back as one the budget had held).
BUDGET_RELEASE_EVERY_SECONDS = 300.0


def _settings_from_environment() -> dict[str, str]:
    missing = [name for name in REQUIRED_SETTINGS if not os.environ.get(name)]
    if missing:
        raise RuntimeError(f"sender handler is missing environment variables {missing}: deploy it with the construct")
    try:
        budget_from_environment(os.environ.get("MONTHLY_BUDGET_USD"), os.environ.get("BUDGET_HARD_STOP"))
    except ValueError as error:
        raise RuntimeError(f"sender handler settings are invalid: {error}") from None
    # Optional: a sender deployed without conversations refuses conversation requests (UNKNOWN_FLOW);
    # without DEAD_LETTER_QUEUE_URL a malformed request fails its record until the redrive policy parks it.
    optional = {name: os.environ[name] for name in ("DEAD_LETTER_QUEUE_URL",) if os.environ.get(name)}
    return {**{name: os.environ[name] for name in REQUIRED_SETTINGS}, **optional,
            **conversation_settings(os.environ, "sender")}


class SystemClock:
    """Wall-clock time. Tests replace the module's ``clock`` with a simulated one."""

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


_env = _settings_from_environment()
logger = Logger()
metrics = Metrics()
tracer = Tracer()

settings = SenderSettings.from_json(_env["SENDER_SETTINGS"])
templates = templates_from_json(_env["TEMPLATES"])
clock: Any = SystemClock()

_dynamodb = boto3.resource("dynamodb")
_outbound_table = _dynamodb.Table(_env["OUTBOUND_TABLE"])
contacts = ContactsTable(_dynamodb.Table(_env["CONTACTS_TABLE"]))
ledger = MessageLedger(_dynamodb.Table(_env["LEDGER_TABLE"]), retention_days=int(_env["LEDGER_RETENTION_DAYS"]))
schedule = ThroughputSchedule(_outbound_table)
outcomes = RequestOutcomes(_outbound_table)
campaign_runs = CampaignRuns(_outbound_table)
held = HeldRequests(
    _outbound_table, boto3.client("scheduler"), _env["SCHEDULE_GROUP"], _env["RELEASE_TARGET_ARN"],
    _env["SCHEDULER_ROLE_ARN"], dead_letter_arn=_env["SCHEDULE_DEAD_LETTER_QUEUE_ARN"],
)
_sqs = boto3.client("sqs")
queue = OutboundQueue(_sqs, _env["OUTBOUND_QUEUE_URL"])
dead_letters = DeadLetterQueue(_sqs, _env["DEAD_LETTER_QUEUE_URL"]) if "DEAD_LETTER_QUEUE_URL" in _env else None
budget = budget_from_environment(os.environ.get("MONTHLY_BUDGET_USD"), os.environ.get("BUDGET_HARD_STOP"))
spend = MonthSpend(ledger.month_to_date, ttl_seconds=SPEND_CACHE_SECONDS)
# Few, quick retries: a throttle that survives them is deferred through the queue instead.
gateway = SmsGateway(
    boto3.client("pinpoint-sms-voice-v2", config=Config(retries={"mode": "standard", "max_attempts": 3})),
    configuration_set=_env["CONFIGURATION_SET"],
)
flow_settings = FlowSettings(
    boto3.client("ssm"), _env.get("FLOWS_PARAMETER"), expected_digest=os.environ.get("FLOWS_DIGEST") or None,
    on_mismatch=lambda: counts.update([metric_names.FLOWS_NOT_AS_DEPLOYED]),
)
conversations = (
    ConversationStore(_dynamodb.Table(_env["CONVERSATIONS_TABLE"])) if "CONVERSATIONS_TABLE" in _env else None
)
codes = OneUseCodes(boto3.client("kms"), os.environ["CODES_KEY_ID"]) if os.environ.get("CODES_KEY_ID") else None
claims = SendClaims(_outbound_table)
processor = LoggedBatchProcessor(EventType.SQS, failure_logger=logger)


@dataclass(frozen=True)
class PlannedSend:
    """A record planned to SEND, waiting for the batch's booking."""

    record_id: str
    request: SendRequest
    plan: SendPlan
    conversation: Conversation | None = None  # the one this send opens


@dataclass
class ReadAhead:
    """The batch's outcomes and contacts, read in one batch read each before planning."""

    outcomes: dict[str, RequestOutcome | None] = field(default_factory=dict)  # every key read: None when none
    contacts: dict[str, ContactState] = field(default_factory=dict)

    def outcome(self, key: str) -> RequestOutcome | None:
        return self.outcomes[key] if key in self.outcomes else outcomes.get(key)

    def contact(self, number: str) -> ContactState:
        return self.contacts[number] if number in self.contacts else contacts.contact_state(number)


counts: Counter[str] = Counter()  # this invocation's metrics, written once at its end
planned: list[PlannedSend] = []  # this invocation's sends, booked together after planning
ahead = ReadAhead()
batch_budget: BudgetState | None = None  # the month's budget against its spend, read once per batch
invocation_deadline = 0.0  # on ``clock``: a claim on a send held past it is a send whose outcome was lost
_throttle_streak = 0  # consecutive throttles in this execution environment: the back-off exponent
_budget_release_at: float | None = None  # when this execution environment last scheduled a budget release


@tracer.capture_method
def record_handler(record: SQSRecord, lambda_context: LambdaContext) -> None:
    try:
        request = parse_send_request(record.body)
    except InvalidSendRequest as error:
        counts[metric_names.OUTBOUND_MALFORMED] += 1
        _park(record, error.reason)
        return
    with _request_keys(request):
        _plan(record.message_id, request)


def _park(record: SQSRecord, reason: str) -> None:
    """A request that can never be sent: straight to the dead-letter queue with its reason (the record succeeds)."""
    if dead_letters is None:
        raise InvalidSendRequest(reason)  # failed (and logged) by the processor; the redrive policy parks it
    parked_as = dead_letters.park(record.body, reason=reason, source=SOURCE, attributes={
        "sqsMessageId": record.message_id, "receiveCount": str(record.attributes.approximate_receive_count or "")})
    logger.error("malformed send request parked in the dead-letter queue", reason=reason,
                 sqs_message_id=record.message_id, dead_letter_message_id=parked_as)


def _plan(record_id: str, request: SendRequest) -> None:
    previous = ahead.outcome(request.idempotency_key)
    if previous is not None and previous.status == SENT:
        logger.info("request already sent; duplicate ignored", message_id=previous.message_id)
        return
    now = clock.now()
    contact = _with_planned_sends(ahead.contact(request.destination), request.destination, now)
    try:
        conversation, prompt = _opened_conversation(request, now) if not contact.opted_out else (None, None)
    except ConversationError as error:  # a variable its prompt needs is missing
        _refuse(request, MISSING_VARIABLES, now, detail=str(error))
        return
    plan = plan_send(request, contact=contact, now=_moment(now), settings=settings, templates=templates,
                     prompt=prompt, budget=batch_budget)
    if previous is not None and previous.status == HELD and previous.reason in (BUDGET_REACHED, BUDGET_HARD_STOP) \
            and _budget_allows(request, plan):
        _release_budget_holds(now)
    if plan.outcome is Outcome.REFUSE:
        _refuse(request, plan.reason or REJECTED, now, detail=plan.detail)
    elif plan.outcome is Outcome.HOLD:
        _hold(request, plan, now)
    else:
        planned.append(PlannedSend(record_id, request, plan, conversation))


def _budget_allows(request: SendRequest, plan: SendPlan) -> bool:
    """Whether this batch's budget lets ``request`` go (as its plan typed it)."""
    if batch_budget is None:
        return True
    promotional = (plan.message_type or request.message_type) == PROMOTIONAL
    return batch_budget.hold_reason(promotional=promotional, campaign=request.campaign is not None) is None


def _release_budget_holds(now: float) -> None:
    """A request the budget held may go now (the budget was raised, or the month turned): schedule the
    release of every parked request, at most once per ``BUDGET_RELEASE_EVERY_SECONDS`` here."""
    global _budget_release_at
    if _budget_release_at is not None and 0 <= now - _budget_release_at < BUDGET_RELEASE_EVERY_SECONDS:
        return
    try:
        name = held.schedule_budget_release(_moment(now))
    except Exception as error:  # the recurring budget check tries again: never fail the record for it
        logger.warning("could not schedule the release of the budget holds", reason=failure_reason(error))
        return
    _budget_release_at = now
    logger.info("the budget allows held requests again: their release is scheduled", schedule=name)


def _opened_conversation(request: SendRequest, now: float) -> tuple[Conversation | None, str | None]:
    """The conversation a request opens and its prompt (the text to send); (None, None) when it
    opens none or its flow is not switched on, which plan_send refuses as UNKNOWN_FLOW.

    The conversation's id is the request's idempotency key and its code is derived from that id,
    so a request planned again (held, deferred, retried) texts the same code.
    """
    if request.conversation is None:
        return None, None
    flow = flow_settings.flows().get(request.conversation.flow) if conversations is not None else None
    if flow is None or (flow.needs_a_code and codes is None):
        return None, None
    code = codes.code_for(request.idempotency_key) if flow.needs_a_code and codes is not None else None
    return open_conversation(
        flow, conversation_id=request.idempotency_key, customer_number=request.destination,
        our_number=settings.origination_identity, now=now, reference=request.conversation.reference,
        variables=request.variables, slots=request.conversation.slots, code=code)


def _read_ahead(event: dict) -> ReadAhead:
    """One consistent batch read each for the batch's outcomes and contacts, instead of one read
    per record. A record that does not parse is left to its record handler (which fails it)."""
    requests = []
    for record in event.get("Records", []):
        try:
            requests.append(parse_send_request(record.get("body", "")))
        except InvalidSendRequest:
            continue
    if not requests:
        return ReadAhead()
    found = outcomes.get_many(request.idempotency_key for request in requests)
    return ReadAhead(outcomes={request.idempotency_key: found.get(request.idempotency_key) for request in requests},
                     contacts=contacts.contact_states(request.destination for request in requests))


def _with_planned_sends(contact: ContactState, destination: str, now: float) -> ContactState:
    """The contact as it will be once this batch's promotional sends to it went out: a second
    request to the same number in one batch counts against its limits like a later one would."""
    same_number = [item for item in planned if item.request.destination == destination
                   and (item.plan.message_type or item.request.message_type) == PROMOTIONAL]
    if not same_number:
        return contact
    campaign_sends = Counter(contact.campaign_sends)
    campaign_sends.update(item.request.campaign.run_key for item in same_number if item.request.campaign is not None)
    return replace(contact, recent_promotional={**contact.recent_promotional,
                                                **{item.request.idempotency_key: now for item in same_number}},
                   campaign_sends=dict(campaign_sends))


# -- refuse and hold -------------------------------------------------------------------------
def _refuse(request: SendRequest, reason: str, at: float, *, detail: str | None = None,
            code: str | None = None) -> None:
    changed = outcomes.record(request.idempotency_key, REFUSED, reason=reason, at=_moment(at), code=code)
    logger.info("request refused", reason=reason, detail=detail, code=code)
    if not changed:
        return  # a duplicate of a refusal already counted
    counts[metric_names.OUTBOUND_REFUSED_BY_REASON[reason]] += 1
    if request.campaign is not None:
        campaign_runs.add_counts(request.campaign.campaign_id, request.campaign.run_id, {refused(reason): 1})


def _hold(request: SendRequest, plan: SendPlan, now: float) -> None:
    assert plan.hold_until is not None
    if plan.reason in BUDGET_HOLD_REASONS:
        _hold_for_budget(request, plan.reason, now)
        return
    wait = plan.hold_until.timestamp() - now
    if wait <= MAX_DELAY_SECONDS:
        _enqueue(request, max(1, math.ceil(wait)))
    else:
        held.hold(request, plan.hold_until)  # released at its minute by the campaigns function
    outcomes.record(request.idempotency_key, HELD, reason=plan.reason, at=_moment(now))
    counts[metric_names.OUTBOUND_HELD] += 1
    logger.info("request held", reason=plan.reason, hold_until=plan.hold_until.isoformat(), wait_seconds=round(wait))


def _hold_for_budget(request: SendRequest, reason: str, now: float) -> None:
    """Parks the request until the budget allows it again (raised, or a new month)."""
    held.park(request, reason, _moment(now))
    outcomes.record(request.idempotency_key, HELD, reason=reason, at=_moment(now))
    counts[metric_names.OUTBOUND_HELD] += 1
    if reason == ACCOUNT_SPEND_LIMIT:
        logger.warning("request held: the account's monthly SMS spend limit is reached (End User Messaging)",
                       reason=reason)
        return
    assert batch_budget is not None  # a budget hold comes from a budget
    logger.info("request held: this month's spend reached the budget", reason=reason, month=batch_budget.month,
                spend_usd=str(batch_budget.spend_usd), budget_usd=str(batch_budget.budget.monthly_usd))


def _read_budget(now: float) -> BudgetState | None:
    """The month's budget against its counted spend: one ledger read per batch at most (cached briefly)."""
    if budget is None:
        return None
    month = month_of(_moment(now))
    return budget.state(month=month, spend_usd=spend.usd(month, now))


# -- send --------------------------------------------------------------------------------------
def _send_planned(lambda_context: LambdaContext) -> list[str]:
    """Books the batch's planned sends, sends each at its slot; the record ids that failed."""
    horizon = min(MAX_PACING_HORIZON_SECONDS, lambda_context.get_remaining_time_in_millis() / 1000
                  - SEND_MARGIN_SECONDS - SECONDS_PER_SEND * len(planned))
    failed: list[str] = []
    if horizon < 0:
        for item in planned:
            _defer_or_fail(item, 0, "the invocation is running out of time", failed)
        return failed
    try:
        booked = _book_slots(horizon, failed)
    except Exception as error:  # the schedule could not be booked: every planned record is retried, each logged
        reason = failure_reason(error)
        for item in planned:
            if item.record_id not in failed:
                logger.error("record failed: its slot could not be booked; it goes back to its queue and is retried",
                             sqs_message_id=item.record_id, reason=reason)
                failed.append(item.record_id)
        return failed
    for at, item in booked:
        with _request_keys(item.request):
            try:
                clock.sleep(at - clock.now())  # waits for its own slot: no polling
                _send(item.request, item.plan, item.conversation)
            except Exception as error:
                logger.exception("send failed; SQS retries the record", sqs_message_id=item.record_id,
                                 reason=failure_reason(error))
                failed.append(item.record_id)
    return failed


def _book_slots(horizon: float, failed: list[str]) -> list[tuple[float, PlannedSend]]:
    """The planned sends that got a slot on every schedule they are paced by, by slot; the others
    go back on the queue, delayed until their projected slot is within a horizon."""
    now = clock.now()
    not_before = {}
    by_campaign: dict[str, list[PlannedSend]] = {}
    for item in planned:
        campaign = item.request.campaign
        if campaign is not None and campaign.mps:
            by_campaign.setdefault(campaign.campaign_id, []).append(item)
    for campaign_id, items in by_campaign.items():
        # The campaign's (stricter) schedule first: the number's slots are then booked at or
        # after them, so no slot of the number's shared throughput is left unused.
        campaign = items[0].request.campaign
        assert campaign is not None and campaign.mps  # only items with a paced campaign were grouped
        mps = campaign.mps
        bookings = schedule.book_all(f"campaign#{campaign_id}", [Wanted(i.plan.parts) for i in items], mps,
                                     now=now, horizon=horizon)
        for item, booking in zip(items, bookings):
            if booking.booked:
                not_before[id(item)] = booking.at
            else:
                _defer_until(item, booking.at, now, f"campaign#{campaign_id}", failed)
    ready = [item for item in planned if id(item) in not_before or item.request.campaign is None
             or not item.request.campaign.mps]
    bookings = schedule.book_all(
        settings.origination_identity, [Wanted(i.plan.parts, not_before.get(id(i), 0.0)) for i in ready],
        settings.mps, now=now, horizon=horizon)
    slots = []
    for item, booking in zip(ready, bookings):
        if booking.booked:
            slots.append((booking.at, item))
        else:
            _defer_until(item, booking.at, now, settings.origination_identity, failed)
    return sorted(slots, key=lambda slot: slot[0])


def _defer_until(item: PlannedSend, slot: float, now: float, schedule_key: str, failed: list[str]) -> None:
    delay = min(MAX_DELAY_SECONDS, max(1, math.ceil(slot - now - DEFERRAL_LEAD_SECONDS)))
    _defer_or_fail(item, delay, f"throughput of {schedule_key} booked ahead", failed)


def _defer_or_fail(item: PlannedSend, delay_seconds: int, why: str, failed: list[str]) -> None:
    with _request_keys(item.request):
        try:
            _defer(item.request, delay_seconds, why=why)
        except Exception as error:
            logger.exception("could not defer the request; SQS retries the record", sqs_message_id=item.record_id,
                             reason=failure_reason(error))
            failed.append(item.record_id)


def _send(request: SendRequest, plan: SendPlan, conversation: Conversation | None = None) -> None:
    try:
        result = deliver(send={
            "idempotency_key": request.idempotency_key, "request": request.to_json(), "body": plan.body,
            "parts": plan.parts, "message_type": plan.message_type or request.message_type,
        })
    except RetryableSendError as error:
        _back_off(request, plan.parts, error)
        return
    except SendInFlight:
        _defer(request, IN_PROGRESS_RETRY_SECONDS, why="another invocation is sending this request")
        return
    except AccountSpendLimitReached:
        _hold_for_budget(request, ACCOUNT_SPEND_LIMIT, clock.now())
        return
    _reset_back_off()
    _record_result(request, plan, result, conversation)


class AccountSpendLimitReached(Exception):
    """End User Messaging refused the send: the account's monthly spend limit is reached. Raised, not
    returned, so the claim is released and the request can be sent once the limit allows."""


class SendInFlight(Exception):
    """Another invocation holds the claim on this send right now (a duplicate request): defer it."""


def deliver(send: dict[str, Any]) -> dict[str, Any]:
    """At most one ``SendTextMessage`` per idempotency key; its result is kept for duplicates.

    The send is claimed before the call (``adapters.send_claims``) and completed after it. A
    duplicate finds the result and reuses it; a claim whose invocation died holds a send whose
    outcome was lost, and it is not sent again (recorded ``UNKNOWN``). Only the send is inside:
    the bookkeeping after it is safe to repeat, so a failure there is retried without texting.
    """
    key = send["idempotency_key"]
    now = clock.now()
    existing = claims.claim(key, now=now, until=max(invocation_deadline, now))
    if existing is not None:
        if existing.status == DONE and existing.result is not None:
            return existing.result
        if existing.status == SENDING and now < existing.until:
            raise SendInFlight(key)
        logger.warning("send outcome unknown: its claim outlived its invocation; not sent again")
        return _finish(key, now, {"status": UNKNOWN_OUTCOME, "at": now}, claimed=False)
    request = parse_send_request(send["request"])
    try:
        result = gateway.send(
            destination=request.destination, origination_identity=settings.origination_identity, body=send["body"],
            message_type=send["message_type"], context=_send_context(request), max_price=settings.max_price_usd,
            time_to_live_seconds=settings.time_to_live_seconds,
        )
    except (RetryableSendError, AccountSpendLimitReached):
        _finish_claim(key, now, None)  # surely not sent: a retry may claim it again
        raise
    except SendOutcomeUnknown as error:
        logger.warning("send outcome unknown: its answer was lost; not sent again", code=str(error))
        return _finish(key, now, {"status": UNKNOWN_OUTCOME, "at": clock.now()})
    except SendRejected as error:  # (PriceAboveMax is one: the price is above MaxPrice)
        if (error.code, error.reason) == SPEND_LIMIT_ERROR:
            _finish_claim(key, now, None)
            raise AccountSpendLimitReached(error.reason) from error
        reason = PRICE_ABOVE_MAX if isinstance(error, PriceAboveMax) else REJECTED
        code = f"{error.code}:{error.reason}" if error.reason else error.code
        return _finish(key, now, {"status": REFUSED, "reason": reason, "code": code, "at": clock.now()})
    if result.blocked_by_opt_out:
        return _finish(key, now, {"status": REFUSED, "reason": OPTED_OUT, "code": "DESTINATION_PHONE_NUMBER_OPTED_OUT",
                                  "at": clock.now()})
    return _finish(key, now, {"status": SENT, "message_id": result.message_id, "at": clock.now()})


def _finish(key: str, claimed_at: float, result: dict[str, Any], *, claimed: bool = True) -> dict[str, Any]:
    """Keeps the send's result with its claim. A failed write is logged, not raised: the claim left
    behind already keeps the text from going twice, and the result is recorded as the outcome."""
    if claimed:
        try:
            _finish_claim(key, claimed_at, result)
        except Exception as error:
            logger.warning("send result not kept with its claim; the claim keeps it from going twice",
                           reason=failure_reason(error))
    return result


def _finish_claim(key: str, claimed_at: float, result: dict[str, Any] | None) -> None:
    """Completes the claim, trying a few times more (after botocore's own): a claim left behind reads
    as a send whose outcome was lost, so a text that surely did not go would never be sent. No pause
    between tries: the batch's next sends are booked on slots, and a pause would bunch them past the MPS."""
    for _ in range(1, CLAIM_FINISH_ATTEMPTS):
        try:
            claims.finish(key, claimed_at=claimed_at, result=result)
            return
        except Exception:
            continue
    claims.finish(key, claimed_at=claimed_at, result=result)


def _record_result(request: SendRequest, plan: SendPlan, result: dict[str, Any],
                   conversation: Conversation | None = None) -> None:
    at = float(result["at"])
    if result["status"] == UNKNOWN_OUTCOME:
        if outcomes.record(request.idempotency_key, UNKNOWN_OUTCOME, reason="ANSWER_LOST", at=_moment(at)):
            counts[metric_names.OUTBOUND_OUTCOME_UNKNOWN] += 1
            if request.campaign is not None:  # the run's counts still add up: sent, unknown, refused
                campaign_runs.add_counts(request.campaign.campaign_id, request.campaign.run_id, {"unknown": 1})
        return
    if result["status"] != SENT:
        if result["reason"] == OPTED_OUT:
            # The number's opt-out list knows better than our table: learn it.
            contacts.record_consent(
                number=request.destination, change=ConsentChange.OPTED_OUT, at_ms=int(at * 1000),
                message_id=request.idempotency_key, keyword="OPT_OUT_LIST", our_number=settings.origination_identity,
                source="OPT_OUT_LIST",
            )
        _refuse(request, result["reason"], at, code=result.get("code"))
        return
    message_id = result["message_id"]
    message_type = plan.message_type or request.message_type
    previous = ahead.outcomes.get(request.idempotency_key)
    if previous is not None and previous.status == HELD and previous.reason == ACCOUNT_SPEND_LIMIT:
        _release_budget_holds(at)  # the account's limit lets texts through again
    if conversation is not None:
        _store_conversation(conversation, message_id, at)
    ledger.record_sent(
        message_id=message_id, destination=request.destination, origination=settings.origination_identity,
        context=_send_context(request), sent_at_ms=int(at * 1000), message_type=message_type,
        estimated_parts=plan.parts, sent_by="sender",
    )
    if message_type == PROMOTIONAL:
        contacts.record_promotional_send(request.destination, request.idempotency_key, request.campaign, _moment(at))
    if outcomes.record(request.idempotency_key, SENT, message_id=message_id, at=_moment(at)):
        counts[metric_names.OUTBOUND_SENT] += 1
        counts[metric_names.OUTBOUND_PARTS_SENT] += plan.parts
        if request.campaign is not None:
            campaign_runs.add_counts(request.campaign.campaign_id, request.campaign.run_id, {"sent": 1})
    logger.info("sent", message_id=message_id, parts=plan.parts, encoding=plan.encoding, message_type=message_type)


def _store_conversation(conversation: Conversation, message_id: str, at: float) -> None:
    """Before the outcome is recorded SENT: a failure here fails the record, and its retry (which
    does not text again) stores the conversation then."""
    assert conversations is not None  # a conversation is only opened when the store exists
    try:
        conversations.create(sent_at(conversation, message_id=message_id, at=at))
    except ConversationMoved:
        logger.info("conversation already stored", conversation_id=conversation.conversation_id)
        return
    logger.info("conversation opened", flow=conversation.flow, conversation_id=conversation.conversation_id)


def _send_context(request: SendRequest) -> dict[str, str]:
    context = {**request.context, "sendKey": request.idempotency_key}
    if request.campaign is not None:
        context["campaign"] = request.campaign.run_key
    return context


# -- deferring -------------------------------------------------------------------------------
def _back_off(request: SendRequest, parts: int, error: RetryableSendError) -> None:
    """End User Messaging throttled us (or failed) after boto3's own retries: pause the number's
    shared schedule for a second and put the request back with an exponential delay."""
    global _throttle_streak
    _throttle_streak += 1
    if error.throttled:
        counts[metric_names.OUTBOUND_THROTTLED] += 1
        # Something else uses the number's throughput (replies, another system): every sender slows down.
        schedule.book(settings.origination_identity, max(parts, math.ceil(settings.mps)), settings.mps,
                      now=clock.now(), horizon=math.inf)
    delay = min(MAX_THROTTLE_BACKOFF_SECONDS, 2 ** min(_throttle_streak, 10) + random.randint(0, 2))
    logger.warning("End User Messaging throttled or failed; request deferred", code=error.code, delay_seconds=delay)
    _defer(request, delay, why=error.code)


def _reset_back_off() -> None:
    global _throttle_streak
    _throttle_streak = 0


def _defer(request: SendRequest, delay_seconds: int, *, why: str) -> None:
    _enqueue(request, delay_seconds)
    counts[metric_names.OUTBOUND_DEFERRED] += 1
    logger.info("request deferred", why=why, delay_seconds=delay_seconds)


def _enqueue(request: SendRequest, delay_seconds: int) -> None:
    result = queue.enqueue([request], delay_seconds=delay_seconds)
    if result.failed:
        # Not back on the queue: fail this record instead, so SQS redelivers the original.
        raise RuntimeError(f"could not put the request back on the queue: {result.failed[0][1]}")


@contextmanager
def _request_keys(request: SendRequest) -> Iterator[None]:
    """The request's key and masked destination on every log line about it (a campaign request's key
    ends with the number: masked too)."""
    logger.append_keys(idempotency_key=mask_numbers(request.idempotency_key), destination=mask(request.destination))
    try:
        yield
    finally:
        logger.remove_keys(["idempotency_key", "destination"])


def _moment(epoch_seconds: float) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, tz=timezone.utc)


def _fail_batch(event: dict, error: Exception) -> dict:
    """Reports every record of the batch as failed, one log line each with its message id and the reason."""
    reason = failure_reason(error)
    failures = []
    for record in event.get("Records", []):
        logger.error("record failed: the batch's reads failed; it goes back to its queue and is retried",
                     sqs_message_id=record.get("messageId"), reason=reason)
        failures.append({"itemIdentifier": record.get("messageId")})
    return {"batchItemFailures": failures}


def _flush_counts() -> None:
    for name, value in counts.items():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    counts.clear()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> Any:
    global ahead, batch_budget
    global invocation_deadline
    invocation_deadline = clock.now() + context.get_remaining_time_in_millis() / 1000
    planned.clear()
    try:
        try:
            batch_budget = _read_budget(clock.now())
            ahead = _read_ahead(event)
        except Exception as error:  # the batch's reads failed: every record is retried, each logged
            return _fail_batch(event, error)
        response = process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                            context=context)
        failures = response.setdefault("batchItemFailures", [])
        failures.extend({"itemIdentifier": record_id} for record_id in _send_planned(context))
        return response
    finally:
        planned.clear()
        ahead = ReadAhead()
        batch_budget = None
        _flush_counts()
