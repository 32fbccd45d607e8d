"""DVC reruns exactly what a change touches: each stage's own params and code, then what follows it.

For EVERY stage in dvc.yaml (the list is read at collection time, so a new stage is tested the day
it is added):
- changing one of its params marks that stage alone as changed (``dvc status``), and ``dvc repro
  --dry --force-downstream`` would run that stage and its descendants and nothing else (a plain
  ``--dry`` lists only the changed stage: in a real run, a descendant reruns when the outputs it
  reads actually changed, so the descendants are the most a change can cost);
- appending a comment line to its own script (``stages/<name>.py``) does the same.
Descendants come from DVC itself (``dvc dag --dot``), checked against dvc.yaml's outs -> deps.

The static checks of dvc.yaml (deps equal to the code a stage runs, ...) are in the fast tier:
tests/test_stage_contract.py.

The repo under test is a real git + DVC repository holding a copy of the pipeline. Its dvc.lock
is written by ``dvc commit`` over placeholder outputs instead of a full ``dvc repro``: what is
tested is DVC's change detection over dvc.yaml, which does not read output contents, and this
keeps the file at about a minute. tests/test_team_workflows.py runs the real pipeline.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath

import pytest
import yaml

from tests.dvc_yaml import REPO, descendants, load_stages, names, stage_outs, stage_params, stage_script, yaml_edges
from tests.pipeline_repo import dvc, make_pipeline_repo

pytestmark = pytest.mark.slow

RUNNING = re.compile(r"^Running stage '([^']+)'", re.MULTILINE)
EDGE = re.compile(r'^"([^"]+)"\s*->\s*"([^"]+)"', re.MULTILINE)
STAGES = load_stages(REPO)


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
    deps = {d for s in stages.values() for d in names(s.get("deps", []))}
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
