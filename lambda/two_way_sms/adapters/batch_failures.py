"""A Powertools ``BatchProcessor`` that logs every failed record once: its id and the reason.

The record then goes back to its queue (or stream) and, after its last retry, to the
dead-letter queue: one log line per failed attempt, with ``sqs_message_id`` (or the
Kinesis ``sequence_number``), is what explains each dead-letter entry from the logs.
Reasons never show a phone number: digit runs that could be one are masked.
"""

from __future__ import annotations

import re
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from botocore.exceptions import ConnectionError as EndpointUnreachable  # no connection made (not HTTPClientError)

from two_way_sms.phone import mask

MAX_REASON_CHARACTERS = 500
# "+14255550182", "14255550182", "(425) 555-0182", "425-555-0182" (not dates or times).
_NUMBER_LIKE = re.compile(r"\+?\d{7,15}|\(\d{3}\)\s*\d{3}[\s.-]?\d{4}|\b\d{3}[\s.-]\d{3}[\s.-]\d{4}\b")


def mask_numbers(text: str) -> str:
    """``text`` with every run that could be a phone number masked (``+1425*****82``)."""
    return _NUMBER_LIKE.sub(lambda match: mask(re.sub(r"[^\d+]", "", match.group())), text)


def failure_reason(error: BaseException | None) -> str:
    """``"<exception type>: <message>"`` in one line of at most 500 characters, number-like runs masked."""
    if error is None:
        return "unknown error"
    return mask_numbers(f"{type(error).__name__}: {error}".replace("\n", " "))[:MAX_REASON_CHARACTERS]


def error_code(error: BaseException) -> str | None:
    """The AWS error code a botocore ``ClientError`` carries (``ThrottlingException``); None for any other error."""
    response = getattr(error, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, dict) else None


# DynamoDB refuses these before applying anything: a write that failed with one surely did not happen.
REFUSED_BEFORE_WRITING = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
)


def surely_not_written(error: BaseException) -> bool:
    """True when a failed write surely did not happen (throttled, or no connection was made), so trying
    it again cannot apply it twice; False when it may have (a lost answer, a server error)."""
    return error_code(error) in REFUSED_BEFORE_WRITING or isinstance(error, EndpointUnreachable)


def what_happens_next(receives: int | None, max_receive_count: int | None) -> str:
    """What becomes of a failed SQS record: on its last receive (the queue's redrive ``max_receive_count``),
    the dead-letter queue; before it, its queue again."""
    if max_receive_count is not None and receives is not None and receives >= max_receive_count:
        return "it was its last receive: it goes to the dead-letter queue"
    return "it goes back to its queue and is retried"


def record_identity(record: Any) -> dict[str, Any]:
    """The log keys that name a record: ``sqs_message_id`` (and its receive count) or ``sequence_number``."""
    if record is None:
        return {}
    kinesis = getattr(record, "kinesis", None)
    if kinesis is not None:
        return {"sequence_number": kinesis.sequence_number}
    identity: dict[str, Any] = {"sqs_message_id": getattr(record, "message_id", None)}
    attributes = getattr(record, "attributes", None)
    count = getattr(attributes, "approximate_receive_count", None) if attributes is not None else None
    if count is not None:
        identity["receive_count"] = count
    return identity


class LoggedBatchProcessor(BatchProcessor):
    """``BatchProcessor`` whose ``failure_handler`` logs one line per failed record: its id and the reason."""

    def __init__(
        self,
        event_type: EventType,
        *,
        failure_logger: Any,
        raise_on_entire_batch_failure: bool = False,
        max_receive_count: int | None = None,
        **kwargs: Any,
    ) -> None:
        # Powertools' own ``logger`` would log a second line (a warning without the record's id).
        super().__init__(event_type, raise_on_entire_batch_failure=raise_on_entire_batch_failure, **kwargs)
        self._failure_logger = failure_logger
        self._max_receive_count = max_receive_count  # the queue's: its last receive goes to the dead-letter queue

    def failure_handler(self, record: Any, exception: Any) -> Any:
        entry = super().failure_handler(record, exception)
        error = exception[1] if exception else None
        self._failure_logger.error(
            self._what_happens_next(record),
            **record_identity(record),
            reason=failure_reason(error),
            error_type=type(error).__name__ if error is not None else None,
            exc_info=exception if exception and exception[0] is not None else None,
        )
        return entry

    def _what_happens_next(self, record: Any) -> str:
        if getattr(record, "kinesis", None) is not None:
            return "record failed; the stream retries it, then sends it to the on-failure destination"
        receives = getattr(getattr(record, "attributes", None), "approximate_receive_count", None)
        count = int(receives) if receives is not None else None
        return f"record failed; {what_happens_next(count, self._max_receive_count)}"
