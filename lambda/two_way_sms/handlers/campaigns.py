"""Campaigns function: EventBridge Scheduler invokes it to fan a campaign out, or to release held requests.

Wiring only: read the settings, build the adapters, hand the event to the use cases
(``two_way_sms.services.run_campaign_page``, which says what each event asks and what is
parked). A failure the use case raises is logged once with its reason and raised again:
Lambda retries the invocation, then sends it to the dead-letter queue.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from two_way_sms.adapters.audience import AudienceReader
from two_way_sms.adapters.batch_failures import failure_reason
from two_way_sms.adapters.campaign_runs import CampaignRuns
from two_way_sms.adapters.contacts import ContactsTable
from two_way_sms.adapters.dead_letters import DeadLetterQueue
from two_way_sms.adapters.held_requests import HeldRequests
from two_way_sms.adapters.outbound_queue import OutboundQueue
from two_way_sms.adapters.schedules import create_one_time_schedule
from two_way_sms.adapters.telemetry import PowertoolsTelemetry
from two_way_sms.handlers.wiring import AwsClients, FunctionTracer, LambdaHandler, wired_on_first_call
from two_way_sms.outbound.campaign_shards import SHARD_BYTES
from two_way_sms.services.run_campaign_page import PAGE_SIZE, CampaignRunner
from two_way_sms.settings.campaigns import CampaignsSettings

logger = Logger()
metrics = Metrics()
tracer = FunctionTracer()  # X-Ray only where the function is traced


def make_handler(
    settings: CampaignsSettings,
    clients: AwsClients,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    audience_page_size: int = PAGE_SIZE,
    audience_shard_bytes: int = SHARD_BYTES,
) -> LambdaHandler:
    """Builds the adapters and the use cases once; returns the Lambda entry point
    (``audience_page_size`` and ``audience_shard_bytes``: smaller in tests and benchmarks)."""
    outbound_table = clients.dynamodb.Table(settings.outbound_table)
    contacts_table = clients.dynamodb.Table(settings.contacts_table)

    def schedule(*, name: str, at: datetime, target_arn: str, payload: Mapping[str, Any]) -> bool:
        return create_one_time_schedule(
            clients.scheduler,
            name=name,
            at=at,
            group=settings.schedule_group,
            target_arn=target_arn,
            role_arn=settings.scheduler_role_arn,
            dead_letter_queue_arn=settings.schedule_dead_letter_queue_arn,
            payload=payload,
        )

    runner = CampaignRunner(
        templates=settings.templates,
        daily_limit=settings.promotional_daily_limit,
        audience=AudienceReader(
            s3_client=clients.s3,
            contacts_table=contacts_table,
            page_size=audience_page_size,
            shard_bytes=audience_shard_bytes,
        ),
        contacts=ContactsTable(contacts_table),
        runs=CampaignRuns(outbound_table),
        held=HeldRequests(outbound_table),
        queue=OutboundQueue(clients.sqs, settings.outbound_queue_url),
        dead_letters=DeadLetterQueue(clients.sqs, settings.dead_letter_queue_url),
        schedule=schedule,
        telemetry=PowertoolsTelemetry(logger, metrics),
        clock=clock,
    )

    @logger.inject_lambda_context(clear_state=True)
    @tracer.capture_lambda_handler
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> Any:
        try:
            return runner.handle(event, context)
        except Exception as error:
            logger.exception(
                "invocation failed; Lambda retries it, then sends it to the dead-letter queue",
                reason=failure_reason(error),
            )
            raise

    return handler


handler = wired_on_first_call(
    lambda: make_handler(CampaignsSettings.from_environment(os.environ), AwsClients.from_default_session())
)
