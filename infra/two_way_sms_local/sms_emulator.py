"""An in-process End User Messaging SMS (``pinpoint-sms-voice-v2``) for the sender's tests.

moto does not implement the service. This fake answers ``send_text_message`` the way the
service does, as far as the sender can tell:

- every request is checked against the real botocore service model: what botocore checks
  before sending (types, required members, minimum lengths) raises ``ParamValidationError``
  as the real client would; what the service checks (maximum lengths, patterns, enums)
  raises ``ValidationException``;
- throughput is enforced per origination identity on an injected clock: a send is
  throttled (``ThrottlingException``) when the parts sent in the trailing second plus its
  own would exceed ``max(mps, its parts)``;
- a destination on the opt-out list gets ``ConflictException`` with Reason
  ``DESTINATION_PHONE_NUMBER_OPTED_OUT``; a price above ``MaxPrice`` gets
  ``ValidationException`` with Reason ``PRICE_OVER_THRESHOLD``;
- every accepted send is recorded (destination, body, parts, time, context, message id);
- the opt-out list: ``put_opted_out_number``, ``delete_opted_out_number`` and
  ``describe_opted_out_numbers`` (paginated, filtered) keep and read ``opted_out``.

``SimulatedClock`` is the clock both the fake and the handler use: ``sleep`` advances time
instead of waiting, so a burst of hundreds of paced sends runs in milliseconds.
"""

from __future__ import annotations

import itertools
import re
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import botocore.session
from botocore.exceptions import ClientError
from botocore.validate import validate_parameters

from two_way_sms.encoding import analyse

SERVICE = "pinpoint-sms-voice-v2"
TOLERANCE = 1e-6  # seconds and parts: float noise at epoch magnitudes is ~2e-7
START = 1_772_755_200.0  # 2026-03-06T00:00:00Z (a Friday)

_MODEL = botocore.session.get_session().get_service_model(SERVICE)


class SimulatedClock:
    """Epoch seconds that move only when someone sleeps (or the test advances them)."""

    def __init__(self, start: float = START) -> None:
        self._now = float(start)
        self.slept = 0.0  # total simulated sleep, for assertions

    def now(self) -> float:
        return self._now

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._now += seconds
            self.slept += seconds

    def advance(self, seconds: float) -> None:
        self.sleep(seconds)

    def set(self, epoch_seconds: float) -> None:
        if epoch_seconds < self._now:
            raise ValueError(f"the clock does not go back: {epoch_seconds} < {self._now}")
        self._now = float(epoch_seconds)


@dataclass(frozen=True)
class SentText:
    message_id: str
    destination: str
    origination: str
    body: str
    parts: int
    at: float
    message_type: str
    context: dict[str, str]
    configuration_set: str | None
    max_price: str | None
    time_to_live: int | None


