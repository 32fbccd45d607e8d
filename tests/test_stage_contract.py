"""The stage contract, checked statically (fast tier): dvc.yaml, stages/*.py and imagesearch.stage.

- each stage's Python deps in dvc.yaml are exactly the code it runs (``tests.code_deps``), and
  ``imagesearch/__init__.py`` imports nothing (it runs on every import but is in no stage's deps);
- one script per stage, named after it, ending in ``run("<its stage name>", main)``; every command
  is the shared prefix from dvc.yaml's ``vars`` and the script; no path is written out in a script;
- :func:`imagesearch.stage.run`: bad input is one line and exit 1, a bug keeps its traceback.
"""
from __future__ import annotations

import ast
import logging
from pathlib import Path

import pytest
import yaml

from imagesearch.errors import InputError
from imagesearch.stage import run
from tests.code_deps import code_closure
from tests.dvc_yaml import REPO, load_stages, names, stage_script

STAGES = load_stages(REPO)


@pytest.mark.parametrize("name", list(STAGES))
def test_python_deps_are_exactly_the_code_the_stage_runs(name: str) -> None:
    stage = STAGES[name]
    listed = {d for d in names(stage.get("deps", [])) if d.endswith(".py")}
    assert listed == code_closure(REPO, Path(stage_script(stage)))


def test_package_init_imports_nothing() -> None:
    tree = ast.parse((REPO / "imagesearch" / "__init__.py").read_text())
    imports = [ast.unparse(n) for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
               and not (isinstance(n, ast.ImportFrom) and n.module == "__future__")]
    assert imports == []


def test_every_stage_script_is_its_own() -> None:
    """One script per stage, so editing a stage's script is a change to that stage alone."""
    scripts = [stage_script(s) for s in STAGES.values()]
    assert len(set(scripts)) == len(scripts)
    shared = {s for s in scripts if sum(s in names(st.get("deps", [])) for st in STAGES.values()) != 1}
    assert not shared, f"scripts that are deps of more than one stage: {shared}"


def test_no_stage_lacks_deps() -> None:
    """A stage without deps reruns on every ``dvc repro`` (dvc #751)."""
    assert [n for n, s in STAGES.items() if not s.get("deps")] == []


def test_every_command_is_the_shared_prefix_and_the_stage_script() -> None:
    raw = yaml.safe_load((REPO / "dvc.yaml").read_text())
    prefix = raw["vars"][0]["python"]
    assert "PYTHONPATH=." in prefix and "OPENBLAS_CORETYPE=Haswell" in prefix
    for name, stage in STAGES.items():
        assert stage["cmd"] == f"${{python}} stages/{name}.py", name


def _run_call(script: Path) -> ast.Call:
    """The ``run(...)`` call under ``if __name__ == "__main__":``."""
    tree = ast.parse(script.read_text())
    guards = [node for node in tree.body if isinstance(node, ast.If)
              and ast.unparse(node.test) == "__name__ == '__main__'"]
    assert len(guards) == 1, f"{script}: no single `if __name__ == '__main__':` block"
    calls = [node.value for node in guards[0].body if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)]
    assert len(calls) == 1 and ast.unparse(calls[0].func) == "run", f"{script}: the block is not one run(...) call"
    return calls[0]


@pytest.mark.parametrize("name", list(STAGES))
def test_the_script_runs_its_own_stage_through_the_contract(name: str) -> None:
    script = REPO / stage_script(STAGES[name])
    call = _run_call(script)
    assert ast.literal_eval(call.args[0]) == name, f"{script}: run() names another stage"
    assert ast.unparse(call.args[1]) == "main"
    functions = {node.name: node for node in ast.parse(script.read_text()).body if isinstance(node, ast.FunctionDef)}
    assert set(functions) == {"main"}, f"{script}: one function, main(params): the logic lives in the package"
    literals = [node.value for node in ast.walk(ast.parse(script.read_text()))
                if isinstance(node, ast.Constant) and isinstance(node.value, str)]
    assert not [s for s in literals if s.startswith(("data/", "metrics/"))], \
        f"{script}: paths come from imagesearch.paths"


def test_other_sections_a_stage_reads_are_listed_in_its_params() -> None:
    """``run(name, main, "index")`` reads the index section: dvc.yaml must list those keys."""
    for name, stage in STAGES.items():
        call = _run_call(REPO / stage_script(stage))
        for other in (ast.literal_eval(arg) for arg in call.args[2:]):
            assert any(key.startswith(f"{other}.") for key in stage.get("params", [])), (name, other)


def test_bad_input_is_one_line_and_exit_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.chdir(tmp_path)  # no dvc.yaml here: a stage run by hand in a copy
    (tmp_path / "params.yaml").write_text((REPO / "params.yaml").read_text())

    def broken(params) -> None:
        raise InputError("data/raw/train_dataset.csv:7: 3 columns, expected 2")

    with caplog.at_level(logging.ERROR), pytest.raises(SystemExit) as exited:
        run("labels", broken)
    assert exited.value.code == 1
    [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert record.getMessage().startswith("data/raw/train_dataset.csv:7: 3 columns, expected 2")
    assert "dvc checkout labels" in record.getMessage() and "\n" not in record.getMessage()


def test_a_bug_keeps_its_traceback_and_main_gets_its_sections(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text((REPO / "params.yaml").read_text())
    seen = []

    def buggy(params, search) -> None:
        seen.append((type(params).__name__, type(search).__name__))
        raise KeyError("a bug")

    with pytest.raises(KeyError, match="a bug"):
        run("evaluate", buggy, "index")
    assert seen == [("EvaluateParams", "SearchParams")]


def test_a_stage_name_that_dvc_yaml_lacks_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    with pytest.raises(ValueError, match="no stage of that name in dvc.yaml"):
        run("data", lambda params: None)
