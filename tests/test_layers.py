"""The layers the folders show, checked: imports go one way only and no modules import each other in a cycle.

    core  <  index  <  ingest  <  rag  <  ui, serve  <  app.py  <  eval, bench  <  cli

(the CLI is the top: `newsrag serve` starts the app and `newsrag eval` runs a suite).

A module imports its own package and the layers below it. Inside rag/, only the facade (rag/api.py) drives
ingestion. eval/ and bench/ use rag only through its facade (`rag`, `rag.api`), never its internals.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
RANK = {"core": 0, "index": 1, "ingest": 2, "rag": 3, "ui": 4, "serve": 4, "app": 5, "eval": 6, "bench": 6, "cli": 7}
RAG_FACADE = {"rag", "rag.api"}
INGEST_DRIVERS = {"rag.api"}  # the one rag module that may import ingest


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    found = {"app": REPO / "app.py"}
    for package in RANK:
        if package != "app":
            found |= {_module_name(p): p for p in (REPO / package).rglob("*.py")}
    return found


MODULES = _modules()


def _imports(path: Path) -> set[str]:
    """newsrag modules `path` imports, anywhere in the file (lazy imports in functions count)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names |= {f"{node.module}.{a.name}" for a in node.names} | {node.module}
    return {_known(n) for n in names if _known(n)}


def _known(name: str) -> str | None:
    """The newsrag module an imported name refers to (`rag.api.NewsQA` -> `rag.api`), or None."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


GRAPH = {name: _imports(path) - {name} for name, path in MODULES.items()}


def _package(module: str) -> str:
    return module.split(".")[0]


def test_the_layer_map_covers_every_package():
    on_disk = {p.name for p in REPO.iterdir() if (p / "__init__.py").is_file()}
    assert on_disk - {"tests"} <= set(RANK), f"packages missing from the layer map: {on_disk - set(RANK)}"


def violations(module: str, targets: set[str]) -> list[str]:
    own = _package(module)
    wrong = []
    for target in sorted(targets):
        other = _package(target)
        if other == own:
            continue
        if RANK[other] >= RANK[own]:
            wrong.append(f"{target} (layer {other} is not below {own})")
        elif other == "ingest" and own == "rag" and module not in INGEST_DRIVERS:
            wrong.append(f"{target} (only rag/api.py drives ingestion)")
        elif other == "rag" and own in ("eval", "bench") and target not in RAG_FACADE:
            wrong.append(f"{target} (eval and bench use rag's facade: `rag` or `rag.api`)")
    return wrong


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_imports_go_down_only(module):
    wrong = violations(module, GRAPH[module])
    assert not wrong, f"{module} imports: " + "; ".join(wrong)


def test_no_import_cycles():
    cycles, done, path = [], set(), []

    def visit(module):
        if module in path:
            cycles.append(" -> ".join([*path[path.index(module) :], module]))
            return
        if module in done:
            return
        path.append(module)
        for target in sorted(GRAPH[module]):
            visit(target)
        path.pop()
        done.add(module)

    for module in sorted(GRAPH):
        visit(module)
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_check_catches_each_kind_of_violation(tmp_path):
    upward = tmp_path / "upward.py"
    upward.write_text("import json\ndef f():\n    from rag.api import NewsQA\n    from ui import present\n")
    assert _imports(upward) == {"rag.api", "ui", "ui.present"}
    assert violations("ingest.readers", {"rag.api", "core.settings"}) == ["rag.api (layer rag is not below ingest)"]
    assert violations("ui.present", {"serve.wire"}) == ["serve.wire (layer serve is not below ui)"]
    assert violations("rag.answer", {"ingest.pipeline"}) == ["ingest.pipeline (only rag/api.py drives ingestion)"]
    assert violations("rag.api", {"ingest.pipeline"}) == []
    assert violations("eval.runner", {"rag.llm"}) and not violations("eval.runner", {"rag", "rag.api", "core.types"})
