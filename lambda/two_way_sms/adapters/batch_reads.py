"""Consistent BatchGetItem over any number of keys, in one table or several: 100 keys a request,
unprocessed keys retried."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

MAX_KEYS = 100  # BatchGetItem's limit per request, over every table it reads
ATTEMPTS = 8


class BatchReadThrottled(RuntimeError):
    """DynamoDB kept returning unprocessed keys for ATTEMPTS requests in a row."""


def batch_get(table: Any, keys: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The items found under ``keys`` in ``table`` (a boto3 Table resource), in no particular order."""
    return batch_get_tables(table.meta.client, [(table.name, key) for key in keys]).get(table.name, [])


def batch_get_tables(client: Any, keys: Sequence[tuple[str, dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """The items found under each (table name, key), by table name: keys of several tables share
    each request. ``client`` is a boto3 Table resource's client (it takes Python types)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for start in range(0, len(keys), MAX_KEYS):
        request: dict[str, Any] = {}
        for name, key in keys[start : start + MAX_KEYS]:
            request.setdefault(name, {"Keys": [], "ConsistentRead": True})["Keys"].append(key)
        for attempt in range(ATTEMPTS):
            response = client.batch_get_item(RequestItems=request)
            for name, items in response.get("Responses", {}).items():
                found.setdefault(name, []).extend(items)
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(min(0.05 * 2**attempt, 1.0))  # DynamoDB asks us to slow down
        else:
            names = ", ".join(sorted(request))
            raise BatchReadThrottled(f"{names} stayed throttled for {ATTEMPTS} batch reads")
    return found
