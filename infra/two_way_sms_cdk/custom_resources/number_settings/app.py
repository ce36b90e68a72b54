"""Custom resource (CDK ``custom_resources.Provider`` onEvent) that sets up two-way SMS.

It configures an EXISTING End User Messaging origination identity (phone number or pool):
two-way channel, self-managed opt-outs, opt-out list and keywords. The identity is not
ours, so before changing anything the handler saves what it found in an SSM parameter
(the snapshot) and puts it back when the resource is deleted.

Properties (CloudFormation sends every value as a string): OriginationType ("phone-number"
| "pool"), OriginationId, TwoWayChannelArn, TwoWayChannelRole (optional),
SelfManagedOptOutsEnabled ("true" | "false"), OptOutListName (optional), Keywords
([{Keyword, Message, Action}]) and SnapshotParameterName.

PhysicalResourceId is "<OriginationType>/<OriginationId>"; Data holds OriginationArn and
PhoneNumber (E.164, empty for a pool). Failures are raised; the Provider reports them.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import ClientError

from two_way_sms.keywords import MANDATORY_KEYWORDS
from two_way_sms.responder import KeywordAction

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

# Module-level so tests can replace them (Stubber for sms-voice, moto for SSM).
sms = boto3.client("pinpoint-sms-voice-v2")
ssm = boto3.client("ssm")

KEYWORD_ACTIONS = tuple(action.value for action in KeywordAction)
# Every number has them (two_way_sms.keywords): they can be overwritten but DeleteKeyword rejects them.


class InvalidProperties(ValueError):
    """The resource properties cannot be used; the message names the bad value."""


# --- Properties -------------------------------------------------------------------------


@dataclass(frozen=True)
class Keyword:
    keyword: str
    message: str
    action: str


@dataclass(frozen=True)
class Settings:
    origination_type: str
    origination_id: str
    two_way_channel_arn: str
    two_way_channel_role: str
    self_managed_opt_outs: bool
    opt_out_list_name: str
    keywords: tuple[Keyword, ...]
    snapshot_parameter: str

    @property
    def physical_id(self) -> str:
        return f"{self.origination_type}/{self.origination_id}"


def parse_properties(props: dict[str, Any]) -> Settings:
    origination_type = props.get("OriginationType")
    if origination_type not in _ORIGINATIONS:
        raise InvalidProperties(f"OriginationType {origination_type!r} is not one of {sorted(_ORIGINATIONS)}")
    return Settings(
        origination_type=origination_type,
        origination_id=_required(props, "OriginationId"),
        two_way_channel_arn=_required(props, "TwoWayChannelArn"),
        two_way_channel_role=props.get("TwoWayChannelRole") or "",
        self_managed_opt_outs=_boolean(props, "SelfManagedOptOutsEnabled"),
        opt_out_list_name=props.get("OptOutListName") or "",
        keywords=_keywords(props.get("Keywords") or []),
        snapshot_parameter=_required(props, "SnapshotParameterName"),
    )


def _required(props: dict[str, Any], name: str) -> str:
    value = props.get(name)
    if not isinstance(value, str) or not value.strip():
        raise InvalidProperties(f"{name} is required, got {value!r}")
    return value.strip()


def _boolean(props: dict[str, Any], name: str) -> bool:
    value = props.get(name, "false")
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise InvalidProperties(f"{name} must be 'true' or 'false', got {value!r}")


def _keywords(raw: Any) -> tuple[Keyword, ...]:
    if not isinstance(raw, list):
        raise InvalidProperties(f"Keywords must be a list, got {type(raw).__name__}")
    keywords: dict[str, Keyword] = {}
    for item in raw:
        if not isinstance(item, dict):
            raise InvalidProperties(f"each keyword must be an object, got {item!r}")
        word = _required(item, "Keyword")
        action = item.get("Action")
        if action not in KEYWORD_ACTIONS:
            raise InvalidProperties(f"keyword {word!r}: Action {action!r} is not one of {list(KEYWORD_ACTIONS)}")
        if word.upper() in keywords:
            raise InvalidProperties(f"keyword {word!r} is listed twice")
        keywords[word.upper()] = Keyword(word, _required(item, "Message"), action)
    return tuple(keywords.values())


# --- Phone number vs pool ---------------------------------------------------------------


@dataclass(frozen=True)
class _Origination:
    """The few places where a phone number and a pool differ in the API."""

    describe_operation: str
    ids_parameter: str
    list_key: str
    update_operation: str
    id_parameter: str
    arn_key: str

    def describe(self, origination_id: str) -> dict[str, Any]:
        """Raises ResourceNotFoundException (a ClientError) when it does not exist."""
        response = getattr(sms, self.describe_operation)(**{self.ids_parameter: [origination_id]})
        return response[self.list_key][0]

    def update(self, origination_id: str, **fields: Any) -> None:
        getattr(sms, self.update_operation)(**{self.id_parameter: origination_id}, **fields)


_ORIGINATIONS = {
    "phone-number": _Origination(
        "describe_phone_numbers",
        "PhoneNumberIds",
        "PhoneNumbers",
        "update_phone_number",
        "PhoneNumberId",
        "PhoneNumberArn",
    ),
    "pool": _Origination(
        "describe_pools",
        "PoolIds",
        "Pools",
        "update_pool",
        "PoolId",
        "PoolArn",
    ),
}


# --- Snapshot (the settings found before we changed anything) -----------------------------


def _take_snapshot(settings: Settings, current: dict[str, Any]) -> dict[str, Any]:
    return {
        "OriginationId": settings.origination_id,
        "TwoWayEnabled": bool(current.get("TwoWayEnabled", False)),
        "TwoWayChannelArn": current.get("TwoWayChannelArn", ""),
        "TwoWayChannelRole": current.get("TwoWayChannelRole", ""),
        "SelfManagedOptOutsEnabled": bool(current.get("SelfManagedOptOutsEnabled", False)),
        "OptOutListName": current.get("OptOutListName", ""),
        "Keywords": {
            k["Keyword"].upper(): {
                "Keyword": k["Keyword"],
                "Message": k["KeywordMessage"],
                "Action": k.get("KeywordAction", "AUTOMATIC_RESPONSE"),
            }
            for k in _describe_keywords(settings.origination_id)
        },
    }


def _describe_keywords(origination_id: str) -> list[dict[str, Any]]:
    keywords: list[dict[str, Any]] = []
    for page in sms.get_paginator("describe_keywords").paginate(OriginationIdentity=origination_id):
        keywords.extend(page.get("Keywords", []))
    return keywords


def _save_snapshot_once(settings: Settings, snapshot: dict[str, Any]) -> None:
    """Keeps an existing snapshot: after a retried create it is the true "before"."""
    try:
        ssm.put_parameter(
            Name=settings.snapshot_parameter,
            Value=json.dumps(snapshot, separators=(",", ":")),
            Type="String",
            Tier="Intelligent-Tiering",  # many long keyword messages exceed 4 KB
            Overwrite=False,
        )
        return
    except ClientError as error:
        if _code(error) != "ParameterAlreadyExists":
            raise
    existing = _load_snapshot(settings.snapshot_parameter)
    if existing is not None and existing.get("OriginationId") != settings.origination_id:
        # Restoring someone else's settings onto this identity would be wrong.
        raise InvalidProperties(
            f"SnapshotParameterName {settings.snapshot_parameter!r} already holds the snapshot of "
            f"{existing.get('OriginationId')!r}, not {settings.origination_id!r}"
        )
    logger.info("Keeping the existing snapshot %s", settings.snapshot_parameter)


def _load_snapshot(name: str) -> dict[str, Any] | None:
    try:
        value = ssm.get_parameter(Name=name)["Parameter"]["Value"]
    except ClientError as error:
        if _code(error) == "ParameterNotFound":
            return None
        raise
    return json.loads(value)


def _delete_snapshot(name: str) -> None:
    try:
        ssm.delete_parameter(Name=name)
    except ClientError as error:
        if _code(error) != "ParameterNotFound":
            raise


# --- Applying and restoring -------------------------------------------------------------


def _apply(settings: Settings) -> None:
    fields: dict[str, Any] = {
        "TwoWayEnabled": True,
        "TwoWayChannelArn": settings.two_way_channel_arn,
        "SelfManagedOptOutsEnabled": settings.self_managed_opt_outs,
    }
    # Optional values are left unchanged when absent: the API rejects empty strings.
    if settings.two_way_channel_role:
        fields["TwoWayChannelRole"] = settings.two_way_channel_role
    if settings.opt_out_list_name:
        fields["OptOutListName"] = settings.opt_out_list_name
    _ORIGINATIONS[settings.origination_type].update(settings.origination_id, **fields)
    for keyword in settings.keywords:
        _put_keyword(settings.origination_id, keyword.keyword, keyword.message, keyword.action)


def _restore_settings(settings: Settings, snapshot: dict[str, Any]) -> None:
    fields: dict[str, Any] = {
        "TwoWayEnabled": snapshot["TwoWayEnabled"],
        "SelfManagedOptOutsEnabled": snapshot["SelfManagedOptOutsEnabled"],
    }
    # An empty value cannot be sent back; with two-way off a leftover channel is inert.
    for name in ("TwoWayChannelArn", "TwoWayChannelRole", "OptOutListName"):
        if snapshot.get(name):
            fields[name] = snapshot[name]
    _ORIGINATIONS[settings.origination_type].update(settings.origination_id, **fields)


def _restore_keyword(origination_id: str, word: str, snapshot: dict[str, Any]) -> None:
    """Puts back the keyword as the snapshot had it, or removes it if it was not there."""
    previous = snapshot.get("Keywords", {}).get(word.upper())
    if previous is not None:
        _put_keyword(origination_id, word, previous["Message"], previous["Action"])
    elif word.upper() in MANDATORY_KEYWORDS:
        logger.warning("Leaving mandatory keyword %s: not in the snapshot", word.upper())
    else:
        try:
            sms.delete_keyword(OriginationIdentity=origination_id, Keyword=word)
        except ClientError as error:
            if _code(error) != "ResourceNotFoundException":
                raise
            logger.info("Keyword %s is already gone", word)


def _put_keyword(origination_id: str, word: str, message: str, action: str) -> None:
    sms.put_keyword(OriginationIdentity=origination_id, Keyword=word, KeywordMessage=message, KeywordAction=action)


def _result(settings: Settings, described: dict[str, Any]) -> dict[str, Any]:
    origination = _ORIGINATIONS[settings.origination_type]
    return {
        "PhysicalResourceId": settings.physical_id,
        "Data": {
            "OriginationArn": described[origination.arn_key],
            "PhoneNumber": described.get("PhoneNumber", ""),
        },
    }


# --- Events -----------------------------------------------------------------------------


def on_create(settings: Settings) -> dict[str, Any]:
    described = _ORIGINATIONS[settings.origination_type].describe(settings.origination_id)
    _save_snapshot_once(settings, _take_snapshot(settings, described))
    _apply(settings)
    logger.info("Configured %s for two-way SMS", settings.physical_id)
    return _result(settings, described)


def on_update(settings: Settings, old: Settings) -> dict[str, Any]:
    if settings.physical_id != old.physical_id:
        # A replacement: CloudFormation then sends Delete with the old properties.
        logger.info("Replacing %s with %s", old.physical_id, settings.physical_id)
        return on_create(settings)

    described = _ORIGINATIONS[settings.origination_type].describe(settings.origination_id)
    snapshot = _load_snapshot(old.snapshot_parameter)
    if snapshot is None:
        logger.warning("Snapshot %s is missing; removed keywords are deleted", old.snapshot_parameter)
        snapshot = {}
    elif settings.snapshot_parameter != old.snapshot_parameter:
        # No Delete follows an in-place update, so the snapshot moves to its new name.
        _save_snapshot_once(settings, snapshot)
        _delete_snapshot(old.snapshot_parameter)

    _apply(settings)
    kept = {k.keyword.upper() for k in settings.keywords}
    for keyword in old.keywords:
        if keyword.keyword.upper() not in kept:
            _restore_keyword(settings.origination_id, keyword.keyword, snapshot)
    logger.info("Updated %s", settings.physical_id)
    return _result(settings, described)


def on_delete(settings: Settings, physical_id: str) -> dict[str, Any]:
    result = {"PhysicalResourceId": physical_id}
    snapshot = _load_snapshot(settings.snapshot_parameter)
    if snapshot is None:
        logger.warning("Snapshot %s is missing; nothing to restore", settings.snapshot_parameter)
        return result
    if snapshot.get("OriginationId") != settings.origination_id:
        logger.warning("Snapshot %s is not for %s; leaving it", settings.snapshot_parameter, physical_id)
        return result

    try:
        _restore_settings(settings, snapshot)
    except ClientError as error:
        if _code(error) != "ResourceNotFoundException":
            raise
        logger.warning("%s no longer exists; nothing to restore", settings.physical_id)
    else:
        for keyword in settings.keywords:
            _restore_keyword(settings.origination_id, keyword.keyword, snapshot)
        logger.info("Restored the previous settings of %s", settings.physical_id)
    _delete_snapshot(settings.snapshot_parameter)
    return result


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    request_type = event["RequestType"]
    logger.info("%s %s", request_type, event.get("PhysicalResourceId", ""))
    if request_type == "Delete":
        try:
            settings = parse_properties(event["ResourceProperties"])
        except InvalidProperties as error:
            # The create was rejected before touching anything: a rollback must not get stuck.
            logger.warning("Invalid properties, nothing to delete: %s", error)
            return {"PhysicalResourceId": event["PhysicalResourceId"]}
        return on_delete(settings, event["PhysicalResourceId"])

    settings = parse_properties(event["ResourceProperties"])
    if request_type == "Create":
        return on_create(settings)
    if request_type == "Update":
        return on_update(settings, parse_properties(event["OldResourceProperties"]))
    raise InvalidProperties(f"RequestType {request_type!r} is not Create, Update or Delete")


def _code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")
