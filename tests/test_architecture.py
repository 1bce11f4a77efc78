"""The layers of docs/architecture.md hold: no upward import, no cycle between packages, no
private name imported from another module. Imports inside functions count too."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "fashionclip"
DOC = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"

# the table in docs/architecture.md, as data
LAYERS: dict[str, int] = {
    **dict.fromkeys(
        ["errors", "_extras", "config", "io", "templating", "machine", "sample", "registry", "identity", "version"], 0
    ),
    "reserved_columns": 0,
    "tuning": 0,
    "preprocess": 1,
    **dict.fromkeys(["backends", "calibration"], 2),
    "encoder": 3,
    **dict.fromkeys(["loading", "convert"], 4),
    **dict.fromkeys(["catalog", "store"], 5),
    **dict.fromkeys(["indexing", "zeroshot", "explain"], 6),
    **dict.fromkeys(["search", "evaluation"], 7),
    "training": 8,
    "server": 9,
    **dict.fromkeys(["cli", "compat", "testing", "tiny_families", ""], 10),  # "": the package's own __init__
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[str, list[str], int]]:
    """(imported module, names taken from it, line) for every fashionclip import in ``path``."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    return _parse_imports(path.read_text(encoding="utf-8"), package)


def _parse_imports(source: str, package: str) -> list[tuple[str, list[str], int]]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == "fashionclip" or target.startswith("fashionclip."):
                found.append((target, [alias.name for alias in node.names], node.lineno))
        elif isinstance(node, ast.Import):
            found += [(a.name, [], node.lineno) for a in node.names if a.name.split(".")[0] == "fashionclip"]
    return found


def _unit(module: str) -> str:
    """The layer table's key for a module: its first name under fashionclip ("" for the package)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _all_imports() -> list[tuple[str, str, list[str], int]]:
    return [
        (_module_name(p), target, names, line) for p in PACKAGE.rglob("*.py") for target, names, line in _imports(p)
    ]


def test_every_package_has_a_layer():
    units = {_unit(_module_name(p)) for p in PACKAGE.rglob("*.py")}
    assert sorted(units - set(LAYERS)) == [], "add the new package to LAYERS and docs/architecture.md"


def test_no_layer_imports_a_higher_one():
    upward = [
        f"{module}:{line} imports {target} (layer {LAYERS.get(_unit(module))} -> {LAYERS.get(_unit(target))})"
        for module, target, _, line in _all_imports()
        if LAYERS.get(_unit(target), 0) > LAYERS.get(_unit(module), 0)
    ]
    assert upward == []


def test_no_import_cycle_between_packages():
    graph: dict[str, set[str]] = defaultdict(set)
    for module, target, _, _ in _all_imports():
        if _unit(module) != _unit(target):
            graph[_unit(module)].add(_unit(target))
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(graph[node]):
            if nxt in path:
                loop = path[path.index(nxt) :]
                first = loop.index(min(loop))  # one spelling per cycle, from its smallest name
                cycles.append(" -> ".join(loop[first:] + loop[:first] + [min(loop)]))
            elif len(path) < len(LAYERS):
                visit(nxt, path + [nxt])

    for start in sorted(graph):
        visit(start, [start])
    assert sorted(set(cycles)) == []


def test_no_private_name_is_imported_from_another_module():
    private = [
        f"{module}:{line} imports {name} from {target}"
        for module, target, names, line in _all_imports()
        for name in names
        if name.startswith("_") and not name.startswith("__") and target != module
    ]
    assert private == []


def test_the_document_lists_the_same_layers():
    text = DOC.read_text(encoding="utf-8")
    rows = re.findall(r"^\| *(\d+) *\| *(.+?) *\|", text, flags=re.M)
    documented = {}
    for layer, cell in rows:
        for name in re.findall(r"`([\w.]+)`", cell):
            documented["" if name == "fashionclip" else name] = int(layer)
    assert documented == LAYERS


@pytest.mark.parametrize(
    "bad", ["import fashionclip.server", "from fashionclip.cli.main import main", "from ..server import app"]
)
def test_the_checker_sees_an_upward_import_even_inside_a_function(bad: str):
    source = f"def late():\n    {bad}\n"
    ((target, _, _),) = _parse_imports(source, "fashionclip.store")
    assert LAYERS[_unit(target)] > LAYERS["store"]


def test_the_checker_sees_a_private_name():
    ((_, names, _),) = _parse_imports("from fashionclip.loading import _load_hf\n", "fashionclip.training")
    assert names == ["_load_hf"]
