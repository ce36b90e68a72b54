"""End User Messaging SMS (``pinpoint-sms-voice-v2``): sending texts, the opt-out list.

Two senders share one translation of the service's errors:
- ``send_text`` answers an inbound message (the inbound handler: one message type, the
  number the customer texted);
- ``send`` is the outbound sender's call, with everything ``SendTextMessage`` takes per
  message (an ``OutgoingText``: message type, ``MaxPrice``, ``TimeToLive``, ``Context``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as EndpointUnreachable

# Worth another try later: the record goes back to the queue, nothing is lost.
RETRYABLE_ERRORS = frozenset({"ThrottlingException", "InternalServerException", "ServiceUnavailable"})
# The service model's reasons (botocore pinpoint-sms-voice-v2): ConflictException when the
# destination is on the opt-out list, ValidationException when the price is above MaxPrice.
OPTED_OUT_REASON = "DESTINATION_PHONE_NUMBER_OPTED_OUT"
PRICE_OVER_THRESHOLD_REASON = "PRICE_OVER_THRESHOLD"


class RetryableSendError(Exception):
    """End User Messaging asked us to slow down or failed on its side: try again later."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code

    @property
    def throttled(self) -> bool:
        return self.code == "ThrottlingException"


class SendRejected(Exception):
    """End User Messaging refused the request for good (validation, access, quota)."""

    def __init__(self, code: str, message: str, reason: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.reason = reason  # the error's modeled Reason, when it has one


class SendOutcomeUnknown(Exception):
    """The request may have reached End User Messaging but its answer was lost (a read timeout,
    a connection closed mid-call): the text may or may not have gone. ``SendTextMessage`` has no
    client token, so only the caller's own record of the send can decide what to do."""


class PriceAboveMax(SendRejected):
    """The message would cost more than the ``MaxPrice`` it was sent with."""


@dataclass(frozen=True)
class OutgoingText:
    """What one ``SendTextMessage`` sends, but the configuration set (the gateway's own)."""

    destination: str
    origination_identity: str
    body: str
    message_type: str
    context: dict[str, str]
    max_price: str | None = None
    time_to_live_seconds: int | None = None


@dataclass(frozen=True)
class SendResult:
    message_id: str | None  # None when the destination is on the opt-out list
    blocked_by_opt_out: bool = False


class SmsGateway:
    """Sends through one configuration set; keeps one opt-out list (when given one)."""

    def __init__(
        self,
        client: Any,
        *,
        configuration_set: str,
        opt_out_list: str | None = None,
        message_type: str = "TRANSACTIONAL",
        reply_max_price: str | None = None,
        reply_time_to_live_seconds: int | None = None,
    ) -> None:
        self._client = client
        self._configuration_set = configuration_set
        self._opt_out_list = opt_out_list
        self._message_type = message_type
        self._reply_max_price = reply_max_price
        self._reply_time_to_live_seconds = reply_time_to_live_seconds

    def send_text(self, *, to: str, from_number: str, body: str, context: dict[str, str]) -> SendResult:
        """A reply to a customer's text, with the gateway's message type, price ceiling and time to live."""
        return self.send(
            OutgoingText(
                destination=to,
                origination_identity=from_number,
                body=body,
                message_type=self._message_type,
                context=context,
                max_price=self._reply_max_price,
                time_to_live_seconds=self._reply_time_to_live_seconds,
            )
        )

    def send(self, text: OutgoingText) -> SendResult:
        """One ``SendTextMessage``; raises ``RetryableSendError`` (it surely did not go: try again),
        ``SendOutcomeUnknown`` (it may have gone), ``PriceAboveMax`` or ``SendRejected`` (refused for good)."""
        params: dict[str, Any] = {
            "DestinationPhoneNumber": text.destination,
            "OriginationIdentity": text.origination_identity,
            "MessageBody": text.body,
            "MessageType": text.message_type,
            "ConfigurationSetName": self._configuration_set,
            "Context": text.context,
        }
        if text.max_price is not None:
            params["MaxPrice"] = text.max_price
        if text.time_to_live_seconds is not None:
            params["TimeToLive"] = text.time_to_live_seconds
        try:
            response = self._client.send_text_message(**params)
        except ClientError as error:
            if _is_opted_out(error):
                return SendResult(message_id=None, blocked_by_opt_out=True)
            raise _translate(error) from error
        except EndpointUnreachable as error:  # no connection was made: nothing was sent
            raise RetryableSendError(type(error).__name__) from error
        except HTTPClientError as error:  # sent, but the answer never came back
            raise SendOutcomeUnknown(type(error).__name__) from error
        return SendResult(message_id=response["MessageId"])

    def put_opted_out(self, number: str) -> None:
        """Puts ``number`` on the opt-out list; safe to repeat (the call is idempotent)."""
        try:
            self._client.put_opted_out_number(OptOutListName=self._require_opt_out_list(), OptedOutNumber=number)
        except ClientError as error:
            raise _translate(error) from error

    def delete_opted_out(self, number: str) -> None:
        try:
            self._client.delete_opted_out_number(OptOutListName=self._require_opt_out_list(), OptedOutNumber=number)
        except ClientError as error:
            if _code(error) == "ResourceNotFoundException":
                return  # not on the list: already the state we want
            raise _translate(error) from error

    def _require_opt_out_list(self) -> str:
        if not self._opt_out_list:
            raise ValueError("this gateway was built without an opt-out list")
        return self._opt_out_list


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", "Unknown"))


def _reason(error: ClientError) -> str | None:
    # botocore puts a modeled error's members (Reason) at the top of the response.
    reason = error.response.get("Reason") or error.response.get("Error", {}).get("Reason")
    return str(reason) if reason else None


def _is_opted_out(error: ClientError) -> bool:
    return _code(error) == "ConflictException" and _reason(error) == OPTED_OUT_REASON


def _translate(error: ClientError) -> Exception:
    code = _code(error)
    if code in RETRYABLE_ERRORS:
        return RetryableSendError(code)
    message = error.response.get("Error", {}).get("Message", "")
    reason = _reason(error)
    if code == "ValidationException" and reason == PRICE_OVER_THRESHOLD_REASON:
        return PriceAboveMax(code, message, reason)
    return SendRejected(code, message, reason)
