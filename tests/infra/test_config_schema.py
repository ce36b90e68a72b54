"""The published JSON Schema of the configuration: current, accepting our configs, and keyed as the parser is.

The schema comes from ``two_way_sms_cdk.config.document``; ``parsing`` checks the rules. These tests
prove the two cannot drift: the parser, run over a config with every section, accepts at every level
exactly the keys the schema model declares.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from two_way_sms_cdk.config import document, parse_config, parsing

REPO = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = json.loads((REPO / "cdk.json").read_text())["context"]["two-way-sms"]

# Where the parser checks an object's keys -> the schema model of that object.
MODEL_AT = {
    "config": document.ConfigDocument,
    "origination.new_number": document.NewNumberBody,
    "origination.existing": document.ExistingBody,
    "delivery_events": document.DeliveryEvents,
    "archive": document.Archive,
    "monitoring": document.Monitoring,
    "outbound": document.Outbound,
    "outbound.quiet_hours": document.QuietHours,
    "outbound.templates": document.Template,
    "protect": document.Protect,
    "inbound": document.Inbound,
    "inbound.reply_limits": document.ReplyLimits,
    "conversations": document.Conversations,
    "conversations.extensions": document.Extensions,
    "keywords": document.Keyword,
}


def keys_of(model) -> set[str]:
    return {field.alias or name for name, field in model.model_fields.items()}


def full_config(tmp_path: Path) -> dict:
    """The default config with every optional section present."""
    (tmp_path / "python" / "clinic_handlers").mkdir(parents=True)
    (tmp_path / "python" / "clinic_handlers" / "__init__.py").write_text("")
    return {
        **DEFAULT_CONFIG,
        "$schema": "./two-way-sms.schema.json",
        "keywords": [{"keyword": "HOURS", "reply": "Open 8-18.", "action": "AUTOMATIC_RESPONSE"}],
        "opt_out_phrases": ["take me off"],
        "inbound": {"test_publisher_role_arn": None, "reply_limits": {"per_window": 5}},
        "conversations": {
            **DEFAULT_CONFIG["conversations"],
            "extensions": {"directory": str(tmp_path), "module": "clinic_handlers"},
        },
    }


def checked_keys(monkeypatch, config: dict) -> dict[str, set[str]]:
    """Every object whose keys the parser checked while parsing ``config``: where -> the keys it accepts."""
    seen: dict[str, set[str]] = {}
    real = parsing._reject_unknown

    def recording(raw, allowed, where):
        seen[
            where.split("[")[0]
            if where.startswith("keywords")
            else "outbound.templates"
            if where.startswith("outbound.templates.")
            else where
        ] = set(allowed)
        return real(raw, allowed, where)

    monkeypatch.setattr(parsing, "_reject_unknown", recording)
    parse_config(config)
    return seen


def test_the_shipped_schema_is_the_one_the_model_produces():
    assert document.SCHEMA_FILE.read_text() == document.schema_text(), (
        "regenerate it: python -m two_way_sms_cdk.config.document "
        "> infra/two_way_sms_cdk/config/two-way-sms.schema.json"
    )


def test_the_parser_and_the_schema_accept_the_same_keys_at_every_level(monkeypatch, tmp_path):
    seen = checked_keys(monkeypatch, full_config(tmp_path))
    seen |= checked_keys(
        monkeypatch,
        {
            **DEFAULT_CONFIG,
            "origination": {
                "existing": {"origination_type": "pool", "origination_id": "pool-0123456789abcdef0123456789abcdef"}
            },
        },
    )

    assert set(seen) == set(MODEL_AT)  # every object of the config was visited
    for where, model in MODEL_AT.items():
        assert seen[where] == keys_of(model), where


@pytest.mark.parametrize(
    "config", [DEFAULT_CONFIG, {"help_reply": "h", "stop_reply": "s", "opt_in_reply": "o"}], ids=["cdk.json", "minimal"]
)
def test_the_repositorys_configs_are_valid_against_the_schema_model(config):
    document.ConfigDocument.model_validate(config)


def test_the_schema_names_every_section_with_its_defaults():
    schema = document.json_schema()

    assert set(schema["properties"]) == keys_of(document.ConfigDocument)
    assert set(schema["required"]) == {"help_reply", "stop_reply", "opt_in_reply"}
    outbound = schema["$defs"]["Outbound"]["properties"]
    assert outbound["max_price_usd"]["default"] == "0.10" and outbound["max_parts"]["default"] == 6
