"""The layers of docs/architecture.md, checked on the package's own imports.

The contract is the `[tool.importlinter]` section of pyproject.toml (`lint-imports` reads
it too). The graph here is drawn from the source with `ast`: every import counts, inside
functions too, except those under `if TYPE_CHECKING:`; `from pkg import name` is an edge
to `pkg.name` when that is a module, else to `pkg`, as import-linter draws it. Run this
file as a script to print the graph's counts.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "llmpipe_nb"
TOP = "llmpipe_nb"
MAX_LINES = 400
#: past MAX_LINES by design: the loopback wire servers, one provider's whole protocol each
LONG_BY_DESIGN = re.compile(r"llmpipe_nb\.testing\.\w+_wire$")


def load_toml(path: Path) -> dict:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # Python 3.10
        tomllib = pytest.importorskip("tomli")
    return tomllib.loads(path.read_text())


@cache
def layers() -> tuple[tuple[tuple[str, ...], bool], ...]:
    """The layers from the top down: (their modules, whether those are independent siblings)."""
    contracts = load_toml(ROOT / "pyproject.toml")["tool"]["importlinter"]["contracts"]
    contract = next(c for c in contracts if c["type"] == "layers")
    assert contract["containers"] == [TOP]
    out = []
    for line in contract["layers"]:
        names = re.split(r"[:|]", line)
        out.append((tuple(f"{TOP}.{n.strip().strip('()')}" for n in names), "|" in line))
    return tuple(out)


def layer_of(module: str) -> int | None:
    """The index of the layer `module` is in (0 is the top), None for the package itself."""
    for index, (names, _) in enumerate(layers()):
        for name in names:
            if module == name or module.startswith(name + "."):
                return index
    return None


def layer_entry(module: str) -> str:
    return next(
        n for names, _ in layers() for n in names if module == n or module.startswith(n + ".")
    )


@cache
def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its `__init__`)."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _under_type_checking(node: ast.AST) -> bool:
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def import_nodes(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement under `node`, at any depth, except under `if TYPE_CHECKING:`."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child
        elif _under_type_checking(child):
            for other in child.orelse:
                if isinstance(other, (ast.Import, ast.ImportFrom)):
                    yield other
                else:
                    yield from import_nodes(other)
        else:
            yield from import_nodes(child)


def _origin(node: ast.ImportFrom, module: str, path: Path) -> str:
    if not node.level:
        return node.module or ""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
    return ".".join([*parts, node.module] if node.module else parts)


def imports_of(module: str, path: Path) -> tuple[set[str], set[str]]:
    """(the package's modules `module` imports, the top-level names of all others)."""
    mods = modules()
    inside, outside = set(), set()
    for node in import_nodes(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            origin = _origin(node, module, path)
            targets = [
                f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in mods else origin
                for alias in node.names
            ]
        for target in targets:
            if target == TOP or target.startswith(TOP + "."):
                inside.add(target)
            elif target != "__future__":
                outside.add(target.split(".")[0])
    inside.discard(module)
    return inside, outside


@cache
def graph() -> dict[str, frozenset[str]]:
    """Module -> the package's modules it imports."""
    return {m: frozenset(imports_of(m, p)[0]) for m, p in modules().items()}


def circles(edges: dict[str, frozenset[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each as one
    closed path through it, so the message shows the imports that close the circle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
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
                found.append(_closed_path(sorted(component), edges))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * len(edges) + 100))
    try:
        for v in sorted(edges):
            if v not in index:
                visit(v)
    finally:
        sys.setrecursionlimit(limit)
    return found


def _closed_path(component: list[str], edges: dict[str, frozenset[str]]) -> list[str]:
    """A shortest path from the component's first module back to itself."""
    members, start = set(component), component[0]
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(edges[v] & members):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if w not in came_from:
                    came_from[w] = v
                    nxt.append(w)
        frontier = nxt
    return component


def counts() -> tuple[int, int, int]:
    """(modules, import edges, circles) of the package."""
    edges = graph()
    return len(edges), sum(map(len, edges.values())), len(circles(edges))


# -- the tests -------------------------------------------------------------------------------


def test_every_module_is_in_a_layer():
    loose = [m for m in modules() if m != TOP and layer_of(m) is None]
    assert not loose, f"add these to a layer in pyproject.toml [tool.importlinter]: {loose}"


def test_every_layer_entry_exists():
    mods = modules()
    missing = [n for names, _ in layers() for n in names if n not in mods]
    assert not missing, (
        f"pyproject.toml [tool.importlinter] names modules that do not exist: {missing}"
    )


def test_no_import_circles():
    found = circles(graph())
    assert not found, "import circles:\n" + "\n".join(" -> ".join(c) for c in found)


def test_layers_import_only_downwards():
    wrong = []
    for module, targets in graph().items():
        mine = layer_of(module)
        for target in sorted(targets):
            theirs = layer_of(target)
            if target == TOP:
                wrong.append(f"{module} imports the top package {TOP}: import the module instead")
            elif mine is not None and theirs is not None and theirs < mine:
                wrong.append(f"{module} imports {target}, a layer above it")
            elif (
                mine is not None
                and mine == theirs
                and layers()[mine][1]
                and layer_entry(module) != layer_entry(target)
            ):
                wrong.append(f"{module} imports {target}, an independent sibling")
    assert not wrong, "\n".join(wrong)


def test_the_core_uses_only_the_standard_library():
    core = len(layers()) - 1
    wrong = []
    for module, path in modules().items():
        if layer_of(module) == core:
            outside = imports_of(module, path)[1] - set(sys.stdlib_module_names)
            wrong += [f"{module} imports {name}" for name in sorted(outside)]
    assert not wrong, "\n".join(wrong)


def test_architecture_doc_names_every_layer_entry():
    text = (ROOT / "docs" / "architecture.md").read_text()
    section = text[text.index("## The layers") :]
    section = section[: section.index("\n## ", 1)]
    for names, _ in layers():
        for name in names:
            tail = re.escape(name.removeprefix(TOP + "."))
            assert re.search(f"`{tail}(/|\\.py)?`", section), (
                f"docs/architecture.md's layers do not mention {tail}"
            )


def test_no_module_is_over_400_lines():
    long = {
        m
        for m, path in modules().items()
        if len(path.read_text().splitlines()) > MAX_LINES and not LONG_BY_DESIGN.match(m)
    }
    assert not long, f"split by concept (none over {MAX_LINES} lines): {sorted(long)}"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from .. import registry", {"llmpipe_nb.registry"}),
        ("from ..registry import get", {"llmpipe_nb.registry"}),
        ("from .. import rendering, registry", {"llmpipe_nb.rendering", "llmpipe_nb.registry"}),
        ("def f():\n    from ..views import response_html", {"llmpipe_nb.views"}),
        ("if TYPE_CHECKING:\n    from ..views import View", set()),
        ("if TYPE_CHECKING:\n    pass\nelse:\n    from .. import views", {"llmpipe_nb.views"}),
        ("import llmpipe_nb.ledger.store", {"llmpipe_nb.ledger.store"}),
        ("from .. import __version__", {"llmpipe_nb"}),
    ],
)
def test_the_graph_counts_every_kind_of_import(tmp_path, source, expected):
    path = tmp_path / "probe.py"
    path.write_text(source)
    assert imports_of("llmpipe_nb.plugs.probe", path)[0] == expected


def test_a_circle_is_found_and_shown():
    edges = {
        "a": frozenset({"b"}),
        "b": frozenset({"c"}),
        "c": frozenset({"a", "d"}),
        "d": frozenset(),
    }
    assert circles(edges) == [["a", "b", "c", "a"]]
    assert circles({**edges, "c": frozenset({"d"})}) == []


if __name__ == "__main__":
    print("{} modules, {} import edges, {} circles".format(*counts()))
    for circle in circles(graph()):
        print(" -> ".join(circle))
