"""The house keeps its shape: rooms that import one way, no cycles, a pure model, small parts.

Walks the source with `ast` (nothing is imported), so a lazy import inside a function counts as
much as one at the top of a module: hiding a cycle in a function does not make it go away.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("engine", "rules", "dsl")

#: engine's rooms and the rooms each may import (besides itself). Data flows one way:
#: cli -> run -> service -> store/io -> model.
BASE = {"model", "errors", "memory"}
ROOMS: dict[str, set[str]] = {
    "model": set(),
    "errors": set(),
    "memory": set(),
    "store": BASE,
    "io": BASE,
    "service": {"store", "io", *BASE},
    "run": {"service", "store", "io", *BASE},
    "web": {"run", "service", "store", "io", *BASE},
    "cli": {"web", "run", "service", "store", "io", *BASE},
}

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
MAX_CLASS_LINES = 250


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue  # Alembic's generated scripts follow Alembic's shape
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(path: Path, name: str) -> set[str]:
    """Project modules `name` imports; `from pkg import sub` counts as importing `pkg.sub`."""
    tree = ast.parse(path.read_text())
    out: set[str] = set()
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                out.add(sub if sub in MODULES else module)
    return {m for m in out if m.split(".")[0] in PACKAGES and m in MODULES and m != name}


GRAPH = {name: _imports(path, name) for name, path in MODULES.items()}


def _room(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "engine" and len(parts) > 1 else None


def test_no_import_cycles() -> None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(GRAPH[node]):
            if state.get(nxt) == 1:
                cycle = [*stack[stack.index(nxt) :], nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module)


def test_dsl_and_rules_never_import_engine() -> None:
    wrong = sorted(
        (m, t)
        for m, targets in GRAPH.items()
        for t in targets
        if m.split(".")[0] in ("dsl", "rules") and t.startswith("engine")
    )
    assert not wrong, wrong
    assert not [
        (m, t)
        for m, ts in GRAPH.items()
        for t in ts
        if m.startswith("dsl") and t.startswith("rules")
    ]


def test_engine_rooms_import_one_way() -> None:
    wrong = []
    for module, targets in GRAPH.items():
        room = _room(module)
        if room is None:
            continue
        assert room in ROOMS, f"{module}: room {room!r} is not in the house plan (ROOMS)"
        for target in targets:
            other = _room(target)
            if other is not None and other != room and other not in ROOMS[room]:
                wrong.append(f"{module} -> {target}")
    assert not wrong, "imports against the flow: " + ", ".join(sorted(wrong))


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _room(m) == "model"))
def test_model_uses_the_standard_library_only(module: str) -> None:
    tree = ast.parse(MODULES[module].read_text())
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            top = name.split(".")[0]
            own = name == "engine.model" or name.startswith("engine.model.")
            assert own or top in sys.stdlib_module_names or top == "__future__", name


def _sizes() -> list[str]:
    too_big = []
    for name, path in MODULES.items():
        text = path.read_text()
        lines = text.count("\n")
        if lines > MAX_MODULE_LINES:
            too_big.append(f"{name}: {lines} lines (module limit {MAX_MODULE_LINES})")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                limit = MAX_FUNCTION_LINES
            elif isinstance(node, ast.ClassDef):
                limit = MAX_CLASS_LINES
            else:
                continue
            size = (node.end_lineno or node.lineno) - node.lineno + 1
            if size > limit:
                too_big.append(f"{name}.{node.name}: {size} lines (limit {limit})")
    return too_big


def test_modules_functions_and_classes_stay_small() -> None:
    assert not _sizes(), "\n".join(_sizes())


def test_the_walk_sees_the_house() -> None:
    """Guard the guard: the graph must contain the rooms and their known arrows."""
    assert "engine.service.allocation" in GRAPH["engine.service"]
    assert "engine.store.schema" in GRAPH["engine.store"]
    assert {"engine.model", "engine.cli.main", "dsl.parser", "rules.loader"} <= MODULES.keys()
