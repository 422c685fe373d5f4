"""The import graph of our own modules (pipeline/ and flows/): no cycles, layering, size.

How the graph is built, read from the source with `ast` (nothing is imported):

- Every `import` and `from ... import` counts, at module level or inside a function: a
  function-level import still runs, only later, so a cycle it closes is a real cycle that
  merely waits for the first call to bite (or hides in an import order that happens to work).
- Imports under `if TYPE_CHECKING:` do not count: they never run, and they are how a module
  names a type from a module that imports it (pipeline.schedule names the Warehouse that
  imports it). mypy sees them; the interpreter does not.
- `from a.b import c` is an edge to the module a.b.c when that module exists, otherwise to
  a.b (c is then a name defined in a.b).
- No edge is added for the parent packages Python initialises on the way to a submodule
  (`import pipeline.store.feeds` first runs pipeline/store/__init__). That implicit step is
  harmless: a package whose `__init__` imports its own submodules is the normal shape, and a
  submodule is free to import its siblings by full name while `__init__` is half-loaded.
  What is not harmless, and is reported, is a submodule importing *from the package itself*
  (`from pipeline.store import Warehouse`, `from . import name`) while that `__init__`
  imports the submodule back: the name may not exist yet when the submodule asks for it, so
  whether it works depends on the order of lines in `__init__`. That shows up here as an
  explicit edge submodule -> package plus package -> submodule: a cycle.

A cycle is any strongly connected component of more than one module (or a module importing
itself).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OUR_PACKAGES = ("pipeline", "flows")
MAX_MODULE_LINES = 600

Graph = dict[str, set[str]]


def module_files(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Dotted module name -> source file, for every .py file under the given packages."""
    modules: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _is_type_checking_guard(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement that can run, at any depth, skipping `if TYPE_CHECKING:` bodies
    (their `else:` branch does run, so it is kept)."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        if isinstance(node, ast.If) and _is_type_checking_guard(node):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def _from_source(module: str, path: Path, node: ast.ImportFrom) -> str:
    """The module a `from X import ...` reads from, with relative imports resolved against
    the package: the module itself for an `__init__`, else its parent."""
    if not node.level:
        return node.module or ""
    anchor = module.split(".")
    drop = node.level - 1 if path.name == "__init__.py" else node.level
    base = ".".join(anchor[: len(anchor) - drop])
    return f"{base}.{node.module}" if node.module else base


def imported_modules(module: str, path: Path, known: Iterable[str] = ()) -> set[str]:
    """What this module imports: `a.b` for `import a.b`; for `from a.b import c`, the module
    a.b.c when c is one of the `known` modules, otherwise a.b (c is a name defined in a.b)."""
    known = set(known)
    names: set[str] = set()
    for node in _runtime_imports(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
            continue
        source = _from_source(module, path, node)
        for alias in node.names:
            submodule = f"{source}.{alias.name}"
            names.add(submodule if submodule in known else source)
    return names


def import_graph(modules: dict[str, Path]) -> Graph:
    """Edges between our own modules only."""
    return {
        name: {target for target in imported_modules(name, path, modules) if target in modules}
        for name, path in modules.items()
    }


def cycles(graph: Graph) -> list[list[str]]:
    """Strongly connected components that are cycles (Tarjan), each sorted, largest first."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found, key=len, reverse=True)


# -- the project --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def our_modules() -> dict[str, Path]:
    return module_files(ROOT, OUR_PACKAGES)


@pytest.fixture(scope="module")
def our_graph(our_modules: dict[str, Path]) -> Graph:
    return import_graph(our_modules)


def test_graph_sees_our_imports(our_graph: Graph) -> None:
    # Guards the walker itself: an empty graph would pass the cycle test for nothing.
    assert "pipeline.store.feeds" in our_graph["pipeline.store"]  # from pipeline.store import
    assert "pipeline.store.connection" in our_graph["pipeline.store"]  # from ...connection import
    assert "pipeline.errors" in our_graph["pipeline.schedule"]
    # pipeline.schedule names the Warehouse only under TYPE_CHECKING.
    assert "pipeline.store" not in our_graph["pipeline.schedule"]
    assert any(target.startswith("pipeline.") for target in our_graph["flows.ingest"])


def test_no_import_cycles(our_graph: Graph) -> None:
    found = cycles(our_graph)
    detail = "\n".join(
        " <-> ".join(component)
        + "\n"
        + "\n".join(
            f"    {a} -> {b}" for a in component for b in sorted(our_graph[a]) if b in component
        )
        for component in found
    )
    assert not found, f"import cycles between our modules:\n{detail}"


def test_pipeline_never_imports_flows_or_prefect(our_modules: dict[str, Path]) -> None:
    offenders = []
    for name, path in sorted(our_modules.items()):
        if not name.startswith("pipeline"):
            continue
        for imported in sorted(imported_modules(name, path)):
            top = imported.split(".")[0]
            if top in ("flows", "prefect") or top.startswith("prefect_"):
                offenders.append(f"{name} imports {imported}")
    assert not offenders, "\n".join(offenders)


def test_no_module_over_the_size_limit(our_modules: dict[str, Path]) -> None:
    too_long = {
        name: n
        for name, path in our_modules.items()
        if (n := len(path.read_text("utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert not too_long, f"modules over {MAX_MODULE_LINES} lines: {too_long}"


# -- the checker, on made-up packages -----------------------------------------------------


def _write(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, "utf-8")


def test_package_importing_its_submodules_is_not_a_cycle(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "from pkg import a\nfrom pkg.b import thing\n",
            "pkg/a.py": "from pkg.b import thing\n",
            "pkg/b.py": "thing = 1\n",
        },
    )
    graph = import_graph(module_files(tmp_path, ["pkg"]))
    assert graph == {"pkg": {"pkg.a", "pkg.b"}, "pkg.a": {"pkg.b"}, "pkg.b": set()}
    assert cycles(graph) == []


def test_submodule_importing_its_package_back_is_a_cycle(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "from pkg.a import helper\nVALUE = 1\n",
            "pkg/a.py": "def helper():\n    from . import VALUE\n    return VALUE\n",
        },
    )
    assert cycles(import_graph(module_files(tmp_path, ["pkg"]))) == [["pkg", "pkg.a"]]


def test_function_level_import_closes_a_cycle(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "import pkg.b\n",
            "pkg/b.py": "def late():\n    from pkg import a\n    return a\n",
        },
    )
    assert cycles(import_graph(module_files(tmp_path, ["pkg"]))) == [["pkg.a", "pkg.b"]]


def test_type_checking_imports_are_not_edges(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "import pkg.b\n",
            "pkg/b.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from pkg.a import Thing\n"
                "else:\n    import pkg.c\n"
            ),
            "pkg/c.py": "",
        },
    )
    graph = import_graph(module_files(tmp_path, ["pkg"]))
    assert graph["pkg.b"] == {"pkg.c"}
    assert cycles(graph) == []
