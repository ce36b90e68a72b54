"""How much of a function's 4 KB environment the configured texts may take.

Lambda allows 4 KB of environment variables per function, names and values together. The
replies travel in the inbound function's ``RESPONDER_SETTINGS``; the templates with the sender
settings in the sender's (and the campaigns function's) ``SENDER_SETTINGS`` and ``TEMPLATES``.
The config is checked against these when it is read (one line naming the largest texts), and
each construct checks what it is given again, for apps that build the props themselves.
"""

from __future__ import annotations

LAMBDA_ENVIRONMENT_BYTES = 4096
# The inbound function's other variables take about 1,450 bytes once resolved (table names, the
# configuration set, the conversations' parameter, bus and key, the dead-letter queue's URL, ...).
INBOUND_SETTINGS_BYTES = 2650
# The sender's other variables take about 1.4 KB (table names, queue URLs, ARNs once resolved, the
# conversations' parameter, table and key, the budget): the settings and the templates share the rest.
SENDER_SETTINGS_BYTES = 2600
# The campaigns function has fewer others (under 1 KB), so the sender's limit is the one a config meets first.
CAMPAIGNS_SETTINGS_BYTES = 3000
# An ARN is a token at synth: what it takes once resolved, at most.
RESOLVED_ARN_BYTES = 160


def settings_size(*texts: str) -> int:
    """Bytes ``texts`` take in the environment once deployed, each token counted as a long ARN."""
    # A token (the origination ARN) is a short placeholder at synth, and its value is longer.
    return sum(len(text.encode()) + RESOLVED_ARN_BYTES * text.count("${Token[") for text in texts)


def largest(sizes: dict[str, int], shown: int = 3) -> str:
    """``"help_reply (412 bytes), keyword HOURS (380), default_reply (300)"``: the biggest first."""
    ranked = sorted(sizes.items(), key=lambda item: (-item[1], item[0]))[:shown]
    return ", ".join(
        f"{name} ({size:,} bytes)" if index == 0 else f"{name} ({size:,})" for index, (name, size) in enumerate(ranked)
    )
