"""The conversation flows the functions run, read from their SSM parameter.

The flows are JSON (``conversations.flows.flows_to_json``) in a parameter the stack writes
at deploy: they outgrow the 4 KB a function's environment may hold. Powertools' SSM
provider caches the value, so a warm function reads it at most every ``max_age`` seconds.

The parameter is trusted only as deployed: the stack gives each function the flows'
digest (``FLOWS_DIGEST``), and a value that does not match (edited by hand, or by anyone
with ``ssm:PutParameter``) is refused, so nobody can change what a conversation does, or
which answer approves a charge, without a deploy. The refusal fails the record (retried,
then parked in the dead-letter queue, nothing lost) and is counted for the alarm.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.parameters import SSMProvider

from two_way_sms.conversations.flows import Flow, flows_digest, flows_from_json

MAX_AGE_SECONDS = 300


class FlowsNotAsDeployed(RuntimeError):
    """The flows parameter holds something else than the stack deployed: refused."""


class FlowSettings:
    def __init__(
        self,
        ssm_client: Any,
        parameter_name: str | None,
        *,
        max_age: int = MAX_AGE_SECONDS,
        expected_digest: str | None = None,
        on_mismatch: Callable[[], None] = lambda: None,
    ) -> None:
        self._provider = SSMProvider(boto3_client=ssm_client) if parameter_name else None
        self._name = parameter_name
        self._max_age = max_age
        self._expected_digest = expected_digest
        self._on_mismatch = on_mismatch
        self._parsed: tuple[str, dict[str, Flow]] | None = None

    def flows(self) -> dict[str, Flow]:
        """The flows by name; {} when the function runs without conversations. Raises
        FlowsNotAsDeployed when the parameter's value is not the one deployed."""
        if self._provider is None:
            return {}
        text = str(self._provider.get(self._name, max_age=self._max_age))  # type: ignore[arg-type]
        if self._parsed is None or self._parsed[0] != text:
            if self._expected_digest is not None and flows_digest(text) != self._expected_digest:
                self._on_mismatch()
                raise FlowsNotAsDeployed(
                    f"the flows parameter {self._name} does not hold the flows this stack "
                    "deployed: refused (deploy to change flows)"
                )
            self._parsed = (text, flows_from_json(text))
        return self._parsed[1]
