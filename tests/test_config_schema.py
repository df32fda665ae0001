"""The config file's JSON Schema (what an editor checks as you type) is generated from the
loader's own tables, and the two agree: what one refuses, so does the other."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from waltui.config import ConfigError, load
from waltui.config_schema import SCHEMA_FILE, config_schema, schema_text

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

README = Path(__file__).parent.parent / "README.md"
VALIDATOR = Draft202012Validator(config_schema())


def readme_config() -> str:
    section = README.read_text().split("### Config file", 1)[1]
    found = re.search(r"```toml\n(.*?)```", section, re.DOTALL)
    assert found is not None
    return found.group(1)


def schema_errors(text: str) -> list[str]:
    return [error.message for error in VALIDATOR.iter_errors(tomllib.loads(text))]


def loader_error(tmp_path: Path, text: str) -> str | None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    try:
        load(str(path))
    except ConfigError as exc:
        return str(exc)
    return None


def test_the_shipped_schema_is_the_generated_one():
    Draft202012Validator.check_schema(config_schema())
    assert SCHEMA_FILE.read_text() == schema_text(), "python -m waltui.config_schema"


def test_config_schema_prints_it():
    import json
    import subprocess

    out = subprocess.run([sys.executable, "-m", "waltui", "config", "schema"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and json.loads(out.stdout) == config_schema()


def test_readmes_example_config_passes_both(tmp_path):
    text = readme_config()
    assert "[thresholds]" in text and "[keys]" in text
    assert schema_errors(text) == []
    assert loader_error(tmp_path, text) is None


@pytest.mark.parametrize("text", [
    "intervall = 1\n",  # a typo of a key
    "interval = 0\n",
    "interval = \"1\"\n",
    "read_only = \"yes\"\n",
    "lock_source = \"flock\"\n",
    "[thresholds]\npin_second = 3\n",
    "[thresholds]\nwal_bytes = -1\n",
    "[thresholds]\nwriter_rotation = 2.5\n",
    "[checkpoint]\ndeadline = 0\n",
    "[checkpoint]\njournal_size_limit = -1\n",
    "[queues]\npending = \"\"\n",
    "[queues]\npending = 3\n",
    "[keys]\nchekpoint = \"C\"\n",
    "[keys]\ncheckpoint = \" \"\n",
    "[surprise]\nx = 1\n",
])
def test_what_the_loader_refuses_the_schema_refuses(tmp_path, text):
    assert loader_error(tmp_path, text) is not None
    assert schema_errors(text), f"the schema lets through {text!r}"


@pytest.mark.parametrize("text", [
    "interval = 0.25\nlock_source = \"getlk\"\n",
    "[thresholds]\nwal_bytes = 1048576\nwriter_rotation = 5\n",
    "[checkpoint]\njournal_size_limit = 0\n",
    "[keys]\nquit = \"ctrl+q\"\n",
])
def test_what_the_loader_takes_the_schema_takes(tmp_path, text):
    assert loader_error(tmp_path, text) is None
    assert schema_errors(text) == []


def test_every_key_says_what_it_sets():
    def described(node: dict[str, Any]) -> None:
        for key, child in node.get("properties", {}).items():
            assert child.get("description"), key
            described(child)

    described(config_schema())
