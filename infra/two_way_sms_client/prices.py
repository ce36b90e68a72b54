"""What one text costs, estimated: a small price table for US outbound SMS, per message part.

AN ESTIMATE, NOT AWS'S PRICE LIST. End User Messaging bills each message part: its own price
plus the carrier's pass-through fee, which differs by carrier and by number type and changes
(usually yearly). The figures below are what this repository uses throughout (README "What it
costs to run", ``two_way_sms_cdk.config.model.DEFAULT_MAX_PRICE_USD``, the sandbox):

- SOURCE: aws.amazon.com/end-user-messaging/pricing ("SMS", United States): $0.00581 per
  outbound part for every US origination type; the carriers' pass-through fees per part as
  AWS lists them beside it, rounded to one figure per number type (toll-free $0.0025, 10DLC and
  US long codes $0.00302; a simulator number's texts reach no carrier);
- AS OF: 2026-12, the date these figures were gathered here from the repository's own (they were
  not re-read from the live page then): check the pricing page before relying on them.

Only US prices are listed: for any other country ``estimate`` returns None (say so; do not
guess). Issue 15 adds a template-driven cost table on top of this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

SOURCE = "aws.amazon.com/end-user-messaging/pricing (SMS, United States) and its carrier fees"
AS_OF = "2026-12"
LABEL = f"estimate ({SOURCE}, as of {AS_OF})"


@dataclass(frozen=True)
class PartPrice:
    """One outbound message part: End User Messaging's price and the carrier's fee, in US dollars."""

    aws_usd: Decimal
    carrier_fee_usd: Decimal

    @property
    def total_usd(self) -> Decimal:
        return self.aws_usd + self.carrier_fee_usd


_AWS_US = Decimal("0.00581")
US_OUTBOUND_SMS_PER_PART: dict[str, PartPrice] = {
    "TOLL_FREE": PartPrice(_AWS_US, Decimal("0.0025")),
    "TEN_DLC": PartPrice(_AWS_US, Decimal("0.00302")),
    "LONG_CODE": PartPrice(_AWS_US, Decimal("0.00302")),  # a US long code sends as 10DLC
    "SIMULATOR": PartPrice(_AWS_US, Decimal("0")),
}


@dataclass(frozen=True)
class Estimate:
    parts: int
    per_part: PartPrice
    country: str
    number_type: str

    @property
    def usd(self) -> Decimal:
        return self.per_part.total_usd * self.parts


def estimate(parts: int, *, number_type: str, country: str = "US") -> Estimate | None:
    """The estimated cost of one send of ``parts`` parts; None where the table has no price."""
    if country != "US" or number_type not in US_OUTBOUND_SMS_PER_PART:
        return None
    return Estimate(parts, US_OUTBOUND_SMS_PER_PART[number_type], country, number_type)
