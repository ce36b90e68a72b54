"""The CloudWatch metrics the handlers emit (EMF), named once for handlers, alarms and dashboard.

Every metric is in namespace ``NAMESPACE`` with the one dimension ``service = SERVICE``
(Powertools adds it), so a dashboard or alarm finds it with exactly those.
"""

from __future__ import annotations

NAMESPACE = "TwoWaySms"
SERVICE = "two-way-sms"

# -- inbound handler ------------------------------------------------------------------------
INBOUND_BY_INTENT = {  # one per responder Intent value
    "OPT_OUT": "InboundOptOut",
    "OPT_IN": "InboundOptIn",
    "HELP": "InboundHelp",
    "KEYWORD": "InboundKeyword",
    "OTHER": "InboundOther",
}
MALFORMED_INBOUND = "MalformedMessages"
REPLIES_SENT = "RepliesSent"
REPLIES_THROTTLED = "RepliesThrottled"
REPLIES_REJECTED = "RepliesRejected"
REPLIES_BLOCKED_BY_OPT_OUT = "RepliesBlockedByOptOut"
OPT_OUTS_RECORDED = "OptOutsRecorded"
OPT_INS_RECORDED = "OptInsRecorded"
CONVERSATION_TURNS = "ConversationTurns"  # an inbound message in (or opening) a conversation
CONVERSATIONS_OPENED = "ConversationsOpened"  # by a customer's start word (the sender opens the others)
BUSINESS_EVENTS_PUT = "BusinessEventsPut"  # events put on the business events bus
FLOWS_NOT_AS_DEPLOYED = "FlowsNotAsDeployed"  # the flows parameter was changed outside a deploy: refused
LEDGER_WRITES_FAILED = "LedgerWritesFailed"  # a reply went out but its SENT record did not (events add it)
REPLIES_SUPPRESSED = "RepliesSuppressed"  # held back by the reply limits (per number, per window, same text)
REPLIES_OUTCOME_UNKNOWN = "RepliesOutcomeUnknown"  # the send's answer was lost: it may or may not have gone
REPLY_LOG_WRITES_FAILED = "ReplyLogWritesFailed"  # a reply's outcome was not recorded (its claim still holds)
CONFIRMATIONS_GIVEN_UP = "ConfirmationsGivenUp"  # an opt-out confirmation that could not go in time
INBOUND_NOT_ANSWERABLE = "InboundNotAnswerable"  # from a short code, a sender id, anything not E.164
INBOUND_PARKED = "InboundParked"  # put on the dead-letter queue with its reason (malformed, not our number)

# -- events handler -------------------------------------------------------------------------
DELIVERY_EVENTS = "DeliveryEvents"  # every event read from the stream
MESSAGES_DELIVERED = "MessagesDelivered"  # a message reached a final success status (once per message)
MESSAGES_FAILED = "MessagesFailed"  # a message reached a final failure status (once per message)
MESSAGE_PARTS_BILLED = "MessagePartsBilled"  # parts of messages that reached a final status
SPEND_USD = "SpendUSD"  # price + carrier fee of messages that reached a final status (unit None)
MONTH_TO_DATE_SPEND_USD = "MonthToDateSpendUSD"  # gauge: the ledger's running total this UTC month
STALE_OR_DUPLICATE_EVENTS = "StaleOrDuplicateEvents"
MALFORMED_DELIVERY_EVENTS = "MalformedDeliveryEvents"
OPT_OUTS_FROM_DELIVERY_EVENTS = "OptOutsFromDeliveryEvents"

# -- sender (outbound queue) ----------------------------------------------------------------
OUTBOUND_SENT = "OutboundSent"
OUTBOUND_PARTS_SENT = "OutboundPartsSent"
OUTBOUND_HELD = "OutboundHeld"  # promotional in quiet hours, or a send-after time ahead
OUTBOUND_DEFERRED = "OutboundDeferred"  # back on the queue with a delay: the number's throughput is booked
OUTBOUND_THROTTLED = "OutboundThrottled"  # End User Messaging throttled us anyway: retried with back-off
OUTBOUND_OUTCOME_UNKNOWN = "OutboundOutcomeUnknown"  # the send's answer was lost: not sent again
OUTBOUND_MALFORMED = "OutboundMalformed"  # a request that cannot be read: parked with its reason
OUTBOUND_REFUSED_BY_REASON = {  # one per two_way_sms.outbound.policy.REFUSAL_REASONS
    reason: "OutboundRefused" + "".join(part.title() for part in reason.split("_"))
    for reason in (
        "OPTED_OUT",
        "NO_OPT_IN",
        "OVER_DAILY_LIMIT",
        "OVER_STATE_LIMIT",
        "OVER_CAMPAIGN_LIMIT",
        "TOO_MANY_PARTS",
        "UNKNOWN_TEMPLATE",
        "MISSING_VARIABLES",
        "UNKNOWN_TIME_ZONE",
        "PRICE_ABOVE_MAX",
        "REJECTED",
        "UNKNOWN_FLOW",
    )
}

# -- campaigns function ---------------------------------------------------------------------
CAMPAIGN_RECIPIENTS_QUEUED = "CampaignRecipientsQueued"
CAMPAIGN_RECIPIENTS_SKIPPED = "CampaignRecipientsSkipped"
HELD_REQUESTS_RELEASED = "HeldRequestsReleased"

TEXT_EVENT_TYPES = (
    "TEXT_PENDING",
    "TEXT_QUEUED",
    "TEXT_SUCCESSFUL",
    "TEXT_DELIVERED",
    "TEXT_INVALID",
    "TEXT_INVALID_MESSAGE",
    "TEXT_UNREACHABLE",
    "TEXT_CARRIER_UNREACHABLE",
    "TEXT_BLOCKED",
    "TEXT_CARRIER_BLOCKED",
    "TEXT_SPAM",
    "TEXT_UNKNOWN",
    "TEXT_TTL_EXPIRED",
    "TEXT_PROTECT_BLOCKED",
)


def event_type_metric(event_type: str) -> str:
    """``TEXT_CARRIER_BLOCKED`` -> ``TextCarrierBlocked``: one count metric per event type."""
    return "".join(part.title() for part in event_type.split("_"))
