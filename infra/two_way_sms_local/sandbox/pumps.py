"""The wiring AWS does between the stack's resources, and only that, on the sandbox clock.

Each pump does one service's part when asked (``run``: True when it did something) and
says when it next has something to do (``next_due``):

- ``SqsMapping``: an SQS event source mapping (the template's batch size and
  ``ReportBatchItemFailures``): receives the visible messages, invokes the function, deletes
  the records that succeeded; a failed record stays in moto, comes back after the queue's
  visibility timeout on the sandbox clock, and moto's redrive moves it to the dead-letter
  queue after ``maxReceiveCount`` receives;
- ``KinesisMapping``: the stream's event source mapping: batches from the last checkpoint,
  partial failures retried from the first failed sequence number, a batch bisected when the
  function fails, and after ``MaximumRetryAttempts`` (or past ``MaximumRecordAgeInSeconds``)
  the batch's coordinates sent to the on-failure destination, as Lambda writes them;
- ``RuleTap``: an EventBridge rule's targets that moto cannot reach (Kinesis, Lambda): moto
  matches the rule's pattern and delivers the event to a queue of the sandbox's (the tap);
  the tap puts it on the stream with the target's partition key path, or invokes the function;
- ``Scheduler``: EventBridge Scheduler schedules (the template's and those the handlers
  create): ``at(...)`` fires once when due (then deleted when ``ActionAfterCompletion`` is
  DELETE), ``rate(...)`` every period; a Lambda target is invoked asynchronously, an SQS
  target gets the input as a message;
- ``AsyncInvocations``: Lambda's asynchronous invocation: on an error, retried after 1 then
  2 minutes (the function's ``EventInvokeConfig``), then the on-failure destination;
- ``DeliveryEvents``: End User Messaging's delivery events for every text the SMS emulator
  accepted, over sandbox time, by what the customer's carrier does (``deliver``, ``fail``,
  ``opted_out``), put on the default bus as the service puts them;
- ``BusCapture``: a rule on each business-event bus to a queue of the sandbox's, so the state
  shows what the handlers put on the bus.
"""

from __future__ import annotations

from two_way_sms_local.sandbox.carrier_events import CARRIER_FEE_PER_PART_USD, PRICE_PER_PART_USD, DeliveryEvents
from two_way_sms_local.sandbox.event_routes import BusCapture, RuleTap
from two_way_sms_local.sandbox.event_sources import KinesisMapping, SqsMapping, next_visible
from two_way_sms_local.sandbox.runtime import Runtime
from two_way_sms_local.sandbox.schedules import AsyncInvocations, Scheduler

__all__ = [
    "AsyncInvocations",
    "BusCapture",
    "CARRIER_FEE_PER_PART_USD",
    "DeliveryEvents",
    "KinesisMapping",
    "PRICE_PER_PART_USD",
    "RuleTap",
    "Runtime",
    "Scheduler",
    "SqsMapping",
    "next_visible",
]
