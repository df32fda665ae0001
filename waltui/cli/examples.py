"""`waltui examples`: the deployment files that ship inside the package (systemd units,
Prometheus scrape config and alert rules, a Grafana dashboard), listed or copied out, so an
operator who installed from a wheel has them without a checkout."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from waltui.support import exits
from waltui.units import visible

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def example_files() -> list[Path]:
    """Every example, relative to the examples folder, in a stable order."""
    return sorted(p.relative_to(EXAMPLES) for p in EXAMPLES.rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts)


# What each file is for; a test keeps this list and the folder equal.
DESCRIPTIONS = {
    "grafana/waltui.json": "Grafana dashboard over the exporter's metrics",
    "prometheus/prometheus.yml": "scrape config for `waltui export`, with the alert rules",
    "prometheus/waltui-rules.yml": "alert rules, each with a runbook_url",
    "prometheus/waltui-rules.test.yml": "promtool unit tests of the rules",
    "systemd/waltui-export.service": "the exporter as a hardened, read-only service",
    "systemd/waltui-record.service": "a recording of every poll, one file per start",
}


def list_examples() -> int:
    print(f"examples in {visible(str(EXAMPLES))} (waltui examples --write DIR copies them):")
    for name in example_files():
        print(f"  {str(name):<34} {DESCRIPTIONS.get(str(name), '')}")
    return exits.OK


def write_examples(target: str) -> int:
    """Copy every example under target, keeping its folder; nothing is written over, and
    nothing at all is written when any file is already there."""
    root = Path(target)
    clashes = [name for name in example_files() if (root / name).exists()]
    if clashes:
        print(f"waltui examples: {visible(str(root / clashes[0]))} exists; nothing was written "
              f"(waltui never writes over a file)", file=sys.stderr)
        return exits.CANNOT_CREATE
    try:
        for name in example_files():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(EXAMPLES / name, root / name)
            print(root / name)
    except OSError as exc:
        print(f"waltui examples: cannot write {visible(str(exc.filename or root))}: "
              f"{exc.strerror or exc}", file=sys.stderr)
        return exits.CANNOT_CREATE
    return exits.OK
