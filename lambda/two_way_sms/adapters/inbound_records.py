"""The inbound function's SQS side: one record at a time, parsed, checked, answered or parked.

A record that can never succeed (malformed, or for a number this stack does not answer) goes to
the dead-letter queue at once with its reason; a text from a short code or a sender id is
recorded and never answered; anything else goes to the use case (``services.answer_inbound``).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from two_way_sms import metric_names
from two_way_sms.adapters.dead_letters import DeadLetterQueue
from two_way_sms.adapters.our_numbers import OurNumbers
from two_way_sms.inbound import MalformedInboundMessage, parse_inbound
from two_way_sms.phone import mask
from two_way_sms.services.answer_inbound import Delivery, InboundAnswerer


class InboundRecords:
    """One SQS record at a time: parse, check it is ours and answerable, answer or park it."""

    def __init__(
        self,
        answerer: InboundAnswerer,
        our_numbers: OurNumbers,
        dead_letters: DeadLetterQueue | None,
        max_receive_count: int,
        *,
        logger: Logger,
        metrics: Metrics,
    ) -> None:
        self._answerer, self._our_numbers = answerer, our_numbers
        self._dead_letters, self._max_receive_count = dead_letters, max_receive_count
        self._logger, self._metrics = logger, metrics

    def handle(self, record: SQSRecord, lambda_context: LambdaContext | None = None) -> dict[str, Any]:
        receives = int(record.attributes.approximate_receive_count or 1)
        self._logger.remove_keys(["inbound_message_id", "customer"])  # the batch's previous record's
        try:
            message = parse_inbound(record.body)
        except MalformedInboundMessage as error:
            return self._park(record, f"MALFORMED: {error.reason}")
        self._logger.append_keys(inbound_message_id=message.inbound_message_id, customer=mask(message.customer_number))
        if message.our_number not in self._our_numbers:
            return self._park(record, f"NOT_OUR_NUMBER: the message was sent to {mask(message.our_number)}")
        if not message.answerable:
            self._logger.info("recorded, not answered: the sender is not a phone number we may text")
            self._metrics.add_metric(name=metric_names.INBOUND_NOT_ANSWERABLE, unit=MetricUnit.Count, value=1)
            return {"path": "not_answerable"}
        remaining_ms = lambda_context.get_remaining_time_in_millis() if lambda_context is not None else 30_000
        delivery = Delivery(
            sent_at_ms=message.published_at_ms or int(record.attributes.sent_timestamp),
            remaining_seconds=remaining_ms / 1000,
            last_attempt=receives >= self._max_receive_count,
        )
        answer = self._answerer.answer(message, delivery)
        return {"intent": answer.intent, "path": answer.path, "reply_message_id": answer.reply_message_id}

    def _park(self, record: SQSRecord, reason: str) -> dict[str, Any]:
        """A record that can never succeed: to the dead-letter queue now, with its reason."""
        self._logger.error(
            "inbound message parked in the dead-letter queue", reason=reason, sqs_message_id=record.message_id
        )
        self._metrics.add_metric(
            name=metric_names.MALFORMED_INBOUND if reason.startswith("MALFORMED") else metric_names.INBOUND_PARKED,
            unit=MetricUnit.Count,
            value=1,
        )
        if self._dead_letters is None:  # reused without a queue to park in: fail it, and SQS's redrive parks it
            raise MalformedInboundMessage(reason)
        self._dead_letters.park(
            record.body, reason=reason, source="inbound-handler", attributes={"originalMessageId": record.message_id}
        )
        return {"path": "parked", "reason": reason}