@dataclass
class SmsEmulator:
    """A fake ``pinpoint-sms-voice-v2`` client: pass it where the code expects the boto3 client."""

    clock: SimulatedClock
    mps: float = 3.0  # per origination identity, unless listed in mps_by_origination
    mps_by_origination: dict[str, float] = field(default_factory=dict)
    # Other names of one origination identity (its ARN, its id) -> the name throughput is kept under:
    # the service meters a number once, however a call names it. Empty: each name is its own identity.
    aliases: dict[str, str] = field(default_factory=dict)
    price_per_part_usd: Decimal = Decimal("0.00581")
    opted_out: set[str] = field(default_factory=set)
    # What describe_opted_out_numbers reports beside the set: numbers put by the API, and when first seen listed.
    opted_out_by_api: set[str] = field(default_factory=set)
    opted_out_seen_at: dict[str, float] = field(default_factory=dict)
    sent: list[SentText] = field(default_factory=list)
    throttles: int = 0
    forced_errors: deque = field(default_factory=deque)  # ClientErrors to raise on the next sends
    _recent: dict[str, deque] = field(default_factory=dict)  # origination -> (time, parts) of the last second
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    # -- the API ---------------------------------------------------------------------------
    def send_text_message(self, **params: Any) -> dict[str, Any]:
        _validate("SendTextMessage", params)
        if self.forced_errors:
            raise self.forced_errors.popleft()
        now = self.clock.now()
        origination = params["OriginationIdentity"]
        metered = self.aliases.get(origination, origination)
        body = params["MessageBody"]
        parts = analyse(body).parts
        if self._over_throughput(metered, parts, now):
            self.throttles += 1
            raise _error("ThrottlingException", "Rate exceeded", "SendTextMessage")
        if params["DestinationPhoneNumber"] in self.opted_out:
            raise _error(
                "ConflictException",
                "The destination phone number is opted out",
                "SendTextMessage",
                Reason="DESTINATION_PHONE_NUMBER_OPTED_OUT",
                ResourceType="opt-out-list",
                ResourceId="default",
            )
        if "MaxPrice" in params and self.price_per_part_usd * parts > Decimal(params["MaxPrice"]):
            raise _error(
                "ValidationException",
                "The price of the message is over MaxPrice",
                "SendTextMessage",
                Reason="PRICE_OVER_THRESHOLD",
            )
        self._recent.setdefault(metered, deque()).append((now, parts))
        message_id = f"msg-{next(self._ids):05d}"
        self.sent.append(
            SentText(
                message_id=message_id,
                destination=params["DestinationPhoneNumber"],
                origination=origination,
                body=body,
                parts=parts,
                at=now,
                message_type=params.get("MessageType", "TRANSACTIONAL"),
                context=dict(params.get("Context", {})),
                configuration_set=params.get("ConfigurationSetName"),
                max_price=params.get("MaxPrice"),
                time_to_live=params.get("TimeToLive"),
            )
        )
        return {"MessageId": message_id}

    def put_opted_out_number(self, **params: Any) -> dict[str, Any]:
        _validate("PutOptedOutNumber", params)
        if params["OptedOutNumber"] not in self.opted_out:
            self.opted_out_by_api.add(params["OptedOutNumber"])
            self.opted_out_seen_at[params["OptedOutNumber"]] = self.clock.now()
        self.opted_out.add(params["OptedOutNumber"])
        return {"OptOutListName": params["OptOutListName"], "OptedOutNumber": params["OptedOutNumber"]}

    def delete_opted_out_number(self, **params: Any) -> dict[str, Any]:
        _validate("DeleteOptedOutNumber", params)
        if params["OptedOutNumber"] not in self.opted_out:
            raise _error("ResourceNotFoundException", "not opted out", "DeleteOptedOutNumber")
        self.opted_out.discard(params["OptedOutNumber"])
        self.opted_out_by_api.discard(params["OptedOutNumber"])
        self.opted_out_seen_at.pop(params["OptedOutNumber"], None)
        return {"OptOutListName": params["OptOutListName"], "OptedOutNumber": params["OptedOutNumber"]}

    def describe_opted_out_numbers(self, **params: Any) -> dict[str, Any]:
        """The opted-out numbers, sorted, a page of ``MaxResults`` (default 100) at a time (``NextToken``).

        ``OptedOutNumbers`` narrows the answer to those numbers that are on the list; the filter
        ``end-user-opted-out`` keeps those the customer opted out by texting (``true``) or not.
        The emulator keeps no per-number history: ``OptedOutTimestamp`` is when the emulator first
        saw the number listed (its clock's time then), and a number put on the list by
        ``put_opted_out_number`` is an API opt-out (``EndUserOptedOut`` false); any other number
        in ``opted_out`` is the customer's own (added by a test, as the carrier or AWS would).
        """
        _validate("DescribeOptedOutNumbers", params)
        numbers = sorted(self.opted_out)
        if "OptedOutNumbers" in params:
            numbers = [n for n in numbers if n in set(params["OptedOutNumbers"])]
        for number in numbers:
            self.opted_out_seen_at.setdefault(number, self.clock.now())
        for entry in params.get("Filters", []):
            wanted = {value.lower() for value in entry["Values"]}
            numbers = [n for n in numbers if str(n not in self.opted_out_by_api).lower() in wanted]
        start = 0
        if "NextToken" in params:
            if not params["NextToken"].isdigit() or int(params["NextToken"]) > len(numbers):
                raise _error("ValidationException", "NextToken is not valid", "DescribeOptedOutNumbers")
            start = int(params["NextToken"])
        end = start + params.get("MaxResults", 100)
        response: dict[str, Any] = {
            "OptOutListArn": f"arn:aws:sms-voice:us-east-1:123456789012:opt-out-list/{params['OptOutListName']}",
            "OptOutListName": params["OptOutListName"],
            "OptedOutNumbers": [
                {
                    "OptedOutNumber": number,
                    "OptedOutTimestamp": datetime.fromtimestamp(self.opted_out_seen_at[number], tz=timezone.utc),
                    "EndUserOptedOut": number not in self.opted_out_by_api,
                }
                for number in numbers[start:end]
            ],
        }
        if end < len(numbers):
            response["NextToken"] = str(end)
        return response

    # -- test helpers ----------------------------------------------------------------------
    def fail_next(self, code: str, *, reason: str | None = None, times: int = 1) -> None:
        for _ in range(times):
            extra = {"Reason": reason} if reason else {}
            self.forced_errors.append(_error(code, code, "SendTextMessage", **extra))

    def sent_to(self, destination: str) -> list[SentText]:
        return [text for text in self.sent if text.destination == destination]

    def _over_throughput(self, origination: str, parts: int, now: float) -> bool:
        recent = self._recent.setdefault(origination, deque())
        while recent and recent[0][0] <= now - 1 + TOLERANCE:
            recent.popleft()  # left the trailing second
        mps = self.mps_by_origination.get(origination, self.mps)
        return sum(p for _, p in recent) + parts > max(mps, parts) + TOLERANCE


