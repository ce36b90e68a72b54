"""A service's reports as Powertools log lines and EMF metrics (the services' ``Telemetry`` ports)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit


class PowertoolsTelemetry:
    def __init__(self, logger: Logger, metrics: Metrics) -> None:
        self._logger = logger
        self._metrics = metrics

    def info(self, message: str, **fields: Any) -> None:
        self._logger.info(message, **fields)

    def warning(self, message: str, **fields: Any) -> None:
        self._logger.warning(message, **fields)

    def count(self, metric: str, value: int = 1) -> None:
        self._metrics.add_metric(name=metric, unit=MetricUnit.Count, value=value)

    def error(self, message: str, **fields: Any) -> None:
        self._logger.error(message, **fields)

    def append_keys(self, **fields: Any) -> None:
        """Keys every later log line of the invocation carries (a campaign run's ids)."""
        self._logger.append_keys(**fields)

    def amount(self, metric: str, value: float) -> None:
        """A metric that is an amount, not a count (USD)."""
        self._metrics.add_metric(name=metric, unit=MetricUnit.NoUnit, value=value)
