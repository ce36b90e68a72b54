"""What carriers require of the replies themselves (CTIA Messaging Principles and Best Practices).

HELP must tell the customer how to reach a person (a phone number, a URL or an e-mail
address); STOP must confirm that messages will stop. The config checks its replies with
these at synth, and so does anything else that builds replies (the CLI, the sandbox).
"""

from __future__ import annotations

import re

import phonenumbers

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_URL = re.compile(r"(https?://\S+|www\.\S+|\b[\w-]+(\.[\w-]+)*\.(com|org|net|gov|edu|io|co|us|info|health)\b)", re.I)
_STOP_CONFIRMATION = re.compile(
    r"\b(unsubscribed|opted[ -]out|no (more|further|longer)|will not (receive|get|be sent)|won'?t (receive|get|be sent)"
    r"|not (receive|get) (any )?(more|further)|stop(ped)? (receiving|sending)|removed)\b",
    re.I,
)


def help_reply_problem(text: str) -> str | None:
    """Why ``text`` cannot be a HELP reply (no contact details), or None."""
    has_phone = any(True for _ in phonenumbers.PhoneNumberMatcher(text, "US", leniency=phonenumbers.Leniency.POSSIBLE))
    if has_phone or EMAIL.search(text) or _URL.search(text):
        return None
    return f"help_reply {text!r} must carry contact information: a phone number, a URL or an e-mail address"


def stop_reply_problem(text: str) -> str | None:
    """Why ``text`` cannot be a STOP confirmation (it does not say messages stop), or None."""
    if _STOP_CONFIRMATION.search(text):
        return None
    return (
        f"stop_reply {text!r} must confirm that messages will stop (e.g. 'You are unsubscribed and will "
        "receive no more messages')"
    )
