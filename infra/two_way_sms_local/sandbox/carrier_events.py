"""End User Messaging's delivery events for every accepted text, over sandbox time, by what the carrier does."""

from __future__ import annotations

import heapq
import itertools
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from two_way_sms_local.emulation import text_delivery_detail
from two_way_sms_local.sandbox.number import EmulatedNumber
from two_way_sms_local.sandbox.runtime import DELIVERY_DETAIL_TYPE, DELIVERY_SOURCE, Runtime

# -- delivery events -------------------------------------------------------------------------------------
# Seconds after the send, event type, final, status, description. TEXT_SUCCESSFUL is the carrier's
# acceptance, TEXT_DELIVERED the handset's receipt (FACTS.md "Delivery events"; the service docs'
# event types). A failure or a block is final.
LIFECYCLES: dict[str, tuple[tuple[float, str, bool, str, str], ...]] = {
    "deliver": (
        (1.0, "TEXT_PENDING", False, "PENDING", "Message is in the process of being delivered"),
        (2.0, "TEXT_SUCCESSFUL", False, "SUCCESSFUL", "Message has been accepted by phone carrier"),
        (5.0, "TEXT_DELIVERED", True, "DELIVERED", "Message has been delivered to the handset"),
    ),
    "fail": (
        (1.0, "TEXT_PENDING", False, "PENDING", "Message is in the process of being delivered"),
        (3.0, "TEXT_CARRIER_UNREACHABLE", True, "CARRIER_UNREACHABLE", "Carrier is temporarily unreachable"),
    ),
    "opted_out": ((2.0, "TEXT_BLOCKED", True, "BLOCKED", "Destination phone number opted out"),),
}
# An estimate per message part, by number type (US): what End User Messaging charges and the
# carriers' fee. Not AWS's price list: a figure to show what a text would cost, replaced by the
# event's own price once one reports it.
PRICE_PER_PART_USD = {"SIMULATOR": "0.00581", "TOLL_FREE": "0.00581", "TEN_DLC": "0.00581", "LONG_CODE": "0.00581"}
CARRIER_FEE_PER_PART_USD = {
    "SIMULATOR": "0.00000",
    "TOLL_FREE": "0.00250",
    "TEN_DLC": "0.00302",
    "LONG_CODE": "0.00302",
}


@dataclass(order=True)
class _Event:
    due: float
    seq: int
    detail: dict[str, Any] = field(compare=False)


@dataclass
class DeliveryEvents:
    number: EmulatedNumber
    runtime: Runtime
    pending: list[_Event] = field(default_factory=list)
    emitted: int = 0
    _seen: int = 0
    _seq: Any = field(default_factory=itertools.count)

    def run(self) -> bool:
        self._collect()
        now = self.runtime.clock.now()
        due: list[_Event] = []
        while self.pending and self.pending[0].due <= now + 1e-9:
            due.append(heapq.heappop(self.pending))
        for start in range(0, len(due), 10):
            entries = [
                {
                    "Source": DELIVERY_SOURCE,
                    "DetailType": DELIVERY_DETAIL_TYPE,
                    "Detail": json.dumps(event.detail),
                    "Time": datetime.fromtimestamp(event.due, tz=timezone.utc),
                    "Resources": [self.number.number.arn],
                }
                for event in due[start : start + 10]
            ]
            self.runtime.events.put_events(Entries=entries)
        self.emitted += len(due)
        return bool(due)

    def next_due(self) -> float | None:
        self._collect()
        return self.pending[0].due if self.pending else None

    def _collect(self) -> None:
        """Schedules the events of every text accepted since the last look, by the carrier's outcome then."""
        sent = self.number.sms.sent
        number_type = self.number.number.number_type
        for text in sent[self._seen :]:
            outcome = self.number.carrier_outcome(text.destination)
            for after, event_type, final, status, description in LIFECYCLES[outcome]:
                at = text.at + after
                detail = text_delivery_detail(
                    event_type,
                    message_id=text.message_id,
                    at_ms=int(at * 1000),
                    requested_at_ms=int(text.at * 1000),
                    is_final=final,
                    status=status,
                    description=description,
                    origination=self.number.number.e164,
                    destination=text.destination,
                    body=text.body,
                    message_type=text.message_type,
                    context=text.context,
                    price_per_part_usd=PRICE_PER_PART_USD.get(number_type, "0.00581"),
                    carrier_fee_per_part_usd=CARRIER_FEE_PER_PART_USD.get(number_type, "0.00302"),
                )
                heapq.heappush(self.pending, _Event(at, next(self._seq), detail))
        self._seen = len(sent)
