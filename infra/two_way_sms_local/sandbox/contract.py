"""What the sandbox's page and terminal ask of the emulated stack, and the state they are shown.

The sandbox runs the real handlers (inbound, sender, campaigns, delivery events) on emulated
AWS (moto and ``two_way_sms_local.sms_emulator``), with the settings the synthesized stack gives
them. ``Sandbox`` (``sandbox.engine``) implements ``SandboxApi``; the HTTP server
(``sandbox.server``) maps each route to one method and returns its JSON; the terminal mode
(``sandbox.chat``) calls the same methods. Nothing in a front end decides what a handler would
do: it feeds the stack events and shows the emulated services' state.

Every value below is JSON-ready (str, int, float, bool, None, lists, dicts); times are ISO 8601
UTC strings of the sandbox's clock. Numbers are E.164 strings, shown in full: this is the
operator's own sandbox, not a log.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol, TypedDict

CarrierOutcome = Literal["deliver", "fail", "opted_out"]
Direction = Literal["in", "out"]


class TemplateInfo(TypedDict):
    body: str
    message_type: str  # TRANSACTIONAL or PROMOTIONAL
    variables: list[str]  # the {names} the body needs


class Description(TypedDict):
    """What does not change while the sandbox runs: the business's number and what it is configured with."""

    stack_name: str
    config_source: str  # "cdk.json" or the config file's path
    business_number: str  # E.164 of the emulated number (or of the pool's first number)
    number_type: str  # SIMULATOR, TOLL_FREE, ...
    mps: float
    templates: dict[str, TemplateInfo]
    flows: list[str]  # the conversation flows a send can open (ready and the config's own)
    keywords: list[str]  # every keyword the number answers, HELP and STOP included
    sample_customers: list[str]  # numbers to pick from (US, distinct states/zones)
    functions: dict[str, str]  # function label -> its handler ("two_way_sms.handlers.inbound.handler")


class TextView(TypedDict):
    """One text on a customer's phone, in either direction."""

    direction: Direction
    body: str
    at: str
    message_id: str | None  # End User Messaging's id (outbound), the inbound message id (inbound)
    encoding: str | None  # GSM-7 or UCS-2 (outbound)
    parts: int | None
    price_usd: str | None  # what it would cost (the ledger's price once an event reports it, else the estimate)
    price_estimated: bool  # True: price_usd is the sandbox's estimate by number type, not an event's price
    status: str | None  # outbound: the ledger's status (SENT, DELIVERED, CARRIER_UNREACHABLE, ...)
    statuses: list[str]  # outbound: the delivery statuses seen so far, in order (SENT, PENDING, ...)
    sent_by: str  # "customer"; the function that sent it ("inbound", "sender"); or "End User Messaging" /
    #               "carrier" for a keyword reply the number (or a toll-free number's carrier) sent by itself


class ConsentProof(TypedDict):
    change: str  # OPTED_OUT or OPTED_IN (as the contacts table stores it)
    at: str
    source: str  # INBOUND, DELIVERY_EVENT, OPT_OUT_LIST, IMPORT, ... (as the contacts table stores it)
    detail: dict[str, Any]  # the proof item's other attributes (message id, keyword, ...)


class Consent(TypedDict):
    opted_out: bool
    on_opt_out_list: bool  # the number's End User Messaging opt-out list
    proofs: list[ConsentProof]


class ConversationView(TypedDict):
    conversation_id: str
    flow: str
    step: str
    status: str  # OPEN, CLOSED (as stored), or EXPIRED: an OPEN one past its expires_at
    detail: dict[str, Any]


class CustomerView(TypedDict):
    number: str
    carrier: CarrierOutcome  # what the emulated carrier does with the next texts to this number
    texts: list[TextView]  # oldest first
    consent: Consent
    conversations: list[ConversationView]


class OutboundView(TypedDict):
    """A send request's outcome, as the outbound table keeps it."""

    key: str  # idempotency key
    destination: str
    status: str  # HELD, SENT, REFUSED, UNKNOWN
    reason: str | None  # why it was refused or held
    release_at: str | None  # when a held text is released (its release minute)
    at: str  # when the outcome was recorded


class BusEvent(TypedDict):
    at: str
    detail_type: str
    detail: dict[str, Any]


class DeadLetter(TypedDict):
    reason: str | None
    source: str | None
    body: str  # the parked message's body, unchanged


class CampaignView(TypedDict):
    campaign_id: str
    run_id: str
    status: str
    counts: dict[str, int]  # sent, refused, held, unknown, ...


class State(TypedDict):
    """Everything the page shows, at one moment of the sandbox's clock."""

    now: str
    speed: float  # sandbox seconds per real second
    customers: dict[str, CustomerView]  # every number that texted or was texted, plus the selected one
    outbound: list[OutboundView]  # newest first
    bus_events: list[BusEvent]  # newest first
    ledger: list[dict[str, Any]]  # the message ledger's items, newest first, as stored
    dead_letters: dict[str, list[DeadLetter]]  # queue label (as the dashboard names it) -> parked messages
    campaigns: list[CampaignView]


class Refused(Exception):
    """An input the sandbox will not feed the stack (a bad number, an unknown template): one line to show."""


class SandboxApi(Protocol):
    """The operations the page's controls and the terminal's commands map to, one each."""

    def describe(self) -> Description: ...

    def state(self, customer: str | None = None) -> State:
        """The state now; ``customer`` is included in ``customers`` even before any text."""
        ...

    def text_in(self, customer: str, body: str) -> str:
        """The customer texts the business number: End User Messaging's inbound JSON goes to the
        topic (a fresh inbound message id), and the stack runs until it is quiet. Returns the id."""
        ...

    def publish_raw(self, message: str) -> None:
        """``message`` goes to the two-way topic exactly as given (say, a malformed payload), as if End User
        Messaging had published it, and the stack runs until it is quiet: see where the inbound function puts it."""
        ...

    def send(
        self,
        to: str,
        *,
        template_id: str | None = None,
        variables: dict[str, str] | None = None,
        body: str | None = None,
        message_type: str | None = None,
        flow: str | None = None,
        slots: list[str] | None = None,
    ) -> str:
        """The business sends a text (a send request on the outbound queue, through the client the
        README documents); ``flow`` opens a conversation. ``message_type`` None: the template's,
        else TRANSACTIONAL. Returns the idempotency key."""
        ...

    def start_campaign(self, csv_text: str, template_id: str, *, local_time: str | None = None) -> str:
        """A campaign run over the CSV (``phone_number`` plus a column per variable), scheduled for
        now on the sandbox's clock: EventBridge Scheduler takes a time at least a minute ahead, so
        the clock moves on that minute and the run starts. Returns the campaign id."""
        ...

    def set_carrier(self, customer: str, outcome: CarrierOutcome) -> None:
        """What the emulated carrier reports for the texts sent to ``customer`` from now on."""
        ...

    def advance(self, seconds: float) -> None:
        """Moves the sandbox's clock and runs what falls due: queues, schedules, delivery events."""
        ...

    def set_speed(self, speed: float) -> None:
        """Sandbox seconds per real second while the server's ticker runs (1 = real time)."""
        ...
