"""Campaign runs in the outbound table: one item per run, its counters and its progress.

Item: ``pk = "CAMPAIGN#<campaign id>"``, ``sk = "RUN#<run id>"``, with counters ``queued``,
``skipped_<REASON>`` (the campaigns function left the recipient out), ``sent``,
``refused_<REASON>`` (the sender refused the request), ``delivered`` and ``failed`` (the
events handler, once per message), ``status`` (``RUNNING`` while the audience is fanned
out, ``QUEUED_ALL`` after, ``FAILED`` when the run could not go on, with ``failure``),
``started_at`` and ``done_chunks``.

A run whose CSV audience is read in shards (``outbound.campaign_shards``) has ``shards``
(how many) on its item, and each shard counts its pages on an item of its own,
``sk = "SHARD#<run id>#<index>"`` (with its own ``done_chunks``), so parallel workers never
write the same item. A shard that has read all its rows adds its counters to the run
item once, in the write that puts its index in ``done_shards``; the last one to do so
marks the run QUEUED_ALL. The run's report adds the shards still reading to the run item.

The audience rows a run could not read (``skipped_INVALID_ROW``) are kept with their row
number and reason beside it: ``sk = "ROWERRORS#<run id>#<chunk id>#<part>"``, one item per
page (a part per ``ROW_ERRORS_PER_ITEM`` rows), so a retried page writes the same items.

Every writer runs at least once, so every write is safe to repeat: counters are added
with one ``UpdateItem ... ADD``; a writer that counts a whole chunk of work names it, and
the chunk id goes into the ``done_chunks`` string set in the same conditional write, so a
retried chunk counts nothing. Writers that count one message at a time (the sender, the
events handler) rely on their own exactly-once point instead (an outcome written once,
``Applied.became_final``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

from botocore.exceptions import ClientError

RUNNING = "RUNNING"
QUEUED_ALL = "QUEUED_ALL"
FAILED = "FAILED"  # the run stopped: its template is gone or its audience cannot be read
SKIPPED_PREFIX = "skipped_"
REFUSED_PREFIX = "refused_"
PLAIN_COUNTERS = ("queued", "sent", "unknown", "delivered", "failed")
_COUNTER_NAME = re.compile(r"(queued|sent|unknown|delivered|failed|(skipped|refused)_[A-Z][A-Z0-9_]{0,63})")
_CHUNK_ID = re.compile(r"[\x21-\x7e]{1,256}")
ROW_ERRORS_PREFIX = "ROWERRORS#"
SHARD_PREFIX = "SHARD#"
CAMPAIGN_PREFIX, RUN_PREFIX = "CAMPAIGN#", "RUN#"  # a run item's keys: pk and sk
ROW_ERRORS_PER_ITEM = 500  # with reasons cut to MAX_ROW_ERROR_CHARACTERS: well under DynamoDB's 400 KB per item
MAX_ROW_ERROR_CHARACTERS = 200
_ROW_ERRORS_REST = re.compile(r"[^#]+#[0-9]+")  # "<chunk id>#<part>" after "ROWERRORS#<run id>#"
_SHARD_INDEX = re.compile(r"[0-9]+")  # after "SHARD#<run id>#": not another run's ("<run>#x" shares the prefix)


def run_key(campaign_id: str, run_id: str) -> dict[str, str]:
    return {"pk": f"{CAMPAIGN_PREFIX}{campaign_id}", "sk": f"{RUN_PREFIX}{run_id}"}


def shard_key(campaign_id: str, run_id: str, index: int) -> dict[str, str]:
    """The item one shard of a run counts its pages on."""
    return {"pk": f"CAMPAIGN#{campaign_id}", "sk": f"{SHARD_PREFIX}{run_id}#{index:04d}"}


def counters(item: Mapping[str, Any]) -> dict[str, int]:
    """The counters an item holds, by name."""
    return {name: int(value) for name, value in item.items() if _COUNTER_NAME.fullmatch(name) and int(value)}


def skipped(reason: str) -> str:
    """The counter of recipients the campaigns function left out for ``reason``."""
    return SKIPPED_PREFIX + reason


def refused(reason: str) -> str:
    """The counter of requests the sender refused for ``reason``."""
    return REFUSED_PREFIX + reason


@dataclass(frozen=True)
class RowError:
    """An audience row the run could not read: its number in the file and why (the number masked)."""

    row_number: int
    reason: str


@dataclass(frozen=True)
class CampaignReport:
    """What one run did so far, from its item."""

    campaign_id: str
    run_id: str
    status: str
    started_at: str | None = None
    queued_all_at: str | None = None
    queued: int = 0
    skipped: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))  # reason -> recipients
    sent: int = 0
    refused: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))  # reason -> requests
    unknown: int = 0  # sends whose answer was lost: they may have gone, and are not sent again
    delivered: int = 0
    failed: int = 0
    template_id: str | None = None
    template_lacks_opt_out_instruction: bool | None = None  # the sender appends the footer (PROMOTIONAL)
    failure: str | None = None  # why the run stopped (status FAILED)
    shards: int | None = None  # the audience is read in this many shards (None: read whole)
    shards_done: int = 0  # shards that have read all their rows

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    @property
    def refused_total(self) -> int:
        return sum(self.refused.values())

    @property
    def recipients(self) -> int:
        """Audience rows looked at so far: each is either queued or skipped."""
        return self.queued + self.skipped_total

    @property
    def awaiting_send(self) -> int:
        """Queued requests the sender has neither sent nor refused yet (held or in the queue)."""
        return max(self.queued - self.sent - self.unknown - self.refused_total, 0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "campaignId": self.campaign_id,
            "runId": self.run_id,
            "status": self.status,
            "startedAt": self.started_at,
            "queuedAllAt": self.queued_all_at,
            "queued": self.queued,
            "skipped": dict(self.skipped),
            "sent": self.sent,
            "refused": dict(self.refused),
            "unknown": self.unknown,
            "delivered": self.delivered,
            "failed": self.failed,
            "awaitingSend": self.awaiting_send,
            "templateId": self.template_id,
            "templateLacksOptOutInstruction": self.template_lacks_opt_out_instruction,
            "failure": self.failure,
            **({"shards": self.shards, "shardsDone": self.shards_done} if self.shards else {}),
        }


class CampaignRuns:
    def __init__(self, table: Any) -> None:
        self._table = table  # a boto3 DynamoDB Table resource (the outbound table)

    def start(
        self,
        campaign_id: str,
        run_id: str,
        at: datetime,
        *,
        template_id: str | None = None,
        template_lacks_opt_out_instruction: bool | None = None,
    ) -> None:
        """Marks the run RUNNING; a repeat (a retried or continued invocation) changes nothing."""
        names = {"#status": "status"}
        values: dict[str, Any] = {":running": RUNNING, ":at": at.isoformat()}
        assignments = ["#status = if_not_exists(#status, :running)", "started_at = if_not_exists(started_at, :at)"]
        if template_id is not None:
            assignments.append("template_id = :template_id")
            values[":template_id"] = template_id
        if template_lacks_opt_out_instruction is not None:
            assignments.append("template_lacks_opt_out_instruction = :lacks")
            values[":lacks"] = template_lacks_opt_out_instruction
        self._table.update_item(
            Key=run_key(campaign_id, run_id),
            UpdateExpression="SET " + ", ".join(assignments),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def add_counts(
        self,
        campaign_id: str,
        run_id: str,
        counts: Mapping[str, int],
        chunk: str | None = None,
        shard: int | None = None,
    ) -> bool:
        """Adds ``counts`` to the run's counters in one write; False when ``chunk`` was already counted.

        With ``chunk``, the chunk id joins ``done_chunks`` in the same conditional write, so
        the counts of a retried chunk are added once. With ``shard``, they go on that shard's item.
        """
        for name, value in counts.items():
            if not _COUNTER_NAME.fullmatch(name):
                raise ValueError(
                    f"counter {name!r} is not queued, sent, delivered, failed, skipped_<REASON> or refused_<REASON>"
                )
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"count {value!r} of {name} must be a whole number")
        if chunk is not None and not _CHUNK_ID.fullmatch(chunk):
            raise ValueError(f"chunk id {chunk!r} must be 1-256 printable characters without spaces")
        nonzero = {name: value for name, value in counts.items() if value}
        if not nonzero and chunk is None:
            return True
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        additions = []
        for position, (name, value) in enumerate(sorted(nonzero.items())):
            names[f"#c{position}"] = name
            values[f":c{position}"] = value
            additions.append(f"#c{position} :c{position}")
        arguments: dict[str, Any] = {}
        if chunk is not None:
            additions.append("done_chunks :chunks")
            values[":chunks"] = {chunk}
            values[":chunk"] = chunk
            arguments["ConditionExpression"] = "NOT contains(done_chunks, :chunk)"
        if names:
            arguments["ExpressionAttributeNames"] = names
        try:
            self._table.update_item(
                Key=run_key(campaign_id, run_id) if shard is None else shard_key(campaign_id, run_id, shard),
                UpdateExpression="ADD " + ", ".join(additions),
                ExpressionAttributeValues=values,
                **arguments,
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            return False  # this chunk was counted by an earlier attempt
        return True

    def plan_shards(self, campaign_id: str, run_id: str, shards: int) -> frozenset[int]:
        """Notes that the run's audience is read in ``shards`` shards (a repeat changes nothing); the
        shards whose workers started already (a retried first invocation must not start them again)."""
        run = self._table.update_item(
            Key=run_key(campaign_id, run_id),
            UpdateExpression="SET shards = if_not_exists(shards, :shards)",
            ExpressionAttributeValues={":shards": shards},
            ReturnValues="ALL_NEW",
        )["Attributes"]
        return frozenset(
            int(index) for index in (run.get("started_shards") or set()) | (run.get("done_shards") or set())
        )

    def start_shard(self, campaign_id: str, run_id: str, shard: int) -> None:
        """Notes that a worker began reading ``shard`` (a repeat changes nothing)."""
        self._table.update_item(
            Key=run_key(campaign_id, run_id),
            UpdateExpression="ADD started_shards :shard",
            ExpressionAttributeValues={":shard": {shard}},
        )

    def finish_shard(self, campaign_id: str, run_id: str, shard: int, shards: int, at: datetime) -> bool:
        """Adds a shard's counters to the run once, when it has read all its rows; True when every
        shard has (the run is then QUEUED_ALL). Safe to repeat: a retried shard adds nothing."""
        item = self._table.get_item(Key=shard_key(campaign_id, run_id, shard), ConsistentRead=True).get("Item")
        totals = counters(item or {})
        names: dict[str, str] = {}
        values: dict[str, Any] = {":shard": shard, ":shards": {shard}}
        additions = ["done_shards :shards"]
        for position, (name, value) in enumerate(sorted(totals.items())):
            names[f"#c{position}"] = name
            values[f":c{position}"] = value
            additions.append(f"#c{position} :c{position}")
        try:
            run = self._table.update_item(
                Key=run_key(campaign_id, run_id),
                UpdateExpression="ADD " + ", ".join(additions),
                ConditionExpression="NOT contains(done_shards, :shard)",
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                **({"ExpressionAttributeNames": names} if names else {}),
            )["Attributes"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            run = self._table.get_item(Key=run_key(campaign_id, run_id), ConsistentRead=True).get("Item") or {}
        if len(run.get("done_shards") or ()) < shards:
            return False
        self.finish_fan_out(campaign_id, run_id, at)
        return True

    def finish_fan_out(self, campaign_id: str, run_id: str, at: datetime) -> None:
        """Every recipient is queued or skipped: the run's status becomes QUEUED_ALL, unless the run
        FAILED meanwhile (another shard, or an earlier attempt, stopped it: that status stands)."""
        try:
            self._table.update_item(
                Key=run_key(campaign_id, run_id),
                UpdateExpression="SET #status = :queued_all, queued_all_at = if_not_exists(queued_all_at, :at)",
                ConditionExpression="attribute_not_exists(#status) OR #status <> :failed",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":queued_all": QUEUED_ALL, ":at": at.isoformat(), ":failed": FAILED},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise

    def fail(self, campaign_id: str, run_id: str, reason: str, at: datetime) -> None:
        """The run cannot go on: status FAILED with ``reason`` (one line, no phone numbers)."""
        self._table.update_item(
            Key=run_key(campaign_id, run_id),
            UpdateExpression="SET #status = :failed, failure = :reason, failed_at = :at",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":failed": FAILED, ":reason": reason[:500], ":at": at.isoformat()},
        )

    def record_row_errors(self, campaign_id: str, run_id: str, chunk: str, errors: Sequence[RowError]) -> None:
        """Keeps the bad rows of one page (``chunk``), each with its number and reason; a repeat rewrites them."""
        if not isinstance(chunk, str) or not _CHUNK_ID.fullmatch(chunk) or "#" in chunk:
            raise ValueError(f"chunk id {chunk!r} must be 1-256 printable characters without spaces or '#'")
        ordered = sorted(errors, key=lambda error: error.row_number)
        with self._table.batch_writer() as batch:
            for part, start in enumerate(range(0, len(ordered), ROW_ERRORS_PER_ITEM)):
                batch.put_item(
                    Item={
                        "pk": run_key(campaign_id, run_id)["pk"],
                        "sk": f"{ROW_ERRORS_PREFIX}{run_id}#{chunk}#{part}",
                        "rows": [
                            {"row": error.row_number, "reason": error.reason[:MAX_ROW_ERROR_CHARACTERS]}
                            for error in ordered[start : start + ROW_ERRORS_PER_ITEM]
                        ],
                    }
                )

    def row_errors(self, campaign_id: str, run_id: str) -> list[RowError]:
        """Every bad audience row recorded for the run, by row number."""
        prefix = f"{ROW_ERRORS_PREFIX}{run_id}#"
        arguments: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ConsistentRead": True,
            "ExpressionAttributeValues": {":pk": run_key(campaign_id, run_id)["pk"], ":prefix": prefix},
        }
        found: list[RowError] = []
        while True:
            response = self._table.query(**arguments)
            for item in response.get("Items", []):
                if _ROW_ERRORS_REST.fullmatch(item["sk"].removeprefix(prefix)):  # not another run's ("<run>#x")
                    found += [RowError(int(row["row"]), str(row["reason"])) for row in item.get("rows", [])]
            if "LastEvaluatedKey" not in response:
                return sorted(found, key=lambda error: error.row_number)
            arguments["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def read(self, campaign_id: str, run_id: str) -> CampaignReport | None:
        """The run's counters by name; None when no such run was started."""
        item = self._table.get_item(Key=run_key(campaign_id, run_id), ConsistentRead=True).get("Item")
        if item is None:
            return None
        return self.report_of(campaign_id, run_id, item)

    def report_of(self, campaign_id: str, run_id: str, item: Mapping[str, Any]) -> CampaignReport:
        """The report of a run item: with the counters of its shards still reading, when it has shards."""
        if not item.get("shards"):
            return report_from_item(campaign_id, run_id, item)
        return report_from_item(
            campaign_id, run_id, with_shards_still_reading(item, self._shard_items(campaign_id, run_id))
        )

    def _shard_items(self, campaign_id: str, run_id: str) -> list[dict[str, Any]]:
        arguments: dict[str, Any] = {
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ConsistentRead": True,
            "ExpressionAttributeValues": {
                ":pk": run_key(campaign_id, run_id)["pk"],
                ":prefix": f"{SHARD_PREFIX}{run_id}#",
            },
        }
        prefix = arguments["ExpressionAttributeValues"][":prefix"]
        found: list[dict[str, Any]] = []
        while True:
            response = self._table.query(**arguments)
            found += [
                item for item in response.get("Items", []) if _SHARD_INDEX.fullmatch(item["sk"].removeprefix(prefix))
            ]
            if "LastEvaluatedKey" not in response:
                return found
            arguments["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def with_shards_still_reading(item: Mapping[str, Any], shards: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The run ``item`` with the counters of its ``shards`` (their items) it has not folded in yet."""
    done = {int(index) for index in item.get("done_shards") or ()}
    merged = dict(item)
    for shard in shards:
        if int(shard["sk"].rsplit("#", 1)[1]) in done:
            continue  # already added to the run item
        for name, value in counters(shard).items():
            merged[name] = int(merged.get(name, 0)) + value
    return merged


def runs_with_shards_still_reading(items: Iterable[Mapping[str, Any]]) -> list[tuple[str, str, dict[str, Any]]]:
    """(campaign id, run id, the run's item with its shards still reading added) for each run item
    among ``items`` (any of the table's items, as a scan finds them: shard items are matched to their run)."""
    campaigns = [item for item in items if str(item.get("pk", "")).startswith(CAMPAIGN_PREFIX)]
    shards: dict[tuple[str, str], list[Mapping[str, Any]]] = {}  # (pk, run id) -> its shards' items
    for item in campaigns:
        if (shard := shard_of(str(item.get("sk", "")))) is not None:
            shards.setdefault((item["pk"], shard[0]), []).append(item)
    runs = []
    for item in campaigns:
        if str(item.get("sk", "")).startswith(RUN_PREFIX):
            pk, run_id = item["pk"], item["sk"].removeprefix(RUN_PREFIX)
            merged = with_shards_still_reading(item, shards.get((pk, run_id), []))
            runs.append((pk.removeprefix(CAMPAIGN_PREFIX), run_id, merged))
    return runs


def shard_of(sk: str) -> tuple[str, int] | None:
    """(run id, shard index) of a shard item's sort key; None for any other item."""
    if not sk.startswith(SHARD_PREFIX):
        return None
    run_id, _, index = sk.removeprefix(SHARD_PREFIX).rpartition("#")
    return (run_id, int(index)) if run_id and _SHARD_INDEX.fullmatch(index) else None


def report_from_item(campaign_id: str, run_id: str, item: Mapping[str, Any]) -> CampaignReport:
    skipped_counts = {
        name.removeprefix(SKIPPED_PREFIX): int(value)
        for name, value in item.items()
        if name.startswith(SKIPPED_PREFIX) and int(value)
    }
    refused_counts = {
        name.removeprefix(REFUSED_PREFIX): int(value)
        for name, value in item.items()
        if name.startswith(REFUSED_PREFIX) and int(value)
    }
    lacks = item.get("template_lacks_opt_out_instruction")
    return CampaignReport(
        campaign_id=campaign_id,
        run_id=run_id,
        status=str(item.get("status", RUNNING)),
        started_at=item.get("started_at"),
        queued_all_at=item.get("queued_all_at"),
        queued=int(item.get("queued", 0)),
        skipped=MappingProxyType(dict(sorted(skipped_counts.items()))),
        sent=int(item.get("sent", 0)),
        refused=MappingProxyType(dict(sorted(refused_counts.items()))),
        unknown=int(item.get("unknown", 0)),
        delivered=int(item.get("delivered", 0)),
        failed=int(item.get("failed", 0)),
        template_id=item.get("template_id"),
        template_lacks_opt_out_instruction=None if lacks is None else bool(lacks),
        failure=item.get("failure"),
        shards=int(item["shards"]) if item.get("shards") else None,
        shards_done=len(item.get("done_shards") or ()),
    )
