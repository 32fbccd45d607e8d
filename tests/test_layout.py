"""The house stays readable: a few top-level modules, small modules, subpackages by role.

These are the layout rules of issue #12, checked on every run so that they keep holding:
- ``imagesearch/`` holds at most 10 top-level modules; everything else lives in a subpackage;
- no module of the package is over 400 lines;
- every subpackage's ``__init__.py`` holds only a docstring (importing one module of a subpackage
  must not import the others, or a stage would depend on code it does not run);
- no DVC stage depends on anything under ``tests/`` (production inputs live in the package);
- README's module map names every subpackage.
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
