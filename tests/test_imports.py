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


def import_graph(type_hints: bool = False) -> nx.DiGraph:
    """module -> the project modules it imports anywhere in its body (with `type_hints`, also
    those it imports under `if TYPE_CHECKING:`)."""
    modules = _modules()
    graph = nx.DiGraph()
    for name, path in modules.items():
        graph.add_node(name)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        skipped = set() if type_hints else _type_only(tree)
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


def test_config_and_the_worlds_need_each_other_not_even_for_type_hints() -> None:
    """`hagent.config` imports the worlds (a spec is checked when read); a world reads its own
    settings from `hagent.worlds.config`, never from the root config, not even to annotate."""
    graph = import_graph(type_hints=True)
    assert graph.has_edge("hagent.worlds.point", "hagent.worlds.config")
    cycles = [c for c in nx.simple_cycles(graph) if any(m == "hagent.config" or m.startswith("hagent.worlds") for m in c)]
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles[:20])


def test_lower_floors_never_import_the_upper_ones() -> None:
    """levels/, costs/ and decoder/ are the library's bottom floor; tui/ talks to hagent's public API."""
    graph = import_graph()
    for source, target in graph.edges:
        floor, upper = source.partition(".")[0], target.partition(".")[0]
        if floor in ("levels", "costs", "decoder"):
            assert upper in (floor, "levels", "costs", "decoder"), f"{source} imports {target}"
        assert not (floor != "tui" and upper == "tui" and not source.startswith("hagent.cli")), f"{source} imports {target}"


FAMILIES = ("rooms", "babyai", "minigrid", "point", "gym")
WORLD_CODE = ("hagent/worlds/",)
"""Where a world family may be named in a comparison: the worlds themselves (spec parsing, each family's env)."""


def _family_branches(tree: ast.AST) -> list[int]:
    """Lines that compare with, or test a prefix against, a world family's name: `spec.startswith("point:")`,
    `family == "gym"`, `x in ("point", "gym")`."""
    names = set(FAMILIES) | {f"{f}:" for f in FAMILIES}
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "startswith":
            args = node.args[0].elts if node.args and isinstance(node.args[0], ast.Tuple) else node.args[:1]
            if any(isinstance(a, ast.Constant) and a.value in names for a in args):
                lines.append(node.lineno)
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            consts = [c for s in sides for c in ([*s.elts] if isinstance(s, (ast.Tuple, ast.List, ast.Set)) else [s])]
            if any(isinstance(c, ast.Constant) and c.value in names for c in consts):
                lines.append(node.lineno)
    return lines


def test_world_families_are_branched_on_only_in_the_world_code() -> None:
    """The agent, training, the CLI and the UI serve every family through one path: which actor
    plans follows from what level 0 reads, which data keys and explorer from the world itself."""
    found = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            rel = path.relative_to(ROOT).as_posix()
            if rel.startswith(WORLD_CODE):
                continue
            found += [f"{rel}:{line}" for line in _family_branches(ast.parse(path.read_text(encoding="utf-8")))]
    assert not found, "world-family branches outside hagent/worlds/:\n" + "\n".join(found)


def test_the_family_branch_check_sees_a_branch() -> None:
    tree = ast.parse('if spec.startswith("point:"):\n    pass\nok = parsed.family == "gym"\nx = f in ("rooms", "babyai")\n')
    assert sorted(_family_branches(tree)) == [1, 3, 4]
