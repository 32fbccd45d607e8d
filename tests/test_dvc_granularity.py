"""DVC reruns exactly what a change touches: each stage's own params and code, then what follows it.

For EVERY stage in dvc.yaml (the list is read at collection time, so a new stage is tested the day
it is added):
- changing one of its params marks that stage alone as changed (``dvc status``), and ``dvc repro
  --dry --force-downstream`` would run that stage and its descendants and nothing else (a plain
  ``--dry`` lists only the changed stage: in a real run, a descendant reruns when the outputs it
  reads actually changed, so the descendants are the most a change can cost);
- appending a comment line to its own script (``stages/<name>.py``) does the same.
Descendants come from DVC itself (``dvc dag --dot``), checked against dvc.yaml's outs -> deps.

Static checks: each stage's Python deps in dvc.yaml are exactly the code it runs
(``tests.code_deps.code_closure``), and ``imagesearch/__init__.py`` imports nothing (it is on every
stage's import path but in no stage's deps).

The repo under test is a real git + DVC repository holding a copy of the pipeline. Its dvc.lock
is written by ``dvc commit`` over placeholder outputs instead of a full ``dvc repro``: what is
tested is DVC's change detection over dvc.yaml, which does not read output contents, and this
keeps the file at about a minute. tests/test_team_workflows.py runs the real pipeline.
"""
from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath

import pytest
import yaml

from tests.code_deps import code_closure
from tests.pipeline_repo import REPO, dvc, make_pipeline_repo

pytestmark = pytest.mark.slow

SCRIPT = re.compile(r"\bpython\s+(stages/\S+\.py)")
RUNNING = re.compile(r"^Running stage '([^']+)'", re.MULTILINE)
EDGE = re.compile(r'^"([^"]+)"\s*->\s*"([^"]+)"', re.MULTILINE)


def load_stages(repo: Path) -> dict[str, dict]:
    return yaml.safe_load((repo / "dvc.yaml").read_text())["stages"]


STAGES = load_stages(REPO)


def stage_script(stage: dict) -> str:
    match = SCRIPT.search(stage["cmd"])
    assert match, f"cmd {stage['cmd']!r} does not run a stages/<name>.py script"
    return match.group(1)


def _names(entries: list) -> list[str]:
    """Paths of a deps/outs/metrics/plots list whose items are strings or one-key dicts."""
    out = []
    for entry in entries or []:
        out.extend([entry] if isinstance(entry, str) else list(entry))
    return out


def stage_outs(stage: dict) -> list[str]:
    return [p for key in ("outs", "metrics", "plots") for p in _names(stage.get(key, []))]


def stage_params(stage: dict) -> list[str]:
    """params.yaml keys the stage lists (entries naming another params file are left out)."""
    return [p for p in stage.get("params", []) if isinstance(p, str)]


def _overlaps(a: str, b: str) -> bool:
    pa, pb = PurePosixPath(a), PurePosixPath(b)
    return pa == pb or pa in pb.parents or pb in pa.parents


def yaml_edges(stages: dict[str, dict]) -> set[tuple[str, str]]:
    """(producer, consumer) whenever a dep of one stage is, contains or lies in an out of another."""
    return {(up, down) for up, a in stages.items() for down, b in stages.items() if up != down
            and any(_overlaps(o, d) for o in stage_outs(a) for d in _names(b.get("deps", [])))}


def descendants(edges: set[tuple[str, str]], name: str) -> set[str]:
    found, todo = set(), [name]
    while todo:
        node = todo.pop()
        for up, down in edges:
            if up == node and down not in found:
                found.add(down)
                todo.append(down)
    return found


def first_leaf(tree: dict, dotted: str) -> tuple[tuple[str, ...], object]:
    """The key path and value of ``dotted`` or, if it names a section, of its first scalar inside."""
    keys = tuple(dotted.split("."))
    node = tree
    for key in keys:
        node = node[key]
    while isinstance(node, dict):
        key = next(iter(node))
        keys, node = keys + (key,), node[key]
    return keys, node


def other_value(value: object) -> object:
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, list):
        return [*value, "changed"]
    return f"{value}-changed"


def _placeholder(path: Path) -> None:
    """A file for names with a suffix, a folder holding one file otherwise."""
    if path.exists():
        return
    if path.suffix:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"placeholder for {path.name}\n")
    else:
        path.mkdir(parents=True, exist_ok=True)
        (path / "placeholder.txt").write_text("placeholder\n")


