"""DynamoDB tables on a plain client that speaks Python types, without boto3's resource layer.

The table adapters call ``get_item``, ``put_item``, ``update_item``, ``query`` and friends on
a ``Table`` and pass Python values (``Decimal``, sets, ``Key``/``Attr`` conditions). boto3's
resource gives them that, but creating it loads a second model (the resource definitions) and
builds classes from it: about 40 ms of every cold start (``make bench``, section 2). Here the
client gets the same request and response transformations the resource registers on its own
client (boto3's ``TransformationInjector``), and a ``Table`` is a name bound to that client.
Tests may still pass a resource's tables: both answer the same calls.
"""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.table import BatchWriter
from boto3.dynamodb.transform import TransformationInjector, copy_dynamodb_params


def speak_python_types(client: Any) -> Any:
    """Register on ``client`` what boto3's DynamoDB resource registers on its own client, and return it."""
    events = client.meta.events
    injector = TransformationInjector()
    # The same unique ids as the resource's, so registering twice (a resource's client) changes nothing.
    events.register("provide-client-params.dynamodb", copy_dynamodb_params, unique_id="dynamodb-create-params-copy")
    events.register(
        "before-parameter-build.dynamodb",
        injector.inject_condition_expressions,
        unique_id="dynamodb-condition-expression",
    )
    events.register(
        "before-parameter-build.dynamodb", injector.inject_attribute_value_input, unique_id="dynamodb-attr-value-input"
    )
    events.register(
        "after-call.dynamodb", injector.inject_attribute_value_output, unique_id="dynamodb-attr-value-output"
    )
    return client


class _Meta:
    def __init__(self, client: Any) -> None:
        self.client = client


class DynamoDbTables:
    """``Table(name)`` and ``meta.client`` as on boto3's DynamoDB resource, on one client that speaks Python types."""

    def __init__(self, client: Any) -> None:
        self.meta = _Meta(speak_python_types(client))

    def Table(self, name: str) -> ClientTable:  # noqa: N802 (the resource's spelling, so either can be passed)
        return ClientTable(self.meta.client, name)


class ClientTable:
    """One table's item calls, as on a resource's ``Table``: the name is added to each request."""

    def __init__(self, client: Any, name: str) -> None:
        self.name = name
        self.meta = _Meta(client)

    def get_item(self, **request: Any) -> dict[str, Any]:
        return self._call("get_item", request)

    def put_item(self, **request: Any) -> dict[str, Any]:
        return self._call("put_item", request)

    def update_item(self, **request: Any) -> dict[str, Any]:
        return self._call("update_item", request)

    def delete_item(self, **request: Any) -> dict[str, Any]:
        return self._call("delete_item", request)

    def query(self, **request: Any) -> dict[str, Any]:
        return self._call("query", request)

    def scan(self, **request: Any) -> dict[str, Any]:
        return self._call("scan", request)

    def batch_writer(self, overwrite_by_pkeys: list[str] | None = None) -> BatchWriter:
        return BatchWriter(self.name, self.meta.client, overwrite_by_pkeys=overwrite_by_pkeys)

    def _call(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        response: dict[str, Any] = getattr(self.meta.client, operation)(TableName=self.name, **request)
        return response
