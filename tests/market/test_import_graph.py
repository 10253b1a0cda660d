"""``market``'s modules import each other without cycles, and only at the top of a file.

An import inside a function is how a cycle hides; this test keeps both out.
"""

from __future__ import annotations

import ast
from pathlib import Path

MARKET = Path(__file__).resolve().parents[2] / "market"


def _imports(tree: ast.Module) -> list[tuple[str, bool]]:
    """``(module, at_top_level)`` of every ``market`` import in a module."""
    top = {id(node) for node in tree.body}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "market":
            out.append((node.module, id(node) in top))
        elif isinstance(node, ast.Import):
            out.extend((a.name, id(node) in top) for a in node.names if a.name.split(".")[0] == "market")
    return out


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in sorted(MARKET.glob("*.py")):
        name = f"market.{path.stem}"
        imports = _imports(ast.parse(path.read_text()))
        local = [m for m, top in imports if not top]
        assert not local, f"{name} imports {local} inside a function"
        graph[name] = {m for m, _ in imports if m != name}
    return graph


def test_market_imports_form_no_cycle() -> None:
    graph = _graph()
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt):] + [nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])


def test_the_solvers_are_layered() -> None:
    """The order a reader can follow: posts below the solvers, the check above them."""
    graph = _graph()
    assert "market.nash" not in graph["market.bestresponse"]
    assert "market.verify" not in graph["market.nash"] | graph["market.competitive"]
    assert graph["market.posts"] <= {"market.model"}
