"""Which package modules a stage script runs: the transitive imports inside ``imagesearch``.

Used by tests/test_dvc_granularity.py to keep every stage's ``deps`` in dvc.yaml exactly equal
to the code it runs. Imports inside functions count too (they run when the function does).
"""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "imagesearch"


def _module_file(repo: Path, module: str) -> Path | None:
    base = repo / Path(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in names if name == PACKAGE or name.startswith(PACKAGE + ".")}


def code_closure(repo: Path, script: Path) -> set[str]:
    """Repo-relative paths of the script and every package file it imports, transitively.

    The top-level ``imagesearch/__init__.py`` is left out: it holds only a docstring and the
    version, and tests/test_dvc_granularity.py checks that it stays that way.
    """
    seen: set[Path] = set()
    todo = [repo / script]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for module in _imported_modules(path):
            parts = module.split(".")
            for depth in range(2, len(parts) + 1):  # a subpackage's __init__ runs on import
                file = _module_file(repo, ".".join(parts[:depth]))
                if file is not None and file not in seen:
                    todo.append(file)
    return {p.relative_to(repo).as_posix() for p in seen}
