"""Reading dvc.yaml for tests: stages, their scripts, deps, outs and params."""
from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

import yaml

REPO = Path(__file__).resolve().parents[1]
SCRIPT = re.compile(r"(?:^|\s)(stages/\S+\.py)(?:\s|$)")


def load_stages(repo: Path = REPO) -> dict[str, dict]:
    return yaml.safe_load((repo / "dvc.yaml").read_text())["stages"]


def stage_script(stage: dict) -> str:
    match = SCRIPT.search(stage["cmd"])
    assert match, f"cmd {stage['cmd']!r} does not run a stages/<name>.py script"
    return match.group(1)


def names(entries: list) -> list[str]:
    """Paths of a deps/outs/metrics/plots list whose items are strings or one-key dicts."""
    out = []
    for entry in entries or []:
        out.extend([entry] if isinstance(entry, str) else list(entry))
    return out


def stage_outs(stage: dict) -> list[str]:
    return [p for key in ("outs", "metrics", "plots") for p in names(stage.get(key, []))]


def stage_params(stage: dict) -> list[str]:
    """params.yaml keys the stage lists (entries naming another params file are left out)."""
    return [p for p in stage.get("params", []) if isinstance(p, str)]


def _overlaps(a: str, b: str) -> bool:
    pa, pb = PurePosixPath(a), PurePosixPath(b)
    return pa == pb or pa in pb.parents or pb in pa.parents


def yaml_edges(stages: dict[str, dict]) -> set[tuple[str, str]]:
    """(producer, consumer) whenever a dep of one stage is, contains or lies in an out of another."""
    return {(up, down) for up, a in stages.items() for down, b in stages.items() if up != down
            and any(_overlaps(o, d) for o in stage_outs(a) for d in names(b.get("deps", [])))}


def descendants(edges: set[tuple[str, str]], name: str) -> set[str]:
    found, todo = set(), [name]
    while todo:
        node = todo.pop()
        for up, down in edges:
            if up == node and down not in found:
                found.add(down)
                todo.append(down)
    return found
