"""The project's layering (SPEC §9): no import cycle between modules, and packages import only
the floors below them — reference at the bottom; proofs and gpu_runtime on it; properties
on those; paper_repro (with the ``dsi`` root parser) on top. Imports anywhere in a module's
body count, function-level ones included."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("reference", "proofs", "gpu_runtime", "properties", "soak", "paper_repro")
#: Which packages each package may import (besides itself).
ALLOWED = {
    "reference": set(),
    "proofs": {"reference"},
    "gpu_runtime": {"reference"},
    "properties": {"reference", "gpu_runtime"},
    "soak": {"reference", "gpu_runtime", "properties"},
    "paper_repro": {"reference", "proofs", "gpu_runtime", "properties", "soak"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """``{module: project modules it imports anywhere in its body}`` (a from-import of a
    package's submodule counts as that submodule)."""
    modules = {module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                for alias in node.names:
                    target = f"{node.module}.{alias.name}"
                    deps.add(target if target in modules else node.module)
            elif isinstance(node, ast.Import):
                deps |= {alias.name for alias in node.names}
        graph[name] = {d for d in deps if d in modules and d != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of the graph as a list of nodes (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the stack, 2: done

    def visit(node: str, stack: list[str]) -> list[str] | None:
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                return [*stack[stack.index(dep):], dep]
            if dep not in state and (cycle := visit(dep, [*stack, dep])):
                return cycle
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node, [node])):
            return cycle
    return None


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_module_imports_itself_back() -> None:
    graph = import_graph()
    assert {"reference.scheduler.dsi", "gpu_runtime.driver", "paper_repro.console"} <= set(graph)
    assert find_cycle(graph) is None, find_cycle(graph)


def test_packages_import_only_the_floors_below_them() -> None:
    wrong = sorted((module, dep) for module, deps in import_graph().items() for dep in deps
                   if dep.split(".")[0] != module.split(".")[0]
                   and dep.split(".")[0] not in ALLOWED[module.split(".")[0]])
    assert wrong == []
