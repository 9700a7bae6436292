"""The import graph of hagent's packages has no cycles, function-level imports included (imports
under `if TYPE_CHECKING:` are for type hints only and don't count)."""

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("hagent", "levels", "costs", "decoder", "tui")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _type_only(tree: ast.AST) -> set[int]:
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            skipped |= {id(inner) for statement in node.body for inner in ast.walk(statement)}
    return skipped


def import_graph() -> nx.DiGraph:
    """module -> the project modules it imports anywhere in its body."""
    modules = _modules()
    graph = nx.DiGraph()
    for name, path in modules.items():
        graph.add_node(name)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        skipped = _type_only(tree)
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            else:
                continue
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph.add_edge(name, target)
    return graph


def test_the_graph_sees_function_level_imports() -> None:
    graph = import_graph()
    assert graph.has_edge("hagent.cli.acting", "tui.app")  # imported inside cmd_chat only
    assert len(graph) > 40


def test_no_import_cycles() -> None:
    cycles = sorted((" -> ".join(c) for c in nx.simple_cycles(import_graph())), key=len)
    assert not cycles, "import cycles:\n" + "\n".join(cycles[:20])


def test_lower_floors_never_import_the_upper_ones() -> None:
    """levels/, costs/ and decoder/ are the library's bottom floor; tui/ talks to hagent's public API."""
    graph = import_graph()
    for source, target in graph.edges:
        floor, upper = source.partition(".")[0], target.partition(".")[0]
        if floor in ("levels", "costs", "decoder"):
            assert upper in (floor, "levels", "costs", "decoder"), f"{source} imports {target}"
        assert not (floor != "tui" and upper == "tui" and not source.startswith("hagent.cli")), f"{source} imports {target}"
