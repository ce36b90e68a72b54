"""The one dashboard of the whole system: a row of graphs per capability, from ``Monitoring``'s inputs.

Kept apart from the alarms (``monitoring.py``): what a person looks at changes more often than what
pages them, and the layout reads top to bottom as the dashboard does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch

from two_way_sms import metric_names

if TYPE_CHECKING:
    from two_way_sms_cdk.constructs.monitoring import Monitoring

# The periods the alarms use too: a graph shows what its alarm sees.
DEAD_LETTER_PERIOD = Duration.minutes(5)
SPEND_PERIOD = Duration.hours(1)
# The dashboard's graphs of counts use this period; spend is summed per day.
GRAPH_PERIOD = Duration.minutes(5)
SPEND_GRAPH_PERIOD = Duration.days(1)
SPEND_GRAPH_START = "-P31D"  # a month of daily spend, whatever the dashboard's time range
RED, ORANGE = "#d62728", "#ff7f0e"


class DashboardLayout:
    """The dashboard's rows for what ``monitoring`` watches (its functions, queues and the metrics it was given)."""

    def __init__(self, monitoring: Monitoring) -> None:
        self._m = monitoring

    def rows(self) -> list[list[cloudwatch.IWidget]]:
        rows: list[list[cloudwatch.IWidget]] = [
            [
                _header(
                    "Two-way SMS",
                    "Inbound texts, replies, opt-outs, delivery, spend and the plumbing behind "
                    "them. Alarms notify the alarm topic when they fire and when they recover.",
                )
            ],
            [
                cloudwatch.AlarmStatusWidget(
                    title="Alarms",
                    alarms=list(self._m.alarms.values()),
                    width=24,
                    sort_by=cloudwatch.AlarmStatusWidgetSortBy.STATE_UPDATED_TIMESTAMP,
                )
            ],
        ]
        rows += self._inbound_rows() + self._opt_out_rows() + self._conversation_rows() + self._outbound_rows()
        rows += self._campaign_rows()
        rows += self._delivery_rows() + self._spend_rows()
        rows += self._dead_letter_rows() + self._stream_rows() + self._function_rows() + self._archive_rows()
        return rows

    def _inbound_rows(self) -> list[list[cloudwatch.IWidget]]:
        by_intent = [
            self._m.metric(name, label=f"Inbound: {intent.replace('_', ' ').lower()}")
            for intent, name in metric_names.INBOUND_BY_INTENT.items()
        ]
        return [
            [_header("Inbound", "Texts customers sent to the number, by what the responder made of them.")],
            [
                _graph("Inbound volume", [*self._m.inbound_topic_metrics, *by_intent], width=12),
                _graph(
                    "Replies",
                    [
                        self._m.metric(metric_names.REPLIES_SENT, label="Replies sent"),
                        self._m.metric(metric_names.REPLIES_THROTTLED, label="Replies throttled"),
                        self._m.metric(metric_names.REPLIES_REJECTED, label="Replies rejected"),
                        self._m.metric(metric_names.REPLIES_BLOCKED_BY_OPT_OUT, label="Replies blocked by an opt-out"),
                        self._m.metric(metric_names.REPLIES_SUPPRESSED, label="Replies held back by the reply limits"),
                        self._m.metric(metric_names.REPLIES_OUTCOME_UNKNOWN, label="Replies whose outcome was lost"),
                        self._m.metric(metric_names.CONFIRMATIONS_GIVEN_UP, label="Opt-out confirmations given up"),
                    ],
                    width=12,
                ),
            ],
        ]

    def _opt_out_rows(self) -> list[list[cloudwatch.IWidget]]:
        metrics = [
            self._m.metric(metric_names.OPT_OUTS_RECORDED, label="Opt-outs recorded (STOP and the like)"),
            self._m.metric(metric_names.OPT_INS_RECORDED, label="Opt-ins recorded (START, UNSTOP)"),
            self._m.metric(metric_names.OPT_OUTS_FROM_DELIVERY_EVENTS, label="Opt-outs seen in delivery events"),
        ]
        return [
            [_header("Opt-outs and opt-ins", "Every opt-out is honoured at once, whichever way it arrives.")],
            [
                _graph("Opt-outs and opt-ins", metrics, width=16),
                cloudwatch.SingleValueWidget(
                    title="Totals over the time range",
                    metrics=metrics,
                    width=8,
                    height=6,
                    set_period_to_time_range=True,
                ),
            ],
        ]

    def _conversation_rows(self) -> list[list[cloudwatch.IWidget]]:
        return [
            [
                _header(
                    "Conversations",
                    "Inbound messages that moved a conversation on (or opened one with a start "
                    "word), and the business events put on the event bus: every inbound message, opt-out and "
                    "opt-in, and the flows' outcomes.",
                )
            ],
            [
                _graph(
                    "Conversation turns",
                    [
                        self._m.metric(
                            metric_names.CONVERSATION_TURNS, label="Turns (inbound messages in a conversation)"
                        ),
                        self._m.metric(metric_names.CONVERSATIONS_OPENED, label="Opened by a customer's start word"),
                    ],
                    width=12,
                ),
                _graph(
                    "Business events",
                    [
                        self._m.metric(metric_names.BUSINESS_EVENTS_PUT, label="Put on the event bus"),
                        self._m.metric(metric_names.FLOWS_NOT_AS_DEPLOYED, label="Flows refused (not as deployed)"),
                    ],
                    width=12,
                ),
            ],
        ]

    def _outbound_rows(self) -> list[list[cloudwatch.IWidget]]:
        refused = [
            self._m.metric(name, label=reason.replace("_", " ").lower())
            for reason, name in metric_names.OUTBOUND_REFUSED_BY_REASON.items()
        ]
        throttled = self._m.metric(metric_names.OUTBOUND_THROTTLED, label="Throttled by End User Messaging", color=RED)
        return [
            [
                _header(
                    "Outbound",
                    "Texts your applications and campaigns queued: sent, held for quiet hours or a "
                    "send-after time, deferred to keep to the number's throughput, or refused, by reason.",
                )
            ],
            [
                _graph(
                    "Outbound sends",
                    [
                        self._m.metric(metric_names.OUTBOUND_SENT, label="Sent"),
                        self._m.metric(metric_names.OUTBOUND_PARTS_SENT, label="Parts sent"),
                        self._m.metric(metric_names.OUTBOUND_HELD, label="Held"),
                        self._m.metric(metric_names.OUTBOUND_DEFERRED, label="Deferred (throughput booked)"),
                    ],
                    width=8,
                ),
                _graph(
                    "Throttled, malformed, outcome lost",
                    [
                        throttled,
                        self._m.metric(metric_names.OUTBOUND_MALFORMED, label="Malformed requests", color=ORANGE),
                        self._m.metric(metric_names.OUTBOUND_OUTCOME_UNKNOWN, label="Sends whose outcome was lost"),
                    ],
                    width=8,
                ),
                _graph("Refused, by reason", refused, width=8),
            ],
        ]

    def _campaign_rows(self) -> list[list[cloudwatch.IWidget]]:
        return [
            [
                _header(
                    "Campaigns",
                    "Recipients campaign runs queued or skipped (no consent, bad row, ...), and held "
                    "requests released back onto the outbound queue.",
                )
            ],
            [
                _graph(
                    "Campaign recipients",
                    [
                        self._m.metric(metric_names.CAMPAIGN_RECIPIENTS_QUEUED, label="Queued"),
                        self._m.metric(metric_names.CAMPAIGN_RECIPIENTS_SKIPPED, label="Skipped", color=ORANGE),
                    ],
                    width=12,
                ),
                _graph(
                    "Held requests released",
                    [
                        self._m.metric(metric_names.HELD_REQUESTS_RELEASED, label="Released"),
                    ],
                    width=12,
                ),
            ],
        ]

    def _delivery_rows(self) -> list[list[cloudwatch.IWidget]]:
        by_type = [self._m.metric(metric_names.event_type_metric(t), label=t) for t in metric_names.TEXT_EVENT_TYPES]
        final = [
            self._m.metric(metric_names.MESSAGES_DELIVERED, label="Delivered", color="#2ca02c"),
            self._m.metric(metric_names.MESSAGES_FAILED, label="Failed", color=RED),
        ]
        return [
            [
                _header(
                    "Delivery outcomes",
                    "Delivery events from End User Messaging: every event by type, and each "
                    "message once at its final status.",
                )
            ],
            [
                _graph(
                    "Delivery events by type",
                    [self._m.metric(metric_names.DELIVERY_EVENTS, label="All events")] + by_type,
                    width=12,
                ),
                _graph("Messages at a final status", final, width=6),
                _graph(
                    f"Failure rate (%, per {self._m.failure_rate_period.to_human_string()})",
                    [self._m.metric_delivery_failure_rate()],
                    width=6,
                    annotations=[_line(self._m.delivery_failure_rate_percent, "Alarm threshold")],
                    left_y_axis=cloudwatch.YAxisProps(min=0, max=100),
                ),
            ],
            [
                _graph(
                    "Malformed inputs",
                    [
                        self._m.metric(metric_names.MALFORMED_INBOUND, label="Malformed inbound messages"),
                        self._m.metric(
                            metric_names.INBOUND_NOT_ANSWERABLE, label="Inbound from a number we cannot answer"
                        ),
                        self._m.metric(metric_names.INBOUND_PARKED, label="Inbound parked in the dead-letter queue"),
                        self._m.metric(metric_names.MALFORMED_DELIVERY_EVENTS, label="Malformed delivery events"),
                    ],
                    width=8,
                ),
                _graph(
                    "Stale or duplicate delivery events",
                    [self._m.metric(metric_names.STALE_OR_DUPLICATE_EVENTS, label="Stale or duplicate events")],
                    width=8,
                ),
                _graph(
                    "Record writes failed",
                    [
                        self._m.metric(
                            metric_names.LEDGER_WRITES_FAILED, label="Reply sent, ledger record not written"
                        ),
                        self._m.metric(metric_names.REPLY_LOG_WRITES_FAILED, label="Reply's outcome not recorded"),
                    ],
                    width=8,
                ),
            ],
        ]

    def _spend_rows(self) -> list[list[cloudwatch.IWidget]]:
        month_to_date = self._m.metric(
            metric_names.MONTH_TO_DATE_SPEND_USD,
            statistic="Maximum",
            period=SPEND_PERIOD,
            label="Spend this month (USD)",
        )
        budget = [] if self._m.monthly_budget_usd is None else [_line(self._m.monthly_budget_usd, "Monthly budget")]
        return [
            [_header("Spend", "Price and carrier fees of the messages that reached a final status, in USD.")],
            [
                _graph(
                    "Spend per day (USD)",
                    [self._m.metric(metric_names.SPEND_USD, period=SPEND_GRAPH_PERIOD, label="Spend (USD)")],
                    width=8,
                    start=SPEND_GRAPH_START,
                    view=cloudwatch.GraphWidgetView.BAR,
                ),
                _graph("Spend this month (USD)", [month_to_date], width=8, start=SPEND_GRAPH_START, annotations=budget),
                _graph(
                    "Message parts billed per day",
                    [
                        self._m.metric(
                            metric_names.MESSAGE_PARTS_BILLED, period=SPEND_GRAPH_PERIOD, label="Parts billed"
                        )
                    ],
                    width=8,
                    start=SPEND_GRAPH_START,
                    view=cloudwatch.GraphWidgetView.BAR,
                ),
            ],
        ]

    def _dead_letter_rows(self) -> list[list[cloudwatch.IWidget]]:
        if not self._m.dead_letter_queues:
            return []
        depths = [
            queue.metric_approximate_number_of_messages_visible(
                statistic="Maximum", period=DEAD_LETTER_PERIOD, label=label
            )
            for label, queue in self._m.dead_letter_queues.items()
        ]
        return [
            [_header("Dead-letter queues", "Messages that failed every retry; any at all raises an alarm.")],
            [_graph("Messages in dead-letter queues", depths, width=24, annotations=[_line(1, "Alarm threshold")])],
        ]

    def _stream_rows(self) -> list[list[cloudwatch.IWidget]]:
        if self._m.iterator_age is None:
            return []
        threshold = self._m.iterator_age_threshold.to_milliseconds()
        return [
            [_header("Delivery-event stream", "How far the events function lags behind the Kinesis stream.")],
            [
                _graph(
                    "Iterator age (ms)",
                    [self._m.iterator_age],
                    width=24,
                    annotations=[_line(threshold, "Alarm threshold")],
                )
            ],
        ]

    def _function_rows(self) -> list[list[cloudwatch.IWidget]]:
        if not self._m.functions:
            return []
        rows: list[list[cloudwatch.IWidget]] = [
            [_header("Functions", "Invocations, errors, throttles and duration of each function.")]
        ]
        for label, function in self._m.functions.items():
            rows.append(
                [
                    _graph(
                        f"{label}: invocations, errors, throttles",
                        [
                            function.metric_invocations(statistic="Sum", period=GRAPH_PERIOD, label="Invocations"),
                            function.metric_errors(statistic="Sum", period=GRAPH_PERIOD, label="Errors", color=RED),
                            function.metric_throttles(
                                statistic="Sum", period=GRAPH_PERIOD, label="Throttles", color=ORANGE
                            ),
                        ],
                        width=12,
                    ),
                    _graph(
                        f"{label}: duration (ms)",
                        [
                            function.metric_duration(statistic="p50", period=GRAPH_PERIOD, label="p50"),
                            function.metric_duration(statistic="p99", period=GRAPH_PERIOD, label="p99"),
                            function.metric_duration(statistic="Maximum", period=GRAPH_PERIOD, label="Maximum"),
                        ],
                        width=12,
                    ),
                ]
            )
        return rows

    def _archive_rows(self) -> list[list[cloudwatch.IWidget]]:
        graphs: list[cloudwatch.IWidget] = []
        if self._m.archive_records:
            graphs.append(_graph("Records", self._m.archive_records, width=12))
        if self._m.archive_freshness is not None:
            threshold = self._m.archive_freshness_threshold.to_seconds()
            graphs.append(
                _graph(
                    "Freshness (s)",
                    [self._m.archive_freshness],
                    width=12,
                    annotations=[_line(threshold, "Alarm threshold")],
                )
            )
        if not graphs:
            return []
        return [[_header("Event archive", "Every delivery event, delivered by Firehose to S3.")], graphs]


def _header(title: str, text: str) -> cloudwatch.TextWidget:
    return cloudwatch.TextWidget(markdown=f"## {title}\n{text}", width=24, height=2)


def _line(value: float, label: str) -> cloudwatch.HorizontalAnnotation:
    return cloudwatch.HorizontalAnnotation(value=value, label=label, color=RED)


def _graph(
    title: str,
    metrics: Sequence[cloudwatch.IMetric],
    *,
    width: int,
    annotations: Sequence[cloudwatch.HorizontalAnnotation] = (),
    **kwargs,
) -> cloudwatch.GraphWidget:
    return cloudwatch.GraphWidget(
        title=title, left=list(metrics), left_annotations=list(annotations) or None, width=width, height=6, **kwargs
    )
