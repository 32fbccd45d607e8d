"""A real git + DVC repository in a temporary folder holding this project's pipeline.

The code (stages/, imagesearch/, dvc.yaml, params.yaml) is copied from the working tree; the data
route points at a tiny dataset with its own checksum list; params are shrunk so a full
``dvc repro`` takes about a minute. Commands run with PYTHONPATH set to the copy, so an edit to
the copied code is what the stages run.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from tests.tinydata import write_checksums, write_translations

REPO = Path(__file__).resolve().parents[1]
RUNNING = re.compile(r"^Running stage '([^']+)'", re.MULTILINE)
TRANSLATIONS = ["test_queries_ru.tsv", "train_captions_ru.tsv"]
COPIED = ["stages", "imagesearch", "dvc.yaml", "params.yaml", ".dvcignore", ".gitignore"]
TINY_PARAMS = {
    ("legal", "folds"): 2,
    ("train", "folds"): 3,
    ("train", "xgb", "n_estimators"): 40,
    ("train", "xgb", "early_stopping_rounds"): 10,
    ("embed_images", "batch_size"): 8,
    ("evaluate", "gallery_queries"): 3,
}


def environment(repo: Path) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(repo), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               GIT_AUTHOR_NAME="test", GIT_AUTHOR_EMAIL="test@example.com",
               GIT_COMMITTER_NAME="test", GIT_COMMITTER_EMAIL="test@example.com")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def run(repo: Path, *command: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run a command in the repo; on failure the assertion shows its output."""
    result = subprocess.run(command, cwd=repo, env=environment(repo), capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} exited {result.returncode}\n"
                             f"--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-6000:]}")
    return result


def commit_all(repo: Path, message: str) -> None:
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-qm", message)


def set_param(repo: Path, keys: tuple[str, ...], value: object) -> None:
    path = repo / "params.yaml"
    params = yaml.safe_load(path.read_text())
    node = params
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def make_pipeline_repo(root: Path, dataset: Path, real: bool = False) -> Path:
    """Copy the pipeline into ``root``, point it at ``dataset``, git-commit; return ``root``.

    By default the params are shrunk and the checksum list is written for ``dataset`` (the tiny
    one); ``real=True`` keeps the real params and the frozen ``data/dataset.sha256``.
    """
    root.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, root / name)
    (root / "data").mkdir(exist_ok=True)
    translations = root / "data" / "translations"  # in git, as in the project
    if real:
        shutil.copy2(REPO / "data" / "dataset.sha256", root / "data" / "dataset.sha256")
        translations.mkdir(parents=True)
        for name in TRANSLATIONS:
            shutil.copy2(REPO / "data" / "translations" / name, translations / name)
    else:
        write_checksums(dataset, root / "data" / "dataset.sha256")
        write_translations(dataset, translations)
    set_param(root, ("data", "source"), str(dataset))
    for keys, value in ({} if real else TINY_PARAMS).items():
        set_param(root, keys, value)
    run(root, "git", "init", "-q", "-b", "main")
    run(root, sys.executable, "-m", "dvc", "init", "-q")
    run(root, sys.executable, "-m", "dvc", "config", "core.autostage", "true")
    shutil.copytree(REPO / ".dvc" / "plots", root / ".dvc" / "plots")  # the offline plots page
    run(root, sys.executable, "-m", "dvc", "config", "plots.html_template", "plots/page.html")
    run(root, "git", "add", "-A")
    run(root, "git", "commit", "-qm", f"pipeline on {'the real' if real else 'the tiny'} dataset")
    return root


def dvc(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return run(repo, sys.executable, "-m", "dvc", *args, check=check)


def copy_repo(repo: Path, dest: Path) -> Path:
    """A full copy of a pipeline repo (git, DVC cache, outputs) at ``dest``: change it freely."""
    shutil.copytree(repo, dest, symlinks=True, ignore=shutil.ignore_patterns("tmp"))
    return dest


def ran(log: str) -> set[str]:
    """The stages a ``dvc repro`` log says it ran."""
    return set(RUNNING.findall(log))


def digest(path: Path) -> str:
    """sha256 over a file, or over a folder's files (names and bytes)."""
    h = hashlib.sha256()
    for file in sorted(p for p in ([path] if path.is_file() else path.rglob("*")) if p.is_file()):
        h.update(file.relative_to(path.parent).as_posix().encode())
        h.update(file.read_bytes())
    return h.hexdigest()
