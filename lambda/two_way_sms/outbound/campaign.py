"""Campaigns: one template sent to an audience (a CSV in S3 or a contacts query), paced and capped.

A campaign run fans its audience out into ordinary send requests (:func:`campaign_request`),
so every recipient goes through the same policy as any other text: consent, quiet hours,
limits. The idempotency key ``<campaign id>:<run id>:<destination>`` makes a re-read of the
audience (a retried chunk, a duplicate row) send at most once per recipient and run.

With ``local_time`` ("10:00") each recipient's request carries a ``send_after`` at the next
10:00 on *their* wall clock, so a nationwide campaign rolls across the time zones.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from two_way_sms.outbound.csv_rows import CsvRowProblem, UnreadableHeader, cell_text, open_rows
from two_way_sms.outbound.request import (
    CAMPAIGN_ID_PATTERN,
    MESSAGE_TYPES,
    PROMOTIONAL,
    RUN_ID_PATTERN,
    TEMPLATE_ID_PATTERN,
    CampaignRef,
    SendRequest,
)
from two_way_sms.phone import InvalidPhoneNumber, to_e164
from two_way_sms.quiet_hours import locate

PHONE_NUMBER_COLUMN = "phone_number"
# The longest E.164 number ("+" and 15 digits): the last part of every request's idempotency key.
MAX_DESTINATION_CHARACTERS = 16
# "<campaign id>:<run id>:<destination>" must fit the idempotency key's 128 characters.
MAX_CAMPAIGN_AND_RUN_ID_CHARACTERS = 128 - 2 - MAX_DESTINATION_CHARACTERS
_LOCAL_TIME_PATTERN = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")


class InvalidCampaign(ValueError):
    """A campaign definition (or audience file) that cannot run; the message names the bad value."""


@dataclass(frozen=True)
class AudienceCsv:
    """A CSV object in S3 with a "phone_number" column; the other columns are template variables."""

    bucket: str
    key: str

    def __post_init__(self) -> None:
        for name in ("bucket", "key"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise InvalidCampaign(f"audience csv {name} {value!r} must be a non-empty string")


@dataclass(frozen=True)
class AudienceQuery:
    """The contacts whose PROFILE attributes match every one of ``attributes``."""

    attributes: Mapping[str, str]

    def __post_init__(self) -> None:
        if not isinstance(self.attributes, Mapping) or not self.attributes:
            # An empty query would match every contact: too easy to do by mistake.
            raise InvalidCampaign(f"audience query attributes {self.attributes!r} must name at least one attribute")
        _check_strings("audience query attribute", self.attributes)
        object.__setattr__(self, "attributes", MappingProxyType(dict(self.attributes)))


Audience = AudienceCsv | AudienceQuery


@dataclass(frozen=True)
class Campaign:
    campaign_id: str  # [A-Za-z0-9_-]{1,64}
    template_id: str
    message_type: str = PROMOTIONAL
    # Required (None is refused): the default only keeps the contracted field order.
    audience: Audience = None  # type: ignore[assignment]
    variables: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))  # CSV columns override
    local_time: str | None = None  # "10:00": send at the next 10:00 in each recipient's zone
    max_per_recipient: int = 1
    mps: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.campaign_id, str) or not CAMPAIGN_ID_PATTERN.fullmatch(self.campaign_id):
            raise InvalidCampaign(f"campaign id {self.campaign_id!r} must be 1-64 characters of [A-Za-z0-9_-]")
        where = f"campaign {self.campaign_id}"
        if not isinstance(self.template_id, str) or not TEMPLATE_ID_PATTERN.fullmatch(self.template_id):
            raise InvalidCampaign(f"{where}: template id {self.template_id!r} must be 1-64 characters of [A-Za-z0-9_-]")
        if self.message_type not in MESSAGE_TYPES:
            raise InvalidCampaign(
                f"{where}: message type {self.message_type!r} must be one of {', '.join(MESSAGE_TYPES)}"
            )
        if not isinstance(self.audience, (AudienceCsv, AudienceQuery)):
            raise InvalidCampaign(f"{where}: audience {self.audience!r} must be an AudienceCsv or an AudienceQuery")
        if not isinstance(self.variables, Mapping):
            raise InvalidCampaign(f"{where}: variables must be an object of strings")
        _check_strings(f"{where}: variable", self.variables)
        object.__setattr__(self, "variables", MappingProxyType(dict(self.variables)))
        if self.local_time is not None and (
            not isinstance(self.local_time, str) or not _LOCAL_TIME_PATTERN.fullmatch(self.local_time)
        ):
            raise InvalidCampaign(f"{where}: local time {self.local_time!r} must be HH:MM (00:00-23:59)")
        if not _is_int(self.max_per_recipient) or self.max_per_recipient < 1:
            raise InvalidCampaign(f"{where}: maxPerRecipient {self.max_per_recipient!r} must be an integer >= 1")
        if self.mps is not None and (not _is_number(self.mps) or not self.mps > 0 or not math.isfinite(self.mps)):
            raise InvalidCampaign(f"{where}: mps {self.mps!r} must be a positive number")

    def to_dict(self) -> dict[str, Any]:
        """The camelCase form (embedded as-is in the campaigns function's event)."""
        if isinstance(self.audience, AudienceCsv):
            audience: dict[str, Any] = {"csv": {"bucket": self.audience.bucket, "key": self.audience.key}}
        else:
            audience = {"query": {"attributes": dict(self.audience.attributes)}}
        return {
            "campaignId": self.campaign_id,
            "templateId": self.template_id,
            "messageType": self.message_type,
            "audience": audience,
            "variables": dict(self.variables),
            "localTime": self.local_time,
            "maxPerRecipient": self.max_per_recipient,
            "mps": self.mps,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str | bytes | Mapping[str, Any]) -> Campaign:
        """Reads :meth:`to_json` (or the decoded object); optional fields may be left out; unknown ones are refused."""
        if isinstance(raw, (str, bytes)):
            try:
                raw = json.loads(raw)
            except ValueError as error:
                raise InvalidCampaign(f"campaign is not JSON ({error})") from None
        if not isinstance(raw, Mapping):
            raise InvalidCampaign(f"campaign must be a JSON object, not {type(raw).__name__}")
        _reject_unknown(raw, _CAMPAIGN_FIELDS, "campaign")
        missing = [name for name in ("campaignId", "templateId", "audience") if raw.get(name) is None]
        if missing:
            raise InvalidCampaign(f"campaign is missing {', '.join(missing)}")
        values = {_CAMPAIGN_FIELDS[name]: value for name, value in raw.items() if value is not None}
        values["audience"] = _parse_audience(raw["audience"])
        return cls(**values)

    def ref(self, run_id: str) -> CampaignRef:
        return CampaignRef(self.campaign_id, run_id, self.max_per_recipient, self.mps)


_CAMPAIGN_FIELDS = {
    "campaignId": "campaign_id",
    "templateId": "template_id",
    "messageType": "message_type",
    "audience": "audience",
    "variables": "variables",
    "localTime": "local_time",
    "maxPerRecipient": "max_per_recipient",
    "mps": "mps",
}


def _parse_audience(raw: Any) -> Audience:
    if not isinstance(raw, Mapping) or len(raw) != 1 or not ({"csv", "query"} & set(raw)):
        raise InvalidCampaign(f'audience must be {{"csv": {{...}}}} or {{"query": {{...}}}}, not {_keys(raw)}')
    if "csv" in raw:
        spec = raw["csv"]
        if not isinstance(spec, Mapping) or set(spec) != {"bucket", "key"}:
            raise InvalidCampaign(f"audience csv must have exactly bucket and key, not {_keys(spec)}")
        return AudienceCsv(spec["bucket"], spec["key"])
    spec = raw["query"]
    if not isinstance(spec, Mapping) or set(spec) != {"attributes"}:
        raise InvalidCampaign(f"audience query must have exactly attributes, not {_keys(spec)}")
    return AudienceQuery(spec["attributes"])


# -- local send times ------------------------------------------------------------------------------


def local_send_after(number: str, local_time: str, after: datetime) -> datetime | None:
    """The first instant (UTC) at or after ``after`` when ``number``'s wall clock reads ``local_time``.

    The recipient's first candidate zone is used. On the day clocks go forward a wall time
    in the gap does not exist: the next valid instant (the end of the gap) is taken. On the
    day clocks go back the earlier of the two readings that is not before ``after`` wins.
    None when the number's zone cannot be told.
    """
    if after.tzinfo is None:
        raise ValueError(f"after {after.isoformat()} must be timezone-aware")
    if not isinstance(local_time, str) or not _LOCAL_TIME_PATTERN.fullmatch(local_time):
        raise InvalidCampaign(f"local time {local_time!r} must be HH:MM (00:00-23:59)")
    zones = locate(number).zones
    if not zones:
        return None
    zone = ZoneInfo(zones[0])
    wall = time.fromisoformat(local_time)
    start = after.astimezone(timezone.utc)
    first_day = start.astimezone(zone).date()
    for offset in range(3):  # today's reading may have passed; tomorrow's has not
        for candidate in _instants_reading(datetime.combine(first_day + timedelta(days=offset), wall), zone):
            if candidate >= start:
                return candidate
    raise AssertionError("a wall time recurs every day")  # pragma: no cover


def _instants_reading(wall: datetime, zone: ZoneInfo) -> list[datetime]:
    """The UTC instants whose wall clock in ``zone`` reads the naive ``wall``, earliest first
    (two when clocks go back); in a gap, the instant the gap ends."""
    earlier = wall.replace(tzinfo=zone, fold=0).astimezone(timezone.utc)
    later = wall.replace(tzinfo=zone, fold=1).astimezone(timezone.utc)
    readings = sorted({earlier, later})
    valid = [u for u in readings if u.astimezone(zone).replace(tzinfo=None) == wall]
    if valid:
        return valid
    # A gap: fold=1 reads the wall time with the offset after the change (too early),
    # fold=0 with the one before (too late); the change lies between: bisect to the second.
    low, high = int(min(readings).timestamp()), int(max(readings).timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return [datetime.fromtimestamp(high, timezone.utc)]


# -- the audience file ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AudienceRow:
    row_number: int  # 1 = the first row after the header
    destination: str  # E.164
    variables: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class AudienceRowError:
    row_number: int
    reason: str  # one line, the number masked


def read_audience_csv(lines: Iterable[str]) -> Iterator[AudienceRow | AudienceRowError]:
    """One AudienceRow or AudienceRowError per data row, in file order.

    The header must have a "phone_number" column (any case, spaces around ignored); the
    other columns (header stripped) become template variables when the cell is not empty.
    Rows whose cells are all empty are skipped. A bad row (not CSV, not UTF-8, a cell over
    ``csv_rows.MAX_CELL_CHARACTERS``, too many cells, not a phone number) is an
    AudienceRowError with its number and reason, and the rows after it are read on. A file
    without a readable header or without a phone_number column raises InvalidCampaign
    (nothing in it can be sent).
    """
    try:
        fieldnames, rows = open_rows(lines)
    except UnreadableHeader as error:
        raise InvalidCampaign(f"audience csv: {error}") from None
    if fieldnames is None:
        raise InvalidCampaign("audience csv is empty: it needs a header with a phone_number column")
    phone_column = _header(fieldnames, required=PHONE_NUMBER_COLUMN, what="audience csv")
    for row in rows:
        if isinstance(row, CsvRowProblem):
            yield AudienceRowError(row.row_number, row.reason)
            continue
        try:
            destination = to_e164(row.cells[phone_column] or "")
        except InvalidPhoneNumber as error:  # its message masks the number
            yield AudienceRowError(row.row_number, f"row {row.row_number}: {error}")
            continue
        variables = {
            name.strip(): cell_text(value)
            for name, value in row.cells.items()
            if name != phone_column and name.strip() and cell_text(value)  # (a trailing comma makes a nameless column)
        }
        yield AudienceRow(row.row_number, destination, MappingProxyType(variables))


def _header(fieldnames: Sequence[str], *, required: str, what: str) -> str:
    """The header's name for ``required`` (matched case-insensitively, spaces around ignored)."""
    folded = [name.strip().lower() for name in fieldnames]
    if required not in folded:
        shown = ", ".join(name.strip()[:40] for name in fieldnames[:10]) or "none"
        raise InvalidCampaign(f"{what} has no {required} column (columns: {shown})")
    duplicates = sorted({name for name in folded if name and folded.count(name) > 1})
    if duplicates:
        # DictReader would keep only the last of them: refuse rather than guess.
        raise InvalidCampaign(f"{what} has duplicate columns: {', '.join(duplicates)}")
    return fieldnames[folded.index(required)]


# -- the send requests --------------------------------------------------------------------------------------


def check_run_id(campaign_id: str, run_id: str) -> None:
    """Raises InvalidCampaign unless ``run_id`` is a valid run id whose requests' idempotency keys fit.

    Every request of the run is keyed ``<campaign id>:<run id>:<destination>`` (at most 128
    characters), so the campaign id and the run id share ``MAX_CAMPAIGN_AND_RUN_ID_CHARACTERS``.
    """
    if not isinstance(run_id, str) or not RUN_ID_PATTERN.fullmatch(run_id):
        raise InvalidCampaign(f"run id {str(run_id)[:70]!r} must be 1-64 characters of [A-Za-z0-9_.:#@+=-]")
    together = len(campaign_id) + len(run_id)
    if together > MAX_CAMPAIGN_AND_RUN_ID_CHARACTERS:
        raise InvalidCampaign(
            f"campaign id and run id have {together} characters together; at most "
            f"{MAX_CAMPAIGN_AND_RUN_ID_CHARACTERS} fit in a request's idempotency key "
            "(<campaign id>:<run id>:<destination>, at most 128 characters)"
        )


def campaign_request(campaign: Campaign, run_id: str, row: AudienceRow, *, now: datetime) -> SendRequest:
    """The send request for one recipient of one run.

    The row's variables override the campaign's defaults. With ``local_time`` the request
    waits for the recipient's next local ``local_time`` after ``now``; when the zone is
    unknown it gets no ``send_after`` (the policy then refuses a promotional text).
    The idempotency key must fit in 128 characters: a 64-character campaign id leaves
    46 for the run id; a longer pair raises InvalidSendRequest.
    """
    send_after = local_send_after(row.destination, campaign.local_time, now) if campaign.local_time else None
    return SendRequest(
        destination=row.destination,
        message_type=campaign.message_type,
        idempotency_key=f"{campaign.campaign_id}:{run_id}:{row.destination}",
        template_id=campaign.template_id,
        variables={**campaign.variables, **row.variables},
        send_after=send_after,
        campaign=campaign.ref(run_id),
    )


def _check_strings(what: str, values: Mapping[Any, Any]) -> None:
    for name, value in values.items():
        if not isinstance(name, str) or not name:
            raise InvalidCampaign(f"{what} name {name!r} must be a non-empty string")
        if not isinstance(value, str):
            raise InvalidCampaign(f"{what} {name!r} must be a string, not {type(value).__name__}")


def _reject_unknown(raw: Mapping[str, Any], known: Mapping[str, str], what: str) -> None:
    unknown = sorted(str(name) for name in raw if name not in known)
    if unknown:
        raise InvalidCampaign(f"{what} has unknown fields: {', '.join(unknown)}")


def _keys(raw: Any) -> str:
    return "keys " + ", ".join(sorted(map(str, raw))) if isinstance(raw, Mapping) else type(raw).__name__


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