def _error(code: str, message: str, operation: str, **modeled: str) -> ClientError:
    """A ClientError shaped like botocore's: modeled members (Reason) at the top of the response."""
    return ClientError(
        {"Error": {"Code": code, "Message": message}, **modeled, "ResponseMetadata": {"HTTPStatusCode": 400}}, operation
    )


def _validate(operation: str, params: dict[str, Any]) -> None:
    shape = _MODEL.operation_model(operation).input_shape
    validate_parameters(params, shape)  # raises ParamValidationError, as the client would
    problems: list[str] = []
    _check_service_constraints(params, shape, operation, problems)
    if problems:
        raise _error("ValidationException", "; ".join(problems), operation, Reason="FIELD_VALIDATION_FAILED")


def _check_service_constraints(value: Any, shape: Any, name: str, problems: list[str]) -> None:
    """What botocore leaves to the service: maximum lengths, patterns and enums."""
    meta = shape.metadata
    if shape.type_name == "structure":
        for member, member_shape in shape.members.items():
            if member in value:
                _check_service_constraints(value[member], member_shape, f"{name}.{member}", problems)
    elif shape.type_name == "map":
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{name} has {len(value)} entries; at most {meta['max']}")
        for key, item in value.items():
            _check_service_constraints(key, shape.key, f"{name} key {key!r}", problems)
            _check_service_constraints(item, shape.value, f"{name}.{key}", problems)
    elif shape.type_name == "list":
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{name} has {len(value)} items; at most {meta['max']}")
        for position, item in enumerate(value):
            _check_service_constraints(item, shape.member, f"{name}[{position}]", problems)
    elif shape.type_name == "string":
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{name} has {len(value)} characters; at most {meta['max']}")
        if "pattern" in meta and not re.fullmatch(meta["pattern"], value):
            problems.append(f"{name} does not match {meta['pattern']}")
        if shape.enum and value not in shape.enum:
            problems.append(f"{name} {value!r} is not one of {shape.enum}")
    elif shape.type_name in ("integer", "long") and "max" in meta and value > meta["max"]:
        problems.append(f"{name} {value} is above {meta['max']}")
