"""What more than one function's settings share."""

from __future__ import annotations

from collections.abc import Mapping

# Conversations need both: the flows to run and the table to keep them in.
CONVERSATION_SETTINGS = ("FLOWS_PARAMETER", "CONVERSATIONS_TABLE")


def conversation_settings(environment: Mapping[str, str], function: str) -> dict[str, str]:
    """The conversation settings a function was deployed with: both, or none (no conversations)."""
    present = {name: environment[name] for name in CONVERSATION_SETTINGS if environment.get(name)}
    if present and len(present) < len(CONVERSATION_SETTINGS):
        raise RuntimeError(
            f"{function} handler needs all of {list(CONVERSATION_SETTINGS)} for conversations, "
            f"or none: it has only {list(present)}"
        )
    return present
