"""The contacts table: each customer's current consent, and the proof of every change.

One item per number holds the current state (``record = "PROFILE"``); every opt-out or
opt-in adds an item ``record = "CONSENT#<message id>#<change>"`` with the number, time,
message id, keyword and source (``INBOUND``: the customer's own text; ``DELIVERY_EVENT``: a
carrier reported the number blocked as opted out; ``OPT_OUT_LIST``: a send was refused
because the number is on the opt-out list; ``IMPORT``: an imported opt-in with its
source): the proof a regulator asks for. Both writes are safe to repeat: a redelivered
message adds no second proof, and an older change never overwrites a newer one.

Consent is ordered by the customer's own message, never by when it reached us: the proof
is keyed by the message's id, the first recording's time is kept (a redelivery, however
late, reuses it), and the state follows the latest (time, message id).

For outbound messaging the PROFILE also holds the first recorded opt-in (``opt_in_at``,
``opt_in_source``: an import's source or ``KEYWORD`` for a START) and imported
``attributes``; a second item per number, ``record = "PROMOTIONAL_SENDS"``, holds the
promotional texts of the last 7 days (``recent``: idempotency key -> epoch seconds), their
subjects for the law's "same subject" caps (``subjects``: key -> ``"campaign:<id>"`` or
``"template:<id>"``; a key without one counts against every subject) and the texts per
campaign run (``campaigns``: "<id>/<run>" -> count), written with optimistic locking on
``version`` (a read-modify-write of the maps). ``subjects`` is a map beside ``recent``, not
inside it, so an item written before it existed reads as "subject unknown" (the stricter
reading) and a function still running the previous release reads a new item unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from two_way_sms.adapters.batch_reads import batch_get
from two_way_sms.instants import iso_timestamp as _iso
from two_way_sms.outbound.contact_state import ContactState
from two_way_sms.outbound.limits import RETENTION_SECONDS, promotional_subject, prune
from two_way_sms.responder import ConsentChange

if TYPE_CHECKING:  # pragma: no cover
    from two_way_sms.outbound.contacts_import import ContactImport
    from two_way_sms.outbound.request import CampaignRef

PROFILE = "PROFILE"
PROMOTIONAL_SENDS = "PROMOTIONAL_SENDS"
KEYWORD_OPT_IN_SOURCE = "KEYWORD"
IMPORT_SOURCE = "IMPORT"
_MAX_ATTEMPTS = 10  # optimistic-locking retries: only concurrent sends to one number conflict


@dataclass(frozen=True)
class ConsentRecorded:
    """What ``record_consent`` did: a new proof (truthy), and whether this change is the number's latest."""

    new_proof: bool
    current: bool  # False: a newer change (by the customer's message time) is recorded and stands

    def __bool__(self) -> bool:
        return self.new_proof


class ContactContention(RuntimeError):
    """The number's promotional sends kept changing under us; the caller retries later."""


