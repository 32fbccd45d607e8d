"""The house stays readable: a few top-level modules, small modules, subpackages by role.

These are the layout rules (docs/development.md, "Layout rules"), checked on every run so that
they keep holding:
- ``imagesearch/`` holds at most 10 top-level modules; everything else lives in a subpackage;
- no module of the package is over 400 lines;
- every subpackage's ``__init__.py`` holds only a docstring (importing one module of a subpackage
  must not import the others, or a stage would depend on code it does not run);
- no DVC stage depends on anything under ``tests/`` (production inputs live in the package);
- README's module map names every subpackage.
- no import cycle among the package's modules (module-level imports; the registries of
  encoders and legal rules are leaves that backends import, never the other way round).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "imagesearch"
MAX_TOP_LEVEL_MODULES = 10
MAX_MODULE_LINES = 400


def subpackages() -> list[Path]:
    return sorted(p.parent for p in PACKAGE.rglob("__init__.py") if p.parent != PACKAGE)


def test_top_level_holds_few_modules() -> None:
    modules = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(modules) <= MAX_TOP_LEVEL_MODULES, modules


@pytest.mark.parametrize("module", sorted(PACKAGE.rglob("*.py")), ids=lambda p: p.relative_to(REPO).as_posix())
def test_no_module_is_over_the_limit(module: Path) -> None:
    lines = len(module.read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{module.relative_to(REPO)} has {lines} lines"


@pytest.mark.parametrize("package", subpackages(), ids=lambda p: p.relative_to(REPO).as_posix())
def test_subpackage_init_holds_only_a_docstring(package: Path) -> None:
    body = ast.parse((package / "__init__.py").read_text()).body
    assert all(isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) for node in body), \
        f"{package.relative_to(REPO)}/__init__.py must hold only a docstring"


def test_no_stage_depends_on_tests() -> None:
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    offending = {name: dep for name, stage in stages.items() for dep in stage.get("deps", [])
                 if Path(dep).parts[0] == "tests"}
    assert not offending


def test_readme_module_map_names_every_subpackage() -> None:
    readme = (REPO / "README.md").read_text()
    assert "## Module map" in readme
    section = readme.split("## Module map", 1)[1].split("\n## ", 1)[0]
    missing = [p.relative_to(REPO).as_posix() + "/" for p in subpackages()
               if p.relative_to(REPO).as_posix() + "/" not in section]
    assert not missing, f"README's module map does not name {missing}"


# -- import cycles ---------------------------------------------------------------------------------
def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _module_level_imports(nodes: list[ast.AST], package: str) -> list[tuple[str, list[str]]]:
    """(module, imported names) of every import that runs when the module is imported: not those
    inside functions, nor under ``if TYPE_CHECKING:``. ``package`` resolves relative imports."""
    found: list[tuple[str, list[str]]] = []
    for node in nodes:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0]
                module = f"{parent}.{module}" if module else parent
            found.append((module, [alias.name for alias in node.names]))
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            found += _module_level_imports(node.orelse, package)
        else:  # the bodies of if/try/with/for/class statements run at import time
            found += _module_level_imports([child for child in ast.iter_child_nodes(node) if isinstance(
                child, (ast.stmt, ast.ExceptHandler, ast.match_case))], package)
    return found


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the modules of the package at ``root`` that it imports at module level."""
    files = {".".join(p.relative_to(root.parent).with_suffix("").parts).removesuffix(".__init__"): p
             for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        graph[name] = set()
        for module, names in _module_level_imports(ast.parse(path.read_text()).body, package):
            submodules = {f"{module}.{n}" for n in names} & files.keys()
            graph[name] |= submodules
            if len(submodules) < len(names) or not names:  # names from the module itself
                graph[name] |= {module} & files.keys()
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Cycles ``[a, b, ..., a]`` among modules that import each other: in each such group, the
    shortest cycle through each of its modules (so every module of the group is named)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set(stack[stack.index(node):])
            del stack[stack.index(node):]
            if len(group) > 1 or node in graph.get(node, ()):
                for start in group:
                    cycle = _shortest_cycle(graph, group, start)
                    first = cycle.index(min(cycle))  # one rotation of each cycle
                    cycles.append(cycle[first:-1] + cycle[:first + 1])

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(map(list, {tuple(cycle) for cycle in cycles}))


def _shortest_cycle(graph: dict[str, set[str]], group: set[str], start: str) -> list[str]:
    """The shortest closed path from ``start`` through ``group`` (breadth-first)."""
    paths = {start: [start]}
    todo = [start]
    for node in todo:
        for nxt in sorted(graph[node] & group):
            if nxt == start:
                return paths[node] + [start]
            if nxt not in paths:
                paths[nxt] = paths[node] + [nxt]
                todo.append(nxt)
    raise AssertionError(f"no cycle through {start}")


def describe_cycles(cycles: list[list[str]]) -> str:
    return "import cycles (module-level imports):\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_no_import_cycle_in_the_package() -> None:
    cycles = find_cycles(import_graph(PACKAGE))
    assert not cycles, describe_cycles(cycles)


def test_the_cycle_finder_finds_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d", "b"}, "d": set(), "e": {"e"}, "f": {"d"}}
    assert find_cycles(graph) == [["a", "b", "c", "a"], ["b", "c", "b"], ["e", "e"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_the_import_graph_sees_a_cycle_but_not_function_or_type_checking_imports(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text('"""doc"""\n')
    (package / "sub" / "__init__.py").write_text('"""doc"""\n')
    (package / "registry.py").write_text("from pkg.sub import backend\nTABLE = {}\n")
    (package / "sub" / "backend.py").write_text("from ..registry import TABLE\n")
    (package / "leaf.py").write_text("from typing import TYPE_CHECKING\n"
                                     "if TYPE_CHECKING:\n    from pkg import user\n"
                                     "def load():\n    from pkg import user\n")
    (package / "user.py").write_text("import pkg.leaf\ntry:\n    pass\nexcept ImportError:\n"
                                     "    import pkg.other\n")
    (package / "other.py").write_text("class A:\n    from pkg.user import x\n")
    graph = import_graph(package)
    assert graph["pkg.registry"] == {"pkg.sub.backend"} and graph["pkg.sub.backend"] == {"pkg.registry"}
    assert graph["pkg.leaf"] == set() and graph["pkg.user"] == {"pkg.leaf", "pkg.other"}
    message = describe_cycles(find_cycles(graph))
    assert message.splitlines()[1:] == ["pkg.other -> pkg.user -> pkg.other",
                                        "pkg.registry -> pkg.sub.backend -> pkg.registry"]
