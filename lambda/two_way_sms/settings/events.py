"""The delivery events function's environment as one typed contract, read by the handler and the construct.

``EventsSettings.from_environment`` is how the handler reads its environment when it is
wired (a missing or bad value fails it with a message naming the variable) and how
``DeliveryEvents`` checks, at synth, that the environment it sets is one the handler accepts.
``OUTBOUND_TABLE`` is optional: without the outbound feature there are no campaign runs to count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

REQUIRED = ("LEDGER_TABLE", "CONTACTS_TABLE", "DEAD_LETTER_QUEUE_URL", "LEDGER_RETENTION_DAYS")
OPTIONAL = ("OUTBOUND_TABLE",)


@dataclass(frozen=True)
class EventsSettings:
    ledger_table: str
    contacts_table: str
    dead_letter_queue_url: str  # records that are not delivery events are parked here, with their reason
    ledger_retention_days: int
    outbound_table: str | None = None  # campaign runs: delivered/failed counted once per message

    @classmethod
    def from_environment(cls, environment: Mapping[str, str]) -> EventsSettings:
        """Reads and checks the environment; RuntimeError naming what is missing or wrong."""
        missing = [name for name in REQUIRED if not environment.get(name)]
        if missing:
            raise RuntimeError(
                f"events handler is missing environment variables {missing}: deploy it with the construct"
            )
        days = environment["LEDGER_RETENTION_DAYS"]
        if not days.isdigit() or int(days) < 1:
            raise RuntimeError(f"LEDGER_RETENTION_DAYS {days!r} must be a whole number of days")
        return cls(
            ledger_table=environment["LEDGER_TABLE"],
            contacts_table=environment["CONTACTS_TABLE"],
            dead_letter_queue_url=environment["DEAD_LETTER_QUEUE_URL"],
            ledger_retention_days=int(days),
            outbound_table=environment.get("OUTBOUND_TABLE") or None,
        )

    def to_environment(self) -> dict[str, str]:
        """The variables these settings are (the construct sets them; an unset option is left out)."""
        return {
            "LEDGER_TABLE": self.ledger_table,
            "CONTACTS_TABLE": self.contacts_table,
            "DEAD_LETTER_QUEUE_URL": self.dead_letter_queue_url,
            "LEDGER_RETENTION_DAYS": str(self.ledger_retention_days),
            **({"OUTBOUND_TABLE": self.outbound_table} if self.outbound_table else {}),
        }
