"""In-memory AWS services behind real boto3 clients, for tests that make tens of thousands of calls.

A fake is attached to a boto3 ``Session`` on botocore's ``before-call`` event, the hook
botocore's own ``Stubber`` uses. So a client of that session does everything it does
against AWS up to the network: it validates the parameters against the service model
(``ParamValidationError``), boto3's DynamoDB resource turns Python values into attribute
values and back, and the request is serialized to the JSON body the service receives.
The fake answers that body with the JSON the service would send, and botocore's own
response parser turns it into the result or into the modeled exception the caller sees
(``ConditionalCheckFailedException`` with its ``Item``). moto does the same work over an
emulated HTTP layer, at ~3 ms a call; a fake answers in ~0.1 ms.

Operations a fake does not implement raise ``NotImplementedError`` (a test fails loudly
rather than pass against behaviour nobody checked).
"""

from __future__ import annotations

import functools
import itertools
import json
import re
from typing import Any

import boto3
import botocore.session
from botocore.awsrequest import AWSResponse
from botocore.parsers import create_parser

ACCOUNT = "123456789012"
_BOTOCORE = botocore.session.get_session()
_PARSERS = {"json": create_parser("json")}
_REQUEST_IDS = itertools.count(1)


class ServiceError(Exception):
    """An error response: ``code`` is the error shape's name (``__type``); ``fields`` are its
    modeled members (``Item``, ``CancellationReasons``); ``query_code`` is the code a
    query-compatible service (SQS) also sends in ``x-amzn-query-error``."""

    def __init__(self, code: str, message: str, *, status: int = 400, query_code: str | None = None,
                 **fields: Any) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.status, self.query_code, self.fields = code, message, status, query_code, fields


@functools.lru_cache(maxsize=None)
def snake_case(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


class JsonServiceFake:
    """Base of a fake for a JSON-protocol service: one method per operation, in snake case,
    taking the request body (a dict) and returning the response body (a dict)."""

    service_name: str  # botocore's name, e.g. "dynamodb"
    error_namespace: str  # the prefix of ``__type``, e.g. "com.amazonaws.dynamodb.v20120810"

    def attach(self, session: boto3.Session) -> boto3.Session:
        """Serves every client of ``session`` created from now on; returns the session."""
        service_id = _BOTOCORE.get_service_model(self.service_name).service_id.hyphenize()
        session.events.register(f"before-call.{service_id}", self._answer)
        return session

    def _answer(self, model: Any, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        operation = getattr(self, snake_case(model.name), None)
        if operation is None:
            raise NotImplementedError(f"the {self.service_name} fake does not implement {model.name}")
        request = json.loads(params["body"] or b"{}")
        headers = {"x-amzn-requestid": f"fake-{next(_REQUEST_IDS)}", "content-type": "application/x-amz-json-1.0"}
        try:
            status, body = 200, operation(request)
        except ServiceError as error:
            status = error.status
            body = {"__type": f"{self.error_namespace}#{error.code}", "message": error.message, **error.fields}
            if error.query_code:
                headers["x-amzn-query-error"] = f"{error.query_code};Sender"
        parser = _PARSERS[model.metadata["protocol"]]
        response = {"status_code": status, "headers": headers, "body": json.dumps(body).encode()}
        parsed = parser.parse(response, model.output_shape)
        if status >= 300:  # the members of a modeled error, as botocore's endpoint adds them
            error_shape = model.service_model.shape_for_error_code(parsed["Error"]["Code"])
            if error_shape is not None:
                parsed.update(parser.parse(response, error_shape))
        parsed.setdefault("ResponseMetadata", {}).update({"HTTPStatusCode": status, "HTTPHeaders": headers,
                                                          "RetryAttempts": 0})
        return AWSResponse(params["url"], status, headers, raw=None), parsed