@pytest.fixture(scope="module")
def locked_repo(tmp_path_factory: pytest.TempPathFactory, tiny_dataset: Path) -> Path:
    """A pipeline repo whose dvc.lock matches its workspace: ``dvc status`` reports nothing."""
    repo = make_pipeline_repo(tmp_path_factory.mktemp("granularity") / "repo", tiny_dataset)
    stages = load_stages(repo)
    deps = {d for s in stages.values() for d in _names(s.get("deps", []))}
    outs = {o for s in stages.values() for o in stage_outs(s)}
    # Deeper paths first, so a dep inside an out folder (data/clean/images.parquet) is a file.
    for path in sorted(deps | outs, key=lambda p: -len(PurePosixPath(p).parts)):
        _placeholder(repo / path)
    dvc(repo, "commit", "--force", "--quiet")
    status = json.loads(dvc(repo, "status", "--json").stdout or "{}")
    assert status == {}, status
    return repo


@pytest.fixture(scope="module")
def dag(locked_repo: Path) -> set[tuple[str, str]]:
    edges = set(EDGE.findall(dvc(locked_repo, "dag", "--dot").stdout))
    assert edges, "dvc dag --dot printed no edges"
    return edges


@pytest.fixture
def edit(locked_repo: Path) -> Iterator[Callable[[Path, str], None]]:
    """``edit(path, text)`` writes a file of the repo; every edited file is restored afterwards."""
    saved: dict[Path, bytes] = {}

    def write(path: Path, text: str) -> None:
        saved.setdefault(path, path.read_bytes())
        path.write_text(text)

    yield write
    for path, data in saved.items():
        path.write_bytes(data)


def changed_stages(repo: Path) -> set[str]:
    return set(json.loads(dvc(repo, "status", "--json").stdout or "{}"))


def would_run(repo: Path) -> set[str]:
    return set(RUNNING.findall(dvc(repo, "repro", "--dry", "--force-downstream").stdout))


def test_dag_from_dvc_matches_outs_to_deps(dag: set[tuple[str, str]]) -> None:
    assert dag == yaml_edges(STAGES)
    assert {n for edge in dag for n in edge} == set(STAGES)


@pytest.mark.parametrize("name", list(STAGES))
def test_param_change_reruns_only_the_stage_and_after(
        name: str, locked_repo: Path, dag: set[tuple[str, str]], edit: Callable[[Path, str], None]) -> None:
    listed = stage_params(STAGES[name])
    if not listed:
        pytest.skip(f"stage {name} reads no params")
    path = locked_repo / "params.yaml"
    params = yaml.safe_load(path.read_text())
    keys, value = first_leaf(params, listed[0])
    node = params
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = other_value(value)
    edit(path, yaml.safe_dump(params, sort_keys=False))

    # a key may be read by more than one stage (evaluate reports the search the index builds)
    readers = {other for other in STAGES if listed[0] in stage_params(STAGES[other])}
    assert changed_stages(locked_repo) == readers, ".".join(keys)
    assert would_run(locked_repo) == readers | {d for r in readers for d in descendants(dag, r)}, ".".join(keys)


@pytest.mark.parametrize("name", list(STAGES))
def test_own_script_edit_reruns_only_the_stage_and_after(
        name: str, locked_repo: Path, dag: set[tuple[str, str]], edit: Callable[[Path, str], None]) -> None:
    script = locked_repo / stage_script(STAGES[name])
    edit(script, script.read_text() + "# edited by test_dvc_granularity\n")

    assert changed_stages(locked_repo) == {name}
    assert would_run(locked_repo) == {name} | descendants(dag, name)


@pytest.mark.parametrize("name", list(STAGES))
def test_python_deps_are_exactly_the_code_the_stage_runs(name: str) -> None:
    stage = STAGES[name]
    listed = {d for d in _names(stage.get("deps", [])) if d.endswith(".py")}
    assert listed == code_closure(REPO, Path(stage_script(stage)))


def test_package_init_imports_nothing() -> None:
    """It runs on every import of the package but is in no stage's deps, so it must stay inert."""
    tree = ast.parse((REPO / "imagesearch" / "__init__.py").read_text())
    imports = [ast.unparse(n) for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
               and not (isinstance(n, ast.ImportFrom) and n.module == "__future__")]
    assert imports == []


def test_every_stage_script_is_its_own() -> None:
    """One script per stage, so editing a stage's script is a change to that stage alone."""
    scripts = [stage_script(s) for s in STAGES.values()]
    assert len(set(scripts)) == len(scripts)
    shared = {s for s in scripts
              if sum(s in _names(st.get("deps", [])) for st in STAGES.values()) != 1}
    assert not shared, f"scripts that are deps of more than one stage: {shared}"


def test_no_stage_lacks_deps() -> None:
    """A stage without deps reruns on every ``dvc repro`` (dvc #751)."""
    assert [n for n, s in STAGES.items() if not s.get("deps")] == []

