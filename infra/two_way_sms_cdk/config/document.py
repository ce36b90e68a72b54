"""The configuration's JSON form as one pydantic model, ``ConfigDocument``: what a config is checked against.

``ConfigDocument`` (in ``sections``, its sections there and in ``messaging``) states every key
once: its type, default, choices, range or pattern, and a line on what it does. ``parsing``
validates a config with it and builds the typed ``model`` from the result; the same model
produces the JSON Schema editors use to complete and check a config as it is typed.

``python -m two_way_sms_cdk.config.document`` prints the schema; the package ships it as
``two_way_sms_cdk/config/two-way-sms.schema.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from two_way_sms_cdk.config.sections import ConfigDocument

SCHEMA_FILE = Path(__file__).resolve().parent / "two-way-sms.schema.json"


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the configuration's JSON form."""
    schema = ConfigDocument.model_json_schema(by_alias=True)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def schema_text() -> str:
    """The schema as the package ships it (``SCHEMA_FILE``)."""
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


__all__ = ["SCHEMA_FILE", "ConfigDocument", "json_schema", "schema_text"]

if __name__ == "__main__":
    print(schema_text(), end="")
