"""The project's import graph: circles, imports that run up the layers, and Spark inside tiers/.

Layers, lowest first: tiers < classifiers < jobs, verification < cli (bench and tests sit above all).
Floors inside tiers/, lowest first: the ground floor (io, ops, dedup, catalog, llm, ...; they never import
the configuration), tiers/config.py, the tier packages (tiers/l3, tiers/l4), the applications of the
catalog (tiers/apps: allocation, report).
Every import counts, including those inside functions. Run: python scripts/import_graph.py [ROOT]
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

LAYERS = {"tiers": 0, "classifiers": 1, "jobs": 2, "verification": 2, "cli": 3}
CONFIGURATION = ("tiers.config",)
TIER_PACKAGES = ("tiers.l3", "tiers.l4")
APPLICATIONS = ("tiers.apps",)
FLOORS = {"ground": 0, "configuration": 1, "tiers": 2, "applications": 3}
DYNAMIC_IMPORTS = ("import_module", "__import__")


def _within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == package or module.startswith(package + ".") for package in packages)


def floor(module: str) -> int:
    """The floor inside tiers/ of a module of tiers/."""
    if _within(module, APPLICATIONS):
        return FLOORS["applications"]
    if _within(module, TIER_PACKAGES):
        return FLOORS["tiers"]
    if _within(module, CONFIGURATION):
        return FLOORS["configuration"]
    return FLOORS["ground"]


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, name: str, is_package: bool, modules: set[str]) -> set[str]:
    """Modules `path` imports; `from pkg import sub` counts the submodule, not the package."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if literal := _dynamic_import(node):
            found.add(literal)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")[: len(name.split(".")) - node.level + (1 if is_package else 0)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            submodules = {f"{target}.{alias.name}" for alias in node.names} & modules
            found |= submodules if len(submodules) == len(node.names) else {target} | submodules
    return found


def _dynamic_import(node: ast.AST) -> str | None:
    """The module of `importlib.import_module("a.b")`, `import_module("a.b")` or `__import__("a.b")`."""
    if not (isinstance(node, ast.Call) and node.args):
        return None
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    first = node.args[0]
    if name in DYNAMIC_IMPORTS and isinstance(first, ast.Constant) and isinstance(first.value, str):
        return first.value
    return None


def graph(root: Path) -> dict[str, set[str]]:
    modules = {module_name(root, p): p for layer in LAYERS for p in (root / layer).rglob("*.py")}
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = imports_of(path, name, path.name == "__init__.py", set(modules))
        edges[name] = {t for t in targets if t in modules and t != name} | {
            t for t in targets if t.startswith("pyspark")
        }
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in edges:
                continue
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10000))
    try:
        for node in sorted(edges):
            if node not in index:
                visit(node)
    finally:
        sys.setrecursionlimit(limit)  # callers in the same process (the unit test) keep their own limit
    return found


def upward(edges: dict[str, set[str]]) -> list[tuple[str, str]]:
    bad = []
    for source, targets in edges.items():
        for target in targets:
            top_s, top_t = source.split(".")[0], target.split(".")[0]
            if top_t in LAYERS and LAYERS[top_t] > LAYERS[top_s]:
                bad.append((source, target))
            elif top_s == "tiers" and top_t == "pyspark":
                bad.append((source, target))
            elif top_s == top_t == "tiers" and floor(target) > floor(source):
                bad.append((source, target))
    return sorted(bad)


def main(argv: list[str]) -> int:
    root = Path(argv[1] if len(argv) > 1 else Path(__file__).resolve().parent.parent)
    edges = graph(root)
    circles, up = cycles(edges), upward(edges)
    print(f"modules: {len(edges)}  imports: {sum(len(t) for t in edges.values())}")
    print(f"circles: {len(circles)}")
    for circle in circles:
        print(f"  {len(circle)} modules: {', '.join(circle)}")
    print(f"upward imports (and Spark inside tiers/): {len(up)}")
    for source, target in up:
        print(f"  {source} -> {target}")
    return 1 if circles or up else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
