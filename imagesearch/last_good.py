"""A failed stage leaves the git-tracked metrics of its last good run in place.

Before it runs a stage, DVC deletes the stage's outputs, the ``cache: false`` metrics and plots
in ``metrics/`` too; if the stage then fails, those files would be gone, and ``dvc checkout``
cannot bring back what it never cached. They are not lost: the run-cache holds every output of
the last good run (``cache: false`` ones included), under the md5 that ``dvc.lock`` records for
it. :func:`restore_missing` puts each missing one back from there (or, where the cache lacks it,
from the committed version in git). :func:`imagesearch.stage.start` registers it to run when the
stage process exits; after a good run nothing is missing and it does nothing.
"""
from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path

import yaml

from imagesearch.atomic import atomic_path
from imagesearch.paths import DVC_LOCK, DVC_YAML

log = logging.getLogger(__name__)


def tracked_outputs(stage: str, dvc_yaml: Path = DVC_YAML) -> list[str]:
    """The stage's ``cache: false`` metrics and plots outputs (the files git keeps)."""
    if not dvc_yaml.is_file():
        return []
    spec = (yaml.safe_load(dvc_yaml.read_text()) or {}).get("stages", {}).get(stage, {})
    paths = []
    for kind in ("metrics", "plots", "outs"):
        for entry in spec.get(kind, []):
            if isinstance(entry, dict):
                (path, flags), = entry.items()
                if (flags or {}).get("cache") is False:
                    paths.append(path)
    return paths


def locked_md5(stage: str, dvc_lock: Path = DVC_LOCK) -> dict[str, str]:
    """What ``dvc.lock`` records for the stage's outputs: path -> md5 (the last good run)."""
    if not dvc_lock.is_file():
        return {}
    stage_lock = (yaml.safe_load(dvc_lock.read_text()) or {}).get("stages", {}).get(stage, {})
    return {out["path"]: out["md5"] for out in stage_lock.get("outs", []) if "md5" in out}


def cached_copy(md5: str) -> Path | None:
    """The file for ``md5`` in this repo's DVC cache, if there is one."""
    try:
        from dvc.repo import Repo

        with Repo() as repo:
            path = Path(repo.cache.local.oid_to_path(md5))
    except Exception as err:  # not a DVC repo, DVC not installed, ...: fall back to git
        log.debug("no DVC cache to restore from: %s", err)
        return None
    return path if path.is_file() else None


def _write(target: Path, content: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp:
        Path(tmp).write_bytes(content)


def _from_cache(path: str, md5: str) -> bool:
    """A file output, or a folder output (its ``.dir`` listing, then each file), from the cache."""
    source = cached_copy(md5)
    if source is None:
        return False
    if not md5.endswith(".dir"):
        _write(Path(path), source.read_bytes())
        return True
    entries = json.loads(source.read_text())
    files = {entry["relpath"]: cached_copy(entry["md5"]) for entry in entries}
    if not files or None in files.values():
        return False
    for relpath, file in files.items():
        _write(Path(path) / relpath, file.read_bytes())
    return True


def _from_git(path: str) -> bool:
    """The output as committed at git HEAD (a file or a folder), if it is."""
    kind = subprocess.run(["git", "cat-file", "-t", f"HEAD:{path}"], capture_output=True, text=True)
    if kind.returncode != 0:
        return False
    if kind.stdout.strip() == "tree":
        return subprocess.run(["git", "checkout", "HEAD", "--", path], capture_output=True).returncode == 0
    _write(Path(path), subprocess.run(["git", "show", f"HEAD:{path}"], capture_output=True, check=True).stdout)
    return True


def restore_missing(stage: str) -> list[str]:
    """Put back each of the stage's git-tracked outputs that is missing; return those restored."""
    restored = []
    md5s = locked_md5(stage)
    for path in tracked_outputs(stage):
        if Path(path).exists():
            continue
        if (path in md5s and _from_cache(path, md5s[path])) or _from_git(path):
            restored.append(path)
    if restored:
        log.warning("%s did not finish: restored the last good run's %s", stage, ", ".join(restored))
    return restored
