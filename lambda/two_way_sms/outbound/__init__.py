"""Outbound messaging: send requests, templates, the send policy, limits, campaigns and contact imports (pure)."""
