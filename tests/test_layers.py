"""The package layering, read from the source: every import statement of
every module (at any depth, in functions too), resolved to emg's own modules.

* Layers run one way: ``emg`` (the program) → ``agents`` (agents, round
  loop) → ``agents.chain`` (contracts, node, the contract's Python mirror)
  → ``market`` (economics). No module imports from a layer above its own.
* ``market`` is pure economics: besides the standard library it imports only
  numpy and scipy (no web3, no chain, no argparse, no printing).
* No import cycles between modules, including those that a function-level
  import would hide at run time.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("market", "agents", "emg")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Every module ``name`` imports: emg's own resolved to the deepest module, others as top-level names."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def own(target: str) -> str | None:
        while target and target not in MODULES:
            target = target.rpartition(".")[0]
        return target or None

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.add(own(alias.name) or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            for alias in node.names:  # `from pkg import module` imports the module
                sub = own(f"{mod}.{alias.name}")
                if sub == f"{mod}.{alias.name}":
                    found.add(sub)
                    continue
                found.add(own(mod) or mod.split(".")[0])
    found.discard(name)
    return found


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _layer(module: str) -> int:
    if module.startswith("emg"):
        return 3
    if module.startswith("agents.chain"):
        return 1
    if module.startswith("agents"):
        return 2
    return 0  # market


def test_the_graph_is_read() -> None:
    assert "emg.cli" in GRAPH and "market.nash" in GRAPH and "agents.chain.deploy" in GRAPH
    assert "agents.chain.client" in GRAPH["agents.chain.deploy"]
    assert "numpy" in GRAPH["market.nash"]


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_no_module_imports_from_a_layer_above(module: str) -> None:
    above = sorted(m for m in GRAPH[module] if m in MODULES and _layer(m) > _layer(module))
    assert not above, f"{module} (layer {_layer(module)}) imports {above} from above"


def test_market_imports_only_the_standard_library_numpy_and_scipy() -> None:
    stdlib = set(sys.stdlib_module_names)
    allowed = stdlib | {"numpy", "scipy", "market"} | {m for m in MODULES if m.startswith("market")}
    banned_stdlib = {"argparse"}
    for module, imports in GRAPH.items():
        if module.startswith("market"):
            bad = sorted((imports - allowed) | (imports & banned_stdlib))
            assert not bad, f"{module} imports {bad}"


def test_market_does_not_print() -> None:
    for name, path in MODULES.items():
        if name.startswith("market"):
            tree = ast.parse(path.read_text())
            calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)
                     and isinstance(n.func, ast.Name) and n.func.id == "print"]
            assert not calls, f"{name} calls print()"
            assert "sys.stdout" not in path.read_text(), f"{name} writes to stdout"


def test_market_imports_its_own_modules_only_at_the_top() -> None:
    """An import inside a function is how a cycle hides; market keeps none."""
    for name, path in MODULES.items():
        if name.startswith("market"):
            tree = ast.parse(path.read_text())
            top = {id(node) for node in tree.body}
            inner = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
                     and (n.module or "").startswith("market") and id(n) not in top]
            assert not inner, f"{name} imports {inner} inside a function"


def test_no_import_cycles() -> None:
    own = {m: sorted(i for i in GRAPH[m] if i in MODULES) for m in GRAPH}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in own[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in own:
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"
