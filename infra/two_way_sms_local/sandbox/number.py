"""End User Messaging's side of the business number, beyond ``SendTextMessage``: keywords, opt-out list, carrier.

``SmsEmulator`` answers the functions' ``SendTextMessage`` calls. What the service (and the
carrier) does with a customer's text before it publishes it to the two-way topic is here,
read from the template's ``AWS::SMSVOICE::PhoneNumber`` (FACTS.md "Keywords and opt-outs"):

- with AWS-managed opt-outs (``SelfManagedOptOutsEnabled`` false) a text beginning with HELP
  gets the HELP reply, one beginning with STOP or one of AWS's required opt-out words gets the
  STOP reply and puts the number on the opt-out list;
- every ``OptionalKeywords`` entry answers with its message; ``OPT_OUT``/``OPT_IN`` also put the
  number on, or take it off, the opt-out list. That is how the Spanish and French words of a
  configuration with ``languages`` are answered in their language (ALTO, AYUDA, INICIO, AIDE, and
  ARRET, whose registered French reply comes before AWS's own English STOP reply); a message is
  matched with accents folded (ARRÊT is ARRET), as the handler reads it;
- on a US toll-free number STOP is the carrier's: the carrier answers with its own text and
  blocks the number's texts to the customer (they come back as TEXT_BLOCKED, opted out) until
  the customer texts one of the number's OPT_IN keywords.

These replies are sent by the service itself, not through ``SendTextMessage``: they are kept
in ``replies`` (no message ledger entry, no delivery events, as the docs describe none).

``FunctionSms`` is one function's ``pinpoint-sms-voice-v2`` client: the emulator, plus which
function sent each text, and the one rule of the SIMULATOR number the emulator does not
know: it sends TRANSACTIONAL texts only.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from two_way_sms.keywords import AWS_DEFAULT_OPT_OUT_WORDS, first_keyword
from two_way_sms_local.sandbox.clock import SandboxClock
from two_way_sms_local.sandbox.contract import CarrierOutcome
from two_way_sms_local.sandbox.stack import Number
from two_way_sms_local.sandbox.template import ACCOUNT
from two_way_sms_local.sms_emulator import SmsEmulator

CARRIER_STOP_REPLY = (
    'NETWORK MSG: You replied with the word "stop" which blocks all texts sent from this number. '
    'Text back "unstop" to receive messages again.'
)
END_USER_MESSAGING = "End User Messaging"  # who sent a keyword reply (TextView.sent_by)
CARRIER = "carrier"


@dataclass(frozen=True)
class ServiceReply:
    """A text the service (or the carrier) sent the customer by itself, answering a keyword."""

    message_id: str
    at: float
    customer: str
    body: str
    keyword: str
    sent_by: str


@dataclass
class EmulatedNumber:
    number: Number
    sms: SmsEmulator
    clock: SandboxClock
    replies: list[ServiceReply] = field(default_factory=list)
    carrier: dict[str, CarrierOutcome] = field(default_factory=dict)  # customer -> what the carrier does next
    sent_by: dict[str, str] = field(default_factory=dict)  # message id -> the function that sent it
    order: dict[str, int] = field(default_factory=dict)  # message id -> when it was sent, among texts of one instant
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _sequence: Any = field(default_factory=lambda: itertools.count(1))

    def next_sequence(self) -> int:
        return int(next(self._sequence))

    def carrier_outcome(self, customer: str) -> CarrierOutcome:
        return self.carrier.get(customer, "deliver")

    def receive(self, customer: str, body: str) -> str:
        """What the service does with a customer's text before publishing it; returns the payload's
        ``messageKeyword`` (the registered keyword it matched, else the account's catch-all)."""
        optional = {k["Keyword"].upper(): k for k in self.number.optional_keywords}
        managed = {} if self.number.self_managed_opt_outs else dict(self.number.mandatory_keywords)
        words = [*optional, *managed]
        if not self.number.self_managed_opt_outs:
            words += AWS_DEFAULT_OPT_OUT_WORDS
        toll_free = self.number.number_type == "TOLL_FREE"
        if toll_free:
            words.append("STOP")
        word = first_keyword(body, words)
        if word is None:
            return f"KEYWORD_{ACCOUNT}"
        if toll_free and word == "STOP":
            self._reply(customer, CARRIER_STOP_REPLY, word, CARRIER)
            self.carrier[customer] = "opted_out"
            return word
        if word in optional:
            keyword = optional[word]
            action = keyword.get("Action", "AUTOMATIC_RESPONSE")
            if action == "OPT_OUT":
                self.sms.opted_out.add(customer)
            elif action == "OPT_IN":
                self.sms.opted_out.discard(customer)
                if toll_free and self.carrier.get(customer) == "opted_out":
                    self.carrier[customer] = "deliver"
            self._reply(customer, keyword["Message"], word, END_USER_MESSAGING)
            return word
        if word == "HELP":
            self._reply(customer, managed["HELP"], word, END_USER_MESSAGING)
            return word
        # STOP or one of AWS's required opt-out words: the STOP reply, and the opt-out list.
        self.sms.opted_out.add(customer)
        self._reply(customer, managed.get("STOP", ""), word, END_USER_MESSAGING)
        return word

    def _reply(self, customer: str, body: str, keyword: str, sent_by: str) -> None:
        if not body:
            return
        message_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"sandbox/keyword-reply/{next(self._ids)}"))
        self.order[message_id] = self.next_sequence()
        self.replies.append(ServiceReply(message_id, self.clock.now(), customer, body, keyword, sent_by))


class FunctionSms:
    """One function's End User Messaging client: the shared emulator, knowing who calls it."""

    def __init__(self, number: EmulatedNumber, function_label: str) -> None:
        self._number, self._label = number, function_label

    def send_text_message(self, **params: Any) -> dict[str, Any]:
        if self._number.number.number_type == "SIMULATOR" and params.get("MessageType") == "PROMOTIONAL":
            raise ClientError(
                {
                    "Error": {
                        "Code": "ValidationException",
                        "Message": "A SIMULATOR number sends TRANSACTIONAL texts only",
                    },
                    "Reason": "INVALID_REQUEST",
                    "ResponseMetadata": {"HTTPStatusCode": 400},
                },
                "SendTextMessage",
            )
        response = self._number.sms.send_text_message(**params)
        self._number.sent_by[response["MessageId"]] = self._label
        self._number.order[response["MessageId"]] = self._number.next_sequence()
        return response

    def put_opted_out_number(self, **params: Any) -> dict[str, Any]:
        return self._number.sms.put_opted_out_number(**params)

    def delete_opted_out_number(self, **params: Any) -> dict[str, Any]:
        return self._number.sms.delete_opted_out_number(**params)

    def list_pool_origination_identities(self, **params: Any) -> dict[str, Any]:
        number = self._number.number
        return {
            "PoolArn": f"pool/{params.get('PoolId')}",
            "PoolId": params.get("PoolId"),
            "OriginationIdentities": [
                {
                    "OriginationIdentityArn": number.arn,
                    "OriginationIdentity": number.number_id,
                    "IsoCountryCode": "US",
                    "NumberCapabilities": ["SMS"],
                    "PhoneNumber": number.e164,
                }
            ],
        }

    def __getattr__(self, name: str) -> Any:
        operation = getattr(self._number.sms, name, None) if not name.startswith("_") else None
        if callable(operation):
            return operation  # what else the emulator answers (describe_opted_out_numbers, ...)
        raise AttributeError(f"the sandbox's End User Messaging does not implement {name}")
