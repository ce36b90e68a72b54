"""Consistent BatchGetItem over any number of keys: 100 keys a request, unprocessed keys retried."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

MAX_KEYS = 100  # BatchGetItem's limit per request
ATTEMPTS = 8


class BatchReadThrottled(RuntimeError):
    """DynamoDB kept returning unprocessed keys for ATTEMPTS requests in a row."""


def batch_get(table: Any, keys: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items found under ``keys`` in ``table`` (a boto3 Table resource), in no particular order."""
    client, name = table.meta.client, table.name
    found: list[dict[str, Any]] = []
    for start in range(0, len(keys), MAX_KEYS):
        request: dict[str, Any] = {name: {"Keys": list(keys[start : start + MAX_KEYS]), "ConsistentRead": True}}
        for attempt in range(ATTEMPTS):
            response = client.batch_get_item(RequestItems=request)
            found += response.get("Responses", {}).get(name, [])
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(min(0.05 * 2**attempt, 1.0))  # DynamoDB asks us to slow down
        else:
            raise BatchReadThrottled(f"{name} stayed throttled for {ATTEMPTS} batch reads")
    return found
