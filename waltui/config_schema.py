"""The JSON Schema of config.toml, generated from the same Setting tables the loader checks
against, so an editor (Taplo, VS Code's Even Better TOML: `#:schema` on the first line)
flags what `waltui config check` would refuse, as you type. `python -m waltui.config_schema`
writes waltui/schemas/config.schema.json; a test keeps that file equal to this."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from waltui.config import CHECKPOINT_SETTINGS, THRESHOLD_SETTINGS, TOP_SETTINGS, Setting
from waltui.keys import ACTIONS

SCHEMA_FILE = Path(__file__).parent / "schemas" / "config.schema.json"


def setting_schema(setting: Setting) -> dict[str, Any]:
    if setting.kind is bool:
        found: dict[str, Any] = {"type": "boolean"}
    elif setting.kind is str:
        found = {"enum": list(setting.choices)}
    else:
        found = {"type": "integer" if setting.kind is int else "number"}
        if setting.above is not None:
            found["exclusiveMinimum"] = setting.above
        if setting.at_least is not None:
            found["minimum"] = setting.at_least
    found["description"] = f"{setting.about} ({setting.accepted()})"
    return found


def _table(settings: dict[str, Setting], description: str) -> dict[str, Any]:
    return {"type": "object", "description": description, "additionalProperties": False,
            "properties": {key: setting_schema(s) for key, s in settings.items()}}


def config_schema() -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "waltui config.toml",
        "description": "waltui's config file (waltui config check validates it too)",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            **{key: setting_schema(s) for key, s in TOP_SETTINGS.items()},
            "queues": {"type": "object", "description": "named queue-depth queries: one "
                       "SELECT (WITH ... SELECT, VALUES) each",
                       "additionalProperties": {"type": "string", "pattern": r"\S"}},
            "thresholds": _table(THRESHOLD_SETTINGS, "when a finding is raised"),
            "checkpoint": _table(CHECKPOINT_SETTINGS, "how the checkpoint keys behave"),
            "keys": {"type": "object", "description": "the dashboard's keys, by action",
                     "additionalProperties": False,
                     "properties": {action: {"type": "string", "pattern": r"\S",
                                             "description": key.description}
                                    for action, key in ACTIONS.items()}},
        },
    }


def schema_text() -> str:
    return json.dumps(config_schema(), indent=2) + "\n"


if __name__ == "__main__":
    SCHEMA_FILE.write_text(schema_text())
    print(SCHEMA_FILE)