class ContactsTable:
    def __init__(self, table: Any) -> None:
        self._table = table  # a boto3 DynamoDB Table resource

    def is_opted_out(self, number: str) -> bool:
        item = self._table.get_item(Key={"phone_number": number, "record": PROFILE}, ConsistentRead=True).get("Item")
        return bool(item and item.get("opted_out"))

    def record_consent(
        self,
        *,
        number: str,
        change: ConsentChange,
        at_ms: int,
        message_id: str,
        keyword: str,
        our_number: str,
        source: str = "INBOUND",
        opt_in_source: str | None = None,
    ) -> ConsentRecorded:
        """Stores the proof and the new state; falsy when this message was already recorded, and
        ``current`` False when a newer change stands (a late redelivery changes nothing).

        An opt-in also records the contact's first opt-in (``opt_in_at``, ``opt_in_source``,
        ``KEYWORD`` unless given) when none is recorded yet.
        """
        at = _iso(at_ms)
        is_new = True
        try:
            self._table.put_item(
                Item={
                    "phone_number": number,
                    "record": f"CONSENT#{message_id}#{change.value}",
                    "change": change.value,
                    "at": at,
                    "message_id": message_id,
                    "source": source,
                    "keyword": keyword,
                    "our_number": our_number,
                },
                ConditionExpression="attribute_not_exists(phone_number)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            # A retry: the proof exists (keep its time), but make sure the state was written too.
            is_new = False
            at = _stored_text(error.response.get("Item", {}).get("at")) or at
        expression = "SET opted_out = :out, consent_changed_at = :at, consent_message_id = :id"
        values: dict[str, Any] = {":out": change is ConsentChange.OPTED_OUT, ":at": at, ":id": message_id}
        if change is ConsentChange.OPTED_IN:
            expression += (
                ", opt_in_at = if_not_exists(opt_in_at, :at), opt_in_source = if_not_exists(opt_in_source, :src)"
            )
            values[":src"] = opt_in_source or KEYWORD_OPT_IN_SOURCE
        try:
            self._table.update_item(
                Key={"phone_number": number, "record": PROFILE},
                UpdateExpression=expression,
                # Ties on the time (the same millisecond) go to the greater message id: any order ends alike.
                ConditionExpression=(
                    "attribute_not_exists(consent_changed_at) OR consent_changed_at < :at"
                    " OR (consent_changed_at = :at AND consent_message_id <= :id)"
                ),
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return ConsentRecorded(new_proof=is_new, current=False)  # a newer change is already recorded: keep it
        return ConsentRecorded(new_proof=is_new, current=True)

    # -- outbound ---------------------------------------------------------------------------
    def contact_state(self, number: str) -> ContactState:
        """Consent and recent promotional sends, from one consistent Query of the number's
        PROFILE and PROMOTIONAL_SENDS items (adjacent sort keys; the CONSENT# proofs sort before)."""
        response = self._table.query(
            KeyConditionExpression="phone_number = :n AND #r BETWEEN :first AND :last",
            ExpressionAttributeNames={"#r": "record"},
            ExpressionAttributeValues={":n": number, ":first": PROFILE, ":last": PROMOTIONAL_SENDS},
            ConsistentRead=True,
        )
        return _contact_state({item["record"]: item for item in response.get("Items", [])})

    def contact_states(self, numbers: Iterable[str]) -> dict[str, ContactState]:
        """Every number's ContactState, read 50 numbers (100 keys) per consistent BatchGetItem:
        a campaign page of 500 recipients takes 10 reads, not 500 queries."""
        unique = list(dict.fromkeys(numbers))
        return contact_states_of(unique, batch_get(self._table, contact_state_keys(unique)))

    def record_promotional_send(
        self, number: str, key: str, campaign: CampaignRef | None, at: datetime, *, subject: str | None = None
    ) -> bool:
        """Counts one promotional text (idempotency ``key``) sent at ``at``; False when ``key``
        was already counted. Entries older than 7 days are pruned in the same write.

        ``subject`` (``limits.promotional_subject``) defaults to the campaign's; a send with
        neither is stored without one and counts against every subject."""
        for _ in range(_MAX_ATTEMPTS):
            item = self._table.get_item(
                Key={"phone_number": number, "record": PROMOTIONAL_SENDS}, ConsistentRead=True
            ).get("Item")
            state = _contact_state({PROMOTIONAL_SENDS: item} if item else {})
            put = promotional_sends_put(number, state, key, campaign, at, subject=subject)
            if put is None:
                return False  # a retry of a send already counted
            try:
                self._table.put_item(**put)
            except ClientError as error:
                if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                continue  # another send to this number wrote first: count on top of it
            return True
        raise ContactContention(f"promotional sends of a contact kept changing for {_MAX_ATTEMPTS} attempts")

    def import_contact(self, contact: ContactImport) -> bool:
        """Writes an imported contact: its attributes (when the row has any, they replace the
        stored ones) and, when the row has one, its opt-in with a CONSENT# proof
        (``message_id = "import:<source>"``). An opt-in older than the contact's last consent
        change (a later STOP) does not opt the contact back in, and the first opt-in on record
        (``opt_in_at``/``opt_in_source``) is kept. True when a new opt-in proof was recorded."""
        number = contact.phone_number
        source = getattr(contact, "opt_in_source", None)
        opt_in_at = getattr(contact, "opt_in_at", None)
        recorded = False
        assignments: list[str] = []
        values: dict[str, Any] = {}
        if contact.attributes:  # a row without attribute columns leaves the stored ones alone
            assignments.append("attributes = :attributes")
            values[":attributes"] = dict(contact.attributes)
        if source and opt_in_at is not None:
            at_ms = int(opt_in_at.timestamp() * 1000)
            recorded = bool(
                self.record_consent(
                    number=number,
                    change=ConsentChange.OPTED_IN,
                    at_ms=at_ms,
                    message_id=f"import:{source}",
                    keyword="",
                    our_number="",
                    source=IMPORT_SOURCE,
                    opt_in_source=source,
                )
            )
            # The proof exists whatever the current state: the first opt-in on record is kept.
            assignments += [
                "opt_in_at = if_not_exists(opt_in_at, :at)",
                "opt_in_source = if_not_exists(opt_in_source, :src)",
            ]
            values.update({":at": _iso(at_ms), ":src": source})
        if assignments:
            self._table.update_item(
                Key={"phone_number": number, "record": PROFILE},
                UpdateExpression="SET " + ", ".join(assignments),
                ExpressionAttributeValues=values,
            )
        return recorded


def _expected_version(version: Any) -> dict[str, Any]:
    """The condition of an optimistic write: the item is new, or still at the version read."""
    if version is None:
        return {"ConditionExpression": "attribute_not_exists(phone_number)"}
    return {"ConditionExpression": "version = :v", "ExpressionAttributeValues": {":v": version}}


def _stored_text(value: Any) -> str | None:
    """A string attribute of a condition failure's ``Item``, which comes in the wire format."""
    if isinstance(value, dict):
        value = value.get("S")
    return value if isinstance(value, str) else None


def _numbers(values: Mapping[str, float]) -> dict[str, Decimal]:
    # Milliseconds are plenty for a 24-hour window, and DynamoDB takes Decimals, not floats.
    return {key: Decimal(str(round(value, 3))) for key, value in values.items()}


def contact_state_keys(numbers: Sequence[str]) -> list[dict[str, str]]:
    """The items a ContactState is read from, for each number (a batch read's keys)."""
    return [{"phone_number": number, "record": record} for number in numbers for record in (PROFILE, PROMOTIONAL_SENDS)]


def contact_states_of(numbers: Sequence[str], items: Iterable[Mapping[str, Any]]) -> dict[str, ContactState]:
    """Each number's ContactState from the items a batch read of ``contact_state_keys`` found."""
    found: dict[str, dict[str, Mapping[str, Any]]] = {number: {} for number in numbers}
    for item in items:
        found[item["phone_number"]][item["record"]] = item
    return {number: _contact_state(by_record) for number, by_record in found.items()}


def _contact_state(items: Mapping[str, Mapping[str, Any]]) -> ContactState:
    """The ContactState of a number's PROFILE and PROMOTIONAL_SENDS items (by ``record``)."""
    profile = items.get(PROFILE, {})
    sends = items.get(PROMOTIONAL_SENDS, {})
    return ContactState(
        opted_out=bool(profile.get("opted_out")),
        opted_in=bool(profile.get("opt_in_at")),
        recent_promotional={key: float(at) for key, at in sends.get("recent", {}).items()},
        campaign_sends={run: int(count) for run, count in sends.get("campaigns", {}).items()},
        promotional_subjects={key: str(subject) for key, subject in sends.get("subjects", {}).items()},
        campaign_last_sent={run: float(at) for run, at in sends.get("campaign_last_sent", {}).items()},
        promotional_version=int(sends["version"]) if "version" in sends else None,
    )


def promotional_sends_put(
    number: str,
    state: ContactState,
    key: str,
    campaign: CampaignRef | None,
    at: datetime,
    *,
    subject: str | None = None,
) -> dict[str, Any] | None:
    """The conditional ``PutItem`` (its keyword arguments) that counts one promotional text (``key``)
    sent at ``at`` on top of ``state`` (as read, at its ``promotional_version``), pruning entries
    older than 7 days; None when ``state`` counts ``key`` already.

    ``subject`` (``limits.promotional_subject``) defaults to the campaign's; a send with
    neither is stored without one and counts against every subject."""
    if key in state.recent_promotional:
        return None
    sent_at = at.timestamp()
    subject = subject or promotional_subject(campaign, None)
    recent = prune({**state.recent_promotional, key: sent_at}, at)
    subjects = {k: v for k, v in state.promotional_subjects.items() if k in recent}
    if subject is not None:
        subjects[key] = subject
    campaigns, last_sent = dict(state.campaign_sends), dict(state.campaign_last_sent)
    if campaign is not None:
        campaigns[campaign.run_key] = campaigns.get(campaign.run_key, 0) + 1
        last_sent[campaign.run_key] = sent_at
    last_sent = prune(last_sent, at)  # a run with no send for 7 days is over: forget its count
    campaigns = {run: count for run, count in campaigns.items() if run in last_sent}
    version = state.promotional_version
    return {
        "Item": {
            "phone_number": number,
            "record": PROMOTIONAL_SENDS,
            "recent": _numbers(recent),
            "subjects": subjects,
            "campaigns": campaigns,
            "campaign_last_sent": _numbers(last_sent),
            "version": (version or 0) + 1,
            "expires_at": int(max(recent.values(), default=sent_at)) + RETENTION_SECONDS,
        },
        **_expected_version(version),
    }
