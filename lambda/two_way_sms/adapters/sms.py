"""End User Messaging SMS (``pinpoint-sms-voice-v2``): sending replies, the opt-out list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

# Worth another try later: the record goes back to the queue, nothing is lost.
RETRYABLE_ERRORS = frozenset({"ThrottlingException", "InternalServerException", "ServiceUnavailable"})


class RetryableSendError(Exception):
    """End User Messaging asked us to slow down or failed on its side: try again later."""


class SendRejected(Exception):
    """End User Messaging refused the request for good (validation, access, quota)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


@dataclass(frozen=True)
class SendResult:
    message_id: str | None  # None when the destination is on the opt-out list
    blocked_by_opt_out: bool = False


class SmsGateway:
    """Sends replies through one configuration set and keeps one opt-out list."""

    def __init__(self, client: Any, *, configuration_set: str, opt_out_list: str, message_type: str) -> None:
        self._client = client
        self._configuration_set = configuration_set
        self._opt_out_list = opt_out_list
        self._message_type = message_type

    def send_text(self, *, to: str, from_number: str, body: str, context: dict[str, str]) -> SendResult:
        try:
            response = self._client.send_text_message(
                DestinationPhoneNumber=to,
                OriginationIdentity=from_number,
                MessageBody=body,
                MessageType=self._message_type,
                ConfigurationSetName=self._configuration_set,
                Context=context,
            )
        except ClientError as error:
            if _is_opted_out(error):
                return SendResult(message_id=None, blocked_by_opt_out=True)
            raise _translate(error) from error
        return SendResult(message_id=response["MessageId"])

    def put_opted_out(self, number: str) -> None:
        try:
            self._client.put_opted_out_number(OptOutListName=self._opt_out_list, OptedOutNumber=number)
        except ClientError as error:
            raise _translate(error) from error

    def delete_opted_out(self, number: str) -> None:
        try:
            self._client.delete_opted_out_number(OptOutListName=self._opt_out_list, OptedOutNumber=number)
        except ClientError as error:
            if _code(error) == "ResourceNotFoundException":
                return  # not on the list: already the state we want
            raise _translate(error) from error


def _code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "Unknown")


def _is_opted_out(error: ClientError) -> bool:
    return _code(error) == "ConflictException" and error.response.get("Reason") == "DESTINATION_PHONE_NUMBER_OPTED_OUT"


def _translate(error: ClientError) -> Exception:
    code = _code(error)
    if code in RETRYABLE_ERRORS:
        return RetryableSendError(code)
    return SendRejected(code, error.response.get("Error", {}).get("Message", ""))
