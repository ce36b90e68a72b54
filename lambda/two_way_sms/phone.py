"""Phone numbers: normalising to E.164 and masking for logs."""

from __future__ import annotations

from functools import lru_cache

import phonenumbers


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
