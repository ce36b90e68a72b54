"""Three flows ready to switch on (``conversations.flows`` in the config) and to edit.

- ``appointment``: "Reply 1 to confirm or 2 to cancel" (not CANCEL: that word opts a number
  out, and opt-outs win); on cancel, the slots the business
  sent with the reminder ("Reply A, B or C"); the chosen one is booked and confirmed.
- ``transaction``: approve or decline a charge with a one-use code bound to it; the first
  valid answer is final, and the conversation closes so it cannot be replayed.
- ``support``: a customer texts AGENT (or the business opens one); every message goes to
  the agent desk as an event, and the agents' replies go back through the outbound queue.
  Name a registered handler in ``handler`` to let a bot answer first.

Prompt variables come from whoever opens the conversation (``first_name``, ``when``,
``merchant``...); ``code``, ``slot_choices``, ``slot_list`` and ``chosen_slot`` are filled
in by the engine.
"""

from __future__ import annotations

from typing import Any

APPOINTMENT: dict[str, Any] = {
    "description": "Confirm or cancel an appointment; offer new times to those who cancel.",
    "start": "confirm",
    "timeout_seconds": 2 * 86400,
    "steps": {
        "confirm": {
            "prompt": "Hi {first_name}, this is a reminder of your appointment on {when}. "
            "Reply 1 to confirm or 2 to cancel.",
            "answers": [
                {
                    "match": "1|YES|Y|CONFIRM",
                    "emit": "appointment.confirmed",
                    "reply": "Thank you, your appointment on {when} is confirmed.",
                    "close": True,
                },
                {"match": "2|NO|N", "emit": "appointment.cancelled", "goto": "rebook"},
            ],
            "otherwise": "Sorry, we did not understand. Reply 1 to confirm or 2 to cancel your appointment on {when}.",
        },
        "rebook": {
            "prompt": "Your appointment is cancelled. Would another time suit you? {slot_list}. "
            "Reply {slot_choices}, or 0 for none.",
            "answers": [
                {
                    "match": "{slot}",
                    "emit": "appointment.rebooked",
                    "reply": "You are booked for {chosen_slot}. See you then.",
                    "close": True,
                },
                {"match": "0|NONE|NO THANKS", "reply": "No problem. Call us when you want a new time.", "close": True},
            ],
            "otherwise": "Please reply {slot_choices} to book a new time, or 0 for none.",
            "without_slots": {
                "reply": "Your appointment is cancelled. Call us when you want a new time.",
                "close": True,
            },
        },
    },
}

TRANSACTION: dict[str, Any] = {
    "description": "Approve or decline a charge with a one-use code; the first valid answer is final.",
    "start": "verify",
    "timeout_seconds": 15 * 60,
    "steps": {
        "verify": {
            "prompt": "{merchant}: did you make a charge of {amount} on the card ending {card_last4}? "
            "Reply YES {code} to approve or NO {code} to decline.",
            "answers": [
                {
                    "match": "YES {code}|Y {code}|APPROVE {code}",
                    "emit": "transaction.approved",
                    "reply": "Thank you, the charge is approved.",
                    "close": True,
                },
                {
                    "match": "NO {code}|N {code}|DECLINE {code}",
                    "emit": "transaction.declined",
                    "reply": "The charge is declined and your card is on hold. We will call you.",
                    "close": True,
                },
            ],
            "otherwise": "Please reply YES or NO, then the code we sent, to approve or decline the charge of {amount}.",
        },
    },
}

SUPPORT: dict[str, Any] = {
    "description": "Hand the conversation to an agent desk (events out, replies through the outbound queue).",
    "start": "with_agent",
    "timeout_seconds": 86400,
    "start_words": ["AGENT", "SUPPORT"],
    "on_start_word": {"emit": "support.requested"},
    "steps": {
        "with_agent": {
            "prompt": "Thanks, an agent will text you back shortly. Reply STOP to opt out.",
            "answers": [{"match": "*", "emit": "reply.received"}],
        },
    },
}

READY_FLOWS: dict[str, dict[str, Any]] = {"appointment": APPOINTMENT, "transaction": TRANSACTION, "support": SUPPORT}
