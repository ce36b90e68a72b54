"""The destination countries a protect configuration names: every region ``phonenumbers`` knows.

A new protect configuration ALLOWs every country (``CreateProtectConfiguration``: "By
default all country rule sets for each capability are set to ALLOW"), and a country left
out of ``CountryRuleSet`` keeps that default. To allow only a few countries, every other
one must be named with BLOCK; so the list of countries comes from a well-kept source, the
regions of Google's libphonenumber (``phonenumbers.SUPPORTED_REGIONS``, a dependency
already), not a copy kept here.

End User Messaging takes "the two-letter ISO 3166-1 country code" (``CountryCode``
pattern ``^[A-Z]{2}$``). libphonenumber also has regions that are not ISO 3166-1 country
codes; they are left out (``NOT_ISO_3166_REGIONS``), since a code the service does not
know could fail the deployment. Ascension Island and Tristan da Cunha share Saint Helena's
SH; Kosovo (+383) has no ISO code and is not named, so it keeps the service's default.
Which codes End User Messaging accepts is published only as a table in its user guide
("Supported countries and regions for SMS messaging"), not as data.
"""

from __future__ import annotations

import phonenumbers

# libphonenumber regions that ISO 3166-1 does not assign: Ascension Island (AC, reserved),
# Tristan da Cunha (TA, reserved) and Kosovo (XK, user-assigned).
NOT_ISO_3166_REGIONS = frozenset({"AC", "TA", "XK"})

SMS_COUNTRY_CODES: frozenset[str] = frozenset(
    region
    for region in phonenumbers.SUPPORTED_REGIONS
    if len(region) == 2 and region.isalpha() and region.isupper() and region not in NOT_ISO_3166_REGIONS
)


def blocked_countries(allowed: frozenset[str] | set[str] | tuple[str, ...]) -> list[str]:
    """Every known country but ``allowed``, sorted (the rule set's BLOCK entries)."""
    return sorted(SMS_COUNTRY_CODES - set(allowed))
