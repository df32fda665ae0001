"""The layer table (pyproject.toml, [tool.waltui.*]) applied to source text: every import
statement, wherever it stands (inside a function, under TYPE_CHECKING), and every
apsw.Connection made. Used by tests/test_layers.py on the whole tree and on the violations
it must catch."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).parent.parent
TABLE = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["waltui"]


def layer_of(module: str) -> str | None:
    best, found = -1, None
    for layer, prefixes in TABLE["layers"].items():
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, found = len(prefix), layer
    return found


def _imports(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            if node.module == "waltui":  # from waltui import x: the module waltui.x, or a name
                found += [(node.lineno, f"waltui.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, node.module))
    return found


def _connections(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr == "Connection" and isinstance(node.func.value, ast.Name) and \
                node.func.value.id == "apsw":
            lines.append(node.lineno)
        if isinstance(node, ast.ImportFrom) and node.module == "apsw" and \
                any(alias.name == "Connection" for alias in node.names):
            lines.append(node.lineno)
    return lines


def violations(module: str, source: str) -> list[str]:
    """What in this module's source breaks the table, one line each."""
    layer = layer_of(module)
    if layer is None:
        return [f"{module}: in no layer of pyproject.toml [tool.waltui.layers]"]
    tree = ast.parse(source)
    allowed = set(TABLE["may_import"][layer])
    also = set(TABLE.get("may_import_also", {}).get(layer, []))
    found = []
    for line, name in _imports(tree):
        top = name.split(".")[0]
        if top == "waltui":
            target = layer_of(name)
            if name.startswith("waltui.__version__") or name == "waltui":
                continue
            if target not in allowed and name not in also and \
                    not any(name.startswith(a + ".") for a in also):
                found.append(f"{module}:{line}: the {layer} layer imports {name} "
                             f"({target} layer)")
        elif top in TABLE["third_party"] and layer not in TABLE["third_party"][top]:
            found.append(f"{module}:{line}: the {layer} layer imports {top}")
    if module not in TABLE["connections"]["modules"]:
        found += [f"{module}:{line}: makes an apsw.Connection (allowed only in "
                  f"{', '.join(TABLE['connections']['modules'])})"
                  for line in _connections(tree)]
    return found


def modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted((ROOT / "waltui").rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found.append((".".join(parts), path))
    return found
