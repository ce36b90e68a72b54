"""Phone numbers: normalising to E.164 and masking for logs.

Almost every number a function meets is already a North American number in E.164
(``+14255550182``): End User Messaging publishes them that way, and the number we own is
one. Those are read without ``phonenumbers``, whose import (its pattern tables, its
matcher) is a noticeable share of a cold start; anything else goes through it.
"""

from __future__ import annotations

import re
from functools import lru_cache

# +1, then a ten-digit North American number: an area code and an exchange that do not start
# with 0 or 1 (NANP). phonenumbers finds every such number possible, and formats it unchanged.
_NANP_E164 = re.compile(r"\+1[2-9][0-9]{2}[2-9][0-9]{6}")


class InvalidPhoneNumber(ValueError):
    """A value that is not a possible phone number."""


@lru_cache(maxsize=4096)  # pure, and the same few numbers recur in every batch of events
def to_e164(raw: str, default_region: str = "US") -> str:
    """Returns ``raw`` in E.164 form (``+14255550182``).

    Real traffic sometimes drops the leading ``+`` (``14255550182``); a string of
    11 or more digits is read as international before falling back to
    ``default_region``, so ``14255550182`` and ``+14255550182`` agree.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidPhoneNumber("phone number is missing")
    text = raw.strip()
    if _NANP_E164.fullmatch(text):
        return text
    return _parsed_e164(text, default_region)


def _parsed_e164(text: str, default_region: str) -> str:
    import phonenumbers  # here, not at the top: most numbers never need it (see the module's docstring)

    candidates = [text]
    if not text.startswith("+") and text.isdigit() and len(text) >= 11:
        candidates.insert(0, "+" + text)
    for candidate in candidates:
        try:
            parsed = phonenumbers.parse(candidate, default_region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    raise InvalidPhoneNumber(f"not a possible phone number: {mask(text)}")


def mask(number: str) -> str:
    """Hides the middle of a number for logs: ``+14255550182`` -> ``+1425*****82``."""
    if not isinstance(number, str):
        return "<none>"
    visible_head, visible_tail = 5, 2
    if len(number) <= visible_head + visible_tail:
        return "*" * len(number)
    hidden = len(number) - visible_head - visible_tail
    return number[:visible_head] + "*" * hidden + number[-visible_tail:]
